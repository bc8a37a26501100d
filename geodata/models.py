"""The geodata cache: what the rest of Lovkarta reads instead of calling the sources."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from geodata.crs import STORAGE_SRID


class Municipality(models.Model):
    """A municipality (kommun) served by this installation."""

    kommunkod = models.CharField(_("municipality code"), max_length=4, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")

    def __str__(self) -> str:
        return f"{self.name} ({self.kommunkod})"


class Source(models.Model):
    """An external service that Lovkarta syncs a layer from."""

    class Protocol(models.TextChoices):
        OGCAPI_FEATURES = "ogcapi-features", "OGC API - Features"
        WFS = "wfs", "WFS"
        WMS = "wms", "WMS"
        WMTS = "wmts", "WMTS"
        BOVERKET = "boverket-catalogue", _("Boverket plan-regulation catalogue")

    class Holds(models.TextChoices):
        PARCELS = "parcels", _("property parcels")
        ADDRESSES = "addresses", _("addresses")
        BUILDINGS = "buildings", _("buildings")
        PLANS = "plans", _("detailed plans")
        REGULATIONS = "regulations", _("plan regulations")
        BACKGROUND = "background", _("background map")

    name = models.SlugField(_("name"), max_length=80, unique=True)
    protocol = models.CharField(_("protocol"), max_length=32, choices=Protocol.choices)
    version = models.CharField(_("protocol version"), max_length=16, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    layer = models.CharField(_("collection or type name"), max_length=200)
    crs = models.CharField(_("CRS"), max_length=120, default="EPSG:3006")
    holds = models.CharField(_("holds"), max_length=16, choices=Holds.choices)
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT,
                                     related_name="sources", null=True, blank=True)
    preset = models.CharField(_("field mapping preset"), max_length=40, default="lantmateriet")
    page_size = models.PositiveIntegerField(_("page size"), default=1000)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    """One sync of one source: when, how many features, and how it ended."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    fetched = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"


class Parcel(models.Model):
    """One area (skifte) of a register unit, as in Lantmäteriet's registerenhetsomradesytor."""

    objektidentitet = models.UUIDField(db_index=True)
    registerenhetsreferens = models.UUIDField(db_index=True)
    objekttyp = models.CharField(max_length=40, blank=True)
    kommunkod = models.CharField(max_length=4, db_index=True)
    kommunnamn = models.CharField(max_length=100)
    trakt = models.CharField(max_length=100)
    block = models.CharField(max_length=10, blank=True)
    enhet = models.CharField(max_length=10)
    omradesnummer = models.PositiveIntegerField(default=1)
    etikett = models.CharField(max_length=200, blank=True)
    beteckning = models.CharField(max_length=250, db_index=True)
    senastandrad = models.DateField(null=True, blank=True)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="parcels")
    synced_at = models.DateTimeField()
    content_hash = models.CharField(max_length=40)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)

    class Meta:
        ordering = ["beteckning", "omradesnummer"]
        constraints = [models.UniqueConstraint(fields=["source", "objektidentitet"],
                                               name="parcel_unique_per_source")]
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")

    def __str__(self) -> str:
        return self.beteckning
