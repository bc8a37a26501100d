"""A strict Content-Security-Policy on every page, in Debian's Chromium: the applicant's
and the officer's paths (maps included), the open pages and the admin run without one
violation."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from fixtures import generate
from geodata.crs import point_to_srid
from permits.models import Application
from tests.browser import test_officer_path
from tests.browser.conftest import log_in
from tests.browser.test_pin_and_submit import PDF, click_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# A case sent through the services, not yet handled (the officer path's fixture).
received = test_officer_path.received

# Every violation the page sees, also from documents the test has left since, goes to
# Python through a binding (Playwright's, which no page policy can block).
REPORT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  var v = {directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
           source: e.sourceFile + ':' + e.lineNumber, page: location.pathname};
  window.__cspViolations.push(v);
  if (window.__reportCspViolation) { window.__reportCspViolation(v); }
}, true);
"""
STRICT = {"default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
          "connect-src": ["'self'"], "object-src": ["'none'"], "base-uri": ["'self'"],
          "form-action": ["'self'"], "frame-ancestors": ["'none'"]}


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.fixture
def csp(page):
    """Record the page's CSP violations (events and console reports) and the policy of
    every HTML page it loads."""
    seen = SimpleNamespace(violations=[], policies={})
    page.expose_function("__reportCspViolation", lambda v: seen.violations.append(v))
    page.add_init_script(REPORT_VIOLATIONS)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in (
                message.text):
            seen.violations.append(message.text)

    def on_response(response) -> None:
        if (response.request.resource_type == "document" and response.status == 200
                and response.headers.get("content-type", "").startswith("text/html")):
            seen.policies[urlsplit(response.url).path] = response.headers.get(
                "content-security-policy")

    page.on("console", on_console)
    page.on("response", on_response)
    return seen


def map_ready(page) -> None:
    """Wait until the page's map is built (its scripts draw every element at once).

    Not with wait_for_function: it polls with eval, which the policy refuses."""
    page.locator(".emap-canvas .emap-legend").wait_for()
    assert page.evaluate("!!(window.lovkarta && window.lovkarta.map)")


def applicant_path(page, base: str) -> Application:
    """Guidance, the form with errors, pin, draw, save, and send; return the case."""
    log_in(page, base, "sokande")
    page.click("#start-guidance")
    page.click("label:has-text('Bygga ett nytt hus')")
    page.click("#guidance-next")
    page.click("#start-application")
    page.wait_for_url(f"{base}/ansokan/*/redigera/")
    page.click("#submit-application")  # nothing filled in: the errors are summarised
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"  # a static script
    map_ready(page)
    assert page.evaluate("!!window.lovkarta.drawn")
    # The legend's swatches are styled through the CSSOM, not refused style attributes.
    assert page.locator(".emap-legend li").count() >= 6
    assert page.eval_on_selector(".emap-legend .emap-swatch",
                                 "s => getComputedStyle(s).borderTopStyle") == "solid"

    lon, lat = point_to_srid(generate.E0 + 12.5, generate.N0 + 20.0, 3006, 4326)
    page.evaluate("([lat, lon]) => window.lovkarta.map.setView([lat, lon], 19, "
                  "{animate: false})", [lat, lon])
    click_at(page, generate.E0 + 12.5, generate.N0 + 30.0)
    page.locator("#property-designation", has_text="SUNDSVALL ABBOTEN 1").wait_for()
    page.locator("#property-summary", has_text="Detaljplan").wait_for()

    page.select_option("#id_draw_kind", "byggnad")
    page.click(".leaflet-draw-draw-polygon")
    x0, y0 = generate.E0 + 7.0, generate.N0 + 15.0
    for e, n in ((x0, y0), (x0 + 10, y0), (x0 + 10, y0 + 8), (x0, y0 + 8), (x0, y0)):
        click_at(page, e, n)
        page.wait_for_timeout(300)  # as a person clicks: Leaflet.draw merges quick clicks
    page.locator("#drawn-list", has_text="m²").wait_for()

    page.click("#save-draft")
    page.wait_for_url(f"{base}/ansokan/*/redigera/")
    map_ready(page)
    assert page.evaluate("window.lovkarta.drawn.getLayers().length") == 1
    # The saved pin comes back from the form fields, and the parcel with it.
    page.locator("#property-designation", has_text="SUNDSVALL ABBOTEN 1").wait_for()
    assert "m²" in page.inner_text("#drawn-list")

    page.fill("#id_description", "Nytt enbostadshus, 80 m².")
    page.fill("#id_building_area_m2", "80")
    page.select_option("#id_attachment_kind", "situationsplan")
    page.set_input_files("#id_attachment_file", PDF)
    page.click("#submit-application")
    page.wait_for_url(f"{base}/ansokan/*/")
    number = page.inner_text("#case-number")
    assert page.inner_text("#application-property") == "SUNDSVALL ABBOTEN 1"
    return Application.objects.get(case_number=number)


def officer_path(page, base: str, case: Application) -> None:
    """The queue, a case's page (taking the case) and the map of the applications."""
    page.context.clear_cookies()
    log_in(page, base, "handlaggare")
    page.click("#nav-cases")
    page.wait_for_url(f"{base}/handlaggare/arenden/")
    page.click("#queue-unassigned")
    page.locator("#case-queue tbody tr", has_text=case.case_number).get_by_role(
        "link", name=case.case_number).click()
    page.wait_for_url(f"{base}/handlaggare/arenden/{case.pk}/")
    page.click("#take-case")  # a form posted to ourselves, answered by a redirect
    page.locator("p.message[role=status]").wait_for()
    page.goto(f"{base}/handlaggare/ansokningar/")
    map_ready(page)
    assert page.evaluate("window.lovkarta.points.getLayers().length") >= 1
    assert page.locator(".emap-legend").count() == 1


def open_pages(page, base: str) -> None:
    """The statistics and the cases API's documentation (Swagger UI, self-hosted)."""
    page.goto(f"{base}/statistik/")
    page.goto(f"{base}/api/v1/cases/docs")
    page.locator(".swagger-ui .info").wait_for()  # its scripts ran and drew the page


def admin_path(page, base: str) -> None:
    """The admin's log-in page, and GIS staff at work: its scripts run under the policy."""
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "gis")
    page.fill("#id_password", "lovkarta-demo")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    theme = page.evaluate("document.documentElement.dataset.theme || 'auto'")
    page.click("button.theme-toggle")  # admin/js/theme.js
    assert page.evaluate("document.documentElement.dataset.theme") != theme
    page.goto(f"{base}/admin/geodata/source/")
    page.check("#action-toggle")  # admin/js/actions.js ticks every row
    rows = page.locator("input.action-select")
    assert rows.count() >= 1
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))
    page.locator("#result_list tbody th a").first.click()
    page.wait_for_url(f"{base}/admin/geodata/source/*/change/")
    page.goto(f"{base}/admin/geodata/parcel/?q=ABBOTEN")
    assert "ABBOTEN" in page.inner_text("#result_list")


def test_no_csp_violation_on_the_applicant_officer_and_admin_paths(
        page, csp, live_server, ogc_server, demo_users, received):
    base = live_server.url
    case = applicant_path(page, base)
    officer_path(page, base, received)
    open_pages(page, base)
    admin_path(page, base)

    assert not csp.violations, csp.violations
    assert not page.errors, page.errors
    # The map's background came (WMTS tiles from the OGC server), not refused.
    assert any("/wmts/1.0.0/bakgrund/" in url for url in page.requested)

    form_path = f"/ansokan/{case.pk}/redigera/"
    for path in ("/", "/konto/logga-in/", "/ansokan/", form_path, f"/ansokan/{case.pk}/",
                 "/handlaggare/arenden/", f"/handlaggare/arenden/{received.pk}/",
                 "/handlaggare/ansokningar/", "/statistik/", "/api/v1/cases/docs",
                 "/admin/login/", "/admin/",
                 "/admin/geodata/source/", "/admin/geodata/parcel/"):
        assert csp.policies.get(path), f"no Content-Security-Policy on {path}"
    for path, policy in csp.policies.items():
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (path, policy)
        found = directives(policy)
        for name, sources in STRICT.items():
            assert found.get(name) == sources, (path, name, found.get(name))
    # Only a page with a map may load images from the map server, and only from it.
    tiles = "{0.scheme}://{0.netloc}".format(urlsplit(ogc_server))
    assert directives(csp.policies[form_path])["img-src"] == ["'self'", "data:", tiles]
    assert directives(csp.policies["/handlaggare/ansokningar/"])["img-src"] == [
        "'self'", "data:", tiles]
    assert directives(csp.policies["/"])["img-src"] == ["'self'", "data:"]
