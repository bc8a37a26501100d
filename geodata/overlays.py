"""Overlays of many areas at once: what each of a set of footprints overlaps in the cache.

The set-based twin of the per-geometry questions in :mod:`geodata.selectors`
(``detail_report``, ``plan_hits``, ``overlap_m2``, ``property_parcels``,
``property_buildings``): a few SQL statements for a whole set of footprints, the
intersections computed by the database (PostGIS, or SpatiaLite through its R*Tree), and
rows of ids and m² back. Each footprint is given by a key of the caller's (a case's id,
say); geodata knows nothing of what it stands for.

The same rules as the per-geometry questions, so that the figures agree: plans and
regulations are those intersecting the footprint shrunk a few millimetres (``_inner``: a
neighbour that only touches is not found), parcels those intersecting the footprint
itself; overlaps are of the footprint itself, unrounded.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction

from geodata.crs import STORAGE_SRID
from geodata.selectors import GONE_BUILDING_STATUSES, SHORE_SEARCH_M
from geodata.selectors import INNER_M as _INNER_M

# The SQL below is built from our own table names and placeholders only (S608 is waived
# there); every value is bound.
# Footprints per statement: SpatiaLite takes them as bound VALUES (three parameters each,
# under SQLite's limit on parameters); PostGIS as arrays, where bigger statements are
# no faster.
CHUNK = {"postgresql": 2000, "sqlite": 250}
_POINT, _MULTIPOINT = int(shapely.GeometryType.POINT), int(shapely.GeometryType.MULTIPOINT)


@dataclass(frozen=True)
class Overlap:
    """A feature (by id) that a footprint (by key) overlaps, and by how many m²."""

    key: int
    id: int
    overlap_m2: float


@dataclass(frozen=True)
class ParcelOverlap:
    """A parcel area a footprint intersects, with what the property figures need."""

    key: int
    id: int
    source_id: int
    registerenhetsreferens: UUID
    beteckning: str
    omradesnummer: int
    kommunkod: str
    overlap_m2: float


@dataclass(frozen=True)
class PropertyArea:
    """All the areas of a property: how many, and their m² together."""

    key: int
    areas: int
    area_m2: float


@dataclass(frozen=True)
class BuiltArea:
    """The standing buildings of a property: their m² (overlaps once), and with the
    footprint added (``None`` where the property has no standing building)."""

    key: int
    existing_m2: float
    built_m2: float


@dataclass(frozen=True)
class Overlaps:
    """What each footprint overlaps: regulations, plans, parcel areas; and the rows of
    the regulations and plans found (id first, then COLUMNS[table]), by id."""

    regulations: list[Overlap]
    plans: list[Overlap]
    parcels: list[ParcelOverlap]
    rows: dict[str, dict[int, tuple[Any, ...]]] = field(default_factory=dict)


# The attributes of the regulations and plans found that come back with them (the checks'
# facts need them; a second query by id costs more than carrying them).
COLUMNS = {
    "geodata_regulation": ("bestammelsekod", "beteckning", "bestammelseformulering", "varde",
                           "plan_objektidentitet"),
    "geodata_plan": ("objektidentitet", "beteckning", "namn", "status", "typ",
                     "datum_lagakraft", "genomforandetid"),
}
_UUIDS = {"objektidentitet", "plan_objektidentitet"}
_DATES = {"datum_lagakraft"}


def _typed(table: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as the ORM reads it (SpatiaLite gives UUIDs and dates as text)."""
    out = [row[0]]
    for name, value in zip(COLUMNS[table], row[1:], strict=True):
        if value is not None and name in _UUIDS:
            value = _uuid(value)
        elif isinstance(value, str) and name in _DATES:
            value = date.fromisoformat(value)
        out.append(value)
    return tuple(out)


# The footprints as a relation fp(k, g, i): key, the footprint, and the footprint shrunk
# (what plans and regulations are found by).
_FP = {
    "postgresql": ("fp AS MATERIALIZED (SELECT t.k, ST_GeomFromWKB(t.g, {srid}) AS g, "
                   "ST_GeomFromWKB(t.i, {srid}) AS i FROM unnest(%b::bigint[], %b::bytea[], "
                   "%b::bytea[]) AS t(k, g, i))"),
    "sqlite": ("fp(k, g, i) AS (SELECT column1, GeomFromWKB(column2, {srid}), "
               "GeomFromWKB(column3, {srid}) FROM (VALUES {values}))"),
}
# A feature table joined to fp through its spatial index.
_HIT = {
    "postgresql": "ST_Intersects({alias}.geom, fp.{probe})",
    "sqlite": ("{alias}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = "
               "'{table}' AND f_geometry_column = 'geom' AND search_frame = fp.{probe}) "
               "AND ST_Intersects({alias}.geom, fp.{probe})"),
}


def _vendor() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _fp(rows: Sequence[tuple[int, bytes, bytes]]) -> tuple[str, list[Any]]:
    """Return the CTE of the footprints and its parameters."""
    vendor = _vendor()
    if vendor == "postgresql":
        keys, wkbs, inners = zip(*rows, strict=True) if rows else ((), (), ())
        return _FP[vendor].format(srid=STORAGE_SRID), [list(keys), list(wkbs), list(inners)]
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    return (_FP[vendor].format(srid=STORAGE_SRID, values=values),
            [value for row in rows for value in row])


def _hit(alias: str, table: str, probe: str) -> str:
    return _HIT[_vendor()].format(alias=alias, table=table, probe=probe)


def _wkb(geometry: GEOSGeometry) -> bytes:
    return bytes(geometry.wkb)


class FootprintSet:
    """Footprints (areas in the storage CRS) by key, each written as WKB once for all the
    statements that send it, with its area."""

    def __init__(self, footprints: dict[int, GEOSGeometry]) -> None:
        self.wkb = {key: _wkb(g) for key, g in footprints.items()}
        self.area = {key: float(g.area) for key, g in footprints.items()}

    @classmethod
    def of_shapes(cls, shapes: dict[int, Any]) -> FootprintSet:
        """Return the footprints of shapely geometries by key (written in one call)."""
        out = cls({})
        keys = list(shapes)
        geoms = np.array([shapes[k] for k in keys], dtype=object)
        out.wkb = dict(zip(keys, shapely.to_wkb(geoms).tolist(), strict=True))
        out.area = dict(zip(keys, shapely.area(geoms).tolist(), strict=True))
        return out

    def sorted_keys(self) -> list[int]:
        """The footprints' keys, in order."""
        return sorted(self.wkb)

    def subset(self, keys: Iterable[int]) -> FootprintSet:
        """Return the footprints of these keys (their WKB not written again)."""
        out = FootprintSet({})
        out.wkb = {k: self.wkb[k] for k in keys}
        out.area = {k: self.area[k] for k in out.wkb}
        return out

    def rows(self, keys: Iterable[int]) -> list[tuple[int, bytes, bytes]]:
        """Return (key, WKB, WKB) rows for fp(k, g, i) where i is not searched by."""
        return [(k, self.wkb[k], self.wkb[k]) for k in keys]

    def inner_rows(self) -> list[tuple[int, bytes, bytes]]:
        """Return (key, WKB, WKB of the footprint shrunk) rows for fp(k, g, i), as
        ``selectors._inner`` shrinks an area (all footprints in one call)."""
        keys = self.sorted_keys()
        inner = np.array([self.wkb[k] for k in keys], dtype=object)
        geoms = shapely.from_wkb(inner)
        # Points and areas under 1 m² are searched by as they are, as is an area that
        # shrinks to nothing.
        types = shapely.get_type_id(geoms)
        shrink = (types != _POINT) & (types != _MULTIPOINT) & (
            shapely.area(geoms) >= 1)
        if shrink.any():
            shrunk = shapely.buffer(geoms[shrink], -_INNER_M)
            kept = ~shapely.is_empty(shrunk)
            where = np.flatnonzero(shrink)[kept]
            inner[where] = shapely.to_wkb(shrunk[kept])
        return [(k, self.wkb[k], bytes(i)) for k, i in zip(keys, inner, strict=True)]


Footprints = FootprintSet | dict[int, GEOSGeometry]


def _set(footprints: Footprints) -> FootprintSet:
    return footprints if isinstance(footprints, FootprintSet) else FootprintSet(footprints)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _fetch(sql: str, params: list[Any], chunk: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run an overlay's statement for ``chunk`` (its footprints or pairs)."""
    return _fetch_all([(sql, params)], chunk)[0]


def _fetch_all(statements: Sequence[tuple[str, list[Any]]], chunk: Sequence[Any]
               ) -> list[list[tuple[Any, ...]]]:
    """Run overlay statements that do not depend on each other, for ``chunk`` (their
    footprints or pairs); return each one's rows.

    On PostgreSQL through a cursor that binds on the server: the footprints go as binary
    arrays, where Django's client-side binding would escape every byte of their WKB in
    Python (2 s for 1,000 footprints). The statements go in one pipeline (one round trip
    for all). For a single footprint they are prepared: planned once per connection, as
    planning them costs more than running them for one; a larger set gets a plan of its
    own. PostGIS's cost estimates set off the JIT compiler, which costs more than the join
    it compiles (see DESIGN.md): off for the transaction, unless the connection was opened
    without it (the settings do: three round trips fewer).
    """
    if _vendor() != "postgresql":
        with connection.cursor() as django_cursor:
            out = []
            for sql, params in statements:
                django_cursor.execute(sql, params)
                out.append(list(django_cursor.fetchall()))
            return out
    import psycopg

    connection.ensure_connection()
    start = time.monotonic()
    prepare = len(chunk) == 1
    raw = connection.connection
    with contextlib.ExitStack() as stack:
        if not _jit_off():
            stack.enter_context(transaction.atomic())
            raw.execute("SET LOCAL jit = off")
        cursors = [stack.enter_context(psycopg.Cursor(raw)) for _ in statements]
        with raw.pipeline():
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params, prepare=prepare)  # type: ignore[arg-type]
        out = [list(cursor.fetchall()) for cursor in cursors]
    if connection.queries_logged:  # logged as Django logs its own (DEBUG, query counts)
        spent = f"{(time.monotonic() - start) / len(statements):.3f}"
        connection.queries_log.extend({"sql": sql, "time": spent} for sql, _p in statements)
    return out


def _jit_off() -> bool:
    """Return whether the connection was opened with the JIT compiler off."""
    options = str(connection.settings_dict.get("OPTIONS", {}).get("options", ""))
    return "jit=off" in options.replace(" ", "")


def footprint_overlaps(footprints: Footprints) -> Overlaps:
    """Return what each footprint (an area in the storage CRS, by key) overlaps.

    Regulations that overlap by less than 0.01 m² (touching along an edge) are left
    out, as in the detail report.
    """
    fps = _set(footprints)
    out = Overlaps([], [], [], {})
    rows = fps.inner_rows()
    tables = (("geodata_regulation", out.regulations), ("geodata_plan", out.plans))
    for chunk in _chunks(rows, CHUNK[_vendor()]):
        cte, params = _fp(chunk)
        statements = []
        for table, _found in tables:
            columns = "".join(f", x.{c}" for c in COLUMNS[table])
            statements.append((
                f"WITH {cte} SELECT fp.k, ST_Area(ST_Intersection(x.geom, fp.g)), x.id"  # noqa: S608
                f"{columns} FROM fp JOIN {table} x ON {_hit('x', table, 'i')} "
                f"ORDER BY fp.k, x.id", params))
        statements.append((
            f"WITH {cte} SELECT fp.k, x.id, x.source_id, x.registerenhetsreferens, "  # noqa: S608
            f"x.beteckning, x.omradesnummer, x.kommunkod, "
            f"ST_Area(ST_Intersection(x.geom, fp.g)) FROM fp JOIN geodata_parcel x ON "
            f"{_hit('x', 'geodata_parcel', 'g')} ORDER BY fp.k, x.beteckning, "
            f"x.omradesnummer, x.id", params))
        *overlaps, parcels = _fetch_all(statements, chunk)
        for (table, found), found_rows in zip(tables, overlaps, strict=True):
            known = out.rows.setdefault(table, {})
            for k, a, *row in found_rows:
                found.append(Overlap(k, row[0], float(a or 0.0)))
                if row[0] not in known:
                    known[row[0]] = _typed(table, tuple(row))
        out.parcels.extend(ParcelOverlap(k, i, s, _uuid(ref), b, o, kk, float(a or 0.0))
                           for k, i, s, ref, b, o, kk, a in parcels)
    out.regulations[:] = [r for r in out.regulations
                          if r.overlap_m2 >= 0.01 or not fps.area[r.key]]
    return out


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def union_overlaps(footprints: Footprints,
                   regulations: dict[int, Iterable[int]]) -> dict[int, float]:
    """Return, for each footprint, the m² of it under any of the regulations given for it
    (by id; where they overlap each other, counted once)."""
    pairs = [(key, rid) for key, ids in sorted(regulations.items()) for rid in sorted(ids)]
    if not pairs:
        return {}
    out: dict[int, float] = {}
    for chunk in _chunks(pairs, CHUNK[_vendor()]):
        keys = sorted({k for k, _r in chunk})
        cte, params = _fp(_set(footprints).rows(keys))
        pick, pick_params = _pairs(chunk)
        sql = (f"WITH {cte}, {pick} SELECT fp.k, ST_Area(ST_Intersection(fp.g, u.geom)) "  # noqa: S608
               f"FROM fp JOIN (SELECT m.k, ST_Union(r.geom) AS geom FROM m JOIN "
               f"geodata_regulation r ON r.id = m.x GROUP BY m.k) u ON u.k = fp.k")
        out.update({k: float(a or 0.0) for k, a in _fetch(sql, params + pick_params, keys)})
    return out


def _pairs(pairs: Sequence[tuple[int, int]]) -> tuple[str, list[Any]]:
    """Return a relation m(k, x) of (key, id) pairs and its parameters."""
    if _vendor() == "postgresql":
        keys, ids = zip(*pairs, strict=True)
        return ("m AS (SELECT * FROM unnest(%b::bigint[], %b::bigint[]) AS t(k, x))",
                [list(keys), list(ids)])
    values = ", ".join(["(%s, %s)"] * len(pairs))
    return (f"m(k, x) AS (SELECT column1, column2 FROM (VALUES {values}))",  # noqa: S608
            [v for pair in pairs for v in pair])


def property_areas(parcels: dict[int, int]) -> dict[int, PropertyArea]:
    """Return, for each key, the areas of the property that a parcel area (by id) is of."""
    pairs = sorted(parcels.items())
    out: dict[int, PropertyArea] = {}
    for chunk in _chunks(pairs, CHUNK[_vendor()]):
        pick, params = _pairs(chunk)
        sql = (f"WITH {pick} SELECT m.k, count(*), sum(ST_Area(p.geom)) FROM m "  # noqa: S608
               f"JOIN geodata_parcel main ON main.id = m.x JOIN geodata_parcel p ON "
               f"p.registerenhetsreferens = main.registerenhetsreferens AND "
               f"p.source_id = main.source_id GROUP BY m.k")
        out.update({k: PropertyArea(k, int(n), float(a or 0.0))
                    for k, n, a in _fetch(sql, params, chunk)})
    return out


def built_areas(footprints: Footprints,
                parcels: dict[int, int]) -> dict[int, BuiltArea]:
    """Return, for each key, the m² of the standing buildings of the property a parcel
    area (by id) is of, alone and with the key's footprint (overlaps counted once).

    A key whose property has no standing building is not in the answer.
    """
    gone = ", ".join(f"'{status}'" for status in GONE_BUILDING_STATUSES)
    fps = _set(footprints)
    pairs = sorted(parcels.items())
    out: dict[int, BuiltArea] = {}
    for chunk in _chunks(pairs, CHUNK[_vendor()]):
        cte, params = _fp(fps.rows(k for k, _p in chunk))
        pick, pick_params = _pairs(chunk)
        sql = (f"WITH {cte}, {pick}, u AS (SELECT m.k, ST_Union(b.geom) AS geom FROM m "  # noqa: S608
               f"JOIN geodata_parcel main ON main.id = m.x JOIN geodata_building b ON "
               f"b.registerenhetsreferens = main.registerenhetsreferens WHERE "
               f"lower(trim(b.objektstatus)) NOT IN ({gone}) GROUP BY m.k) "
               f"SELECT u.k, ST_Area(u.geom), ST_Area(ST_Union(u.geom, fp.g)) FROM u "
               f"JOIN fp ON fp.k = u.k")
        out.update({k: BuiltArea(k, float(e or 0.0), float(b or 0.0))
                    for k, e, b in _fetch(sql, params + pick_params, chunk)})
    return out


# The shorelines near a footprint, within a reach of its bounding box (through the index).
_SHORE_NEAR = {
    "postgresql": "s.geom && ST_Expand(fp.g, %s)",
    "sqlite": ("s.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = "
               "'geodata_shoreline' AND f_geometry_column = 'geom' AND search_frame = "
               "BuildMbr(MbrMinX(fp.g) - %s, MbrMinY(fp.g) - %s, MbrMaxX(fp.g) + %s, "
               "MbrMaxY(fp.g) + %s, {srid}))"),
}


def nearest_shorelines(footprints: Footprints) -> dict[int, float]:
    """Return, for each footprint, the distance to the nearest shoreline of an enabled
    source (0 where they meet); a footprint with none is not in the answer.

    As ``selectors.nearest_shoreline``: the search widens (SHORE_SEARCH_M) until the
    nearest line found lies within the reach searched, then over all lines.
    """
    out: dict[int, float] = {}
    fps = _set(footprints)
    todo = fps.sorted_keys()
    vendor = _vendor()
    for reach in (*SHORE_SEARCH_M, None):
        if not todo:
            break
        near = "TRUE" if reach is None else _SHORE_NEAR[vendor].format(srid=STORAGE_SRID)
        near_params = [] if reach is None else [reach] * (1 if vendor == "postgresql" else 4)
        found: dict[int, float] = {}
        for chunk in _chunks(todo, CHUNK[vendor]):
            cte, params = _fp(fps.rows(chunk))
            sql = (f"WITH {cte} SELECT fp.k, min(ST_Distance(s.geom, fp.g)) FROM fp "  # noqa: S608
                   f"JOIN geodata_shoreline s ON {near} JOIN geodata_source src ON "
                   f"src.id = s.source_id AND src.enabled GROUP BY fp.k")
            found.update({k: float(d) for k, d in _fetch(sql, params + near_params, chunk)
                          if d is not None})
        for key, distance in found.items():
            if reach is None or distance <= reach:
                out[key] = distance
        todo = [k for k in todo if k not in out]
    return out


def by_key(rows: Iterable[Any]) -> dict[int, list[Any]]:
    """Group rows by their ``key``."""
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.key].append(row)
    return out


def shape_area(wkb: bytes) -> float:
    """Return the m² an area (its WKB) covers (its parts where they overlap counted
    once)."""
    return float(shapely.union_all([shapely.from_wkb(wkb)]).area)
