"""The geodata cache: what the rest of Lovkarta reads instead of calling the sources."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from geodata.crs import STORAGE_SRID
from geodata.municipalities import validate_kommunkod
from geodata.sources.paging import ServerCount


class Municipality(models.Model):
    """A municipality (kommun) served by this installation."""

    kommunkod = models.CharField(_("municipality code"), max_length=4, unique=True,
                                 validators=[validate_kommunkod])
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
        SHORELINE = "shoreline", _("shorelines")
        CATALOGUE = "catalogue", _("plan-regulation catalogue")
        BACKGROUND = "background", _("background map")

    name = models.SlugField(_("name"), max_length=80, unique=True)
    protocol = models.CharField(_("protocol"), max_length=32, choices=Protocol.choices)
    version = models.CharField(_("protocol version"), max_length=16, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    layer = models.CharField(_("collection, type name or catalogue release"), max_length=200,
                             blank=True)
    crs = models.CharField(_("CRS"), max_length=120, default="EPSG:3006")
    holds = models.CharField(_("holds"), max_length=16, choices=Holds.choices)
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT,
                                     related_name="sources", null=True, blank=True)
    preset = models.CharField(_("field mapping preset"), max_length=40, default="lantmateriet")
    page_size = models.PositiveIntegerField(_("page size"), default=1000)
    filter = models.CharField(  # noqa: A003 (the word GIS staff use)
        _("attribute filter"), max_length=500, blank=True,
        help_text=_("field=value pairs separated by ; all of which must hold, e.g. "
                    "kommunkod=2281"))
    enabled = models.BooleanField(_("enabled"), default=True)
    # Credentials never live in the database: the source names the environment
    # variables that hold them (<PREFIX>_USER/_PASSWORD, _API_KEY, or
    # _CLIENT_ID/_CLIENT_SECRET/_TOKEN_URL for OAuth2 client credentials).
    auth = models.CharField(_("authentication"), max_length=16, choices=[
        ("none", _("none")), ("basic", "HTTP Basic"), ("apikey", _("API key")),
        ("oauth2", _("OAuth2 client credentials"))], default="none")
    credentials_env = models.CharField(_("credentials environment prefix"), max_length=80,
                                       blank=True)
    schedule_minutes = models.PositiveIntegerField(
        _("sync every (minutes)"), null=True, blank=True,
        help_text=_("Leave empty to sync only on demand."))
    # Circuit breaker: after repeated failures the source is left alone for a while.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    circuit_open_until = models.DateTimeField(null=True, blank=True, editable=False)
    # What the service said of itself at the last good sync; for a background map, how
    # to draw it (a WMTS layer's tile URLs and matrix sets, a WMS's layers), so that
    # drawing a map asks the service for nothing but images.
    service_info = models.JSONField(default=dict, blank=True, editable=False)

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
    repaired = models.PositiveIntegerField(default=0)
    # What the server said the request matched (null: it did not say); not exact when the
    # count was capped (a lower bound: MapServer caps hits at its page cap).
    server_count = models.PositiveIntegerField(null=True, blank=True)
    server_count_exact = models.BooleanField(default=False)
    source_version = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    rejections = models.TextField(blank=True, help_text="One line a rejected feature: id: reason")
    repairs = models.TextField(blank=True, help_text="One line a repaired feature: id: repair")

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"

    @property
    def server_said(self) -> str:
        """What the server said it had: ``2826``, ``at least 500`` or ``unknown``."""
        return ServerCount(self.server_count, self.server_count_exact).describe()


class CachedFeature(models.Model):
    """What every cached feature has: its identity at the source and when it was synced."""

    # Neither has an index of its own: the unique constraint's index (identity first)
    # serves lookups by identity, a sync reads its source's rows once, and every index
    # costs each synced row (a sync writes 100,000s of them).
    objektidentitet = models.UUIDField()
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    synced_at = models.DateTimeField()
    content_hash = models.CharField(max_length=40)

    class Meta:
        abstract = True
        constraints = [models.UniqueConstraint(fields=["objektidentitet", "source"],
                                               name="%(class)s_one_per_source")]


class Parcel(CachedFeature):
    """One area (skifte) of a register unit, as in Lantmäteriet's registerenhetsomradesytor."""

    registerenhetsreferens = models.UUIDField(db_index=True)
    objekttyp = models.CharField(max_length=40, blank=True)
    kommunkod = models.CharField(max_length=4)
    kommunnamn = models.CharField(max_length=100)
    trakt = models.CharField(max_length=100)
    block = models.CharField(max_length=10, blank=True)
    enhet = models.CharField(max_length=10)
    omradesnummer = models.PositiveIntegerField(default=1)
    etikett = models.CharField(max_length=200, blank=True)
    beteckning = models.CharField(max_length=250)
    # The designation without its register area ("ABBOTEN 1"), for typing without it.
    kort_beteckning = models.CharField(max_length=200)
    senastandrad = models.DateField(null=True, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)

    class Meta(CachedFeature.Meta):
        ordering = ["beteckning", "omradesnummer"]
        # One index per searched column: the designations are matched exactly and by
        # prefix (LIKE 'X%'), which on PostgreSQL needs the pattern operator class (it
        # serves equality too); Django's db_index would add a second, plain index.
        indexes = [
            models.Index(fields=["beteckning"], opclasses=["varchar_pattern_ops"],
                         name="parcel_beteckning_idx"),
            models.Index(fields=["kort_beteckning"], opclasses=["varchar_pattern_ops"],
                         name="parcel_kort_beteckning_idx"),
        ]
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")

    def __str__(self) -> str:
        return self.beteckning


class Address(CachedFeature):
    """A location address (belägenhetsadress)."""

    adress = models.CharField(max_length=200)
    search_text = models.CharField(max_length=200, db_index=True)
    kommunkod = models.CharField(max_length=4, db_index=True)
    adressomrade = models.CharField(max_length=150, blank=True)
    adressplatsnummer = models.CharField(max_length=10, blank=True)
    bokstavstillagg = models.CharField(max_length=5, blank=True)
    postnummer = models.CharField(max_length=10, blank=True)
    postort = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=40, blank=True)
    registerenhetsreferens = models.UUIDField(null=True, blank=True, db_index=True)
    geom = models.PointField(srid=STORAGE_SRID)

    class Meta(CachedFeature.Meta):
        ordering = ["search_text"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return f"{self.adress}, {self.postort}".strip(", ")


class Building(CachedFeature):
    """A building (byggnad) footprint."""

    objektstatus = models.CharField(max_length=40, blank=True)
    huvudandamal = models.CharField(max_length=60, blank=True)
    husnummer = models.IntegerField(null=True, blank=True)
    nybyggnadsar = models.IntegerField(null=True, blank=True)
    registerenhetsreferens = models.UUIDField(null=True, blank=True, db_index=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)

    class Meta(CachedFeature.Meta):
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return f"{self.huvudandamal} {self.objektidentitet}"


class Plan(CachedFeature):
    """A detailed plan (detaljplan, or an older stadsplan/byggnadsplan)."""

    kommun = models.CharField(max_length=4, db_index=True)
    beteckning = models.CharField(max_length=60, db_index=True)
    namn = models.CharField(max_length=300, blank=True)
    syfte = models.TextField(blank=True)
    status = models.CharField(max_length=40, blank=True)
    typ = models.CharField(max_length=40, blank=True)
    datum_antagande = models.DateField(null=True, blank=True)
    datum_lagakraft = models.DateField(null=True, blank=True)
    genomforandetid = models.IntegerField(null=True, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)

    class Meta(CachedFeature.Meta):
        ordering = ["beteckning"]
        verbose_name = _("detailed plan")
        verbose_name_plural = _("detailed plans")

    def __str__(self) -> str:
        return f"{self.beteckning} {self.namn}".strip()


class Regulation(CachedFeature):
    """A plan regulation (planbestämmelse) area inside a plan."""

    plan_objektidentitet = models.UUIDField(null=True, blank=True, db_index=True)
    bestammelsekod = models.CharField(max_length=60, blank=True, db_index=True)
    bestammelsetyp = models.CharField(max_length=40, blank=True)
    anvandningsform = models.CharField(max_length=40, blank=True)
    kategori = models.CharField(max_length=120, blank=True)
    underkategori = models.CharField(max_length=120, blank=True)
    beteckning = models.CharField(max_length=40, blank=True)
    bestammelseformulering = models.TextField(blank=True)
    varde = models.FloatField(null=True, blank=True)
    geometrityp = models.CharField(max_length=20, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)

    class Meta(CachedFeature.Meta):
        verbose_name = _("plan regulation")
        verbose_name_plural = _("plan regulations")

    def __str__(self) -> str:
        return f"{self.beteckning or self.bestammelsekod}: {self.bestammelseformulering}"


class Shoreline(CachedFeature):
    """A shoreline (strandlinje) of the sea, a lake or a watercourse: where the general
    shore protection (strandskydd, 100 m on land and in the water) is measured from.

    As in Lantmäteriet's hydrography (a line's ``objekttyp`` says which water it bounds,
    e.g. "Strandlinje, hav") or a municipality's own shoreline layer.
    """

    objekttyp = models.CharField(max_length=60, blank=True)
    namn = models.CharField(max_length=200, blank=True)  # the water's name, where given
    versiongiltigfran = models.DateField(null=True, blank=True)
    geom = models.MultiLineStringField(srid=STORAGE_SRID)

    class Meta(CachedFeature.Meta):
        verbose_name = _("shoreline")
        verbose_name_plural = _("shorelines")

    def __str__(self) -> str:
        return " ".join(filter(None, (self.objekttyp, self.namn))) or str(self.objektidentitet)


class CatalogueEntry(models.Model):
    """A record of Boverket's plan-regulation catalogue (planbestämmelsekatalogen)."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    release = models.CharField(max_length=20)
    catalogue_id = models.UUIDField()
    bestammelsekod = models.CharField(max_length=60, db_index=True)
    bestammelsetyp = models.CharField(max_length=40, blank=True)
    anvandningsform = models.CharField(max_length=40, blank=True)
    kategori = models.CharField(max_length=120, blank=True)
    underkategori = models.CharField(max_length=120, blank=True)
    beteckning = models.CharField(max_length=40, blank=True)
    bestammelseformulering = models.TextField(blank=True)
    geometrityp = models.CharField(max_length=20, blank=True)
    farg = models.CharField(max_length=20, blank=True)
    symbol = models.CharField(max_length=60, blank=True)
    uttrycktvarde = models.CharField(max_length=10, blank=True)
    borjargalla = models.DateField(null=True, blank=True)
    slutargalla = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "catalogue_id"],
                                               name="catalogue_entry_unique_per_source")]
        verbose_name = _("catalogue record")
        verbose_name_plural = _("catalogue records")

    def __str__(self) -> str:
        return f"{self.bestammelsekod}: {self.bestammelseformulering}"


class ExportRun(models.Model):
    """One export: who asked for what, with which filter, how far it has come, and the
    file it made. The record of exports for the audit: never changed once finished."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    via = models.CharField(max_length=20, default="page")  # page, command
    layer = models.CharField(_("layer"), max_length=40)
    file_format = models.CharField(_("format"), max_length=20)
    srid = models.PositiveIntegerField(_("CRS (EPSG)"))
    filters = models.JSONField(_("filter"), default=dict, blank=True)
    personal_data = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    written = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True, max_length=300)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"{self.layer} {self.file_format} EPSG:{self.srid} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.written / self.total) if self.total else 0
