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
from geodata.tiles import BUFFER, CACHE_LAYERS, EXTENT, Tile, TileLayer, lonlat_tile, tile_mvt

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
