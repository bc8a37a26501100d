"""Hostile input to the geodata API: a clear 4xx with ``{"code", "description"}``, never a 500.

Through the real views: CRSs the API cannot read on every endpoint, posted geometries of
every wrong kind, and the limits on vertices, parts, JSON depth and body size. Then a
property of the one GeoJSON parser (``geodata.geojson_input``): whatever it is given, it
returns a valid geometry in Sweden or raises a geodata error that means 400.
"""

from __future__ import annotations

import json
import math
import time

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from fixtures import generate
from geodata.crs import SWEDEN_3006
from geodata.errors import GeodataError
from geodata.geojson_input import Limits, features_from_geojson, geometry_from_geojson, json_load

pytestmark = pytest.mark.django_db

E, N = generate.E0 + 10.0, generate.N0 + 20.0
UNREADABLE_CRS = ["EPSG:abc", "urn:ogc:def:crs:EPSG::abc", "EPSG:٣٠٠٦", "٣٠٠٦", "EPSG:³⁰⁰⁶",
                  "http://www.opengis.net/def/crs/EPSG/0/abc", "EPSG:_", "EPSG:3006x",
                  "OGC:CRS85", "EPSG:" + "9" * 400, "x" * 5000]
NEIGHBOURS = "/api/v1/parcels/00000000-0000-4000-8000-000000000000/neighbours"
ENDPOINTS = [("get", "/api/v1/parcels/at", {"x": E, "y": N}),
             ("get", "/api/v1/parcels/search", {"q": "abbo"}),
             ("get", "/api/v1/addresses/search", {"q": "Storgatan"}),
             ("get", "/api/v1/detail-report", {"x": E, "y": N}),
             ("post", "/api/v1/detail-report", {}),
             ("get", NEIGHBOURS, {})]


def square(x: float = generate.E0 + 5, y: float = generate.N0 + 2, size: float = 10
           ) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
                                                [x, y + size], [x, y]]]}


def post(client, body: object, *, srid: int = 3006, **extra):
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"/api/v1/detail-report?srid={srid}", text,
                       content_type="application/json", **extra)


def refused(response, status: int = 400, code: str | None = None) -> dict[str, str]:
    """Assert an error answer of the API's one shape; return it."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert {"code", "description"} <= set(body), body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["description"], str) and body["description"]
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("param", ["srid", "crs"])
@pytest.mark.parametrize("bad", UNREADABLE_CRS)
def test_an_unreadable_crs_is_a_400_on_every_endpoint(client, bad, param):
    for method, url, params in ENDPOINTS:
        query = {**params, param: bad}
        if method == "post":
            from urllib.parse import urlencode

            response = client.post(f"{url}?{urlencode(query)}", json.dumps(square()),
                                   content_type="application/json")
        else:
            response = client.get(url, query)
        body = refused(response, code="unknown_crs")
        assert len(body["description"]) < 300, (url, body)  # says why, does not echo it all


@pytest.mark.parametrize("language,unknown,unsupported", [
    ("sv", "Okänt koordinatsystem 'EPSG:abc': ange en EPSG-kod", "EPSG:27700 är inte"),
    ("en", "Unknown coordinate reference system 'EPSG:abc': give an EPSG code",
     "EPSG:27700 is not"),
])
def test_the_crs_error_says_what_to_give(client, language, unknown, unsupported):
    body = refused(client.get("/api/v1/parcels/at", {"x": E, "y": N, "srid": "EPSG:abc"},
                              HTTP_ACCEPT_LANGUAGE=language), code="unknown_crs")
    assert body["description"].startswith(unknown) and "EPSG:3006" in body["description"]
    other = refused(client.get("/api/v1/parcels/at", {"x": E, "y": N, "srid": 27700},
                               HTTP_ACCEPT_LANGUAGE=language), code="unknown_crs")
    assert other["description"].startswith(unsupported)


@pytest.mark.parametrize("language,words", [
    ("sv", "q får inte innehålla NUL-tecknet"),
    ("en", "q must not contain the NUL character"),
])
def test_a_nul_in_a_search_is_refused_in_the_callers_language(client, language, words):
    for url in ("/api/v1/parcels/search", "/api/v1/addresses/search"):
        body = refused(client.get(url, {"q": "abbo\x00"}, HTTP_ACCEPT_LANGUAGE=language),
                       code="invalid_input")
        assert body["description"].startswith(words), body


@pytest.mark.parametrize("x,y", [("nan", N), (E, "inf"), ("1e999", N), ("", ""), ("0x10", N)])
def test_non_finite_or_missing_numbers_are_a_400(client, x, y):
    swedish = refused(client.get("/api/v1/parcels/at", {"x": x, "y": y}), code="invalid_input")
    assert swedish["description"].startswith("x och y måste vara tal")
    english = refused(client.get("/api/v1/detail-report", {"x": x, "y": y},
                                 HTTP_ACCEPT_LANGUAGE="en"), code="invalid_input")
    assert english["description"].startswith("x and y must be numbers")


x0, y0 = generate.E0 + 5, generate.N0 + 2
HOSTILE_BODIES = {
    "unknown type": ({"type": "Circle", "coordinates": [x0, y0], "radius": 5},
                     "invalid_geometry"),
    "geometry collection": ({"type": "GeometryCollection", "geometries": [square()]},
                            "invalid_geometry"),
    "feature collection": ({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(), "properties": {}}]}, "invalid_geometry"),
    "one-point line": ({"type": "LineString", "coordinates": [[x0, y0]]}, "invalid_geometry"),
    "three-point ring": ({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 5, y0],
                                                               [x0, y0]]]}, "invalid_geometry"),
    "open ring": ({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 5, y0],
                                                        [x0 + 5, y0 + 5], [x0, y0 + 6]]]},
                  "invalid_geometry"),
    "NaN literal": ('{"type": "Point", "coordinates": [NaN, 6919000]}', "invalid_geometry"),
    "Infinity literal": ('{"type": "Point", "coordinates": [Infinity, 1]}', "invalid_geometry"),
    "number beyond a float": ('{"type": "Point", "coordinates": [1e999, 6919000]}',
                              "invalid_geometry"),
    "integer beyond a float": ('{"type": "Point", "coordinates": [1' + "0" * 400 + ', 1]}',
                               "invalid_geometry"),
    "integer beyond Python's digits": ('{"type": "Point", "coordinates": [1' + "0" * 5000
                                       + ', 1]}', "invalid_geometry"),
    "strings for numbers": ({"type": "Point", "coordinates": ["nan", "nan"]},
                            "invalid_geometry"),
    "booleans for numbers": ({"type": "Point", "coordinates": [True, False]},
                             "invalid_geometry"),
    "four numbers": ({"type": "Point", "coordinates": [x0, y0, 0, 0]}, "invalid_geometry"),
    "coordinates nested wrong": ({"type": "Polygon", "coordinates": [x0, y0]},
                                 "invalid_geometry"),
    "coordinates an object": ({"type": "LineString", "coordinates": {"a": 1}},
                              "invalid_geometry"),
    "no coordinates": ({"type": "Polygon"}, "invalid_geometry"),
    "empty polygon": ({"type": "Polygon", "coordinates": []}, "invalid_geometry"),
    "empty multipolygon": ({"type": "MultiPolygon", "coordinates": []}, "invalid_geometry"),
    "bow tie": ({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 10, y0 + 10],
                                                      [x0 + 10, y0], [x0, y0 + 10],
                                                      [x0, y0]]]}, "invalid_geometry"),
    "feature without geometry": ({"type": "Feature", "geometry": None, "properties": {}},
                                 "invalid_geometry"),
    "type not a string": ({"type": ["Polygon"], "coordinates": []}, "invalid_geometry"),
    "a list": ([square()], "invalid_geometry"),
    "a number": ("42", "invalid_geometry"),
    "not JSON": ("not json", "invalid_geometry"),
    "not UTF-8": (b"\xff\xfe\xfa{", "invalid_geometry"),
    "empty body": ("", "invalid_geometry"),
    "swapped axes": (square(y0, x0), "crs_mismatch"),
    "outside Sweden": (square(0, 0), "crs_mismatch"),
    "nested deeper than the limit": ({"type": "Point", "coordinates": [x0, y0],
                                      "x": json.loads("[" * 30 + "]" * 30)}, "too_deep"),
    "nested beyond the decoder": ("[" * 200_000 + "]" * 200_000, "too_deep"),
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_a_hostile_posted_geometry_is_a_400(client, name):
    body, code = HOSTILE_BODIES[name]
    refused(post(client, body), code=code)


def test_geometry_errors_speak_the_callers_language(client):
    line = {"type": "LineString", "coordinates": [[x0, y0]]}
    swedish = refused(post(client, line))
    english = refused(post(client, line, HTTP_ACCEPT_LANGUAGE="en"))
    assert swedish["description"].startswith("En linje behöver minst två positioner")
    assert english["description"].startswith("A line needs at least two positions")


def test_a_valid_feature_still_gets_its_report(client, demo_data):
    report = post(client, {"type": "Feature", "properties": {}, "geometry": square()})
    assert report.status_code == 200
    assert report.json()["parcels"][0]["properties"]["beteckning"] == "SUNDSVALL ABBOTEN 1"
    with_z = {"type": "Point", "coordinates": [x0, y0, 12.5]}
    assert post(client, with_z).status_code == 200


def test_a_100000_vertex_polygon_is_refused_before_any_work(client):
    # Whole metres, so that the body stays under the 2 MB body limit: this is the vertex
    # limit's refusal, not the body's.
    ring = [[int(x0) + i % 1000, int(y0) + i // 1000] for i in range(100_000)]
    ring.append(ring[0])
    body = json.dumps({"type": "Polygon", "coordinates": [ring]})
    assert len(body) < 2 * 1024 * 1024
    started = time.process_time()
    answer = refused(post(client, body), code="too_many_vertices")
    assert time.process_time() - started < 2.0  # JSON decoding only; was seconds of GEOS
    assert "10000" in answer["description"]


def test_the_limits_are_settings_and_named_in_the_answer(client, settings):
    settings.LOVKARTA_GEOMETRY_MAX_VERTICES = 50
    ring = [[x0 + math.cos(a / 10) * 5, y0 + 6 + math.sin(a / 10) * 5] for a in range(60)]
    ring.append(ring[0])
    vertices = refused(post(client, {"type": "Polygon", "coordinates": [ring]}),
                       code="too_many_vertices")
    assert "50" in vertices["description"]
    triangles = [[[[x0 + 3 * i, y0], [x0 + 3 * i + 2, y0], [x0 + 3 * i, y0 + 2], [x0 + 3 * i, y0]]]
                 for i in range(11)]
    settings.LOVKARTA_GEOMETRY_MAX_PARTS = 10
    parts = refused(post(client, {"type": "MultiPolygon", "coordinates": triangles}),
                    code="too_many_parts")
    assert "10" in parts["description"]
    settings.LOVKARTA_JSON_MAX_DEPTH = 3
    deep = refused(post(client, {"type": "Polygon", "coordinates": [[[x0, y0]]]}),
                   code="too_deep")
    assert "3" in deep["description"]


def test_a_body_over_the_limit_is_a_413(client, settings):
    huge = json.dumps({"type": "Point", "coordinates": [x0, y0], "pad": "x" * 3_000_000})
    body = refused(post(client, huge), status=413, code="request_too_large")
    assert str(2 * 1024 * 1024) in body["description"]
    settings.LOVKARTA_API_MAX_BODY_BYTES = 100
    small = refused(post(client, square()), status=413, code="request_too_large")
    assert "100" in small["description"]


def test_not_found_keeps_the_shape(client, demo_data):
    refused(client.get(NEIGHBOURS), status=404, code="not_found")


# The parser's property: a valid geometry in Sweden, or a geodata error meaning 400.

LIMITS = Limits(max_vertices=40, max_parts=6, max_depth=8)
x_min, y_min, x_max, y_max = SWEDEN_3006
numbers = st.one_of(
    st.floats(x_min - 1000, x_max + 1000), st.floats(y_min - 1000, y_max + 1000),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
    st.booleans(), st.text(max_size=3), st.none())
easting, northing = st.floats(616_000, 616_100), st.floats(6_919_000, 6_919_100)
position = st.one_of(
    st.tuples(easting, northing).map(list),
    st.lists(numbers, max_size=4))
ring = st.one_of(
    st.lists(st.tuples(easting, northing).map(list), min_size=3, max_size=12).map(
        lambda r: [*r, r[0]]),
    st.lists(position, max_size=12))
json_values = st.recursive(
    st.one_of(numbers.filter(lambda v: not isinstance(v, float) or math.isfinite(v)),
              st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=20)
coordinates = st.one_of(position, st.lists(position, max_size=12), st.lists(ring, max_size=3),
                        st.lists(st.lists(ring, max_size=3), max_size=3), json_values)
geometry_types = st.sampled_from([*("Point", "MultiPoint", "LineString", "MultiLineString",
                                    "Polygon", "MultiPolygon"), "GeometryCollection",
                                  "Feature", "Circle", ""])
geometries = st.builds(lambda kind, coords: {"type": kind, "coordinates": coords},
                       geometry_types, coordinates)
anything = st.one_of(
    geometries,
    st.builds(lambda g, p: {"type": "Feature", "geometry": g, "properties": p},
              geometries | json_values, json_values),
    st.builds(lambda fs: {"type": "FeatureCollection", "features": fs},
              st.lists(st.one_of(geometries, json_values), max_size=3)),
    json_values)


def _usable(shape: shapely.Geometry) -> None:
    assert isinstance(shape, shapely.Geometry)
    assert not shape.is_empty and shape.is_valid
    x0_, y0_, x1_, y1_ = SWEDEN_3006
    minx, miny, maxx, maxy = shape.bounds
    assert x0_ <= minx <= maxx <= x1_ and y0_ <= miny <= maxy <= y1_


@given(value=anything, srid=st.sampled_from([3006, 4326, 3014]))
def test_the_parser_returns_a_valid_geometry_or_a_400(value, srid):
    try:
        shape = geometry_from_geojson(value, srid=srid, limits=LIMITS)
    except GeodataError as exc:
        assert exc.http_status == 400 and exc.code and str(exc)
    else:
        _usable(shape)


@given(features=st.lists(st.builds(
    lambda g, p: {"type": "Feature", "geometry": g, "properties": p},
    geometries, st.one_of(st.none(), st.dictionaries(st.text(max_size=4), json_values,
                                                     max_size=2), json_values)), max_size=8))
def test_the_collection_parser_returns_valid_geometries_or_a_400(features):
    try:
        found = features_from_geojson({"type": "FeatureCollection", "features": features},
                                      srid=3006, limits=LIMITS)
    except GeodataError as exc:
        assert exc.http_status == 400 and exc.code
    else:
        assert len(found) == len(features)
        for shape, properties in found:
            _usable(shape)
            assert isinstance(properties, dict)


@given(text=st.one_of(st.text(max_size=60), st.binary(max_size=60),
                      json_values.map(json.dumps),
                      st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)))
def test_json_load_returns_a_value_or_a_400(text):
    try:
        json_load(text, max_depth=LIMITS.max_depth)
    except GeodataError as exc:
        assert exc.http_status == 400
