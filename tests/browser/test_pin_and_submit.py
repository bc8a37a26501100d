"""The applicant's whole path in Debian's Chromium: with the mouse, and with the keyboard."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from fixtures import generate
from geodata.crs import point_to_srid
from permits.models import Application
from tests.browser.conftest import ARTIFACTS, axe_check, log_in
from tests.permits.conftest import pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = {"name": "situationsplan.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}


def click_at(page, e: float, n: float) -> None:
    """Click with the mouse on the map where SWEREF 99 TM point (e, n) is."""
    lon, lat = point_to_srid(e, n, 3006, 4326)
    x, y = page.evaluate("([lat, lon]) => { const p = window.lovkarta.map"
                         ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    box = page.locator(".emap-canvas").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_mouse_path_from_guidance_to_pdf_receipt(page, live_server, demo_users):
    base = live_server.url
    log_in(page, base, "sokande")
    axe_check(page, "home")
    page.click("#start-guidance")
    axe_check(page, "guidance")
    page.click("label:has-text('Bygga ett nytt hus')")
    page.click("#guidance-next")
    assert page.inner_text("#guidance-case-type") == "bygglov (BL)"
    axe_check(page, "guidance result")
    page.click("#start-application")
    page.wait_for_url(f"{base}/ansokan/*/redigera/")
    page.wait_for_function("window.lovkarta && window.lovkarta.map && window.lovkarta.drawn")

    # Zoom to ABBOTEN and pin inside ABBOTEN 1.
    lon, lat = point_to_srid(generate.E0 + 12.5, generate.N0 + 20.0, 3006, 4326)
    page.evaluate("([lat, lon]) => window.lovkarta.map.setView([lat, lon], 19, "
                  "{animate: false})", [lat, lon])
    click_at(page, generate.E0 + 12.5, generate.N0 + 30.0)
    page.locator("#property-designation", has_text="SUNDSVALL ABBOTEN 1").wait_for()
    try:
        page.locator("#property-summary", has_text="Detaljplan").wait_for()
    except Exception:
        raise AssertionError(f"summary: {page.inner_text('#property-summary')!r}, server "
                             f"errors: {page.failed}, page errors: {page.errors}") from None
    assert "Marken får inte förses med byggnad" in page.inner_text("#property-summary")

    # Draw a 10 x 8 m footprint with the polygon tool.
    page.select_option("#id_draw_kind", "byggnad")
    page.click(".leaflet-draw-draw-polygon")
    x0, y0 = generate.E0 + 7.0, generate.N0 + 15.0
    for e, n in ((x0, y0), (x0 + 10, y0), (x0 + 10, y0 + 8), (x0, y0 + 8), (x0, y0)):
        click_at(page, e, n)
        page.wait_for_timeout(300)  # as a person clicks: Leaflet.draw merges quick clicks
    page.locator("#drawn-list", has_text="m²").wait_for()
    area = int(page.inner_text("#drawn-list").split(":")[1].split("m²")[0])
    assert 75 <= area <= 85
    page.screenshot(path=str(ARTIFACTS / "application-form.png"))

    page.fill("#id_description", "Nytt enbostadshus, 80 m².")
    page.fill("#id_building_area_m2", "80")
    page.select_option("#id_attachment_kind", "situationsplan")
    page.set_input_files("#id_attachment_file", PDF)
    axe_check(page, "application form")
    page.click("#submit-application")
    page.wait_for_url(f"{base}/ansokan/*/")
    number = page.inner_text("#case-number")
    assert number.startswith("BYGG ")
    assert page.inner_text("#application-property") == "SUNDSVALL ABBOTEN 1"
    axe_check(page, "receipt")
    application = Application.objects.get(case_number=number)
    assert application.drawn.get().area_m2 == pytest.approx(80.0, abs=3)

    with page.expect_download() as download:
        page.click("#receipt-pdf")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(download.value.path().read_bytes()))
    assert number in reader.pages[0].extract_text()
    images = [image for p in reader.pages for image in p.images]
    assert len(images) == 1  # the situation map
    images[0].image.save(str(ARTIFACTS / "receipt-map.png"))
    colours = {c for _n, c in images[0].image.convert("RGB").getcolors(1 << 20)}
    assert (176, 0, 32) in colours  # the property outline
    assert (214, 200, 190) in colours  # buildings from the background map (WMTS tiles)

    page.check("#id_rating_3")
    page.click("#send-feedback")
    assert application.feedback.rating == 4

    page.context.clear_cookies()
    log_in(page, base, "handlaggare")
    page.goto(f"{base}/handlaggare/ansokningar/")
    axe_check(page, "officer list")
    row = page.locator("table.applications tbody tr", has_text=number)
    assert "SUNDSVALL ABBOTEN 1" in row.inner_text()
    assert page.evaluate("window.lovkarta.points.getLayers().length") == 1

    hosts = {urlsplit(url).hostname for url in page.requested if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts
    # The background map came as WMTS tiles (the demo's WMTS source is preferred).
    assert any("/wmts/1.0.0/bakgrund/default/GoogleMapsCompatible/" in url
               for url in page.requested)
    assert not page.errors, page.errors


def test_keyboard_only_path(page, live_server, demo_users):
    base = live_server.url
    page.goto(f"{base}/konto/logga-in/")
    page.focus("#id_username")
    page.keyboard.type("sokande")
    page.keyboard.press("Tab")
    page.keyboard.type("lovkarta-demo")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    page.focus("#start-guidance")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/ansokan/")
    page.focus("#id_answer_0")  # Bygga ett nytt hus eller annan byggnad
    page.keyboard.press("Space")
    page.focus("#guidance-next")
    page.keyboard.press("Enter")
    page.wait_for_selector("#start-application")
    page.focus("#start-application")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/ansokan/*/redigera/")

    page.focus("#id_designation")
    page.keyboard.type("tomming 2:6")
    # Suggestions arrive while typing (a datalist the browser offers).
    # A locator waits in Playwright's own world: wait_for_function polls with eval, which
    # the pages' Content-Security-Policy refuses.
    page.locator("#designation-list option").first.wait_for(state="attached")
    assert page.eval_on_selector("#designation-list option", "o => o.value") == (
        "SUNDSVALL TOMMING 2:6")
    page.keyboard.press("Enter")  # the form's first button: search
    page.wait_for_selector("#search-results")
    axe_check(page, "search results")
    page.focus("#choose-property")
    page.keyboard.press("Enter")
    page.wait_for_selector("#property-designation[data-state=found]")
    assert page.inner_text("#property-designation") == "SUNDSVALL TOMMING 2:6"
    assert "Utanför detaljplan" not in page.inner_text("#property-summary")
    page.focus("#id_whole_parcel")
    page.keyboard.press("Space")
    page.focus("#id_description")
    page.keyboard.type("Garage på hela tomten.")
    page.focus("#id_attachment_kind")
    page.keyboard.type("situ")
    page.set_input_files("#id_attachment_file", PDF)
    page.focus("#submit-application")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/ansokan/*/")
    number = page.inner_text("#case-number")
    application = Application.objects.get(case_number=number)
    assert application.site_is_whole_parcel and application.site is not None
    assert application.attachments.get().kind == "situationsplan"
    assert not page.errors, page.errors


def test_errors_are_summarised_and_focused(page, live_server, demo_users):
    base = live_server.url
    log_in(page, base, "sokande")
    page.goto(f"{base}/ansokan/?answer=bygga-nytt")
    page.click("#start-application")
    page.wait_for_url(f"{base}/ansokan/*/redigera/")
    page.click("#submit-application")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    axe_check(page, "form with errors")


def test_swedish_first_english_on_request(page, live_server):
    page.goto(f"{live_server.url}/")
    assert page.get_attribute("html", "lang") == "sv"
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    axe_check(page, "home in English")
    page.goto(f"{live_server.url}/statistik/")
    axe_check(page, "statistics")
