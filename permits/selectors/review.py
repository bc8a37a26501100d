"""Reads of the officer's review map: the cases as vector tiles (points and sites from
``CASES_MIN_ZOOM``, counts per grid cell below it) and the extent the map starts over.

A case tile carries no personal data: the case's id, number, status, case type, whether it
is overdue and the days left (and a band the map styles it by); a cluster only how many
cases it stands for. It is scoped like every casework read: the cases come from
``case_queue``, so a case of a municipality where the officer holds no role is never in
it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from datetime import date, timedelta
from typing import Any

from django.contrib.gis.db.models import Extent
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from geodata.tiles import ClusterLayer, Tile, TileLayer, tile_mvt
from permits.models import Application
from permits.selectors.casework import QueueFilter, case_queue
from permits.workflow import OPEN

# Cases are drawn one by one from this zoom (z13 is about 2.5 km across in Sundsvall);
# below it, down to CASE_CLUSTERS_MIN_ZOOM, as counts per cell of a grid of
# CLUSTER_CELLS x CLUSTER_CELLS over each tile; below that, not at all.
CASES_MIN_ZOOM = 13
CASE_CLUSTERS_MIN_ZOOM = 8
CLUSTER_CELLS = 8
CASE_SITES_MIN_ZOOM = 15
# A case within this many days of its deadline is "soon".
SOON_DAYS = 7


class DaysUntil(Func):
    """Whole days from ``today`` to a date (negative once it has passed)."""

    output_field = IntegerField()

    def __init__(self, expression: str, today: date) -> None:
        super().__init__(expression, Value(today, output_field=DateField()))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s)",
                           arg_joiner=" - ", **extra)


def case_band(today: date) -> Case:
    """The band a case is styled by: closed, overdue, soon (within SOON_DAYS) or open."""
    return Case(When(~Q(status__in=OPEN), then=Value("closed")),
                When(deadline__lt=today, then=Value("overdue")),
                When(deadline__lte=today + timedelta(days=SOON_DAYS), then=Value("soon")),
                default=Value("open"), output_field=CharField())


def case_tile_layers(cases: QuerySet[Application] | Callable[[], QuerySet[Application]], *,
                     today: date, zoom: int, key: Hashable | None = None
                     ) -> list[TileLayer | ClusterLayer]:
    """Return the layers of a case tile at ``zoom``: the cases as points, from a closer
    zoom their sites too; below CASES_MIN_ZOOM their counts per cell (``case_clusters``,
    property ``count``); below CASE_CLUSTERS_MIN_ZOOM nothing.

    ``key`` (see ``TileLayer.key``) must determine ``cases``; ``today`` is added to it.
    ``cases`` may be a function that makes the queryset (called only where it is used)."""
    layer_key = None if key is None else (key, today)
    made = cases if callable(cases) else (lambda: cases)
    if zoom < CASE_CLUSTERS_MIN_ZOOM:
        return []
    if zoom < CASES_MIN_ZOOM:
        return [ClusterLayer("case_clusters", made().filter(location__isnull=False),
                             "location", CLUSTER_CELLS)]
    is_open = Q(status__in=OPEN)
    band = case_band(today)
    properties = {
        "id": "id", "case_number": "case_number", "status": "status",
        "case_type": "case_type", "band": band,
        "overdue": Case(When(is_open & Q(deadline__lt=today), then=Value(True)),
                        default=Value(False), output_field=BooleanField()),
        "days_left": Case(When(is_open, then=DaysUntil("deadline", today)), default=None,
                          output_field=IntegerField()),
    }
    layers: list[TileLayer | ClusterLayer] = [
        TileLayer("cases", lambda: made().filter(location__isnull=False), properties,
                  "location", layer_key)]
    if zoom >= CASE_SITES_MIN_ZOOM:
        layers.append(TileLayer("case_sites", lambda: made().filter(site__isnull=False),
                                {"id": "id", "case_number": "case_number", "band": band},
                                "site", layer_key))
    return layers


def case_tile(*, user: Any, filters: QueueFilter, today: date, tile: Tile) -> bytes:
    """Return the MVT of the user's cases in a tile, with a queue's filters (empty bytes
    for an empty tile)."""
    if tile.z < CASE_CLUSTERS_MIN_ZOOM:
        return b""
    # What makes the query: whose scope (case_queue reads the roles in SQL) and the filters.
    key = ("case-tile", getattr(user, "pk", None), bool(getattr(user, "is_superuser", False)),
           filters)
    # The queryset is made once, and only where the tile's SQL is built (not for every tile).
    cases = functools.cache(lambda: case_queue(user=user, filters=filters, today=today))
    return tile_mvt(tile, case_tile_layers(cases, today=today, zoom=tile.z, key=key))


def case_extent(cases: QuerySet[Application]) -> tuple[float, float, float, float] | None:
    """Return the extent (storage CRS) of the located cases, or None if there are none."""
    found: tuple[float, float, float, float] | None = cases.filter(
        location__isnull=False).order_by().aggregate(extent=Extent("location"))["extent"]
    return found
