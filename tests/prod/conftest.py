"""Tests against the production stack as it runs (scripts/prod.sh, `make prod-check`):
through nginx over HTTPS, with the production settings, a Celery worker and PostGIS.

The browser tests skip unless LOVKARTA_PROD_URL names the running stack (`make prod-check`
sets it); they touch no database of their own: what they check, they check through the
site. test_config.py checks the stack's configuration without starting it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import chromium, log_in  # noqa: F401 (log_in: for the tests)

PROD_URL = os.environ.get("LOVKARTA_PROD_URL", "").rstrip("/")
# The stack's directory (scripts/prod.sh's LOVKARTA_PROD_DIR): the worker's log is there.
PROD_DIR = Path(os.environ.get("LOVKARTA_PROD_DIR", "var/prod")).resolve()

@pytest.fixture(scope="session")
def base_url() -> str:
    if not PROD_URL:
        pytest.skip("LOVKARTA_PROD_URL is not set: make prod-check starts the production "
                    "stack and sets it")
    return PROD_URL


@pytest.fixture(scope="session")
def browser(base_url: str) -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(browser) -> Iterator[object]:
    """Open pages, each in a browser context (a session) of its own; each page records
    its script errors, its answers of 500 and up, and the CSP violations Chromium reports.
    The stack's certificate is self-signed: the browser is told to accept it."""
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                      locale="sv-SE", accept_downloads=True,
                                      ignore_https_errors=True)
        contexts.append(context)
        page = context.new_page()
        page.errors, page.failed, page.csp = [], [], []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("response", lambda r: page.failed.append(f"{r.status} {r.url}")
                if r.status >= 500 else None)
        page.on("console", lambda m: page.csp.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.set_default_timeout(20_000)
        page.set_default_navigation_timeout(45_000)
        return page

    yield open_page
    for context in contexts:
        context.close()

