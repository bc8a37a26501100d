"""Vector tiles of the cache layers, decoded: the right features in the right tile, with
their properties, inside the tile's extent; empty tiles and low zooms carry nothing."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape

from fixtures import generate
from geodata.crs import point_to_srid
from geodata.models import Parcel
from geodata.tiles import (
    BUFFER,
    CACHE_LAYERS,
    EXTENT,
    ClusterLayer,
    Tile,
    TileLayer,
    cache_tile_layer,
    lonlat_tile,
    tile_clusters,
    tile_mvt,
)

pytestmark = pytest.mark.django_db

# Inside SUNDSVALL ABBOTEN 1 (12 m east, 20 m north of its south-west corner).
E, N = generate.E0 + 12.0, generate.N0 + 20.0
LON, LAT = point_to_srid(E, N, 3006, 4326)


def url(layer: str, tile: Tile) -> str:
    return f"/api/v1/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.pbf"


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data)


def tile_point(tile: Tile, e: float, n: float) -> shapely.Point:
    """The point (e, n) in the decoded tile's coordinates (y up, 0..EXTENT)."""
    mx, my = point_to_srid(e, n, 3006, 3857)
    minx, miny, maxx, maxy = tile.bounds()
    return shapely.Point((mx - minx) / (maxx - minx) * EXTENT,
                         (my - miny) / (maxy - miny) * EXTENT)


def coordinates(geometry: dict) -> list[tuple[float, float]]:
    return list(shapely.get_coordinates(shape(geometry)))


def test_a_known_parcel_is_in_its_tile_with_its_properties(client, demo_data):
    tile = lonlat_tile(LON, LAT, 16)
    response = client.get(url("parcels", tile))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert response["ETag"] and "max-age" in response["Cache-Control"]
    layers = decode(response.content)
    assert list(layers) == ["parcels"]
    features = layers["parcels"]["features"]
    found = [f for f in features if f["properties"]["beteckning"] == "SUNDSVALL ABBOTEN 1"]
    assert len(found) == 1
    parcel = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    assert found[0]["properties"] == {
        "objektidentitet": str(parcel.objektidentitet), "beteckning": "SUNDSVALL ABBOTEN 1",
        "omradesnummer": 1, "kommunkod": "2281"}
    # Where the parcel is in the tile: the point inside it is inside its drawn outline.
    assert shape(found[0]["geometry"]).buffer(2).contains(tile_point(tile, E, N))
    for feature in features:
        for x, y in coordinates(feature["geometry"]):
            assert -BUFFER <= x <= EXTENT + BUFFER and -BUFFER <= y <= EXTENT + BUFFER


def test_every_cache_layer_has_the_demo_features_at_the_point(client, demo_data):
    tile = lonlat_tile(LON, LAT, 16)
    found = {}
    for layer in CACHE_LAYERS:
        response = client.get(url(layer, tile))
        assert response.status_code == 200, layer
        found[layer] = decode(response.content)[layer]["features"]
    point = tile_point(tile, E, N)
    assert any(shape(f["geometry"]).contains(point) and f["properties"]["beteckning"]
               for f in found["plans"])
    assert any(shape(f["geometry"]).contains(point) for f in found["regulations"])
    assert found["buildings"]


def test_an_empty_tile_is_204_and_below_the_minimum_zoom_nothing(client, demo_data):
    sea = lonlat_tile(0.0, 0.0, 16)
    response = client.get(url("parcels", sea))
    assert response.status_code == 204 and response.content == b""
    low = lonlat_tile(LON, LAT, CACHE_LAYERS["parcels"].min_zoom - 1)
    response = client.get(url("parcels", low))
    assert response.status_code == 204
    # Plans start lower: the same tile has the demo plans.
    assert client.get(url("plans", low)).status_code == 200


def test_unknown_layer_and_tile_out_of_the_grid_are_404(client, demo_data):
    assert client.get("/api/v1/tiles/cases/14/1/1.pbf").status_code == 404
    assert client.get("/api/v1/tiles/parcels/14/16384/1.pbf").status_code == 404
    assert client.get("/api/v1/tiles/parcels/23/1/1.pbf").status_code == 404


def test_a_client_that_has_the_tile_gets_304(client, demo_data):
    tile = lonlat_tile(LON, LAT, 16)
    first = client.get(url("parcels", tile))
    again = client.get(url("parcels", tile), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]


def test_the_helper_draws_a_filtered_queryset_in_several_layers(demo_data):
    tile = lonlat_tile(LON, LAT, 17)
    data = tile_mvt(tile, [
        TileLayer("one", Parcel.objects.filter(beteckning="SUNDSVALL ABBOTEN 1"),
                  {"name": "beteckning"}),
        TileLayer("none", Parcel.objects.none(), {"name": "beteckning"}),
        TileLayer("all", Parcel.objects.all(), {}),
    ])
    layers = decode(data)
    assert [f["properties"] for f in layers["one"]["features"]] == [
        {"name": "SUNDSVALL ABBOTEN 1"}]
    assert "none" not in layers
    assert len(layers["all"]["features"]) > 1
    assert tile_mvt(lonlat_tile(0.0, 0.0, 17), [TileLayer("x", Parcel.objects.all())]) == b""


def test_points_are_counted_per_cell_once_and_cells_nest(demo_data):
    """ClusterLayer: every address of a tile in exactly one cluster of its cell, drawn at
    the mean of its points; four tiles of the next zoom count what their parent does."""
    from geodata.models import Address

    tile = lonlat_tile(LON, LAT, 12)
    minx, miny, maxx, maxy = tile.bounds()
    size = (maxx - minx) / 8
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for address in Address.objects.all():
        mx, my = point_to_srid(address.geom.x, address.geom.y, 3006, 3857)
        if minx <= mx < maxx and miny < my <= maxy:
            cells.setdefault((int((mx - minx) // size), int((maxy - my) // size)),
                             []).append((mx, my))
    assert sum(len(v) for v in cells.values()) > 10 and len(cells) > 1
    found = tile_clusters(tile, ClusterLayer("a", Address.objects.all(), "geom"))
    assert sorted(n for _x, _y, n in found) == sorted(len(v) for v in cells.values())
    for x, y, n in found:
        cell = cells[(int((x - minx) // size), int((maxy - y) // size))]
        assert n == len(cell)
        assert x == pytest.approx(sum(p[0] for p in cell) / n, abs=0.01)
        assert y == pytest.approx(sum(p[1] for p in cell) / n, abs=0.01)
    children = [Tile(13, 2 * tile.x + dx, 2 * tile.y + dy) for dx in (0, 1) for dy in (0, 1)]
    assert sum(n for child in children for _x, _y, n in tile_clusters(
        child, ClusterLayer("a", Address.objects.all(), "geom"))) == sum(
        n for _x, _y, n in found)
    layers = decode(tile_mvt(tile, [ClusterLayer("a", Address.objects.all(), "geom")]))
    assert sorted(f["properties"]["count"] for f in layers["a"]["features"]) == sorted(
        n for _x, _y, n in found)
    assert tile_mvt(tile, [ClusterLayer("a", Address.objects.none(), "geom")]) == b""


def test_a_keyed_layer_is_built_once_and_drawn_right_in_every_tile(demo_data):
    """A layer with a key has its SQL built once; each tile still gets its own rows."""
    keyed = cache_tile_layer("parcels")
    for zoom in (15, 16, 17):
        tile = lonlat_tile(LON, LAT, zoom)
        plain = TileLayer("parcels", keyed.queryset, keyed.properties)
        assert decode(tile_mvt(tile, [keyed])) == decode(tile_mvt(tile, [plain]))
    assert tile_mvt(lonlat_tile(0.0, 0.0, 16), [keyed]) == b""


def test_all_cache_layers_come_in_one_tile_each_from_its_zoom(client, demo_data):
    tile = lonlat_tile(LON, LAT, 16)
    response = client.get(url("all", tile))
    assert response.status_code == 200 and "public" in response["Cache-Control"]
    layers = decode(response.content)
    assert set(layers) == set(CACHE_LAYERS)
    for name in CACHE_LAYERS:  # the same features as the layer's own tile
        alone = decode(client.get(url(name, tile)).content)[name]["features"]
        assert sorted(map(repr, (f["properties"] for f in layers[name]["features"]))) == sorted(
            map(repr, (f["properties"] for f in alone)))
    low = lonlat_tile(LON, LAT, 13)
    assert set(decode(client.get(url("all", low)).content)) == {
        name for name, spec in CACHE_LAYERS.items() if spec.min_zoom <= 13}
    again = client.get(url("all", tile), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get(url("all", lonlat_tile(LON, LAT, 9))).status_code == 204
