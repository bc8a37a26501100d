"""The officer's review map over HTTP: case tiles scoped to the officer's municipality and
to the queue's filters, with no personal data; the page draws every layer from tiles;
the case page's map and its text."""

from __future__ import annotations

import json
import re

import mapbox_vector_tile
import pytest
from django.test import Client

from geodata.crs import point_to_srid
from geodata.tiles import lonlat_tile
from permits.maps import CASE_CLUSTERS_MIN_ZOOM
from permits.services.clock import today
from permits.workflow import OPEN, Status

pytestmark = pytest.mark.django_db
PROPERTIES = {"id", "case_number", "status", "case_type", "band", "overdue", "days_left"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tiles_of(cases, zoom: int = 14) -> set:
    found = set()
    for case in cases:
        lon, lat = point_to_srid(case.location.x, case.location.y, 3006, 4326)
        found.add(lonlat_tile(lon, lat, zoom))
    return found


def case_features(client: Client, tiles, query: str = "") -> list[dict]:
    """The case features of these tiles (each case once: a case on a tile's edge is in
    the buffer of its neighbour too)."""
    features: dict[int, dict] = {}
    for tile in tiles:
        response = client.get(f"/handlaggare/karta/arenden/{tile.z}/{tile.x}/{tile.y}.pbf"
                              + (f"?{query}" if query else ""))
        assert response.status_code in (200, 204), response.status_code
        if response.status_code == 200:
            assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
            assert "private" in response["Cache-Control"]
            layers = mapbox_vector_tile.decode(response.content)
            for feature in layers.get("cases", {}).get("features", []):
                features[feature["properties"]["id"]] = feature["properties"]
    return list(features.values())


@pytest.fixture
def located(demo_cases):
    cases = list(demo_cases.filter(location__isnull=False).select_related("municipality"))
    assert {c.municipality.kommunkod for c in cases} == {"2280", "2281"}
    return cases


def test_case_tiles_hold_the_officers_municipality_only(located, demo_users):
    sundsvall = [c for c in located if c.municipality.kommunkod == "2281"]
    harnosand = [c for c in located if c.municipality.kommunkod == "2280"]
    every_tile = tiles_of(located)

    seen = case_features(logged_in(demo_users["handlaggare"]), every_tile)
    assert {f["id"] for f in seen} == {c.pk for c in sundsvall}
    seen = case_features(logged_in(demo_users["handlaggare-harnosand"]), every_tile)
    assert {f["id"] for f in seen} == {c.pk for c in harnosand}


def test_case_tiles_carry_no_personal_data(located, demo_users):
    sundsvall = [c for c in located if c.municipality.kommunkod == "2281"]
    seen = case_features(logged_in(demo_users["handlaggare"]), tiles_of(sundsvall))
    assert seen
    personal = {text for c in sundsvall for text in (
        c.contact_name, c.contact_email, c.contact_phone, c.applicant.username,
        c.applicant.email) if text}
    by_id = {c.pk: c for c in sundsvall}
    day = today()
    for properties in seen:
        assert set(properties) <= PROPERTIES, properties
        assert not personal & {str(v) for v in properties.values()}
        case = by_id[properties["id"]]
        assert properties["case_number"] == case.case_number
        assert properties["status"] == case.status
        is_open = case.status in OPEN
        overdue = is_open and case.deadline is not None and case.deadline < day
        assert properties["overdue"] is overdue
        if is_open and case.deadline:
            assert properties["days_left"] == (case.deadline - day).days
            assert properties["band"] in ({"overdue"} if overdue else {"soon", "open"})
        else:
            assert "days_left" not in properties
        if not is_open:
            assert properties["band"] == "closed"


def test_case_tiles_apply_the_queue_filters(located, demo_users):
    officer = demo_users["handlaggare"]
    sundsvall = [c for c in located if c.municipality.kommunkod == "2281"]
    client, tiles = logged_in(officer), tiles_of(sundsvall)
    status = Status.DECIDED
    expected = {c.pk for c in sundsvall if c.status == status}
    assert expected and expected != {c.pk for c in sundsvall}
    assert {f["id"] for f in case_features(client, tiles, f"status={status}")} == expected

    day = today()
    overdue = {c.pk for c in sundsvall if c.status in OPEN and c.deadline and c.deadline < day}
    found = case_features(client, tiles, "queue=overdue")
    assert {f["id"] for f in found} == overdue
    assert all(f["overdue"] and f["band"] == "overdue" for f in found)

    case_type = sundsvall[0].case_type
    assert {f["id"] for f in case_features(client, tiles, f"case_type={case_type}")} == {
        c.pk for c in sundsvall if c.case_type == case_type}


def test_case_tiles_are_for_staff_and_from_their_minimum_zoom(located, demo_users):
    tile = next(iter(tiles_of(located[:1], CASE_CLUSTERS_MIN_ZOOM - 1)))
    path = f"/handlaggare/karta/arenden/{tile.z}/{tile.x}/{tile.y}.pbf"
    assert logged_in(demo_users["handlaggare"]).get(path).status_code == 204
    assert logged_in(demo_users["sokande"]).get(path).status_code == 404
    assert Client().get(path).status_code == 302  # to the log-in page
    assert logged_in(demo_users["handlaggare"]).get(
        "/handlaggare/karta/arenden/14/99999/1.pbf").status_code == 404


def map_config(html: str) -> dict:
    found = re.search(r'<script id="(map_[^"]+-config)" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found, "no map configuration on the page"
    return json.loads(found.group(2))


def test_the_review_map_draws_every_layer_from_tiles(located, demo_users):
    officer = logged_in(demo_users["handlaggare"])
    response = officer.get("/handlaggare/karta/?status=decided&applicant=&queue=all")
    assert response.status_code == 200
    html = response.content.decode()
    config = map_config(html)
    kinds = [e["kind"] for e in config["elements"]]
    assert "points" not in kinds and "outlines" not in kinds  # no layer as GeoJSON
    tiles = {e["key"]: e for e in config["elements"] if e["kind"] == "vectortiles"}
    assert set(tiles) == {"cases", "parcels", "plans", "regulations", "buildings"}
    assert tiles["cases"]["url"] == (
        "/handlaggare/karta/arenden/{z}/{x}/{y}.pbf?queue=all&status=decided")
    assert tiles["parcels"]["url"] == "/api/v1/tiles/all/{z}/{x}/{y}.pbf"
    assert tiles["parcels"]["minZoom"] == 14
    assert tiles["cases"]["minZoom"] == CASE_CLUSTERS_MIN_ZOOM
    assert kinds[-2:] == ["layerswitcher", "clickreport"]
    # No case is written into the page: they come in the tiles.
    for case in located:
        assert case.case_number not in html
    assert 'href="/handlaggare/arenden/?queue=all&amp;status=decided"' in html
    queue = officer.get("/handlaggare/arenden/?status=decided").content.decode()
    assert 'href="/handlaggare/karta/?status=decided"' in queue
    assert logged_in(demo_users["sokande"]).get("/handlaggare/karta/").status_code == 404


def test_the_case_page_has_the_case_map_and_its_text(located, demo_users):
    case = next(c for c in located if c.municipality.kommunkod == "2281" and c.parcel_id)
    html = logged_in(demo_users["handlaggare"]).get(
        f"/handlaggare/arenden/{case.pk}/").content.decode()
    config = map_config(html)
    names = [e.get("name") for e in config["elements"] if e["kind"] == "outlines"]
    assert "Grannar" in names and "Ärendets fastighet" in names
    neighbours = next(e for e in config["elements"] if e.get("name") == "Grannar")
    designations = {f["properties"]["designation"] for f in neighbours["data"]["features"]}
    assert designations
    text = html[html.index('id="case-map-neighbours"'):]
    text = text[:text.index("</ul>")]
    for designation in designations:
        assert designation in text
    assert case.property_designation in html[html.index('id="case-map-property"'):]
    assert "measure" in [e["kind"] for e in config["elements"]]
