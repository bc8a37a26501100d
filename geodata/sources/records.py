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
class Page:
    """One page of features; ``matched`` is the total when the source says it, and
    ``received`` how many features the server sent (before a client-side filter)."""

    records: list[FeatureRecord]
    rejected: list[Rejected]
    matched: int | None
    received: int = -1
    version: str = ""  # the source's ETag, Last-Modified or timeStamp for this answer

    @property
    def size(self) -> int:
        return self.received if self.received >= 0 else len(self.records) + len(self.rejected)
