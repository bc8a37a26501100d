"""What a source can hold, and how its features become rows of the cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geodata.errors import UnsupportedSource
from geodata.models import Address, Building, Parcel, Plan, Regulation, Shoreline
from geodata.presets import FIELD_MAPPERS, FieldMapper, RowsMapper, parcel_rows


@dataclass(frozen=True)
class Kind:
    """A kind of cached feature: its model, field mapper and geometry check."""

    holds: str
    model: Any  # a concrete CachedFeature subclass
    fields: FieldMapper
    # "multipolygon", "multilinestring" or "point", see sources.geometry.coerce_many
    geometry: str
    rows: RowsMapper | None = None  # a page at once, where a kind has it (the same mapping)


# The area and point layers: what the exports offer (they write points and areas).
KINDS: dict[str, Kind] = {
    holds: Kind(holds, model, FIELD_MAPPERS[holds], geometry,
                parcel_rows if holds == "parcels" else None)
    for holds, model, geometry in (
        ("parcels", Parcel, "multipolygon"),
        ("addresses", Address, "point"),
        ("buildings", Building, "multipolygon"),
        ("plans", Plan, "multipolygon"),
        ("regulations", Regulation, "multipolygon"),
    )
}
# Every kind a source can be synced into: the line layers too, which the exports do not
# offer yet (their writers take points and areas).
SYNCED_KINDS: dict[str, Kind] = {
    **KINDS,
    "shoreline": Kind("shoreline", Shoreline, FIELD_MAPPERS["shoreline"], "multilinestring"),
}


def kind_for(holds: str) -> Kind:
    """Return the kind of a source's layer; background maps have none."""
    try:
        return SYNCED_KINDS[holds]
    except KeyError:
        raise UnsupportedSource(f"a source holding {holds!r} has no features to sync") from None
