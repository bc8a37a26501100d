"""Field mappings from a source's schema to the cache's, with ready-made presets."""

from __future__ import annotations

from datetime import date
from typing import Any

from geodata.designation import beteckning

# Lantmäteriet's Fastighetsindelning Direkt (registerenhetsomradesytor) uses our names.
LANTMATERIET_PARCEL_FIELDS = (
    "objektidentitet", "registerenhetsreferens", "objekttyp", "kommunkod", "kommunnamn",
    "trakt", "block", "enhet", "omradesnummer", "etikett", "senastandrad",
)

PRESETS = {"lantmateriet": {name: name for name in LANTMATERIET_PARCEL_FIELDS}}


class MappingError(ValueError):
    """A feature lacks a field the mapping needs."""


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parcel_fields(properties: dict[str, Any], preset: str) -> dict[str, Any]:
    """Map a parcel feature's properties to Parcel model fields."""
    try:
        mapping = PRESETS[preset]
    except KeyError:
        raise MappingError(f"unknown field mapping preset {preset!r}") from None
    values: dict[str, Any] = {ours: properties.get(theirs) for ours, theirs in mapping.items()}
    for required in ("objektidentitet", "kommunkod", "trakt", "enhet"):
        if values.get(required) in (None, ""):
            raise MappingError(f"missing {mapping[required]}")
    values["block"] = str(values.get("block") or "")
    values["enhet"] = str(values["enhet"])
    values["omradesnummer"] = int(values.get("omradesnummer") or 1)
    values["registerenhetsreferens"] = values.get("registerenhetsreferens") or values[
        "objektidentitet"]
    values["kommunnamn"] = values.get("kommunnamn") or ""
    values["objekttyp"] = values.get("objekttyp") or ""
    values["etikett"] = values.get("etikett") or ""
    values["senastandrad"] = _date(values.get("senastandrad"))
    values["beteckning"] = beteckning(str(values["kommunnamn"]), str(values["trakt"]),
                                      values["block"], values["enhet"])
    return values
