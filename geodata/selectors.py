"""Spatial questions the rest of Lovkarta asks of the cache."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from geodata.crs import STORAGE_SRID, check_sweden, point_to_srid, to_srid
from geodata.designation import DesignationError, normalise, parse
from geodata.models import (
    Address,
    Building,
    CatalogueEntry,
    Parcel,
    Plan,
    Regulation,
    Shoreline,
    Source,
    SyncRun,
)


@dataclass(frozen=True)
class DataAge:
    """When the cached data of a source was last refreshed."""

    synced_at: datetime | None

    @property
    def seconds(self) -> int | None:
        if self.synced_at is None:
            return None
        return int((timezone.now() - self.synced_at).total_seconds())


def data_age(source_ids: list[int] | set[int]) -> DataAge:
    """Return the age of the oldest of these sources' last good syncs."""
    if not source_ids:
        return DataAge(None)
    lasts = (SyncRun.objects.filter(source_id__in=source_ids,
                                    outcome=SyncRun.Outcome.SUCCEEDED)
             .values("source_id").annotate(at=Max("finished_at")))
    times = [row["at"] for row in lasts]
    if len(times) < len(set(source_ids)):
        return DataAge(None)
    return DataAge(min(times))


def parcel_data_age(parcel: Parcel) -> DataAge:
    """Return how old the cached data behind a parcel is (its source's last good sync)."""
    return data_age({parcel.source_id})


def storage_point(x: float, y: float, srid: int = STORAGE_SRID) -> Point:
    """Return an x/y point in any supported CRS as a point in the storage CRS."""
    check_sweden(x, y, srid)
    ex, ny = point_to_srid(x, y, srid, STORAGE_SRID)
    return Point(ex, ny, srid=STORAGE_SRID)


# The hottest query of the service (every pin on every map), written out so that each
# backend uses its spatial index: PostGIS's GiST through ST_Intersects, SpatiaLite's
# R*Tree through its SpatialIndex table (which Django's lookups do not use). SpatiaLite
# hands the geometry over as hex WKB, the form Django's reader takes from a string.
_PARCEL_AT = {
    "postgresql": (
        "SELECT * FROM geodata_parcel WHERE ST_Intersects(geom, "
        "ST_SetSRID(ST_MakePoint(%s, %s), {srid})) "
        "ORDER BY omradesnummer DESC, objektidentitet LIMIT 1"),
    "sqlite": (
        "SELECT {columns}, Hex(AsBinary(geom)) AS geom FROM geodata_parcel "
        "WHERE ROWID IN (SELECT ROWID FROM SpatialIndex "
        "WHERE f_table_name = 'geodata_parcel' AND f_geometry_column = 'geom' AND "
        "search_frame = MakePoint(%s, %s, {srid})) AND Intersects(geom, "
        "MakePoint(%s, %s, {srid})) ORDER BY omradesnummer DESC, objektidentitet LIMIT 1"),
}


def parcel_at(x: float, y: float, srid: int = STORAGE_SRID) -> Parcel | None:
    """Return the parcel area under an x/y point given in any supported CRS."""
    point = storage_point(x, y, srid)
    columns = ", ".join(str(f.column) for f in Parcel._meta.concrete_fields if f.name != "geom")
    sql = _PARCEL_AT[connection.vendor].format(srid=STORAGE_SRID, columns=columns)
    params = [point.x, point.y] * (2 if connection.vendor == "sqlite" else 1)
    return next(iter(Parcel.objects.raw(sql, params)), None)


def parcels_by_designation(text: str, kommunkod: str | None = None,
                           limit: int = 10) -> list[Parcel]:
    """Find properties by designation, tolerantly; complete a prefix.

    "Tomming 2:6", "tomming 2 :6", "SUNDSVALL TOMMING 2:6>1" find the same property;
    "abbo" completes to the kvarter ABBOTEN. One parcel (the first area) per property.
    """
    query = normalise(text)
    if len(query) < 2:
        return []
    parcels: QuerySet[Parcel] = Parcel.objects.all()
    if kommunkod:
        parcels = parcels.filter(kommunkod=kommunkod)
    try:
        designation = str(parse(query))
    except DesignationError:
        designation = ""
    if designation:
        exact = parcels.filter(Q(beteckning=designation) | Q(kort_beteckning=designation))
        found = _one_per_property(exact, limit)
        if found:
            return found
    prefix = parcels.filter(Q(beteckning__startswith=query) |
                            Q(kort_beteckning__startswith=query))
    return _one_per_property(prefix.order_by("beteckning", "omradesnummer"), limit)


def _one_per_property(parcels: QuerySet[Parcel], limit: int) -> list[Parcel]:
    out: dict[tuple[str, str], Parcel] = {}
    for parcel in parcels.order_by("beteckning", "omradesnummer")[:limit * 4]:
        out.setdefault((parcel.beteckning, str(parcel.registerenhetsreferens)), parcel)
        if len(out) >= limit:
            break
    return list(out.values())


def property_parcels(parcel: Parcel) -> QuerySet[Parcel]:
    """Return every area of the property a parcel belongs to."""
    return Parcel.objects.filter(source_id=parcel.source_id,
                                 registerenhetsreferens=parcel.registerenhetsreferens)


def addresses_search(text: str, kommunkod: str | None = None,
                     limit: int = 10) -> list[Address]:
    """Find addresses by prefix ("storgatan 1", "Storgatan 11, Sundsvall")."""
    query = " ".join(text.replace(",", " ").lower().split())
    if len(query) < 2:
        return []
    addresses: QuerySet[Address] = Address.objects.all()
    if kommunkod:
        addresses = addresses.filter(kommunkod=kommunkod)
    found = list(addresses.filter(search_text__startswith=query).order_by("search_text")[:200])
    if len(found) < limit:
        found.extend(addresses.filter(search_text__contains=query).exclude(
            pk__in=[a.pk for a in found]).order_by("search_text")[:limit - len(found)])
    # Street, then house number as a number (Storgatan 2 before Storgatan 11).
    found.sort(key=lambda a: (a.adressomrade.lower(), _number(a.adressplatsnummer),
                              a.bokstavstillagg, a.postort))
    return found[:limit]


def _number(text: str) -> int:
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits else 0


@dataclass(frozen=True)
class RegulationHit:
    """A plan regulation that intersects the asked geometry, and by how much, with its
    record in Boverket's catalogue when the code is known there."""

    regulation: Regulation
    overlap_m2: float
    share_percent: float
    catalogue: CatalogueEntry | None = None


@dataclass
class DetailReport:
    """What lies at a point or under a drawn geometry: the "detaljrapport"."""

    geometry: GEOSGeometry
    parcels: list[Parcel] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    regulations: list[RegulationHit] = field(default_factory=list)
    age: DataAge = field(default_factory=lambda: DataAge(None))

    @property
    def outside_plan(self) -> bool:
        return not self.plans


def detail_report(geometry: GEOSGeometry) -> DetailReport:
    """Report the parcels, covering plans and intersecting regulations of a geometry.

    For a point the parcel under it stands in for the area asked about, so that the
    regulations are those on the property. Overlaps are in m² of SWEREF 99 TM and shares
    are of the asked area.
    """
    report = footprint_report(geometry)
    report.age = data_age({p.source_id for p in report.parcels}
                          | {p.source_id for p in report.plans})
    return report


def footprint_report(geometry: GEOSGeometry) -> DetailReport:
    """Report what :func:`detail_report` reports of a geometry, without the data's age
    (one query fewer, for callers that name the data they read otherwise)."""
    if geometry.srid != STORAGE_SRID:
        shape = to_srid(shapely.from_wkb(bytes(geometry.wkb)), geometry.srid or STORAGE_SRID,
                        STORAGE_SRID)
        geometry = GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)
    report = DetailReport(geometry=geometry)
    if geometry.geom_type == "Point":
        first = (Parcel.objects.filter(geom__intersects=geometry)
                 .order_by("-omradesnummer").first())
        report.parcels = [first] if first else []
        area_geom = first.geom if first else geometry
    else:
        report.parcels = list(Parcel.objects.filter(geom__intersects=geometry)
                              .order_by("beteckning", "omradesnummer"))
        area_geom = geometry
    probe = _inner(area_geom if area_geom.geom_type != "Point" else geometry)
    report.plans = list(Plan.objects.filter(geom__intersects=probe).order_by("beteckning"))
    area_shape = shapely.from_wkb(bytes(area_geom.wkb))
    area = area_shape.area
    hits = []
    for regulation in Regulation.objects.filter(geom__intersects=probe):
        overlap = shapely.from_wkb(bytes(regulation.geom.wkb)).intersection(area_shape).area
        if area and overlap < 0.01:
            continue  # touching along an edge is not intersecting in any way that matters
        share = 100.0 * overlap / area if area else 0.0
        hits.append(RegulationHit(regulation, round(overlap, 2), round(share, 2)))
    hits.sort(key=lambda h: (-h.overlap_m2, h.regulation.beteckning))
    records = catalogue_records({h.regulation.bestammelsekod for h in hits})
    report.regulations = [RegulationHit(h.regulation, h.overlap_m2, h.share_percent,
                                        records.get(h.regulation.bestammelsekod))
                          for h in hits]
    return report


def catalogue_records(codes: set[str]) -> dict[str, CatalogueEntry]:
    """Return the newest catalogue record of each regulation code."""
    out: dict[str, CatalogueEntry] = {}
    for entry in CatalogueEntry.objects.filter(bestammelsekod__in=codes).order_by("release"):
        out[entry.bestammelsekod] = entry
    return out


def catalogue_templates(codes: set[str]) -> dict[str, str]:
    """Return the wording (bestammelseformulering) of the newest catalogue record of each
    regulation code: :func:`catalogue_records`' answer, read in one statement written out
    (one footprint's checks ask for it; the ORM's compiling cost more than the query)."""
    if not codes:
        return {}
    ordered = sorted(codes)
    sql = ("SELECT bestammelsekod, bestammelseformulering FROM geodata_catalogueentry "  # noqa: S608
           f"WHERE bestammelsekod IN ({', '.join(['%s'] * len(ordered))}) ORDER BY release")
    with connection.cursor() as cursor:
        cursor.execute(sql, ordered)
        return dict(cursor.fetchall())


# How far an area is shrunk to search by (``_inner``).
INNER_M = 0.005


def _inner(geometry: GEOSGeometry) -> GEOSGeometry:
    """Shrink an area a few millimetres, so neighbours that only touch it are not found."""
    if geometry.geom_type in ("Point", "MultiPoint") or geometry.area < 1:
        return geometry
    shrunk = geometry.buffer(-INNER_M)
    return shrunk if not shrunk.empty else geometry


# Neighbours to hear (sakägare, PBL 9:25). A street or road parcel is recognised by what
# the data says it is: mostly (ROAD_SHARE of it, near the property) under a plan
# regulation of a street use, or a parcel record whose type names a road. Where the plan
# says the land is something else, it is not a road whatever its shape; only where no
# regulation covers it (outside plans) does the shape decide: a road is long and thin, its
# isoperimetric quotient (4πA/P², 1 for a circle, 0.785 for a square) far below a plot's.
ROAD_SHARE = 0.5
ROAD_COMPACTNESS = 0.12
ACROSS_THE_ROAD_M = 40.0
ACROSS_FACTOR = 1.25
ROAD_BRIDGE = 0.9  # of the land between the property and one across the road
TOUCH_M = 0.05  # closer than this is touching (a shared edge or only a corner)
MAX_EXTRA_M = 500.0
# Street uses in plans: the beteckning (Boverket's, and older plans' categories) or the
# catalogue's kategori of a regulation of allmän plats. Parks and squares of nature are
# public places too, but what lies beyond a park is not "across the street".
STREET_BETECKNINGAR = frozenset({"GATA", "LOKALGATA", "HUVUDGATA", "VÄG", "GÅNG",
                                 "GÅNGVÄG", "GC-VÄG", "TORG"})
STREET_KATEGORIER = frozenset({"gata", "väg", "gång- och cykelväg", "gångväg", "torg"})
# Municipal parcel layers that type their own parcels; Lantmäteriet's objekttyp
# (Fastighet, Samfällighet) does not say road, and a samfällighet is a neighbour to hear.
ROAD_OBJEKTTYPER = frozenset({"gata", "väg", "vägområde", "allmän väg"})


class Relation:
    """How a neighbour relates to the property, nearest first."""

    TOUCHING = "touching"
    ACROSS_ROAD = "across_road"
    NEARBY = "nearby"

    ORDER = (TOUCHING, ACROSS_ROAD, NEARBY)


@dataclass
class NeighbourProperty:
    """A property to hear: its designation, municipality, how it relates to the applicant's
    property, how far it is (m), the addresses on it and its parcel areas near by."""

    designation: str
    kommunkod: str
    registerenhetsreferens: Any
    relation: str
    distance_m: float
    addresses: list[str] = field(default_factory=list)
    parcels: list[Parcel] = field(default_factory=list)


@dataclass
class Neighbours:
    """The parcels to hear about an application (sakägare), and the properties they make.

    ``touching`` (a shared edge or corner), ``across_road`` (directly across a street or
    road that touches the property) and ``nearby`` (within the extra distance asked for)
    are parcel areas; ``roads`` the street parcels recognised, with ``road_basis`` saying
    how each was (``plan``, ``record`` or ``shape``); ``properties`` one row a property.
    """

    touching: list[Parcel]
    across_road: list[Parcel]
    roads: list[Parcel]
    nearby: list[Parcel] = field(default_factory=list)
    road_basis: dict[int, str] = field(default_factory=dict)
    properties: list[NeighbourProperty] = field(default_factory=list)


def _compactness(shape: shapely.Geometry) -> float:
    return 4 * math.pi * shape.area / (shape.length ** 2) if shape.length else 0.0


def _is_street_regulation(regulation: Regulation) -> bool:
    form = regulation.anvandningsform.strip().lower()
    if form not in ("", "allmän plats"):
        return False
    return (regulation.beteckning.strip().upper() in STREET_BETECKNINGAR
            or regulation.kategori.strip().lower() in STREET_KATEGORIER)


def _is_use_regulation(regulation: Regulation) -> bool:
    """A regulation that says what the land is for (older plans' categories too)."""
    return regulation.bestammelsetyp.strip().lower() in ("användning", "")


@dataclass(frozen=True)
class _PlanCover:
    """What the plans say about the land in a window: street land, and other uses."""

    streets: shapely.Geometry
    uses: shapely.Geometry

    @classmethod
    def of(cls, window: shapely.Geometry) -> _PlanCover:
        geom = GEOSGeometry(memoryview(shapely.to_wkb(window)), srid=STORAGE_SRID)
        streets, uses = [], []
        for regulation in Regulation.objects.filter(geom__intersects=geom):
            shape = shapely.from_wkb(bytes(regulation.geom.wkb)).intersection(window)
            if _is_street_regulation(regulation):
                streets.append(shape)
            elif _is_use_regulation(regulation):
                uses.append(shape)
        return cls(shapely.union_all(streets), shapely.union_all(uses))

    def road_basis(self, parcel: Parcel, shape: shapely.Geometry,
                   window: shapely.Geometry) -> str:
        """Return how a parcel is known as a road (``record``, ``plan``, ``shape``) or ""."""
        if parcel.objekttyp.strip().lower() in ROAD_OBJEKTTYPER:
            return "record"
        part = shape.intersection(window)
        area = part.area
        if area > 0:
            if part.intersection(self.streets).area >= ROAD_SHARE * area:
                return "plan"
            if part.intersection(self.uses).area >= ROAD_SHARE * area:
                return ""  # the plan says it is something else
        return "shape" if _compactness(shape) < ROAD_COMPACTNESS else ""


def is_road(parcel: Parcel) -> bool:
    """Return True for a street or road parcel (by the plan, its record, or its shape)."""
    shape = shapely.from_wkb(bytes(parcel.geom.wkb))
    return bool(_PlanCover.of(shape).road_basis(parcel, shape, shape))


def neighbours(parcel: Parcel, extra_m: float = 0.0) -> Neighbours:
    """Return the neighbours of a property (all its areas) to hear.

    Those touching any area (along an edge or only at a corner), those directly across a
    street or road that touches it, and those within ``extra_m`` metres; the property's
    own areas and the street parcels are left out.
    """
    if not 0 <= extra_m <= MAX_EXTRA_M:
        raise ValueError(f"extra_m must be between 0 and {MAX_EXTRA_M:g} m")
    own = list(property_parcels(parcel))
    own_ids = {p.pk for p in own}
    own_shape = shapely.union_all([shapely.from_wkb(bytes(p.geom.wkb)) for p in own])
    own_geom = GEOSGeometry(memoryview(shapely.to_wkb(own_shape)), srid=STORAGE_SRID)
    reach = max(ACROSS_THE_ROAD_M, extra_m)
    near = [p for p in Parcel.objects.filter(
        source_id=parcel.source_id, geom__dwithin=(own_geom, D(m=reach)))
        if p.pk not in own_ids]
    shapes = {p.pk: shapely.from_wkb(bytes(p.geom.wkb)) for p in near}
    distance = {p.pk: float(shapes[p.pk].distance(own_shape)) for p in near}
    window = own_shape.buffer(reach + 1.0)
    cover = _PlanCover.of(window)
    basis = {p.pk: cover.road_basis(p, shapes[p.pk], window) for p in near}
    roads = [p for p in near if basis[p.pk]]
    touching = [p for p in near if not basis[p.pk] and distance[p.pk] < TOUCH_M]
    across = _across_road(own_shape, [p for p in near if not basis[p.pk]
                                      and distance[p.pk] >= TOUCH_M],
                          [shapes[r.pk] for r in roads if distance[r.pk] < TOUCH_M], shapes,
                          distance)
    found = {p.pk for p in touching} | {p.pk for p in across}
    nearby = [p for p in near if not basis[p.pk] and p.pk not in found
              and distance[p.pk] <= extra_m]
    key = lambda p: (p.beteckning, p.omradesnummer)  # noqa: E731
    result = Neighbours(touching=sorted(touching, key=key),
                        across_road=sorted(across, key=key), roads=sorted(roads, key=key),
                        nearby=sorted(nearby, key=key),
                        road_basis={r.pk: basis[r.pk] for r in roads})
    result.properties = _neighbour_properties(result, distance)
    return result


def _across_road(own_shape: shapely.Geometry, candidates: list[Parcel],
                 road_shapes: list[shapely.Geometry], shapes: dict[int, shapely.Geometry],
                 distance: dict[int, float]) -> list[Parcel]:
    """Return the parcels directly across one of the roads from the property.

    The land between the two (the hull of their facing parts, less the two) must be road
    (ROAD_BRIDGE of it, one road most), and the gap about as wide as that road is there,
    not further along the street. The shortest line alone is not enough: between
    rectangles it may run along a road's edge.
    """
    if not road_shapes:
        return []
    crossing: dict[int, list[tuple[float, Parcel]]] = {}
    for p in candidates:
        shape, gap = shapes[p.pk], distance[p.pk]
        facing = shapely.union_all([own_shape.intersection(shape.buffer(gap + 0.5)),
                                    shape.intersection(own_shape.buffer(gap + 0.5))])
        bridge = facing.convex_hull.difference(shapely.union_all([own_shape, shape]))
        if bridge.area < 0.01:
            continue
        on_road = [bridge.intersection(road).area for road in road_shapes]
        if sum(on_road) >= ROAD_BRIDGE * bridge.area:
            road = max(range(len(on_road)), key=on_road.__getitem__)
            crossing.setdefault(road, []).append((gap, p))
    out = []
    for found in crossing.values():
        nearest = min(d for d, _p in found)
        out += [p for d, p in found if d <= nearest * ACROSS_FACTOR + 0.01]
    return out


def _neighbour_properties(found: Neighbours, distance: dict[int, float]
                          ) -> list[NeighbourProperty]:
    """Group the neighbour parcels by property, with the addresses on each property."""
    by_ref: dict[Any, NeighbourProperty] = {}
    for relation, parcels in ((Relation.TOUCHING, found.touching),
                              (Relation.ACROSS_ROAD, found.across_road),
                              (Relation.NEARBY, found.nearby)):
        for p in parcels:
            entry = by_ref.setdefault(p.registerenhetsreferens, NeighbourProperty(
                designation=p.beteckning, kommunkod=p.kommunkod,
                registerenhetsreferens=p.registerenhetsreferens, relation=relation,
                distance_m=round(distance[p.pk], 2)))
            entry.parcels.append(p)
            entry.distance_m = min(entry.distance_m, round(distance[p.pk], 2))
    addresses: dict[Any, list[str]] = {}
    found_addresses = sorted(
        Address.objects.filter(registerenhetsreferens__in=list(by_ref)),
        key=lambda a: (a.adressomrade.lower(), _number(a.adressplatsnummer),
                       a.bokstavstillagg, a.search_text))
    for address in found_addresses:
        place = f"{address.postnummer} {address.postort}".strip()
        addresses.setdefault(address.registerenhetsreferens, []).append(
            f"{address.adress}, {place}" if place else address.adress)
    for ref, entry in by_ref.items():
        entry.addresses = addresses.get(ref, [])
    return sorted(by_ref.values(), key=lambda e: (
        Relation.ORDER.index(e.relation), e.designation))


@dataclass(frozen=True)
class BackgroundMap:
    """Where the maps get their background: a WMS URL and its layers, or a WMTS layer.

    ``info`` is what the source's last good sync read from the service; for a WMTS,
    ``tiles`` is the XYZ URL a web map takes, ``max_zoom`` its deepest level.
    """

    url: str
    layers: str
    protocol: str = "wms"
    info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def tiles(self) -> str:
        return str(self.info.get("leaflet") or "")

    @property
    def max_zoom(self) -> int:
        return int(self.info.get("max_zoom") or 0)


def background_map(kommunkod: str | None = None) -> BackgroundMap | None:
    """Return the registered background map (the municipality's own first), if any.

    A WMTS layer is preferred to a WMS (its tiles are made once and cached), but only
    once a sync has read its capabilities; a WMS can be drawn without.
    """
    sources = list(Source.objects.filter(
        holds=Source.Holds.BACKGROUND, enabled=True,
        protocol__in=[Source.Protocol.WMTS, Source.Protocol.WMS]).select_related(
            "municipality").order_by("name"))
    usable = [s for s in sources if s.protocol == Source.Protocol.WMS
              or (s.service_info or {}).get("leaflet")]

    def rank(source: Source) -> tuple[bool, bool]:
        own = bool(kommunkod) and source.municipality is not None and (
            source.municipality.kommunkod == kommunkod)
        return not own, source.protocol != Source.Protocol.WMTS

    if not usable:
        return None
    chosen = min(usable, key=rank)  # min is stable: the first by name among equals
    return BackgroundMap(chosen.url, chosen.layer, chosen.protocol,
                         dict(chosen.service_info or {}))


def address_parcels(addresses: list[Address]) -> dict[int, Parcel]:
    """Return the property parcel of each address (by address pk), in one query.

    The address's register-unit reference is the join; an address without one falls back
    to the parcel under its point.
    """
    refs = {a.registerenhetsreferens for a in addresses if a.registerenhetsreferens}
    by_ref: dict[object, Parcel] = {}
    for parcel in Parcel.objects.filter(registerenhetsreferens__in=refs).order_by(
            "omradesnummer"):
        by_ref.setdefault(parcel.registerenhetsreferens, parcel)
    out: dict[int, Parcel] = {}
    for address in addresses:
        found = by_ref.get(address.registerenhetsreferens) or parcel_at(
            address.geom.x, address.geom.y)
        if found is not None:
            out[address.pk] = found
    return out


# Measured questions for the checks of a footprint against the plan (permits/checks):
# overlaps, areas and the buildings of a property, all in m² of SWEREF 99 TM.

def _shape(geometry: GEOSGeometry) -> shapely.Geometry:
    if geometry.srid not in (None, STORAGE_SRID):
        return to_srid(shapely.from_wkb(bytes(geometry.wkb)), geometry.srid, STORAGE_SRID)
    return shapely.from_wkb(bytes(geometry.wkb))


@dataclass(frozen=True)
class PlanHit:
    """A detailed plan that a geometry overlaps, and by how much."""

    plan: Plan
    overlap_m2: float
    share_percent: float


def plan_hits(geometry: GEOSGeometry) -> list[PlanHit]:
    """Return the plans an area overlaps, with the overlap in m² and % of the area.

    Figures are unrounded; a plan that only touches the area is not returned. Largest
    overlap first.
    """
    return plan_overlaps(geometry, Plan.objects.filter(geom__intersects=_inner(geometry))
                         .order_by("beteckning"))


def plan_overlaps(geometry: GEOSGeometry, plans: Iterable[Plan]) -> list[PlanHit]:
    """Return :func:`plan_hits` of an area over plans already found (those that
    intersect the area shrunk by ``_inner``, as :func:`footprint_report` finds them)."""
    shape = _shape(geometry)
    area = shape.area
    hits = []
    for plan in plans:
        overlap = shapely.from_wkb(bytes(plan.geom.wkb)).intersection(shape).area
        hits.append(PlanHit(plan, overlap, 100.0 * overlap / area if area else 0.0))
    hits.sort(key=lambda h: (-h.overlap_m2, h.plan.beteckning))
    return hits


def overlap_m2(geometry: GEOSGeometry, others: Sequence[GEOSGeometry]) -> float:
    """Return the m² of an area that lies under any of ``others`` (each m² counted once)."""
    if not others:
        return 0.0
    cover = shapely.union_all([_shape(g) for g in others])
    return float(_shape(geometry).intersection(cover).area)


def union_m2(geometries: Sequence[GEOSGeometry]) -> float:
    """Return the m² that areas cover together (where they overlap, counted once)."""
    if not geometries:
        return 0.0
    return float(shapely.union_all([_shape(g) for g in geometries]).area)


# A building the register no longer holds as standing does not count towards what a
# property has built.
GONE_BUILDING_STATUSES = ("avregistrerad", "riven")


def property_buildings(parcel: Parcel) -> list[Building]:
    """Return the standing buildings of the property a parcel belongs to (all its areas)."""
    buildings = Building.objects.filter(registerenhetsreferens=parcel.registerenhetsreferens)
    return [b for b in buildings.order_by("objektidentitet")
            if b.objektstatus.strip().lower() not in GONE_BUILDING_STATUSES]


@dataclass(frozen=True)
class SourceVersion:
    """The data of a source as a result used it: its last good sync."""

    source: str
    holds: str
    sync_run: int | None
    finished_at: datetime | None
    source_version: str


def source_versions(holds: set[str], kommunkod: str | None = None) -> list[SourceVersion]:
    """Return the last good sync of each enabled source holding these layers.

    With ``kommunkod``, sources of other municipalities are left out (sources of no
    municipality, such as Boverket's catalogue, stay).
    """
    # One statement, written out: a check reads the versions on every footprint, and the
    # ORM's compiling of the subquery cost four times its running (1.6 ms against 0.3).
    # The last good run of each source is a subquery, ordered as a queryset's
    # order_by("-finished_at", "-pk") orders them.
    layers = sorted(holds)
    sql = ("SELECT s.name, s.holds, r.id, r.finished_at, r.source_version "  # noqa: S608
           "FROM geodata_source s LEFT JOIN geodata_syncrun r ON r.id = ("
           "SELECT l.id FROM geodata_syncrun l WHERE l.source_id = s.id AND l.outcome = %s "
           "ORDER BY l.finished_at DESC, l.id DESC LIMIT 1) "
           f"WHERE s.enabled AND s.holds IN ({', '.join(['%s'] * len(layers))})")
    params: list[Any] = [SyncRun.Outcome.SUCCEEDED.value, *layers]
    if kommunkod:
        sql += (" AND (s.municipality_id IS NULL OR s.municipality_id IN "
                "(SELECT m.id FROM geodata_municipality m WHERE m.kommunkod = %s))")
        params.append(kommunkod)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY s.name", params)
        rows = cursor.fetchall()
    return [SourceVersion(name, holds, run, _aware(run_at), version or "")
            for name, holds, run, run_at, version in rows]


def _aware(value: datetime | str | None) -> datetime | None:
    """Return a timestamp read by a cursor as the ORM gives it, aware (SQLite gives the
    UTC time naive, or as a string; PostgreSQL an aware datetime)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return timezone.make_aware(parsed, UTC) if timezone.is_naive(parsed) else parsed


# The shoreline (strandlinje) nearest a footprint, for the shore protection check. The
# search widens until it finds one: the spatial index answers each step, and the nearest
# line within a step's reach is the nearest of all.
SHORE_SEARCH_M = (250.0, 1_000.0, 4_000.0, 16_000.0, 64_000.0)
_SHORELINES_NEAR = {
    "postgresql": (
        "SELECT id FROM geodata_shoreline "
        "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, {srid})"),
    "sqlite": (
        "SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'geodata_shoreline' "
        "AND f_geometry_column = 'geom' AND search_frame = BuildMbr(%s, %s, %s, %s, {srid})"),
}


@dataclass(frozen=True)
class ShorelineDistance:
    """The shoreline nearest a geometry, and how far it is (m, unrounded)."""

    shoreline: Shoreline
    distance_m: float


def shoreline_sources(kommunkod: str | None = None) -> QuerySet[Source]:
    """Return the enabled shoreline sources with a good sync that cover a municipality
    (its own and those of no municipality; with no kommunkod, all of them)."""
    sources = Source.objects.filter(
        enabled=True, holds=Source.Holds.SHORELINE,
        runs__outcome=SyncRun.Outcome.SUCCEEDED).distinct()
    if kommunkod:
        sources = sources.filter(Q(municipality__isnull=True)
                                 | Q(municipality__kommunkod=kommunkod))
    return sources


def nearest_shoreline(geometry: GEOSGeometry, kommunkod: str | None = None
                      ) -> ShorelineDistance | None:
    """Return the shoreline nearest a geometry and its distance (0 if they meet).

    None when the cache holds no shoreline data for the area: no enabled shoreline
    source of its municipality (``kommunkod``, else of any) has synced. A shoreline of
    any enabled source counts, so a shore across a municipal border is found.
    """
    if not shoreline_sources(kommunkod).exists():
        return None
    return shoreline_nearest(geometry)


def shoreline_nearest(geometry: GEOSGeometry) -> ShorelineDistance | None:
    """Return the shoreline of any enabled source nearest a geometry, and its distance;
    :func:`nearest_shoreline` once the cache is known to hold shoreline data for it."""
    shape = _shape(geometry)
    x0, y0, x1, y1 = shape.bounds
    lines = Shoreline.objects.filter(source__enabled=True)
    sql = _SHORELINES_NEAR[connection.vendor].format(srid=STORAGE_SRID)
    for reach in (*SHORE_SEARCH_M, None):
        if reach is None:
            candidates = list(lines)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [x0 - reach, y0 - reach, x1 + reach, y1 + reach])
                ids = [row[0] for row in cursor.fetchall()]
            candidates = list(lines.filter(pk__in=ids)) if ids else []
        found = [ShorelineDistance(line, float(shape.distance(shapely.from_wkb(
            bytes(line.geom.wkb))))) for line in candidates]
        if found:
            nearest = min(found, key=lambda f: (f.distance_m, f.shoreline.pk))
            if reach is None or nearest.distance_m <= reach:
                return nearest
    return None  # synced, but every line has gone since
