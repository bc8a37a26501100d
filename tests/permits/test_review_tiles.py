"""The review map's case tiles zoomed out: below CASES_MIN_ZOOM the officer's cases come as
counts per grid cell (clusters), scoped and filtered as the points are, each case counted
once; from CASES_MIN_ZOOM the cases themselves; below CASE_CLUSTERS_MIN_ZOOM nothing."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.test import Client

from geodata.crs import point_to_srid
from geodata.tiles import EXTENT, ClusterLayer, Tile, TileLayer, lonlat_tile
from permits.selectors.review import (
    CASE_CLUSTERS_MIN_ZOOM,
    CASES_MIN_ZOOM,
    case_tile_layers,
)
from permits.services.clock import today
from permits.workflow import Status

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tiles_of(cases, zoom: int) -> set[Tile]:
    found = set()
    for case in cases:
        lon, lat = point_to_srid(case.location.x, case.location.y, 3006, 4326)
        found.add(lonlat_tile(lon, lat, zoom))
    return found


def get_tile(client: Client, tile: Tile, query: str = "") -> dict:
    response = client.get(f"/handlaggare/karta/arenden/{tile.z}/{tile.x}/{tile.y}.pbf"
                          + (f"?{query}" if query else ""))
    assert response.status_code in (200, 204), response.status_code
    if response.status_code == 204:
        return {}
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "private" in response["Cache-Control"]
    return mapbox_vector_tile.decode(response.content)


def clusters(client: Client, tiles, query: str = "") -> list[dict]:
    found = []
    for tile in tiles:
        layers = get_tile(client, tile, query)
        assert set(layers) <= {"case_clusters"}, set(layers)
        found += layers.get("case_clusters", {}).get("features", [])
    return found


@pytest.fixture
def sundsvall(demo_cases):
    cases = list(demo_cases.filter(location__isnull=False, municipality__kommunkod="2281"))
    assert len(cases) > 5
    return cases


def test_zoomed_out_the_cases_are_counted_per_cell_each_once(sundsvall, demo_cases,
                                                            demo_users):
    client = logged_in(demo_users["handlaggare"])
    for zoom in (CASES_MIN_ZOOM - 1, CASE_CLUSTERS_MIN_ZOOM):
        # Every tile of the zoom that holds a case of either municipality: Härnösand's
        # are not the Sundsvall officer's and are not counted.
        every = tiles_of(demo_cases.filter(location__isnull=False), zoom)
        found = clusters(client, every)
        assert sum(f["properties"]["count"] for f in found) == len(sundsvall)
        for feature in found:
            assert set(feature["properties"]) == {"count"}  # nothing personal
            assert feature["properties"]["count"] >= 1
            assert feature["geometry"]["type"] == "Point"
            x, y = feature["geometry"]["coordinates"]
            assert 0 <= x <= EXTENT and 0 <= y <= EXTENT
    # A zoom's cells nest in the next one out's: four tiles count what their parent does.
    zoom = CASES_MIN_ZOOM - 2
    for tile in tiles_of(sundsvall, zoom):
        parent = sum(f["properties"]["count"] for f in clusters(client, [tile]))
        children = [Tile(zoom + 1, 2 * tile.x + dx, 2 * tile.y + dy)
                    for dx in (0, 1) for dy in (0, 1)]
        assert sum(f["properties"]["count"] for f in clusters(client, children)) == parent
        assert parent == sum(1 for c in sundsvall if lonlat_tile(
            *point_to_srid(c.location.x, c.location.y, 3006, 4326), zoom) == tile)


def test_clusters_follow_the_queue_filters_and_their_zooms(sundsvall, demo_users):
    client = logged_in(demo_users["handlaggare"])
    tiles = tiles_of(sundsvall, CASES_MIN_ZOOM - 1)
    decided = [c for c in sundsvall if c.status == Status.DECIDED]
    assert decided and len(decided) < len(sundsvall)
    found = clusters(client, tiles, f"status={Status.DECIDED}")
    assert sum(f["properties"]["count"] for f in found) == len(decided)
    # The same tiles without the filter again: the filter is not remembered.
    assert sum(f["properties"]["count"] for f in clusters(client, tiles)) == len(sundsvall)

    # From CASES_MIN_ZOOM the cases themselves; below the clusters' zoom nothing.
    tile = next(iter(tiles_of(sundsvall[:1], CASES_MIN_ZOOM)))
    layers = get_tile(client, tile)
    assert "cases" in layers and "case_clusters" not in layers
    low = next(iter(tiles_of(sundsvall[:1], CASE_CLUSTERS_MIN_ZOOM - 1)))
    path = f"/handlaggare/karta/arenden/{low.z}/{low.x}/{low.y}.pbf"
    assert client.get(path).status_code == 204
    assert logged_in(demo_users["sokande"]).get(path).status_code == 404
    assert Client().get(path).status_code == 302  # to the log-in page


def test_the_layers_by_zoom(db):
    from permits.models import Application

    cases = Application.objects.all()
    day = today()
    assert case_tile_layers(cases, today=day, zoom=CASE_CLUSTERS_MIN_ZOOM - 1) == []
    low = case_tile_layers(cases, today=day, zoom=CASES_MIN_ZOOM - 1)
    assert [type(layer) for layer in low] == [ClusterLayer]
    high = case_tile_layers(cases, today=day, zoom=CASES_MIN_ZOOM, key="k")
    assert [layer.name for layer in high] == ["cases"]
    assert isinstance(high[0], TileLayer) and high[0].key == ("k", day)


def test_two_officers_and_two_filters_never_share_a_tile(demo_cases, demo_users):
    """The case tile's SQL is built once per scope and filter: another officer or another
    filter on the same tile gets their own cases."""
    located = list(demo_cases.filter(location__isnull=False).select_related("municipality"))
    tiles = tiles_of(located, CASES_MIN_ZOOM)
    for name, kommunkod in (("handlaggare", "2281"), ("handlaggare-harnosand", "2280"),
                            ("handlaggare", "2281")):
        client = logged_in(demo_users[name])
        seen = set()
        for tile in tiles:
            seen |= {f["properties"]["id"] for f in
                     get_tile(client, tile).get("cases", {}).get("features", [])}
        assert seen == {c.pk for c in located if c.municipality.kommunkod == kommunkod}
