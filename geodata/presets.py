"""Field mappings from a source's schema to the cache's, with ready-made presets.

A preset maps each of our field names to the source's property name. Presets exist for
Lantmäteriet's Direkt services, INSPIRE Cadastral Parcels (``cp:CadastralParcel``),
Boverket's national specification for detailed plans, the legacy fields of plans
that municipalities digitised themselves (``AKTBET``, ``CATEGORY``, ``DESCRIPTIO``, ...),
and shorelines from Lantmäteriet's hydrography, INSPIRE Hydrography
(``hy-p:LandWaterBoundary``) or a municipality's own layer.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from geodata.designation import DesignationError, beteckning, normalise, parse

LANTMATERIET_PARCEL_FIELDS = (
    "objektidentitet", "registerenhetsreferens", "objekttyp", "kommunkod", "kommunnamn",
    "trakt", "block", "enhet", "omradesnummer", "etikett", "senastandrad",
)
ADDRESS_FIELDS = (
    "objektidentitet", "adress", "kommunkod", "adressomrade", "adressplatsnummer",
    "bokstavstillagg", "postnummer", "postort", "status", "registerenhetsreferens",
)
BUILDING_FIELDS = (
    "objektidentitet", "objektstatus", "huvudandamal", "husnummer", "nybyggnadsar",
    "registerenhetsreferens",
)
PLAN_FIELDS = (
    "objektidentitet", "kommun", "beteckning", "namn", "syfte", "status", "typ",
    "genomforandetid",
)
SHORELINE_FIELDS = ("objektidentitet", "objekttyp", "namn", "versiongiltigfran")
REGULATION_FIELDS = (
    "objektidentitet", "plan_objektidentitet", "bestammelsekod", "bestammelsetyp",
    "anvandningsform", "kategori", "underkategori", "beteckning", "bestammelseformulering",
    "varde", "geometrityp",
)


def _same(names: tuple[str, ...]) -> dict[str, str]:
    return {name: name for name in names}


# holds -> preset -> {our field: their property}
PRESETS: dict[str, dict[str, dict[str, str]]] = {
    "parcels": {
        "lantmateriet": _same(LANTMATERIET_PARCEL_FIELDS),
        "inspire": {"objektidentitet": "localId", "label": "label",
                    "nationalCadastralReference": "nationalCadastralReference",
                    "senastandrad": "beginLifespanVersion", "namespace": "namespace"},
    },
    "addresses": {"lantmateriet": _same(ADDRESS_FIELDS)},
    "buildings": {"lantmateriet": _same(BUILDING_FIELDS)},
    "plans": {
        "boverket": {**_same(PLAN_FIELDS), "datum_antagande": "datumAntagande",
                     "datum_lagakraft": "datumLagakraft"},
        "legacy": {"objektidentitet": "OBJECTID", "beteckning": "AKTBET", "namn": "NAMN",
                   "status": "STATUS", "typ": "PLANTYP", "datum_lagakraft": "LAGAKRAFT",
                   "kommun": "KOMMUN"},
    },
    "regulations": {
        "boverket": _same(REGULATION_FIELDS),
        "legacy": {"objektidentitet": "OBJECTID", "plan_objektidentitet": "PLAN_ID",
                   "beteckning": "CATEGORY", "bestammelseformulering": "DESCRIPTIO",
                   "varde": "MAX", "varde_min": "MIN", "hojd": "HEIGHT",
                   "bestammelsekod": "CATEGORY"},
    },
    "shoreline": {
        # Lantmäteriet's hydrography (a line's objekttyp, e.g. "Strandlinje, hav").
        "lantmateriet": _same(SHORELINE_FIELDS),
        # INSPIRE Hydrography - Physical Waters, the line hy-p:LandWaterBoundary: it has
        # no name or type of water of its own.
        "inspire": {"objektidentitet": "localId", "versiongiltigfran": "beginLifespanVersion"},
        # A municipality's own layer, as GIS staff usually name its columns.
        "kommun": {"objektidentitet": "OBJECTID", "objekttyp": "TYP", "namn": "NAMN",
                   "versiongiltigfran": "DATUM"},
    },
}
# The catalogue has one schema, Boverket's own: no mapping to choose.
PRESETS["catalogue"] = {"boverket": {}}
PRESET_NAMES = sorted({name for presets in PRESETS.values() for name in presets})

# The namespace for identities made from sources whose ids are not UUIDs.
LOVKARTA_NAMESPACE = uuid.UUID("6f1c1f0e-3f7a-4c55-9a51-7a6b2f2d2281")


class MappingError(ValueError):
    """A feature lacks a field the mapping needs, or holds a value we cannot read."""


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def as_uuid(value: Any, context: str = "") -> str:
    """Return an identity as a canonical UUID string (lower case, 8-4-4-4-12).

    A UUID in any spelling is itself; any other identifier gives a stable UUID derived
    from it (and ``context``). Strings, not UUID objects: a sync maps 100,000s of them,
    and the database takes the text as it is.
    """
    text = str(value).strip()
    if not text:
        raise MappingError("missing identity")
    if _CANONICAL_UUID.fullmatch(text):
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(LOVKARTA_NAMESPACE, f"{context}:{text}"))


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", ".")) if value not in (None, "") else None
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _mapped(properties: dict[str, Any], holds: str, preset: str) -> dict[str, Any]:
    try:
        mapping = PRESETS[holds][preset]
    except KeyError:
        raise MappingError(f"no preset {preset!r} for {holds}") from None
    return {ours: properties.get(theirs) for ours, theirs in mapping.items()}


PARCEL_FIELDS = (
    "objektidentitet", "registerenhetsreferens", "objekttyp", "kommunkod", "kommunnamn",
    "trakt", "block", "enhet", "omradesnummer", "etikett", "senastandrad", "kort_beteckning",
    "beteckning",
)


def parcel_fields(properties: dict[str, Any], preset: str,
                  context: dict[str, str] | None = None) -> dict[str, Any]:
    """Map a parcel feature's properties to Parcel fields.

    ``context`` gives what the source knows and the features may not say: ``kommunkod``
    and ``kommunnamn`` of the source's municipality.
    """
    if preset == "inspire":
        return _inspire_parcel(_mapped(properties, "parcels", preset), context or {})
    values = tuple(properties.get(name) if name else None for name in _parcel_names(preset))
    return dict(zip(PARCEL_FIELDS, _parcel_row(values, preset, context or {}), strict=True))


ValueColumn = Callable[[str], list[Any]]
RowsMapper = Callable[[ValueColumn, int, str, dict[str, str] | None],
                      tuple[tuple[str, ...], list[tuple[Any, ...] | MappingError]] | None]


def parcel_rows(column: ValueColumn, count: int, preset: str,
                context: dict[str, str] | None = None
                ) -> tuple[tuple[str, ...], list[tuple[Any, ...] | MappingError]] | None:
    """Map a page of parcels at once: ``column(name)`` gives a source property's values.

    Returns the fields and, for each feature, its values in that order or why it cannot
    be mapped. This runs for every parcel of every sync, so no dict is made per feature;
    the mapping itself is parcel_fields', feature by feature. None for a preset that maps
    feature by feature only (INSPIRE's designation is parsed from a label).
    """
    if preset == "inspire":
        return None
    context = context or {}
    columns = [column(name) if name else [None] * count for name in _parcel_names(preset)]
    out: list[tuple[Any, ...] | MappingError] = []
    for values in zip(*columns, strict=True):
        try:
            out.append(_parcel_row(values, preset, context))
        except MappingError as exc:
            out.append(exc)
    return PARCEL_FIELDS, out


@functools.lru_cache(maxsize=16)
def _parcel_names(preset: str) -> tuple[str | None, ...]:
    """The source's property names for LANTMATERIET_PARCEL_FIELDS under a preset (None
    for a field the preset does not map)."""
    try:
        mapping = PRESETS["parcels"][preset]
    except KeyError:
        raise MappingError(f"no preset {preset!r} for parcels") from None
    return tuple(mapping.get(name) for name in LANTMATERIET_PARCEL_FIELDS)


def _parcel_row(values: tuple[Any, ...], preset: str, context: dict[str, str]
                ) -> tuple[Any, ...]:
    """One parcel's values in PARCEL_FIELDS order, from its properties in
    LANTMATERIET_PARCEL_FIELDS order."""
    (oid, ref, objekttyp, kommunkod, kommunnamn, trakt, block, enhet, omradesnummer, etikett,
     senastandrad) = values
    kommunkod = kommunkod or context.get("kommunkod")
    for name, value in (("objektidentitet", oid), ("kommunkod", kommunkod), ("trakt", trakt),
                        ("enhet", enhet)):
        if value in (None, ""):
            raise MappingError(f"missing {PRESETS['parcels'][preset].get(name, name)}")
    kommunnamn = _text(kommunnamn or context.get("kommunnamn"))
    trakt = _normalised(_text(trakt))
    block = _text(block).upper()
    enhet = _text(enhet)
    tail = f"{block}:{enhet}" if block else enhet
    # The usual "2:6" or "12" needs no normalising; anything else gets it.
    short = (f"{trakt} {tail}" if _PLAIN_TAIL.fullmatch(tail)
             else beteckning("", trakt, block, enhet))
    return (as_uuid(oid), as_uuid(ref or oid), _text(objekttyp), _text(kommunkod), kommunnamn,
            trakt, block, enhet, _int(omradesnummer) or 1, _text(etikett),
            _date(senastandrad), short, f"{_normalised(kommunnamn)} {short}".lstrip())


_PLAIN_TAIL = re.compile(r"[0-9A-ZÅÄÖ]+(?::[0-9A-ZÅÄÖ]+)?")


@functools.lru_cache(maxsize=4096)
def _normalised(name: str) -> str:
    """normalise() for names that recur on every page (trakter, municipalities)."""
    return normalise(name)


_INSPIRE_LABEL = re.compile(r"^(?P<area>\S+)\s+(?P<rest>.+)$")


def _inspire_parcel(v: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    """Read an INSPIRE cp:CadastralParcel: the designation is only in ``label``."""
    label = _text(v.get("label"))
    match = _INSPIRE_LABEL.match(normalise(label))
    if not match:
        raise MappingError(f"label {label!r} is not a property designation")
    try:
        designation = parse(match["rest"])
    except DesignationError as exc:
        raise MappingError(str(exc)) from exc
    reference = _text(v.get("nationalCadastralReference"))
    if not context.get("kommunkod"):
        raise MappingError("an INSPIRE source must name its municipality (kommunkod)")
    area_no = re.search(r">\s*(\d+)\s*$", label)
    namespace = _text(v.get("namespace")) or "cp"
    oid = as_uuid(v.get("objektidentitet"), namespace)
    return {
        "objektidentitet": oid,
        "registerenhetsreferens": as_uuid(reference or oid, "register"),
        "objekttyp": "", "kommunkod": context["kommunkod"],
        "kommunnamn": match["area"].title(), "trakt": designation.name,
        "block": designation.block, "enhet": designation.enhet,
        "omradesnummer": int(area_no.group(1)) if area_no else 1, "etikett": label,
        "senastandrad": _date(v.get("senastandrad")),
        "beteckning": beteckning(match["area"], designation.name, designation.block,
                                 designation.enhet),
        "kort_beteckning": str(designation),
    }


def address_fields(properties: dict[str, Any], preset: str,
                   context: dict[str, str] | None = None) -> dict[str, Any]:
    """Map an address feature's properties to Address fields."""
    v = _mapped(properties, "addresses", preset)
    if not v.get("adress"):
        raise MappingError("missing adress")
    out: dict[str, Any] = {k: _text(v.get(k)) for k in ADDRESS_FIELDS if k not in (
        "objektidentitet", "registerenhetsreferens")}
    out["objektidentitet"] = as_uuid(v.get("objektidentitet"), "adress")
    out["kommunkod"] = out["kommunkod"] or (context or {}).get("kommunkod", "")
    ref = v.get("registerenhetsreferens")
    out["registerenhetsreferens"] = as_uuid(ref) if ref else None
    out["search_text"] = " ".join(f"{out['adress']} {out['postort']}".lower().split())
    return out


def building_fields(properties: dict[str, Any], preset: str,
                    context: dict[str, str] | None = None) -> dict[str, Any]:
    """Map a building feature's properties to Building fields."""
    v = _mapped(properties, "buildings", preset)
    ref = v.get("registerenhetsreferens")
    return {"objektidentitet": as_uuid(v.get("objektidentitet"), "byggnad"),
            "objektstatus": _text(v.get("objektstatus")),
            "huvudandamal": _text(v.get("huvudandamal")),
            "husnummer": _int(v.get("husnummer")), "nybyggnadsar": _int(v.get("nybyggnadsar")),
            "registerenhetsreferens": as_uuid(ref) if ref else None}


def plan_fields(properties: dict[str, Any], preset: str,
                context: dict[str, str] | None = None) -> dict[str, Any]:
    """Map a detailed plan's properties to Plan fields."""
    v = _mapped(properties, "plans", preset)
    if not v.get("beteckning"):
        raise MappingError(f"missing {PRESETS['plans'][preset]['beteckning']}")
    return {"objektidentitet": as_uuid(v.get("objektidentitet") or v["beteckning"], "plan"),
            "kommun": _text(v.get("kommun")) or (context or {}).get("kommunkod", ""),
            "beteckning": _text(v["beteckning"]),
            "namn": _text(v.get("namn")), "syfte": _text(v.get("syfte")),
            "status": _text(v.get("status")).lower() or ("laga kraft" if preset == "legacy"
                                                         else ""),
            "typ": _text(v.get("typ")).lower(),
            "datum_antagande": _date(v.get("datum_antagande")),
            "datum_lagakraft": _date(v.get("datum_lagakraft")),
            "genomforandetid": _int(v.get("genomforandetid"))}


def regulation_fields(properties: dict[str, Any], preset: str,
                      context: dict[str, str] | None = None) -> dict[str, Any]:
    """Map a plan regulation's properties to Regulation fields."""
    v = _mapped(properties, "regulations", preset)
    plan = v.get("plan_objektidentitet")
    out = {"objektidentitet": as_uuid(v.get("objektidentitet"), "bestammelse"),
           "plan_objektidentitet": as_uuid(plan, "plan") if plan else None,
           "bestammelsekod": _text(v.get("bestammelsekod")),
           "bestammelsetyp": _text(v.get("bestammelsetyp")),
           "anvandningsform": _text(v.get("anvandningsform")),
           "kategori": _text(v.get("kategori")), "underkategori": _text(v.get("underkategori")),
           "beteckning": _text(v.get("beteckning")),
           "bestammelseformulering": _text(v.get("bestammelseformulering")),
           "varde": _float(v.get("varde")), "geometrityp": _text(v.get("geometrityp")) or "yta"}
    if preset == "legacy":
        out["bestammelsekod"] = f"LEGACY_{out['beteckning']}" if out["beteckning"] else ""
        height = _float(v.get("hojd"))
        if out["varde"] is None and height is not None:
            out["varde"] = height
    return out


def shoreline_fields(properties: dict[str, Any], preset: str,
                     context: dict[str, str] | None = None) -> dict[str, Any]:
    """Map a shoreline feature's properties to Shoreline fields."""
    v = _mapped(properties, "shoreline", preset)
    return {"objektidentitet": as_uuid(v.get("objektidentitet"), "strandlinje"),
            "objekttyp": _text(v.get("objekttyp"))[:60] or "Strandlinje",
            "namn": _text(v.get("namn"))[:200],
            "versiongiltigfran": _date(v.get("versiongiltigfran"))}


FieldMapper = Callable[[dict[str, Any], str, dict[str, str] | None], dict[str, Any]]
FIELD_MAPPERS: dict[str, FieldMapper] = {
    "parcels": parcel_fields, "addresses": address_fields, "buildings": building_fields,
    "plans": plan_fields, "regulations": regulation_fields, "shoreline": shoreline_fields,
}
