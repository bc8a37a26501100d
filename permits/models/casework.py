"""Casework data: who works for which municipality, the building committee's rules,
completion requests, proposed and made decisions, and the fee tables (taxa)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from geodata.models import Municipality
from permits.models.applications import Application, AttachmentKind, CaseType
from permits.workflow import Outcome, Role


class StaffRole(models.Model):
    """A role a member of staff holds in one municipality (several rows for several)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="staff_roles")
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE,
                                     related_name="staff_roles")
    role = models.CharField(_("role"), max_length=16, choices=[
        (r.value, r.label) for r in (Role.OFFICER, Role.DECISION_MAKER, Role.ADMIN)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "municipality", "role"],
                                               name="one_role_row")]
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} {self.municipality}"


class Committee(models.Model):
    """A municipality's building committee (byggnadsnämnden) and its delegation rules."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE,
                                        related_name="committee")
    name = models.CharField(_("name"), max_length=200, default="Byggnadsnämnden")
    address = models.TextField(_("postal address"), blank=True)
    # Case numbers are the committee's own series (diarienummer), e.g. "BYGG 2026-000123".
    # Two committees of one installation never share a prefix, so never a number.
    case_prefix = models.CharField(
        _("case number prefix"), max_length=12, unique=True, null=True, blank=True,
        help_text=_("Case numbers start with it, e.g. BYGG. Without one they start with "
                    "BYGG and the municipality code."))
    # Four eyes: a decision proposed by an officer is approved by another person with a
    # delegation, unless the delegation lets officers decide their own cases.
    four_eyes = models.BooleanField(_("decisions approved by another"), default=True)
    hearing_reply_days = models.PositiveSmallIntegerField(_("days to reply to a hearing"),
                                                          default=14)

    class Meta:
        verbose_name = _("building committee")
        verbose_name_plural = _("building committees")

    def __str__(self) -> str:
        return f"{self.name}, {self.municipality.name}"


class CompletionRequest(models.Model):
    """An order to complete an application (föreläggande): what is missing, by when."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT,
                                    related_name="completion_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_on = models.DateField(_("requested"))
    reply_by = models.DateField(_("reply by"))
    message = models.TextField(_("message"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)

    class Meta:
        ordering = ["requested_on", "id"]
        verbose_name = _("completion request")
        verbose_name_plural = _("completion requests")

    def __str__(self) -> str:
        return f"{self.application} {self.requested_on}"


class CompletionItem(models.Model):
    """One thing a completion request asks for: a document of a kind, or an answer."""

    TEXT = "text"

    request = models.ForeignKey(CompletionRequest, on_delete=models.CASCADE,
                                related_name="items")
    kind = models.CharField(_("what"), max_length=20, choices=[
        *AttachmentKind.choices, (TEXT, _("an answer in writing"))])
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Decision(models.Model):
    """A decision as proposed by an officer and approved (or sent back) by a
    decision-maker; the approved one is the case's decision, with its document."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        APPROVED = "approved", _("approved")
        SENT_BACK = "sent_back", _("sent back")

    application = models.ForeignKey(Application, on_delete=models.PROTECT,
                                    related_name="decisions")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROPOSED)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reasons = models.TextField(_("reasons"))
    conditions = models.TextField(_("conditions"), blank=True)
    delegation_point = models.CharField(_("delegation point"), max_length=100, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)  # when sent back
    fee_sek = models.PositiveIntegerField(null=True, blank=True)
    reduction_fifths = models.PositiveSmallIntegerField(null=True, blank=True)
    document = models.FileField(upload_to="decisions/%Y/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["proposed_at", "id"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"{self.application} {self.get_outcome_display()} ({self.get_state_display()})"


class FeeTable(models.Model):
    """A municipality's fee table (taxa) from a day on; a case is charged by the table in
    force on the day it was received. A table that a case uses is never changed: the
    municipal administrator makes a new version."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT,
                                     related_name="fee_tables")
    valid_from = models.DateField(_("in force from"))
    name = models.CharField(_("name"), max_length=200, default="Plan- och bygglovstaxa")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["municipality", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["municipality", "valid_from"],
                                               name="one_fee_table_a_day")]
        verbose_name = _("fee table")
        verbose_name_plural = _("fee tables")

    def __str__(self) -> str:
        return f"{self.name} {self.municipality.name} {self.valid_from}"


class FeeRow(models.Model):
    """The fee of a case type and size band, as a factor of the price base amount
    (prisbasbelopp) of the year the case was received."""

    table = models.ForeignKey(FeeTable, on_delete=models.CASCADE, related_name="rows")
    case_type = models.CharField(_("case type"), max_length=8, choices=CaseType.choices)
    # Gross floor or building area, m²: from (inclusive) and up to (exclusive; empty for
    # no upper bound). A row without bounds covers every size.
    area_from_m2 = models.FloatField(_("from m²"), default=0,
                                     validators=[MinValueValidator(0)])
    area_to_m2 = models.FloatField(_("up to m²"), null=True, blank=True)
    factor = models.DecimalField(_("factor of the price base amount"), max_digits=6,
                                 decimal_places=4,
                                 validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["table", "case_type", "area_from_m2"]
        verbose_name = _("fee row")
        verbose_name_plural = _("fee rows")

    def __str__(self) -> str:
        upper = f"{self.area_to_m2:g}" if self.area_to_m2 is not None else "…"
        return f"{self.case_type} {self.area_from_m2:g}-{upper} m²: {self.factor} PBB"
