"""The officer's review map and the case map in Debian's Chromium: every layer comes as
vector tiles (never a whole layer as GeoJSON) for the view only; zoomed out, the cases
come as clusters with their counts, and a click on one zooms in; a click on a case opens
its summary and the link its page; a click elsewhere the detail report; the case page's
map shows the neighbours and names them as text. No CSP violation, and axe-core finds
nothing serious on either page."""

from __future__ import annotations

import math
import re
import time
from urllib.parse import urlsplit

import pytest
from django.utils import translation
from playwright.sync_api import expect

from geodata.crs import point_to_srid
from geodata.models import Parcel
from geodata.selectors import neighbours
from geodata.tiles import ALL_CACHE_LAYERS, CACHE_LAYERS, lonlat_tile
from permits.maps import CACHE_STYLES, CASE_CLUSTERS_MIN_ZOOM, CASES_MIN_ZOOM
from tests.browser.conftest import axe_check, log_in
from tests.browser.test_csp import csp, map_ready  # noqa: F401 (the CSP listener fixture)
from tests.browser.test_pin_and_submit import click_at
from tests.permits.conftest import demo_cases  # noqa: F401 (the demo's case history)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TILE = re.compile(r"/(?:api/v1/tiles/(?P<layer>[a-z]+)|handlaggare/karta/arenden)"
                  r"/(?P<z>\d+)/(?P<x>\d+)/(?P<y>\d+)\.pbf")
# What would fetch a whole layer (or a large part of one) as features.
WHOLE_LAYER = re.compile(r"geojson|f=json|GetFeature|/ogcapi/|/ogc/|/api/v1/parcels/"
                         r"|/api/v1/cases|/ansokningar/", re.I)


@pytest.fixture
def quiet(page):
    """Note the page's requests still under way (``page.pending``)."""
    page.pending = set()
    page.on("request", lambda r: page.pending.add(r))
    page.on("requestfinished", lambda r: page.pending.discard(r))
    page.on("requestfailed", lambda r: page.pending.discard(r))
    return page


def settle(page, quiet_s: float = 0.5, timeout_s: float = 30.0) -> None:
    """Wait until the map has fetched everything it asked for, and drawn it.

    (Not the page's "networkidle": once reached, it no longer waits for later fetches.)"""
    deadline = time.monotonic() + timeout_s
    since = None
    while time.monotonic() < deadline:
        if page.pending:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"still loading: {[r.url for r in page.pending]}")
    page.wait_for_timeout(300)  # the tiles are drawn on the next animation frames


def go_to(page, e: float, n: float, zoom: int) -> None:
    lon, lat = point_to_srid(e, n, 3006, 4326)
    page.evaluate("([lat, lon, z]) => window.lovkarta.map.setView([lat, lon], z, "
                  "{animate: false})", [lat, lon, zoom])
    settle(page)


def tiles_requested(page, since: int = 0) -> list[tuple[str, int, int, int]]:
    found = []
    for url in page.requested[since:]:
        match = TILE.search(urlsplit(url).path)
        if match:
            found.append((match["layer"] or "cases", int(match["z"]), int(match["x"]),
                          int(match["y"])))
    return found


def view_tiles(page, zoom: int) -> tuple[range, range]:
    """The x and y ranges of the tiles of ``zoom`` that the map's view shows."""
    west, south, east, north = page.evaluate(
        "() => { const b = window.lovkarta.map.getBounds(); "
        "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
    low, high = lonlat_tile(west, north, zoom), lonlat_tile(east, south, zoom)
    return range(low.x, high.x + 1), range(low.y, high.y + 1)


def a_parcel_away_from(cases, metres: float) -> Parcel:
    """A Sundsvall parcel whose inside point lies ``metres`` from every case."""
    points = [(c.location.x, c.location.y) for c in cases]
    for parcel in Parcel.objects.filter(kommunkod="2281", beteckning__contains="ABBOTEN"):
        inside = parcel.geom.point_on_surface
        if all(math.dist((inside.x, inside.y), p) > metres for p in points):
            return parcel
    raise AssertionError("no parcel away from the cases")


def test_review_map_tiles_a_case_click_the_report_and_the_case_map(
        page, quiet, csp, live_server, demo_cases):  # noqa: F811
    base = live_server.url
    mine = list(demo_cases.filter(municipality__kommunkod="2281", location__isnull=False,
                                  parcel__isnull=False))
    theirs = {c.case_number for c in demo_cases.filter(municipality__kommunkod="2280")}
    log_in(page, base, "handlaggare")
    page.goto(f"{base}/handlaggare/arenden/")
    page.click("#queue-map-link")
    page.wait_for_url(f"{base}/handlaggare/karta/")
    map_ready(page)
    settle(page)
    assert page.evaluate("window.lovkarta.map.getZoom()") >= CASE_CLUSTERS_MIN_ZOOM
    assert any(layer == "cases" for layer, *_ in tiles_requested(page))
    axe_check(page, "review map")

    # Zoomed out: the cases as clusters, their counts adding up to the officer's cases;
    # a click on one zooms in on it.
    case = mine[0]
    go_to(page, case.location.x, case.location.y, CASES_MIN_ZOOM - 2)
    counts = page.locator("text.emap-cluster-count")
    expect(counts.first).to_be_visible()
    located = demo_cases.filter(municipality__kommunkod="2281", location__isnull=False)
    assert sum(int(t) for t in counts.all_text_contents()) == located.count()
    assert page.locator("text.emap-cluster-count", has_text=re.compile(r"^\d+$")).count() \
        == counts.count()
    box = counts.first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # Polled from here: wait_for_function polls with eval, which the policy refuses.
    for _ in range(150):
        if page.evaluate("window.lovkarta.map.getZoom()") > CASES_MIN_ZOOM - 2:
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("a click on a cluster did not zoom in")
    settle(page)

    # Close in on a case: every layer's tiles come, and only those of the view.
    before = len(page.requested)
    go_to(page, case.location.x, case.location.y, 16)
    requested = tiles_requested(page, before)
    # The cache layers come together, each tile once for all their overlays.
    assert {layer for layer, *_ in requested} == {ALL_CACHE_LAYERS, "cases"}
    assert len(set(requested)) == len(requested), requested
    xs, ys = view_tiles(page, 16)
    for layer, z, x, y in requested:
        assert z == 16 and x in xs and y in ys, (layer, z, x, y)
    # Each overlay draws its own layer of the shared tiles (by its outline colour).
    for name, style in CACHE_STYLES.items():
        assert page.locator(f'path[stroke="{style["color"]}"]').count() > 0, name
    lowest = min(spec.min_zoom for spec in CACHE_LAYERS.values())
    for layer, z, *_ in tiles_requested(page):
        assert z >= (CASE_CLUSTERS_MIN_ZOOM if layer == "cases" else lowest)
    assert not [url for url in page.requested if WHOLE_LAYER.search(url)]

    # Click the case: its summary with a link; the report below the map stays as it was.
    report = page.inner_text("#review-report")
    click_at(page, case.location.x, case.location.y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    same_place = {c.case_number: c for c in mine
                  if math.dist((c.location.x, c.location.y),
                               (case.location.x, case.location.y)) < 10}
    number = popup.locator("a").inner_text()
    assert number in same_place and number not in theirs
    opened = same_place[number]
    expect(popup.locator("a")).to_have_attribute("href", f"/handlaggare/arenden/{opened.pk}/")
    with translation.override("sv"):  # the page is in Swedish, whatever this thread speaks
        assert opened.get_status_display() in popup.inner_text()
    assert page.inner_text("#review-report") == report
    page.keyboard.press("Escape")

    # Click elsewhere: what lies there, as text.
    parcel = a_parcel_away_from(mine, 40.0)
    inside = parcel.geom.point_on_surface
    go_to(page, inside.x, inside.y, 17)
    click_at(page, inside.x, inside.y)
    expect(page.locator("#review-report")).to_contain_text(parcel.beteckning)
    expect(page.locator("#review-report")).to_contain_text("Detaljplan")
    axe_check(page, "review map with a report")

    # Back to the case and into it: the case map shows its neighbours, named as text.
    go_to(page, opened.location.x, opened.location.y, 16)
    click_at(page, opened.location.x, opened.location.y)
    page.locator(".leaflet-popup-content a").click()
    page.wait_for_url(f"{base}/handlaggare/arenden/{opened.pk}/")
    map_ready(page)
    found = neighbours(opened.parcel)
    designations = {p.beteckning for p in found.touching + found.across_road}
    assert designations
    assert page.locator("path.emap-neighbour").count() == len(found.touching
                                                               + found.across_road)
    assert page.locator("path.emap-property").count() >= 1
    listed = page.inner_text("#case-map-neighbours")
    for designation in designations:
        assert designation in listed
    assert opened.parcel.beteckning in page.inner_text("#case-map-property")

    # The measuring tool: two points by the keyboard's way (the centre), then a click.
    page.get_by_role("button", name="Mät", exact=True).click()
    page.get_by_role("button", name="Punkt i mitten").click()
    page.evaluate("window.lovkarta.map.panBy([120, 0], {animate: false})")
    page.get_by_role("button", name="Punkt i mitten").click()
    expect(page.locator("#case-map-measure")).to_contain_text("Sträcka:")
    axe_check(page, "case page with its map")

    assert not csp.violations, csp.violations
    assert not page.errors, page.errors
    assert not page.failed, page.failed
