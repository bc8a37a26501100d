"""The parcel-at-point API against parcels synced from the local OGC server."""

from __future__ import annotations

import pytest

from fixtures import generate
from geodata.crs import point_to_srid

pytestmark = pytest.mark.django_db

# Inside SUNDSVALL ABBOTEN 1: 10 m east and 20 m north of the grid's south-west corner.
E, N = generate.E0 + 10.0, generate.N0 + 20.0


def test_parcel_at_point_in_sweref99tm(client, demo_data):
    response = client.get("/api/v1/parcels/at", {"x": E, "y": N, "srid": 3006})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    feature = response.json()
    assert feature["type"] == "Feature"
    props = feature["properties"]
    assert props["beteckning"] == "SUNDSVALL ABBOTEN 1"
    assert props["kommunkod"] == "2281"
    assert props["area_m2"] == pytest.approx(1000.0)
    assert props["data_age_seconds"] is not None and props["data_age_seconds"] < 600
    # GeoJSON is longitude/latitude: Sundsvall is about 17.3 E, 62.4 N.
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 17.0 < lon < 17.6 and 62.2 < lat < 62.6


def test_same_parcel_from_wgs84_and_local_zone(client, demo_data):
    lon, lat = point_to_srid(E, N, 3006, 4326)
    x14, y14 = point_to_srid(E, N, 3006, 3014)
    for params in ({"x": lon, "y": lat, "srid": 4326}, {"x": x14, "y": y14, "srid": "EPSG:3014"},
                   {"x": lon, "y": lat, "srid": "urn:ogc:def:crs:EPSG::4326"}):
        feature = client.get("/api/v1/parcels/at", params).json()
        assert feature["properties"]["beteckning"] == "SUNDSVALL ABBOTEN 1", params


def test_geometry_in_storage_crs_on_request(client, demo_data):
    feature = client.get("/api/v1/parcels/at", {"x": E, "y": N, "crs": 3006}).json()
    ring = feature["geometry"]["coordinates"][0][0]
    assert [generate.E0, generate.N0] in [[round(x, 3), round(y, 3)] for x, y in ring]


def test_bad_requests_get_clear_errors(client, demo_data):
    no_numbers = client.get("/api/v1/parcels/at", {"x": "abc", "y": N})
    assert no_numbers.status_code == 400 and "x and y" in no_numbers.json()["error"]
    swapped = client.get("/api/v1/parcels/at", {"x": N, "y": E, "srid": 3006})
    assert swapped.status_code == 400 and "swapped" in swapped.json()["error"]
    unknown = client.get("/api/v1/parcels/at", {"x": E, "y": N, "srid": 9999})
    assert unknown.status_code == 400 and "EPSG:9999" in unknown.json()["error"]


def test_no_parcel_in_the_sea(client, demo_data):
    x_sea = generate.E0 + 5 * generate.DISTRICT_COLS * generate.PITCH_X + 500
    response = client.get("/api/v1/parcels/at", {"x": x_sea, "y": N + 300})
    assert response.status_code == 404
