"""Mapbox vector tiles (MVT) of the cache layers, and the helper that makes a tile of any
queryset (permits draws its cases with it; geodata never sees what it draws).

A tile is one query (and one more for its clusters, if it has any: points counted per
cell of a grid over the tile, for a zoom where the points themselves would be too many).
On PostGIS it is the bare ``ST_AsMVT`` query: the rows whose bounding
box meets the tile's envelope (``ST_TileEnvelope`` transformed to the storage CRS, so the
GiST index answers), their geometry transformed to web mercator and clipped by
``ST_AsMVTGeom``, every layer of the tile in the one SELECT. On SpatiaLite the rows come
through its SpatialIndex (the R*Tree, which Django's lookups do not use) and are
transformed, clipped and encoded in Python (mapbox-vector-tile).

Each cache layer has a minimum zoom, so that no tile carries a whole municipality: below
it a tile is empty (204), and the map does not ask for it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import mapbox_vector_tile
import numpy as np
import shapely
from django.contrib.gis.db.models.functions import Transform
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Count,
    Expression,
    F,
    FloatField,
    Func,
    Max,
    Model,
    QuerySet,
)
from django.db.models.expressions import Combinable, RawSQL
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from geodata.crs import STORAGE_SRID, to_srid
from geodata.models import Building, Parcel, Plan, Regulation, Source, SyncRun

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096  # tile coordinates across a tile
BUFFER = 64  # tile coordinates drawn beyond each edge, so that outlines join across tiles
MAX_ZOOM = 22
WEB_MERCATOR = 3857
_HALF = 20037508.342789244  # half the web mercator world, in metres


@dataclass(frozen=True)
class Tile:
    """A tile of the web mercator (XYZ, "slippy map") grid."""

    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not (0 <= self.z <= MAX_ZOOM and 0 <= self.x < 2 ** self.z
                and 0 <= self.y < 2 ** self.z):
            raise ValueError(f"no tile {self.z}/{self.x}/{self.y}")

    def bounds(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """Return the tile's (minx, miny, maxx, maxy) in web mercator metres, widened by
        ``margin`` (a share of the tile's size) on every side."""
        size = 2 * _HALF / 2 ** self.z
        minx, maxy = -_HALF + self.x * size, _HALF - self.y * size
        pad = margin * size
        return minx - pad, maxy - size - pad, minx + size + pad, maxy + pad

    def storage_bounds(self, margin: float = BUFFER / EXTENT
                       ) -> tuple[float, float, float, float]:
        """Return the bounding box in the storage CRS of the tile and its buffer (its
        edges densified: they are not straight lines there)."""
        minx, miny, maxx, maxy = self.bounds(margin)
        steps = np.linspace(0.0, 1.0, 17)
        xs = np.concatenate([minx + (maxx - minx) * steps, np.full(17, maxx),
                             maxx - (maxx - minx) * steps, np.full(17, minx)])
        ys = np.concatenate([np.full(17, miny), miny + (maxy - miny) * steps,
                             np.full(17, maxy), maxy - (maxy - miny) * steps])
        ring = to_srid(shapely.linestrings(np.column_stack([xs, ys])), WEB_MERCATOR,
                       STORAGE_SRID)
        return tuple(float(v) for v in shapely.bounds(ring))  # type: ignore[return-value]


@dataclass(frozen=True)
class TileLayer:
    """One layer of a tile: the rows of a queryset, drawn by one geometry field, with some
    of their fields (or expressions, which must work on both databases) as properties.

    ``properties`` maps a property's name to a field name or an expression; a property
    whose value is null is left out of the feature (as ``ST_AsMVT`` does).

    ``key``, if given, says that every layer of this name and key is the same query but
    for the tile: on PostGIS its SQL is then built once and reused for every tile (the
    queryset is not compiled again). Give a key only when it determines the queryset
    (whose rows, which filters, which user's scope). With a key, ``queryset`` may be a
    function that makes it, called only when the SQL is built (making a queryset with its
    filters costs more than running a small tile's query).
    """

    name: str
    queryset: QuerySet[Any] | Callable[[], QuerySet[Any]]
    properties: Mapping[str, str | Combinable | Expression] = field(default_factory=dict)
    geom_field: str = "geom"
    key: Hashable | None = None

    def query(self) -> QuerySet[Any]:
        """The layer's queryset (made now where a function was given)."""
        return self.queryset() if callable(self.queryset) else self.queryset


@dataclass(frozen=True)
class ClusterLayer:
    """One layer of a tile: the points of a queryset counted per cell of a grid of
    ``cells`` x ``cells`` over the tile, each cell with points drawn as one point (at
    their mean) with the property ``count``.

    The grid is in web mercator, aligned on the tiles: a cell lies in one tile only (no
    point is counted twice across tiles) and a zoom's cells nest in the next one out.
    """

    name: str
    queryset: QuerySet[Any]
    geom_field: str = "location"
    cells: int = 8


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(layer: TileLayer) -> tuple[str, str]:
    model: type[Model] = layer.query().model
    geom = model._meta.get_field(layer.geom_field)
    return model._meta.db_table, str(getattr(geom, "column", layer.geom_field))


def _values(layer: TileLayer, **extra: Any) -> QuerySet[Any]:
    """The layer's rows as values: each property under an alias of its own (a property
    may have a field's name, which an annotation may not)."""
    return layer.query().order_by().values(**{
        f"mvt_{i}": F(value) if isinstance(value, str) else value
        for i, value in enumerate(layer.properties.values())}, **extra)


class _Slot:
    """Where a tile's z, x or y goes in the parameters of SQL built for every tile."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


_SLOTS = (_Slot(0), _Slot(1), _Slot(2))
# Layer SQL built once, by (database alias, layer name, key); None: it matches nothing.
# Building the SQL of a tile layer through the ORM costs about as much as a small tile's
# query: a map of six layers at z16 spends more time there than in the database.
_BUILT: dict[tuple[str, str, Hashable], tuple[str, list[Any]] | None] = {}
_BUILT_MAX = 1024


def _layer_sql(tile: Tile, layer: TileLayer) -> tuple[str, list[Any]]:
    """Return a layer's SQL and parameters for a tile (EmptyResultSet if it can match
    nothing), built once per key when the layer has one."""
    if layer.key is None:
        return _postgis_layer_sql(tile.z, tile.x, tile.y, layer)
    built_key = (connection.alias, layer.name, layer.key)
    if built_key not in _BUILT:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        try:
            _BUILT[built_key] = _postgis_layer_sql(*_SLOTS, layer)
        except EmptyResultSet:
            _BUILT[built_key] = None
    built = _BUILT[built_key]
    if built is None:
        raise EmptyResultSet
    sql, params = built
    zxy = (tile.z, tile.x, tile.y)
    return sql, [zxy[p.index] if isinstance(p, _Slot) else p for p in params]


def _postgis_layer_sql(z: Any, x: Any, y: Any, layer: TileLayer) -> tuple[str, list[Any]]:
    table, column = _columns(layer)
    geom = f"{_qn(table)}.{_qn(column)}"
    rows = layer.query().extra(  # noqa: S610 (code's own SQL; the tile is bound as params)
        where=[f"{geom} && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), "
               f"{STORAGE_SRID})"],
        params=[z, x, y, BUFFER / EXTENT])
    mvt_geom = RawSQL(  # noqa: S611 (names of our own models; the tile is bound as params)
        f"ST_AsMVTGeom(ST_Transform({geom}, {WEB_MERCATOR}), ST_TileEnvelope(%s, %s, %s), "
        f"{EXTENT}, {BUFFER}, true)", (z, x, y))
    inner, params = _values(TileLayer(layer.name, rows, layer.properties, layer.geom_field),
                            mvt_geom=mvt_geom).query.sql_with_params()
    props = "".join(f", q.mvt_{i} AS {_qn(name)}" for i, name in enumerate(layer.properties))
    sql = (f"(SELECT COALESCE(ST_AsMVT(r, %s, {EXTENT}, 'geom'), ''::bytea) FROM "  # noqa: S608
           f"(SELECT q.mvt_geom AS geom{props} FROM ({inner}) q "
           f"WHERE q.mvt_geom IS NOT NULL) r)")
    return sql, [layer.name, *params]


def _postgis_tile(tile: Tile, layers: Sequence[TileLayer]) -> bytes:
    parts = []
    for layer in layers:
        try:
            parts.append(_layer_sql(tile, layer))
        except EmptyResultSet:
            continue  # a queryset that can match nothing (.none(), an empty __in)
    if not parts:
        return b""
    sql = "SELECT " + " || ".join(p[0] for p in parts)
    params = [param for p in parts for param in p[1]]
    if all(layer.key is not None for layer in layers):
        row = _prepared(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _prepared(sql: str, params: list[Any]) -> Any:
    """Run SQL that is the same for every tile as a prepared statement: planned once per
    connection (planning a tile's query costs about half a millisecond, as much as
    running a small one), with the parameters bound on the server."""
    import psycopg

    with connection.cursor():  # connects as Django does, if it has not yet
        pass
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)  # type: ignore[arg-type]
        return cursor.fetchone()


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _in_spatialite_index(queryset: QuerySet[Any], geom_field: str,
                         bounds: tuple[float, float, float, float]) -> QuerySet[Any]:
    """The rows whose bounding box meets ``bounds`` (storage CRS), found through
    SpatiaLite's R*Tree: it answers only through its SpatialIndex table."""
    model: type[Model] = queryset.model
    table = model._meta.db_table
    column = str(getattr(model._meta.get_field(geom_field), "column", geom_field))
    in_index = (f"{_qn(table)}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE "  # noqa: S608
                "f_table_name = %s AND f_geometry_column = %s AND "
                f"search_frame = BuildMbr(%s, %s, %s, %s, {STORAGE_SRID}))")
    return queryset.extra(where=[in_index],  # noqa: S610 (our SQL, bound params)
                          params=[table, column, *bounds])


def _spatialite_features(tile: Tile, layer: TileLayer) -> list[dict[str, Any]]:
    found = _in_spatialite_index(layer.query(), layer.geom_field, tile.storage_bounds())
    rows = list(_values(TileLayer(layer.name, found, layer.properties, layer.geom_field),
                        mvt_geom=F(layer.geom_field)))
    rows = [row for row in rows if row["mvt_geom"] is not None]
    if not rows:
        return []
    shapes = to_srid(shapely.from_wkb([bytes(row["mvt_geom"].wkb) for row in rows]),
                     STORAGE_SRID, WEB_MERCATOR)
    # In the tile's own coordinates (y up; the encoder turns them y down, as MVT has them).
    minx, miny, maxx, _maxy = tile.bounds()
    scale = EXTENT / (maxx - minx)
    local = shapely.transform(shapes, lambda c: (c - (minx, miny)) * scale)
    clipped = shapely.clip_by_rect(local, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    names = list(layer.properties)
    features = []
    for row, shape in zip(rows, clipped, strict=True):
        if shape is None or shape.is_empty:
            continue
        features.append({"geometry": shape, "properties": {
            name: _plain(row[f"mvt_{i}"]) for i, name in enumerate(names)
            if row[f"mvt_{i}"] is not None}})
    return features


def _spatialite_tile(tile: Tile, layers: Sequence[TileLayer]) -> bytes:
    encoded = [{"name": layer.name, "features": features} for layer in layers
               if (features := _spatialite_features(tile, layer))]
    if not encoded:
        return b""
    return bytes(mapbox_vector_tile.encode(encoded, default_options={
        "extents": EXTENT,
        "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid}))


def _in_tile(tile: Tile, queryset: QuerySet[Any], geom_field: str) -> QuerySet[Any]:
    """The rows whose bounding box meets the tile and its buffer, through the index."""
    if connection.vendor != "postgresql":
        return _in_spatialite_index(queryset, geom_field, tile.storage_bounds())
    model: type[Model] = queryset.model
    column = str(getattr(model._meta.get_field(geom_field), "column", geom_field))
    geom = f"{_qn(model._meta.db_table)}.{_qn(column)}"
    return queryset.extra(  # noqa: S610 (code's own SQL; the tile is bound as params)
        where=[f"{geom} && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), "
               f"{STORAGE_SRID})"], params=[tile.z, tile.x, tile.y, BUFFER / EXTENT])


def tile_clusters(tile: Tile, layer: ClusterLayer) -> list[tuple[float, float, int]]:
    """Return the clusters of a layer in a tile: (x, y, count), x and y in web mercator
    metres (the mean of the cell's points), counted by the database."""
    minx, miny, maxx, maxy = tile.bounds()
    size = (maxx - minx) / layer.cells
    mercator = Transform(layer.geom_field, WEB_MERCATOR)
    points = (_in_tile(tile, layer.queryset, layer.geom_field).order_by()
              .annotate(mvt_x=Func(mercator, function="ST_X", output_field=FloatField()),
                        mvt_y=Func(mercator, function="ST_Y", output_field=FloatField()))
              .values("mvt_x", "mvt_y"))
    try:
        inner, params = points.query.sql_with_params()
    except EmptyResultSet:
        return []
    # Each point transformed once (in the inner query), then kept to the tile and
    # counted per cell; the same SQL on PostGIS and SpatiaLite.
    sql = ("SELECT AVG(q.mvt_x), AVG(q.mvt_y), COUNT(*) FROM ("  # noqa: S608 (our SQL)
           f"{inner}) q WHERE q.mvt_x >= %s AND q.mvt_x < %s AND q.mvt_y > %s AND "
           "q.mvt_y <= %s GROUP BY FLOOR((q.mvt_x - %s) / %s), FLOOR((%s - q.mvt_y) / %s)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, minx, maxx, miny, maxy, minx, size, maxy, size])
        return [(float(x), float(y), int(n)) for x, y, n in cursor.fetchall()]


def _cluster_tile(tile: Tile, layers: Sequence[ClusterLayer]) -> bytes:
    minx, miny, maxx, _maxy = tile.bounds()
    scale = EXTENT / (maxx - minx)
    encoded = [{"name": layer.name, "features": [
        {"geometry": shapely.Point((x - minx) * scale, (y - miny) * scale),
         "properties": {"count": n}} for x, y, n in found]}
        for layer in layers if (found := tile_clusters(tile, layer))]
    if not encoded:
        return b""
    return bytes(mapbox_vector_tile.encode(encoded, default_options={"extents": EXTENT}))


def tile_mvt(tile: Tile, layers: Sequence[TileLayer | ClusterLayer]) -> bytes:
    """Return the MVT of a tile with these layers (empty bytes for an empty tile).

    A tile's layers are one query on PostGIS; cluster layers are counted by a query of
    their own and encoded here (a few dozen points), their layers appended to the tile
    (two encoded tiles one after the other are one tile with the layers of both)."""
    plain = [layer for layer in layers if isinstance(layer, TileLayer)]
    clusters = [layer for layer in layers if isinstance(layer, ClusterLayer)]
    data = b""
    if plain:
        data = (_postgis_tile(tile, plain) if connection.vendor == "postgresql"
                else _spatialite_tile(tile, plain))
    if clusters:
        data += _cluster_tile(tile, clusters)
    return data


def tile_response(request: HttpRequest, data: bytes, *, etag: str,
                  cache_control: str) -> HttpResponse:
    """Answer with a tile: 304 when the client has it, 204 when it is empty."""
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": cache_control}
    if quoted in request.headers.get("If-None-Match", ""):
        return HttpResponse(status=304, headers=headers)
    if not data:
        return HttpResponse(status=204, headers=headers)
    return HttpResponse(data, content_type=MVT_CONTENT_TYPE, headers=headers)


def content_etag(data: bytes) -> str:
    """Return an entity tag made of a tile's bytes."""
    return hashlib.sha256(data).hexdigest()[:32]


# The cache layers served as tiles: the properties a map styles or labels them by, and the
# minimum zoom (z14 is about 1.1 km across in Sundsvall; a town's parcels there are a few
# thousand at most).
@dataclass(frozen=True)
class CacheLayer:
    model: type[Model]
    holds: str
    min_zoom: int
    properties: Mapping[str, str | Combinable]


CACHE_LAYERS: dict[str, CacheLayer] = {
    "parcels": CacheLayer(Parcel, Source.Holds.PARCELS, 14, {
        "objektidentitet": "objektidentitet",
        "beteckning": "beteckning", "omradesnummer": "omradesnummer",
        "kommunkod": "kommunkod"}),
    "plans": CacheLayer(Plan, Source.Holds.PLANS, 10, {
        "objektidentitet": "objektidentitet",
        "beteckning": "beteckning", "namn": "namn", "status": "status"}),
    "regulations": CacheLayer(Regulation, Source.Holds.REGULATIONS, 13, {
        "beteckning": "beteckning", "bestammelsekod": "bestammelsekod",
        "anvandningsform": "anvandningsform", "kategori": "kategori"}),
    "buildings": CacheLayer(Building, Source.Holds.BUILDINGS, 15, {
        "huvudandamal": "huvudandamal", "objektstatus": "objektstatus"}),
}
# The cache changes only when a sync runs: a client may keep a tile for a while and then
# ask whether it still holds (the entity tag is the layer's data version).
CACHE_LAYER_CACHE_CONTROL = "public, max-age=600"


def cache_tile_layer(name: str) -> TileLayer:
    """Return the tile layer of a cache layer (its SQL built once, see TileLayer.key)."""
    spec = CACHE_LAYERS[name]
    return TileLayer(name, spec.model._default_manager.all(), spec.properties,
                     key="cache-layer")


# The name that serves every cache layer whose minimum zoom a tile reaches, in one tile and
# one query (a map showing several cache layers asks once per tile, not once per layer).
ALL_CACHE_LAYERS = "all"


def cache_layers_at(zoom: int) -> list[str]:
    """Return the cache layers drawn at ``zoom`` (those whose minimum zoom it reaches)."""
    return [name for name, spec in CACHE_LAYERS.items() if zoom >= spec.min_zoom]


def _data_version(names: Sequence[str]) -> str:
    """The data version of these cache layers: what their last successful syncs were."""
    holds = sorted({CACHE_LAYERS[name].holds for name in names})
    found = SyncRun.objects.filter(source__holds__in=holds,
                                   outcome=SyncRun.Outcome.SUCCEEDED).aggregate(
        last=Max("pk"), finished=Max("finished_at"), runs=Count("pk"))
    return f"{','.join(holds)}-{found['last']}-{found['finished']}-{found['runs']}"


@require_GET
def tile_view(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    """Serve a tile of a cache layer (parcels, plans, regulations, buildings) as MVT, or
    with ``all`` of every cache layer drawn at its zoom."""
    if layer != ALL_CACHE_LAYERS and layer not in CACHE_LAYERS:
        raise Http404("no such layer")
    try:
        tile = Tile(z, x, y)
    except ValueError:
        raise Http404("no such tile") from None
    names = cache_layers_at(z) if layer == ALL_CACHE_LAYERS else (
        [layer] if z >= CACHE_LAYERS[layer].min_zoom else [])
    etag = hashlib.sha256(f"{layer}/{z}/{x}/{y}/{_data_version(names or [*CACHE_LAYERS])}"
                          .encode()).hexdigest()[:32]
    data = b""
    if names and f'"{etag}"' not in request.headers.get("If-None-Match", ""):
        data = tile_mvt(tile, [cache_tile_layer(name) for name in names])
    return tile_response(request, data, etag=etag, cache_control=CACHE_LAYER_CACHE_CONTROL)


def lonlat_tile(lon: float, lat: float, z: int) -> Tile:
    """Return the tile of zoom ``z`` that holds a point given in degrees."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return Tile(z, min(max(x, 0), n - 1), min(max(y, 0), n - 1))
