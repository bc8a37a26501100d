"""What a source can hold, and how its features become rows of the cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import shapely

from geodata.errors import UnsupportedSource
from geodata.models import Address, Building, CachedFeature, Parcel, Plan, Regulation
from geodata.presets import FIELD_MAPPERS, FieldMapper
from geodata.sources.geometry import as_multipolygon, as_point


@dataclass(frozen=True)
class Kind:
    """A kind of cached feature: its model, field mapper and geometry check."""

    holds: str
    model: type[CachedFeature]
    fields: FieldMapper
    geometry: Callable[[shapely.Geometry], tuple[shapely.Geometry, str]]


KINDS: dict[str, Kind] = {
    holds: Kind(holds, model, FIELD_MAPPERS[holds], geometry)
    for holds, model, geometry in (
        ("parcels", Parcel, as_multipolygon),
        ("addresses", Address, as_point),
        ("buildings", Building, as_multipolygon),
        ("plans", Plan, as_multipolygon),
        ("regulations", Regulation, as_multipolygon),
    )
}


def kind_for(holds: str) -> Kind:
    """Return the kind of a source's layer; background maps have none."""
    try:
        return KINDS[holds]
    except KeyError:
        raise UnsupportedSource(f"a source holding {holds!r} has no features to sync") from None
