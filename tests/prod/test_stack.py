"""The production stack end to end, in Debian's Chromium through nginx over HTTPS: an
applicant pins a plot, draws, attaches a PDF and sends; the Celery worker checks the case;
the officer sees those checks. nginx serves the static files with long cache headers;
every page carries HSTS and the strict CSP, and Chromium reports no CSP violation."""

from __future__ import annotations

import io
import os
import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from fixtures import generate
from geodata.crs import point_to_srid
from tests.browser.test_pin_and_submit import click_at
from tests.permits.conftest import pdf_bytes
from tests.prod.conftest import PROD_DIR, PROD_URL, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not PROD_URL, reason="LOVKARTA_PROD_URL is not set: these tests run "
                       "against the production stack (make prod-check starts it and sets it)"),
]
PDF = {"name": "situationsplan.pdf", "mimeType": "application/pdf",
       "buffer": pdf_bytes("Situationsplan 1:500 (prod-check)")}
YEAR = 365 * 24 * 3600


def worker_log() -> str:
    path = PROD_DIR / "log" / "celery.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_applicant_submits_and_officer_sees_the_workers_checks(new_page, base_url):
    applicant = new_page()
    log_in(applicant, base_url, "sokande")
    applicant.click("#start-guidance")
    applicant.click("label:has-text('Bygga ett nytt hus')")
    applicant.click("#guidance-next")
    applicant.click("#start-application")
    applicant.wait_for_url(f"{base_url}/ansokan/*/redigera/")
    # The drawing toolbar is there once the map scripts have set up the map.
    applicant.locator(".leaflet-draw-draw-polygon").wait_for()

    lon, lat = point_to_srid(generate.E0 + 12.5, generate.N0 + 20.0, 3006, 4326)
    applicant.evaluate("([lat, lon]) => window.lovkarta.map.setView([lat, lon], 19, "
                       "{animate: false})", [lat, lon])
    click_at(applicant, generate.E0 + 12.5, generate.N0 + 30.0)
    expect(applicant.locator("#property-designation")).to_have_text("SUNDSVALL ABBOTEN 1")
    applicant.locator("#property-summary", has_text="Detaljplan").wait_for()

    applicant.select_option("#id_draw_kind", "byggnad")
    applicant.click(".leaflet-draw-draw-polygon")
    x0, y0 = generate.E0 + 7.0, generate.N0 + 15.0
    for e, n in ((x0, y0), (x0 + 10, y0), (x0 + 10, y0 + 8), (x0, y0 + 8), (x0, y0)):
        click_at(applicant, e, n)
        applicant.wait_for_timeout(300)  # as a person clicks: Leaflet.draw merges quick ones
    applicant.locator("#drawn-list", has_text="m²").wait_for()

    applicant.fill("#id_description", "Nytt enbostadshus, 80 m² (prod-check).")
    applicant.fill("#id_building_area_m2", "80")
    applicant.select_option("#id_attachment_kind", "situationsplan")
    applicant.set_input_files("#id_attachment_file", PDF)
    log_before = len(worker_log())
    applicant.click("#submit-application")
    applicant.wait_for_url(re.compile(rf"{re.escape(base_url)}/ansokan/\d+/$"))
    number = applicant.inner_text("#case-number")
    assert number.startswith("BYGG "), number
    assert applicant.inner_text("#application-property") == "SUNDSVALL ABBOTEN 1"

    with applicant.expect_download() as download:
        applicant.click("#receipt-pdf")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(download.value.path().read_bytes()))
    assert number in reader.pages[0].extract_text()
    case_path = urlsplit(applicant.url).path

    officer = new_page()
    log_in(officer, base_url, "handlaggare")
    officer.goto(f"{base_url}/handlaggare/arenden/?queue=unassigned")
    officer.locator("#case-queue tbody tr", has_text=number).get_by_role(
        "link", name=number).click()
    officer.wait_for_url(re.compile(r".*/handlaggare/arenden/\d+/$"))
    assert officer.url.rstrip("/").rsplit("/", 1)[1] == case_path.rstrip("/").rsplit("/", 1)[1]
    # The checks are the worker's to write: the page has them once it has run.
    deadline = time.monotonic() + 90
    while not officer.locator("#case-checks").count() and time.monotonic() < deadline:
        officer.wait_for_timeout(1000)
        officer.reload()
    expect(officer.locator("#case-checks tbody tr").first).to_be_visible()
    if (PROD_DIR / "log" / "celery.log").exists():
        ran = worker_log()[log_before:]
        assert re.search(r"Task permits\.check_case\[[0-9a-f-]+\] succeeded", ran), ran[-2000:]

    for page in (applicant, officer):
        assert not page.errors, page.errors
        assert not page.failed, page.failed
        assert not page.csp, page.csp


def test_headers_of_pages_and_static_files(new_page, base_url):
    page = new_page()
    answer = page.goto(f"{base_url}/konto/logga-in/")
    headers = answer.headers
    hsts = headers.get("strict-transport-security", "")
    assert re.search(r"max-age=(\d+)", hsts) and int(
        re.search(r"max-age=(\d+)", hsts).group(1)) >= YEAR, hsts
    csp = headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    cookie = answer.header_value("set-cookie") or ""
    assert "csrftoken=" in cookie and "secure" in cookie.lower(), cookie
    assert headers.get("server") == "nginx"  # no version told

    assets = page.eval_on_selector_all(
        "link[rel=stylesheet], script[src]", "els => els.map(e => e.href || e.src)")
    assert assets, "the page links no static file"
    for url in assets:
        assert urlsplit(url).path.startswith("/static/"), url
        # Content-hashed names (deploy/settings.py): a new release gets new names.
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", url), url
        got = page.context.request.get(url)
        assert got.ok, url
        cache = got.headers.get("cache-control", "")
        assert f"max-age={YEAR}" in cache and "immutable" in cache, (url, cache)
        # From nginx, not from Django: none of Django's page headers.
        assert "x-frame-options" not in got.headers, url
        assert "strict-transport-security" in got.headers, url
    assert not page.csp, page.csp


def test_plain_http_is_sent_to_https(new_page, base_url):
    http_url = os.environ.get("LOVKARTA_PROD_HTTP_URL", "").rstrip("/")
    if not http_url:
        pytest.skip("LOVKARTA_PROD_HTTP_URL is not set (make prod-check sets it)")
    page = new_page()
    got = page.context.request.get(f"{http_url}/konto/logga-in/?next=/", max_redirects=0)
    assert got.status == 301, got.status
    assert got.headers["location"] == f"{base_url}/konto/logga-in/?next=/"
