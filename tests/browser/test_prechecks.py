"""The applicant's pre-checks in Debian's Chromium: as they draw, the footprint is checked
against the plan and told in plain words beside the map; drawing on land where building
is not allowed changes what it says; it never stops them sending."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fixtures import generate
from geodata.crs import point_to_srid
from tests.browser.conftest import axe_check, log_in
from tests.browser.test_pin_and_submit import click_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
E0, N0 = generate.E0, generate.N0


def draw(page, corners) -> None:
    page.select_option("#id_draw_kind", "byggnad")
    page.click(".leaflet-draw-draw-polygon")
    for e, n in (*corners, corners[0]):
        click_at(page, e, n)
        page.wait_for_timeout(300)  # as a person clicks: Leaflet.draw merges quick clicks


def test_the_pre_check_follows_the_drawing(page, live_server, demo_users):
    base = live_server.url
    log_in(page, base, "sokande")
    page.goto(f"{base}/ansokan/")
    page.click("label:has-text('Bygga ett nytt hus')")
    page.click("#guidance-next")
    page.click("#start-application")
    page.wait_for_url(f"{base}/ansokan/*/redigera/")
    page.wait_for_function("window.lovkarta && window.lovkarta.map && window.lovkarta.drawn")
    assert "Rita det du ska bygga" in page.inner_text("#prechecks")
    lon, lat = point_to_srid(E0 + 15.0, N0 + 12.0, 3006, 4326)
    page.evaluate("([lat, lon]) => window.lovkarta.map.setView([lat, lon], 19, "
                  "{animate: false})", [lat, lon])

    # A small house behind the no-building strip: nothing to say about that land.
    draw(page, [(E0 + 8.0, N0 + 16.0), (E0 + 14.0, N0 + 16.0), (E0 + 14.0, N0 + 21.0),
                (E0 + 8.0, N0 + 21.0)])
    # (expect polls from Playwright's side: the page's CSP allows no eval.)
    expect(page.locator("#prechecks")).not_to_contain_text("Rita det du ska bygga",
                                                           timeout=30_000)
    expect(page.locator("#prechecks")).not_to_have_attribute("aria-busy", "true")
    first = page.inner_text("#prechecks")
    assert "inte får förses med byggnad" not in first

    # Then one half on the strip along the street (19.55 m² of it, by the checks' own
    # test): the text says so, in m².
    draw(page, [(E0 + 18.3, N0 + 2.63), (E0 + 24.1, N0 + 2.63), (E0 + 24.1, N0 + 9.37),
                (E0 + 18.3, N0 + 9.37)])
    page.locator("#prechecks", has_text="inte får förses med byggnad").wait_for()
    said = page.inner_text("#prechecks")
    assert "m² av byggnadsytan ligger på mark som inte får förses med byggnad" in said
    assert "Bra att veta innan du skickar" in said
    axe_check(page, "application form with pre-checks")
    # The pre-check is a help: the send button is there and enabled.
    assert page.is_enabled("#submit-application")
    assert not page.errors and not page.failed
