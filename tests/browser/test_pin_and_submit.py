"""Pin a plot on the map, see its designation, submit, find it on the officer page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from fixtures import generate
from geodata.crs import point_to_srid
from geodata.models import Parcel
from permits.models import Application
from tests.browser.conftest import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pin_submit_and_review(page, live_server, demo_users):
    base = live_server.url
    log_in(page, base, "sokande")
    page.goto(f"{base}/ansokan/ny/")
    page.wait_for_function("window.lovkarta && window.lovkarta.map")

    # Zoom to the block of ABBOTEN and click inside ABBOTEN 1 with the mouse.
    lon, lat = point_to_srid(generate.E0 + 12.0, generate.N0 + 20.0, 3006, 4326)
    page.evaluate("([lat, lon]) => window.lovkarta.map.setView([lat, lon], 18, {animate: false})",
                  [lat, lon])
    point = page.evaluate(
        "([lat, lon]) => { const p = window.lovkarta.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }", [lat, lon])
    box = page.locator(".emap-canvas").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])

    designation = page.locator("#property-designation")
    designation.filter(has_text="SUNDSVALL ABBOTEN 1").wait_for()
    assert page.input_value("#id_parcel") == str(Parcel.objects.get(
        source__name="sundsvall-fastigheter", beteckning="SUNDSVALL ABBOTEN 1").objektidentitet)
    page.screenshot(path=str(ARTIFACTS / "application-form.png"))

    page.select_option("#id_measure", "tillbyggnad")
    page.fill("#id_description", "Tillbyggnad av uterum, 15 m2.")
    page.click("#submit-application")
    page.wait_for_url(f"{base}/ansokan/*/")
    number = page.inner_text("#case-number")
    assert number.startswith("BYGG ")
    assert page.inner_text("#application-property") == "SUNDSVALL ABBOTEN 1"
    application = Application.objects.get(case_number=number)
    assert application.parcel.beteckning == "SUNDSVALL ABBOTEN 1"

    page.context.clear_cookies()
    log_in(page, base, "handlaggare")
    page.goto(f"{base}/handlaggare/ansokningar/")
    row = page.locator("table.applications tbody tr", has_text=number)
    assert "SUNDSVALL ABBOTEN 1" in row.inner_text()
    page.wait_for_function("window.lovkarta && window.lovkarta.points")
    assert page.evaluate("window.lovkarta.points.getLayers().length") == 1

    hosts = {urlsplit(url).hostname for url in page.requested if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts


def test_swedish_first_english_on_request(page, live_server):
    page.goto(f"{live_server.url}/")
    assert page.get_attribute("html", "lang") == "sv"
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
