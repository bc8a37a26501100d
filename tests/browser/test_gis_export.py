"""GIS staff in Debian's Chromium: export a layer from the export page, download the file
and open it with GDAL; the export pages and the statistics page pass axe-core."""

from __future__ import annotations

import re
import subprocess

import pytest

from geodata.models import ExportRun, Parcel
from tests.browser.conftest import axe_check, log_in
from tests.permits.conftest import demo_cases  # noqa: F401  (a fixture of these tests too)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_gis_staff_export_parcels_and_the_file_opens(page, live_server, demo_users, tmp_path):
    base = live_server.url
    log_in(page, base, "gis")
    page.goto(f"{base}/gis/export/")
    axe_check(page, "export page")
    page.select_option("#id_layer", "parcels")
    page.select_option("#id_file_format", "gpkg")
    page.select_option("#id_crs", "3014")
    page.fill("#id_municipality", "Sundsvall")
    page.click("#start-export")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/gis/export/\d+/$"))
    # The page reloads itself while the export runs; the link comes when it is done.
    page.locator("#export-download").wait_for(timeout=60_000)
    assert "EPSG:3014" in page.inner_text("main")
    axe_check(page, "export run page")
    with page.expect_download() as download:
        page.click("#export-download")
    name = download.value.suggested_filename
    assert name.endswith(".gpkg") and name.startswith("parcels")
    path = tmp_path / name  # where the browser saves it, under the name the server gave
    download.value.save_as(path)
    info = subprocess.run(["ogrinfo", "-ro", "-so", str(path), "parcels"], check=True,
                          capture_output=True, text=True).stdout
    count = int(re.search(r"^Feature Count: (\d+)$", info, re.M).group(1))
    assert count == Parcel.objects.filter(kommunkod="2281").count() > 2000
    assert re.search(r'^    ID\["EPSG",3014\]\]$', info, re.M), info[-1500:]
    run = ExportRun.objects.get()
    assert (run.layer, run.file_format, run.srid, run.status, run.written) == (
        "parcels", "gpkg", 3014, ExportRun.Status.DONE, count)
    assert run.filters["kommunkod"] == "2281" and run.requested_by.username == "gis"
    # The page lists the export among the user's own.
    page.goto(f"{base}/gis/export/")
    assert "parcels" in page.inner_text("#my-exports")
    axe_check(page, "export page with an export")
    assert not page.errors, page.errors


def test_a_refused_export_is_explained_accessibly(page, live_server, demo_users):
    base = live_server.url
    log_in(page, base, "gis")
    page.goto(f"{base}/gis/export/")
    page.select_option("#id_layer", "parcels")
    page.select_option("#id_file_format", "geojson")
    page.select_option("#id_crs", "3014")  # GeoJSON is WGS 84 only
    page.click("#start-export")
    page.locator("#export-errors").wait_for()
    assert "EPSG:4326" in page.inner_text("#export-errors")
    axe_check(page, "export page with an error")
    assert ExportRun.objects.count() == 0


def test_statistics_pass_axe(page, live_server, demo_cases):  # noqa: F811
    base = live_server.url
    page.goto(f"{base}/statistik/")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.locator("section.statistics figure.chart").count() > 0  # with the cases
    axe_check(page, "statistics")
    page.goto(f"{base}/statistik/?kommun=2281")
    axe_check(page, "statistics of a municipality")
    assert not page.errors, page.errors
