"""Permit applications."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from geodata.models import Municipality, Parcel
from permits.workflow import Status


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
                                     related_name="applications")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="applications")
    case_type = models.CharField(_("case type"), max_length=8, choices=CaseType.choices,
                                 default=CaseType.BL)
    measure = models.CharField(_("measure"), max_length=32, choices=Measure.choices)
    description = models.TextField(_("description"))
    location = models.PointField(_("location"), srid=settings.STORAGE_SRID)
    parcel = models.ForeignKey(Parcel, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="applications")
    # Snapshot of the property at submission: the cache may change afterwards.
    property_designation = models.CharField(_("property designation"), max_length=250,
                                            blank=True)
    parcel_objektidentitet = models.UUIDField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.SUBMITTED)
    case_number = models.CharField(_("case number"), max_length=32, unique=True, null=True,
                                   blank=True)
    submission_key = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-created_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")

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
