"""Typed records that adapters hand to the cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely


@dataclass(frozen=True, slots=True)
class FeatureRecord:
    """One feature as read from a source: its id, properties and x/y geometry in 3006."""

    id: str
    properties: dict[str, Any]
    geometry: shapely.Geometry


@dataclass(frozen=True, slots=True)
class Rejected:
    """A feature that could not be used, and why."""

    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Table:
    """A page's features column by column, as a fast reader gives them: no dict and no
    record per feature. ``columns`` holds one list per property and ``geometries`` the
    geometries (x/y in 3006 once the adapter has normalised them), each in the order of
    ``ids``."""

    ids: list[str]
    columns: dict[str, list[Any]]
    geometries: list[shapely.Geometry]

    def column(self, name: str) -> list[Any]:
        """A property's values (None for each feature if the page lacks it)."""
        values = self.columns.get(name)
        return values if values is not None else [None] * len(self.ids)

    def records(self) -> list[FeatureRecord]:
        """The same features as records."""
        names = list(self.columns)
        rows = zip(*self.columns.values(), strict=True) if names else ((),) * len(self.ids)
        return [FeatureRecord(fid, dict(zip(names, values, strict=True)), geometry)
                for fid, values, geometry in zip(self.ids, rows, self.geometries, strict=True)]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of features; ``matched`` is the total when the source says it, and
    ``received`` how many features the server sent (before a client-side filter).

    The accepted features are ``records``, or, from a fast reader, ``table`` (and then
    ``records`` is empty)."""

    records: list[FeatureRecord]
    rejected: list[Rejected]
    matched: int | None
    received: int = -1
    version: str = ""  # the source's ETag, Last-Modified or timeStamp for this answer
    table: Table | None = None

    @property
    def accepted(self) -> int:
        return len(self.table.ids) if self.table is not None else len(self.records)

    @property
    def size(self) -> int:
        return self.received if self.received >= 0 else self.accepted + len(self.rejected)
