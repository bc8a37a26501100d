"""The admin: read-only views of cases and their audit trail (cases move only through
the casework services), and what a municipal administrator keeps: staff roles, the
committee's rules and the fee tables, each scoped to their own municipalities."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geodata.models import Municipality
from permits.models import (
    ApiToken,
    Application,
    ApplicationEvent,
    Committee,
    FeeRow,
    FeeTable,
    HearingParty,
    ReferralBody,
    StaffRole,
)
from permits.services import clock as service_clock
from permits.services.tokens import token_revoke
from permits.workflow import Role


class ReadOnly(admin.ModelAdmin):
    """Shown, never changed, added or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnly):
    list_display = ["case_number", "property_designation", "case_type", "status", "applicant",
                    "submitted_at", "deadline"]
    list_filter = ["status", "case_type", "municipality"]
    search_fields = ["case_number", "property_designation"]
    exclude = ["location", "site"]


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnly):
    list_display = ["at", "application", "actor", "kind", "text", "ip"]
    list_filter = ["kind", "audience"]
    search_fields = ["application__case_number", "actor__username"]


def administered(request: HttpRequest) -> QuerySet[Municipality]:
    """The municipalities the user administers (every one for a superuser)."""
    if request.user.is_superuser:
        return Municipality.objects.all()
    return Municipality.objects.filter(staff_roles__user_id=request.user.pk,
                                       staff_roles__role=Role.ADMIN).distinct()


class MunicipalScope(admin.ModelAdmin):
    """Rows of the municipalities the user administers, and only those to choose."""

    municipality_path = "municipality"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(**{
            f"{self.municipality_path}__in": administered(request)})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if db_field.name == "municipality":
            kwargs["queryset"] = administered(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(StaffRole)
class StaffRoleAdmin(MunicipalScope):
    list_display = ["user", "municipality", "role"]
    list_filter = ["municipality", "role"]


@admin.register(Committee)
class CommitteeAdmin(MunicipalScope):
    list_display = ["name", "municipality", "case_prefix", "four_eyes", "hearing_reply_days"]


class FeeRowInline(admin.TabularInline):
    model = FeeRow
    extra = 0


@admin.register(FeeTable)
class FeeTableAdmin(MunicipalScope):
    """Fee tables: a table in use by a case is kept as it is; "New version" copies it
    to change from a later day."""

    list_display = ["name", "municipality", "valid_from", "in_use"]
    list_filter = ["municipality"]
    inlines = [FeeRowInline]
    actions = ["new_version"]

    @admin.display(boolean=True, description=gettext_lazy("in use by cases"))
    def in_use(self, table: FeeTable) -> bool:
        return table.applications.exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.applications.exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.applications.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: FeeTable, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("New version from tomorrow (a copy to change)"))
    def new_version(self, request: HttpRequest, queryset: QuerySet[FeeTable]) -> None:
        tomorrow = service_clock.today() + timedelta(days=1)
        for table in queryset:
            if FeeTable.objects.filter(municipality=table.municipality,
                                       valid_from=tomorrow).exists():
                self.message_user(request, _("%(municipality)s has a table from %(day)s "
                                             "already.") % {"municipality": table.municipality,
                                                            "day": tomorrow},
                                  level=messages.WARNING)
                continue
            with transaction.atomic():
                rows = list(table.rows.all())
                copy = FeeTable.objects.create(municipality=table.municipality,
                                               valid_from=tomorrow, name=table.name,
                                               created_by=request.user)
                FeeRow.objects.bulk_create(
                    FeeRow(table=copy, case_type=r.case_type, area_from_m2=r.area_from_m2,
                           area_to_m2=r.area_to_m2, factor=r.factor) for r in rows)
            self.message_user(request, _("A new version from %(day)s is made: change it "
                                         "before that day.") % {"day": tomorrow})


@admin.register(ReferralBody)
class ReferralBodyAdmin(MunicipalScope):
    """The bodies a municipality refers cases to (remissinstanser)."""

    list_display = ["name", "municipality", "email", "active"]
    list_filter = ["municipality", "active"]
    search_fields = ["name"]


@admin.register(HearingParty)
class HearingPartyAdmin(ReadOnly):
    """Those heard and referred to, as the cases record them (changed only on the case)."""

    list_display = ["application", "kind", "designation", "name", "sent_on", "reply_by",
                    "reply", "received_on"]
    list_filter = ["kind", "reply"]
    search_fields = ["application__case_number", "designation", "name"]
    exclude = ["letter"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnly):
    """Tokens are made with ``manage.py lovkarta_token create`` (shown once); superusers
    see them here and revoke them."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.none()

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(description=gettext_lazy("Revoke the chosen tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token=token)
        messages.success(request, _("The tokens are revoked."))
