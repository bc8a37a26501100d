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


@pytest.mark.parametrize("language,words", [
    ("sv", ("x och y måste vara tal", "bytt plats", "EPSG:9999 är inte")),
    ("en", ("x and y must be numbers", "swapped", "EPSG:9999 is not")),
])
def test_bad_requests_get_clear_errors_in_the_callers_language(client, demo_data, language,
                                                               words):
    def refused(params: dict[str, object], code: str) -> str:
        response = client.get("/api/v1/parcels/at", params, HTTP_ACCEPT_LANGUAGE=language)
        body = response.json()
        assert response.status_code == 400 and body["code"] == code, body
        assert response["Content-Language"] == language
        assert body["error"] == body["description"]
        return str(body["description"])

    assert words[0] in refused({"x": "abc", "y": N}, "invalid_input")
    assert words[1] in refused({"x": N, "y": E, "srid": 3006}, "crs_mismatch")
    assert words[2] in refused({"x": E, "y": N, "srid": 9999}, "unknown_crs")


def test_no_parcel_in_the_sea(client, demo_data):
    x_sea = generate.E0 + 5 * generate.DISTRICT_COLS * generate.PITCH_X + 500
    response = client.get("/api/v1/parcels/at", {"x": x_sea, "y": N + 300})
    assert response.status_code == 404


def test_designation_search_api(client, demo_data):
    body = client.get("/api/v1/parcels/search", {"q": "tomming 2 :6"}).json()
    assert [f["properties"]["beteckning"] for f in body["features"]] == ["SUNDSVALL TOMMING 2:6"]
    assert body["data_age_seconds"] is not None
    completed = client.get("/api/v1/parcels/search", {"q": "Abbo", "limit": 3}).json()
    assert len(completed["features"]) == 3
    assert client.get("/api/v1/parcels/search", {"q": "abbo", "limit": "x"}).status_code == 400


def test_address_search_api(client, demo_data):
    body = client.get("/api/v1/addresses/search", {"q": "Storgatan 11"}).json()
    first = body["features"][0]
    assert first["properties"]["adress"] == "Storgatan 11"
    assert first["geometry"]["type"] == "Point"


def test_detail_report_api_point_and_posted_footprint(client, demo_data):
    report = client.get("/api/v1/detail-report", {"x": E, "y": N}).json()
    assert report["parcels"][0]["properties"]["beteckning"] == "SUNDSVALL ABBOTEN 1"
    assert report["outside_plan"] is False and report["plans"][0]["beteckning"]
    codes = {r["bestammelsekod"]: r for r in report["regulations"]}
    assert codes["DP_KM_EG_UTF_MARK1"]["overlap_m2"] == pytest.approx(150.0)
    x0, y0 = generate.E0 + 5, generate.N0 + 2
    footprint = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 12, y0], [x0 + 12, y0 + 10],
                                                      [x0, y0 + 10], [x0, y0]]]}
    posted = client.post("/api/v1/detail-report?srid=3006", footprint,
                         content_type="application/json").json()
    prick = next(r for r in posted["regulations"]
                 if r["bestammelsekod"] == "DP_KM_EG_UTF_MARK1")
    assert prick["share_percent"] == pytest.approx(40.0)
    bad = client.post("/api/v1/detail-report", "not json", content_type="application/json")
    assert bad.status_code == 400 and "GeoJSON" in bad.json()["error"]


def test_neighbours_api(client, demo_data):
    from geodata.models import Parcel

    parcel = Parcel.objects.get(beteckning="SUNDSVALL IDUN 6")
    body = client.get(f"/api/v1/parcels/{parcel.objektidentitet}/neighbours").json()
    assert body["parcel"] == "SUNDSVALL IDUN 6"
    assert "SUNDSVALL IDUN 7" in [f["properties"]["beteckning"]
                                  for f in body["touching"]["features"]]
    assert body["across_road"]["features"] and body["roads"] == ["SUNDSVALL STENSTADEN 1:1"]
    missing = client.get("/api/v1/parcels/00000000-0000-4000-8000-000000000000/neighbours")
    assert missing.status_code == 404


def test_openapi_document_lists_every_endpoint(client):
    from django.urls import get_resolver

    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = set(doc["paths"])
    served = {"/parcels/at", "/parcels/search", "/addresses/search", "/detail-report",
              "/parcels/{objektidentitet}/neighbours"}
    assert served == documented
    assert get_resolver().resolve("/api/v1/parcels/search").url_name == "parcel-search"
