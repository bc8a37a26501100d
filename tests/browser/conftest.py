"""A real browser: Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "var" / "test-results"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Playwright's sync API keeps an event loop in this thread; Django refuses database
# access from a thread with a running loop unless told it is safe, which it is here
# (one test at a time, no async code of ours).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make deps does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, live_server, settings, ogc_server):
    """A fresh page; every request it makes is recorded in ``page.requested``."""
    settings.LOVKARTA_BACKGROUND_WMS = ogc_server
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE",
                                  accept_downloads=True)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.failed = []
    page.on("response", lambda r: page.failed.append(f"{r.status} {r.url}")
            if r.status >= 500 else None)
    page.set_default_timeout(15_000)
    # A page with a map loads when its background tiles have (MapServer renders them on
    # demand): on a loaded 2-core machine that can take longer than an action may.
    page.set_default_navigation_timeout(45_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context.close()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/konto/logga-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", "lovkarta-demo")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def axe_check(page, name: str) -> None:
    """Run axe-core (from npm) on the page; fail on serious or critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the pages' CSP refuses inline scripts.
        page.evaluate(AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {name}: {bad}"
