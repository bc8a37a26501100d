"""Spatial questions the rest of Lovkarta asks of the cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.db.models import Max
from django.utils import timezone

from geodata.crs import STORAGE_SRID, check_sweden, point_to_srid
from geodata.models import Parcel, SyncRun


@dataclass(frozen=True)
class DataAge:
    """When the cached data of a source was last refreshed."""

    synced_at: datetime | None

    @property
    def seconds(self) -> int | None:
        if self.synced_at is None:
            return None
        return int((timezone.now() - self.synced_at).total_seconds())


def parcel_at(x: float, y: float, srid: int = STORAGE_SRID) -> Parcel | None:
    """Return the parcel area under an x/y point given in any supported CRS."""
    check_sweden(x, y, srid)
    ex, ny = point_to_srid(x, y, srid, STORAGE_SRID)
    point = Point(ex, ny, srid=STORAGE_SRID)
    return (Parcel.objects.filter(geom__intersects=point)
            .order_by("-omradesnummer", "objektidentitet").first())


def parcel_data_age(parcel: Parcel) -> DataAge:
    """Return how old the cached data behind a parcel is (its source's last good sync)."""
    last = (SyncRun.objects.filter(source_id=parcel.source_id,
                                   outcome=SyncRun.Outcome.SUCCEEDED)
            .aggregate(at=Max("finished_at"))["at"])
    return DataAge(last)
