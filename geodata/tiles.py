"""Mapbox vector tiles (MVT) of the cache layers, and the helper that makes a tile of any
queryset (permits draws its cases with it; geodata never sees what it draws).

A tile is one query. On PostGIS it is the bare ``ST_AsMVT`` query: the rows whose bounding
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import mapbox_vector_tile
import numpy as np
import shapely
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Expression, F, Max, Model, QuerySet
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

    def storage_bounds(self) -> tuple[float, float, float, float]:
        """Return the bounding box in the storage CRS of the tile and its buffer (its
        edges densified: they are not straight lines there)."""
        minx, miny, maxx, maxy = self.bounds(BUFFER / EXTENT)
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
    """

    name: str
    queryset: QuerySet[Any]
    properties: Mapping[str, str | Combinable | Expression] = field(default_factory=dict)
    geom_field: str = "geom"


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(layer: TileLayer) -> tuple[str, str]:
    model: type[Model] = layer.queryset.model
    geom = model._meta.get_field(layer.geom_field)
    return model._meta.db_table, str(getattr(geom, "column", layer.geom_field))


def _values(layer: TileLayer, **extra: Any) -> QuerySet[Any]:
    """The layer's rows as values: each property under an alias of its own (a property
    may have a field's name, which an annotation may not)."""
    return layer.queryset.order_by().values(**{
        f"mvt_{i}": F(value) if isinstance(value, str) else value
        for i, value in enumerate(layer.properties.values())}, **extra)


def _postgis_layer_sql(tile: Tile, layer: TileLayer) -> tuple[str, list[Any]]:
    table, column = _columns(layer)
    geom = f"{_qn(table)}.{_qn(column)}"
    rows = layer.queryset.extra(  # noqa: S610 (code's own SQL; the tile is bound as params)
        where=[f"{geom} && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), "
               f"{STORAGE_SRID})"],
        params=[tile.z, tile.x, tile.y, BUFFER / EXTENT])
    mvt_geom = RawSQL(  # noqa: S611 (names of our own models; the tile is bound as params)
        f"ST_AsMVTGeom(ST_Transform({geom}, {WEB_MERCATOR}), ST_TileEnvelope(%s, %s, %s), "
        f"{EXTENT}, {BUFFER}, true)", (tile.z, tile.x, tile.y))
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
            parts.append(_postgis_layer_sql(tile, layer))
        except EmptyResultSet:
            continue  # a queryset that can match nothing (.none(), an empty __in)
    if not parts:
        return b""
    sql = "SELECT " + " || ".join(p[0] for p in parts)
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for p in parts for param in p[1]])
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _spatialite_features(tile: Tile, layer: TileLayer) -> list[dict[str, Any]]:
    table, column = _columns(layer)
    minx, miny, maxx, maxy = tile.storage_bounds()
    # SpatiaLite's R*Tree answers only through its SpatialIndex table.
    in_index = (f"{_qn(table)}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE "  # noqa: S608
                "f_table_name = %s AND f_geometry_column = %s AND "
                f"search_frame = BuildMbr(%s, %s, %s, %s, {STORAGE_SRID}))")
    found = layer.queryset.extra(where=[in_index],  # noqa: S610 (our SQL, bound params)
                                 params=[table, column, minx, miny, maxx, maxy])
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


def tile_mvt(tile: Tile, layers: Sequence[TileLayer]) -> bytes:
    """Return the MVT of a tile with these layers (empty bytes for an empty tile)."""
    if not layers:
        return b""
    if connection.vendor == "postgresql":
        return _postgis_tile(tile, layers)
    return _spatialite_tile(tile, layers)


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


def _data_version(holds: str) -> str:
    found = SyncRun.objects.filter(source__holds=holds,
                                   outcome=SyncRun.Outcome.SUCCEEDED).aggregate(
        last=Max("pk"), finished=Max("finished_at"), runs=Count("pk"))
    return f"{found['last']}-{found['finished']}-{found['runs']}"


@require_GET
def tile_view(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    """Serve a tile of a cache layer (parcels, plans, regulations, buildings) as MVT."""
    spec = CACHE_LAYERS.get(layer)
    if spec is None:
        raise Http404("no such layer")
    try:
        tile = Tile(z, x, y)
    except ValueError:
        raise Http404("no such tile") from None
    etag = hashlib.sha256(f"{layer}/{z}/{x}/{y}/{_data_version(spec.holds)}".encode()
                          ).hexdigest()[:32]
    data = b""
    if z >= spec.min_zoom and f'"{etag}"' not in request.headers.get("If-None-Match", ""):
        data = tile_mvt(tile, [TileLayer(layer, spec.model._default_manager.all(),
                                         spec.properties)])
    return tile_response(request, data, etag=etag, cache_control=CACHE_LAYER_CACHE_CONTROL)


def lonlat_tile(lon: float, lat: float, z: int) -> Tile:
    """Return the tile of zoom ``z`` that holds a point given in degrees."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return Tile(z, min(max(x, 0), n - 1), min(max(y, 0), n - 1))
