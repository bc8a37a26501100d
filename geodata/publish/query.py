"""From a request's filters to a queryset, and from a page of rows to GeoJSON.

On PostGIS a page of GeoJSON is written by the database: each feature one text, built
with ``json_build_object`` around ``ST_AsGeoJSON`` of the geometry transformed and, for a
CRS whose axes come northing (or latitude) first, flipped (``ST_Transform`` gives x/y,
measured equal to :mod:`geodata.crs`'s transformers). Otherwise (SpatiaLite, and the HTML
pages, which need the values) a page is read with ``values_list`` and the geometry as WKB
(no model instances), turned into shapely geometries, transformed in one call by one
transformer of :mod:`geodata.crs`, put in the output CRS's axis order and written by GEOS
as GeoJSON.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Count, F, Func, Q, QuerySet, TextField, Window
from django.db.models.expressions import RawSQL

from geodata.crs import STORAGE_SRID, swap_xy, to_srid
from geodata.publish import cql2
from geodata.publish.errors import InvalidFilter, NotFound
from geodata.publish.params import CRS84, RequestCRS, storage_geometry
from geodata.publish.registry import DATE, INTEGER, NUMBER, STRING, UUID, Collection, Field

GEOMETRY = "geometry"  # the geometry's name as a queryable
NOTHING = Q(pk__in=[])


def intersects(collection: Collection, geom: GEOSGeometry | None) -> Q:
    """Return a Q for the features whose geometry intersects ``geom`` (storage CRS).

    On SpatiaLite the R*Tree is asked first by name (Django's lookups do not use it); on
    PostGIS ST_Intersects uses the GiST index by itself.
    """
    if geom is None:
        return NOTHING
    q = Q(**{f"{collection.geometry}__intersects": geom})
    if collection.indexed and connection.vendor == "sqlite":
        table = collection.queryset().model._meta.db_table
        frame = RawSQL(
            "SELECT ROWID FROM SpatialIndex WHERE f_table_name = %s AND "
            "f_geometry_column = %s AND search_frame = GeomFromWKB(%s, %s)",
            (table, collection.geometry, bytes(geom.envelope.wkb), STORAGE_SRID))
        q &= Q(pk__in=frame)
    return q


def days(collection: Collection, first: date | None, last: date | None) -> Q:
    """Return a Q for a datetime interval; collections without a date are not filtered."""
    if collection.datetime_field is None:
        return Q()
    path = collection.datetime_field.path
    q = Q()
    if first:
        q &= Q(**{f"{path}__gte": first})
    if last:
        q &= Q(**{f"{path}__lte": last})
    return q


# -- CQL2 to Q

@dataclass(frozen=True)
class FilterContext:
    collection: Collection
    crs: RequestCRS = CRS84


def filter_q(text: str, context: FilterContext) -> Q:
    """Return the Q of a CQL2-text filter on a collection; InvalidFilter if it cannot be."""
    return _q(cql2.parse(text), context)


def _field(context: FilterContext, name: str) -> Field:
    found = context.collection.field(name)
    if found is None:
        raise InvalidFilter(f"filter: {name[:40]!r} is not a queryable of "
                            f"{context.collection.id} (see its queryables)")
    return found


def _value(field: Field, value: cql2.Value) -> Any:
    """Return a literal as the field's type; InvalidFilter if it is not one."""
    kind = field.type
    if kind == STRING and isinstance(value, str):
        return value
    if kind == INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == DATE:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    if kind == UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidFilter(f"filter: {field.name} is a {kind}; {str(value)[:40]!r} is not one")


_OPS = {"=": "exact", "<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}


def _q(node: cql2.Node, context: FilterContext) -> Q:  # noqa: C901 (one case a node type)
    if isinstance(node, cql2.And | cql2.Or):
        parts = [_q(item, context) for item in node.items]
        out = parts[0]
        for part in parts[1:]:
            out = out & part if isinstance(node, cql2.And) else out | part
        return out
    if isinstance(node, cql2.Not):
        return ~_q(node.item, context)
    if isinstance(node, cql2.Intersects):
        if node.prop != GEOMETRY:
            raise InvalidFilter(f"filter: S_INTERSECTS takes the property {GEOMETRY!r}")
        shape = swap_xy(node.shape) if context.crs.swap else node.shape
        return intersects(context.collection, storage_geometry(shape, context.crs.srid,
                                                               "the filter's geometry"))
    field = _field(context, node.prop)
    path = field.path
    if isinstance(node, cql2.Comparison):
        value = _value(field, node.value)
        if node.op == "<>":
            return ~Q(**{path: value}) & Q(**{f"{path}__isnull": False})
        if node.op != "=" and field.type == UUID:
            raise InvalidFilter(f"filter: {field.name} can only be compared with = or <>")
        return Q(**{f"{path}__{_OPS[node.op]}": value})
    if isinstance(node, cql2.IsNull):
        q = Q(**{f"{path}__isnull": True})
        return ~q if node.negated else q
    if isinstance(node, cql2.Like):
        if field.type != STRING:
            raise InvalidFilter(f"filter: LIKE needs a string property; {field.name} is not")
        q = _like(path, node.pattern)
        return ~q if node.negated else q
    if isinstance(node, cql2.Between):
        if field.type not in (INTEGER, NUMBER, DATE):
            raise InvalidFilter(f"filter: BETWEEN needs a number or date; {field.name} is not")
        q = Q(**{f"{path}__range": (_value(field, node.low), _value(field, node.high))})
        return ~q if node.negated else q
    if isinstance(node, cql2.In):
        q = Q(**{f"{path}__in": [_value(field, v) for v in node.values]})
        return ~q if node.negated else q
    raise InvalidFilter("filter: unsupported expression")  # pragma: no cover


def _like_segments(pattern: str) -> tuple[list[list[str]], bool]:
    """Split a LIKE pattern at its ``%``: each segment a list of characters (``_`` as a
    NUL character); the flag says whether the pattern has any wildcard at all."""
    segments: list[list[str]] = [[]]
    wild = False
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            segments[-1].append(next(chars, "\\"))
        elif ch == "%":
            wild = True
            if segments[-1] or len(segments) == 1:
                segments.append([])
        elif ch == "_":
            wild = True
            segments[-1].append("\0")
        else:
            segments[-1].append(ch)
    return segments, wild


def _like(path: str, pattern: str) -> Q:
    """Return a case-sensitive LIKE (``%`` any text, ``_`` one character, ``\\`` escapes).

    On PostgreSQL a pattern without wildcards is equality and a prefix is ``startswith``
    (LIKE 'X%', which the designation indexes serve); other patterns are a regular
    expression. SQLite's LIKE ignores case, so there a regular expression (Python's,
    Django's REGEXP) says what CQL2 means: each ``%`` segment is found at its first
    place in an atomic group, so that no pattern makes the matcher backtrack for long.
    """
    segments, wild = _like_segments(pattern)

    def rx(segment: list[str]) -> str:
        return "".join("." if ch == "\0" else re.escape(ch) for ch in segment)

    text = ["".join(seg) for seg in segments]
    if connection.vendor == "postgresql":
        if not wild:
            return Q(**{path: text[0]})
        if len(segments) == 2 and not segments[1] and "\0" not in segments[0]:
            return Q(**{f"{path}__startswith": text[0]})
        return Q(**{f"{path}__regex": "(?s)^" + ".*".join(rx(s) for s in segments) + "$"})
    if len(segments) == 1:
        return Q(**{f"{path}__regex": "(?s)^" + rx(segments[0]) + "$"})
    middle = "".join(f"(?>.*?{rx(seg)})" for seg in segments[1:-1])
    return Q(**{f"{path}__regex": f"(?s)^{rx(segments[0])}{middle}.*{rx(segments[-1])}$"})


# -- rows to GeoJSON

@dataclass
class Page:
    """One page of features, written as GeoJSON features (text)."""

    features: list[str]
    ids: list[str]
    properties: list[dict[str, Any]]
    matched: int | None = None  # how many features the filter matches, when counted


def page(collection: Collection, queryset: QuerySet[Any], crs: RequestCRS, offset: int,
         limit: int, *, values: bool = True) -> Page:
    """Read ``limit`` features from ``offset`` (in primary-key order) as GeoJSON text.

    Without ``values`` (GeoJSON only: no ids or properties for a page to show) PostGIS
    writes the features.
    """
    if not values and connection.vendor == "postgresql":
        # What the filter matches is counted in the same query (before the page is cut).
        rows = list(queryset.order_by("pk").annotate(
            _ogc_feature=_feature_sql(collection, crs), _ogc_matched=Window(Count("pk")),
            _ogc_serial=SERIAL).values_list("_ogc_feature", "_ogc_matched", "_ogc_serial")
            [offset:offset + limit])
        return Page([row[0] for row in rows], [], [], rows[0][1] if rows else None)
    fields = collection.fields
    rows = list(queryset.order_by("pk").annotate(_ogc_wkb=AsWKB(collection.geometry))
                .values_list(collection.id_field.path, *(f.path for f in fields), "_ogc_wkb")
                [offset:offset + limit])
    return _features(collection, rows, crs)


def one(collection: Collection, queryset: QuerySet[Any], fid: str, crs: RequestCRS) -> Page:
    """Read the feature of that id; NotFound if there is none."""
    id_field = collection.id_field
    try:
        value = _value(id_field, fid)
    except InvalidFilter:
        raise NotFound(f"no feature {fid[:80]!r} in {collection.id}") from None
    found = page(collection, queryset.filter(**{id_field.path: value}), crs, 0, 1)
    if not found.features:
        raise NotFound(f"no feature {fid[:80]!r} in {collection.id}")
    return found


_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# PostgreSQL plans a parallel worker for a page in a 2 km box (the spatial costs are high),
# which takes longer to start than the query takes without one: measured at 1,000,000
# parcels, 30-56 ms with a worker, 15-20 ms without. A function marked PARALLEL UNSAFE in
# the query keeps the planner from parallel plans for it alone (one statement, no SET);
# this one only reads (NULL unless the transaction has written).
SERIAL = Func(template="pg_current_xact_id_if_assigned()::text", output_field=TextField())


def _json_object(pairs: list[tuple[str, Any]]) -> Func:
    """Return ``json_build_object`` of (key, expression) pairs; keys are our field names,
    written into the SQL as literals (checked to be plain names), so that the keys keep
    their order and need no parameter types."""
    template = []
    for n, (key, _expression) in enumerate(pairs):
        if not _KEY.match(key):
            raise ValueError(f"not a plain field name: {key!r}")
        template.append(f"'{key}', %(e{n})s")
    return _JSONObject(*(expression for _key, expression in pairs),
                       pairs_sql=", ".join(template))


class _JSONObject(Func):
    """``json_build_object`` of keys written into the template (see ``_json_object``)."""

    output_field = TextField()

    def __init__(self, *expressions: Any, pairs_sql: str) -> None:
        super().__init__(*expressions)
        self.pairs_sql = pairs_sql

    def as_sql(self, compiler: Any, connection: Any, function: str | None = None,  # noqa: ARG002
               template: str | None = None, arg_joiner: str | None = None,
               **extra_context: Any) -> Any:
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, args = compiler.compile(expression)
            parts.append(sql)
            params.extend(args)
        # Each %(eN)s takes its expression's SQL (its placeholders are not formatted again).
        sql = self.pairs_sql % {f"e{n}": part for n, part in enumerate(parts)}
        return f"json_build_object({sql})", params


def _feature_sql(collection: Collection, crs: RequestCRS) -> Func:
    """Return the SQL expression of one feature as GeoJSON text, in ``crs``'s axis order,
    to ``crs.decimals`` decimals."""
    geom: Any = F(collection.geometry)
    if crs.srid != STORAGE_SRID:
        geom = Func(geom, function="ST_Transform", template=f"%(function)s(%(expressions)s, "
                                                             f"{int(crs.srid)})")
    if crs.swap:
        geom = Func(geom, function="ST_FlipCoordinates")
    geojson = Func(geom, function="ST_AsGeoJSON",
                   template=f"%(function)s(%(expressions)s, {int(crs.decimals)})::json",
                   output_field=TextField())
    identifier = Func(F(collection.id_field.path), template="(%(expressions)s)::text",
                      output_field=TextField())
    properties = _json_object([(f.name, F(f.path)) for f in collection.fields])
    feature = _json_object([("type", Func(template="'Feature'", output_field=TextField())),
                            ("id", identifier), ("geometry", geojson),
                            ("properties", properties)])
    return Func(feature, template="(%(expressions)s)::text", output_field=TextField())


def _features(collection: Collection, rows: list[tuple[Any, ...]], crs: RequestCRS) -> Page:
    if not rows:
        return Page([], [], [])
    names = [f.name for f in collection.fields]
    wkb = np.array([bytes(row[-1]) if row[-1] is not None else None for row in rows],
                   dtype=object)
    geoms = to_srid(shapely.from_wkb(wkb), STORAGE_SRID, crs.srid)
    if crs.swap:
        geoms = swap_xy(geoms)
    geoms = shapely.set_precision(geoms, 10.0 ** -crs.decimals, mode="pointwise")
    texts = shapely.to_geojson(geoms)
    encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
    features, ids, props_list = [], [], []
    for row, text in zip(rows, texts, strict=True):
        fid = str(row[0])
        props = dict(zip(names, (_jsonable(v) for v in row[1:-1]), strict=True))
        features.append('{"type":"Feature","id":' + json.dumps(fid, ensure_ascii=False)
                        + ',"geometry":' + (text or "null") + ',"properties":'
                        + encoder.encode(props) + "}")
        ids.append(fid)
        props_list.append(props)
    return Page(features, ids, props_list)


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | date):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value

