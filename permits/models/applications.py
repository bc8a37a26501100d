"""Permit applications (cases), what the applicant drew and attached, and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from geodata.models import Municipality, Parcel
from permits.exceptions import AppendOnly
from permits.services.clock import now as services_now
from permits.workflow import Outcome, Status


class CaseType(models.TextChoices):
    BL = "BL", _("building permit (bygglov)")
    RL = "RL", _("demolition permit (rivningslov)")
    MARK = "MARK", _("site permit (marklov)")
    FORF = "FÖRF", _("advance notice (förhandsbesked)")
    ANM = "ANM", _("notification (anmälan)")
    ATTANM = "ATTANM", _("Attefall notification (attefallsanmälan)")
    TIDS = "TIDS", _("temporary permit (tidsbegränsat lov)")
    DI = "DI", _("shore protection exemption (strandskyddsdispens)")


class Measure(models.TextChoices):
    NYBYGGNAD = "nybyggnad", _("new building")
    TILLBYGGNAD = "tillbyggnad", _("extension")
    ANDRAD_ANVANDNING = "ändrad användning", _("change of use")
    RIVNING = "rivning", _("demolition")
    MARKLOV = "marklov", _("earthworks")
    ATTEFALL = "attefallsåtgärd", _("Attefall measure")
    ELDSTAD = "eldstad", _("fireplace")
    SKYLT = "skylt", _("sign")
    MUR_PLANK = "mur/plank", _("wall or fence")
    FASAD = "fasadändring", _("facade change")


class Application(models.Model):
    """An application for a permit (or a notification) about one property."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT,
                                     related_name="applications", null=True, blank=True)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="applications")
    case_type = models.CharField(_("case type"), max_length=8, choices=CaseType.choices,
                                 default=CaseType.BL)
    measure = models.CharField(_("measure"), max_length=32, choices=Measure.choices)
    description = models.TextField(_("description"), blank=True)
    location = models.PointField(_("location"), srid=settings.STORAGE_SRID, null=True,
                                 blank=True)
    site = models.MultiPolygonField(_("site"), srid=settings.STORAGE_SRID, null=True,
                                    blank=True)
    site_is_whole_parcel = models.BooleanField(_("the whole property is the site"),
                                               default=False)
    building_area_m2 = models.FloatField(_("building area (m²)"), null=True, blank=True)
    height_m = models.FloatField(_("height (m)"), null=True, blank=True)
    floors = models.PositiveSmallIntegerField(_("number of floors"), null=True, blank=True)
    contact_name = models.CharField(_("name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("e-mail"), blank=True)
    contact_phone = models.CharField(_("telephone"), max_length=40, blank=True)
    parcel = models.ForeignKey(Parcel, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="applications")
    # Snapshot of the property at submission: the cache may change afterwards.
    property_designation = models.CharField(_("property designation"), max_length=250,
                                            blank=True)
    parcel_objektidentitet = models.UUIDField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.DRAFT)
    case_number = models.CharField(_("case number"), max_length=32, unique=True, null=True,
                                   blank=True)
    submission_key = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Casework: who handles the case, and the dates the PBL clock runs on
    # (permits/clock.py). Only the casework services write them.
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="assigned_cases",
                                    verbose_name=_("officer"))
    received_on = models.DateField(_("received"), null=True, blank=True)
    completion_requested_on = models.DateField(_("completion first requested"), null=True,
                                               blank=True)
    complete_on = models.DateField(_("complete"), null=True, blank=True)
    extended_weeks = models.PositiveSmallIntegerField(_("extension (weeks)"), default=0)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    # The clock's deadline, kept for the queues (sorting and filtering 100,000 cases).
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    decided_on = models.DateField(_("decided"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices,
                               blank=True)
    notified_on = models.DateField(_("decision served"), null=True, blank=True)
    fee_table = models.ForeignKey("permits.FeeTable", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="applications")
    fee_sek = models.PositiveIntegerField(_("fee (SEK)"), null=True, blank=True)
    fee_reduction_fifths = models.PositiveSmallIntegerField(_("fee reduction (fifths)"),
                                                            null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-created_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [
            models.Index(fields=["municipality", "status", "deadline"],
                         name="case_queue_idx"),
            models.Index(fields=["assigned_to", "status"], name="case_assigned_idx"),
        ]

    def __str__(self) -> str:
        return self.case_number or f"#{self.pk}"


class CaseCounter(models.Model):
    """The last case number given per municipality and year."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["municipality", "year"],
                                               name="one_counter_per_municipality_year")]


class DrawnFeature(models.Model):
    """Something the applicant drew on the map: a footprint, the site, a fence..."""

    class Kind(models.TextChoices):
        BUILDING = "byggnad", _("new building")
        EXTENSION = "tillbyggnad", _("extension")
        OUTBUILDING = "komplementbyggnad", _("outbuilding")
        SITE = "tomt", _("site")
        FENCE = "mur/plank", _("wall or fence")
        OTHER = "övrigt", _("other")

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="drawn")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    geom = models.GeometryField(srid=settings.STORAGE_SRID)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.geom.geom_type})"

    @property
    def area_m2(self) -> float:
        return round(self.geom.area, 1)

    @property
    def length_m(self) -> float:
        return round(self.geom.length, 1)


class AttachmentKind(models.TextChoices):
    SITUATIONSPLAN = "situationsplan", _("site plan (situationsplan)")
    PLANRITNING = "planritning", _("floor plan (planritning)")
    FASADRITNING = "fasadritning", _("elevation (fasadritning)")
    SEKTIONSRITNING = "sektionsritning", _("section (sektionsritning)")
    KONTROLLPLAN = "kontrollplan", _("inspection plan (kontrollplan)")
    FULLMAKT = "fullmakt", _("power of attorney (fullmakt)")
    OTHER = "övrigt", _("other document")


class Attachment(models.Model):
    """A PDF attached to an application; stored outside the public media URL."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="attachments")
    kind = models.CharField(_("document"), max_length=20, choices=AttachmentKind.choices)
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Sent in answer to a completion request (kept beside the first documents, never
    # replacing them).
    completion = models.ForeignKey("permits.CompletionRequest", on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="attachments")

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class AppendOnlyQuerySet(models.QuerySet["ApplicationEvent"]):
    """A queryset that adds rows and never changes or removes them."""

    def update(self, **kwargs: object) -> int:
        raise AppendOnly(_("The audit trail cannot be changed."))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly(_("The audit trail cannot be changed."))


class ApplicationEvent(models.Model):
    """The audit trail of a case: who did or read what, when, and from where.

    Append-only: rows are added by the services and never changed or removed through
    the app, its querysets or the admin (a case with events cannot be deleted either).
    ``audience`` says whether the applicant sees the event in their own history.
    """

    class Audience(models.TextChoices):
        APPLICANT = "applicant", _("the applicant and staff")
        STAFF = "staff", _("staff only")

    application = models.ForeignKey(Application, on_delete=models.PROTECT,
                                    related_name="events")
    at = models.DateTimeField(default=services_now, editable=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True)
    kind = models.CharField(max_length=40)
    text = models.TextField(blank=True)
    audience = models.CharField(max_length=16, choices=Audience.choices,
                                default=Audience.STAFF)
    ip = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="event_case_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnly(_("The audit trail cannot be changed."))
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnly(_("The audit trail cannot be changed."))


class Feedback(models.Model):
    """An applicant's rating of the e-service, after submitting."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE,
                                       related_name="feedback")
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)
    given_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.rating}/5"
