"""Decided permit cases as open data: the ``cases`` collection of the OGC API (``/ogc/``).

Registered through geodata's registry (geodata never imports permits). Only decided and
served cases, and only what a decision makes public anyway: case number, case type,
measure, decision day, outcome and municipality; no names, e-mails, telephone numbers,
descriptions or attachments.

Where: every applicant in Lovkarta is a person with an account of their own (nothing
marks an organisation), so every case is treated as a private applicant's: its point is
the centroid of the property (the parcel area applied for, or the pinned location when
the parcel is gone from the cache), snapped to a 50 m grid in SWEREF 99 TM. It shows the
block, not the house.
"""

from __future__ import annotations

from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import Centroid, SnapToGrid
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from geodata.crs import STORAGE_SRID
from geodata.publish.registry import DATE, Collection, Field, register
from permits.models import Application
from permits.workflow import Status

GRID_M = 50.0
DECIDED = (Status.DECIDED, Status.NOTIFIED)
CASE_NUMBER = Field("case_number")


def decided_cases() -> QuerySet[Application]:
    """Return the decided and served cases, with their generalised point."""
    return Application.objects.filter(status__in=DECIDED, case_number__isnull=False).annotate(
        published_point=SnapToGrid(Coalesce(Centroid("parcel__geom"), "location",
                                            output_field=PointField(srid=STORAGE_SRID)),
                                   GRID_M))


def register_open_cases() -> None:
    """Publish the decided cases as the ``cases`` collection."""
    register(Collection(
        id="cases", order=60, geometry="published_point", geometry_type="Point",
        indexed=False,
        title=_("Decided permit cases"),
        description=_("Decided building-permit cases: case type, measure, decision day and "
                      "outcome. No personal data: the place is the centroid of the property "
                      "snapped to a 50 m grid."),
        queryset=decided_cases, id_field=CASE_NUMBER,
        fields=(CASE_NUMBER, Field("case_type"), Field("measure"),
                Field("decided_on", type=DATE), Field("outcome"),
                Field("kommunkod", "municipality__kommunkod")),
        datetime_field=Field("decided_on", type=DATE),
        keywords=("bygglov", "beslut")))
