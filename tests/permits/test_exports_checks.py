"""The checks and neighbour lists of cases as layers: one row a check of each case's latest
check run (on the case's site), one row a neighbour parcel to hear (with the hearing's
state); the cases' filters; the addressees only for staff of the municipality; every
export recorded. Files are read back with ogrinfo and with QGIS."""

from __future__ import annotations

import json
import re
import subprocess
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.test import Client
from pyproj import Transformer

from geodata.exports import layer_export
from geodata.models import ExportRun
from geodata.selectors import neighbours
from permits.models import Application, CaseCheck, HearingParty
from permits.services.checks import case_footprint, check_assess
from permits.services.hearings import hearing_neighbours, hearing_start, reply_record
from tests.geodata.test_export_acceptance import QGIS, QGIS_SCRIPT, run_qgis
from tests.permits.test_hearings import reviewed_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(demo_users):
    """A case in Sundsvall under review, its checks run and one assessed, its neighbours
    heard and one of them objecting."""
    officer = demo_users["handlaggare"]
    case = reviewed_case(demo_users)
    check_assess(actor=officer, application=case, code="no_building",
                 verdict="not_acceptable", note="Förrådet står på prickmark.")
    parties = [p for p in hearing_start(actor=officer, application=case)
               if p.kind == HearingParty.Kind.NEIGHBOUR]
    reply_record(actor=officer, party=parties[0], reply="objection", text="Skymmer utsikten.")
    return case, parties[0]


def export(layer: str, out: Path, *args: str) -> ExportRun:
    call_command("geodata_export", layer, "--out", str(out), *args, stdout=StringIO(),
                 stderr=StringIO())
    return ExportRun.objects.latest("created_at")


def ogr_rows(path: Path, where: str) -> list[dict[str, str]]:
    """The features matching ``where`` as ogrinfo prints them: their fields and WKT."""
    text = subprocess.run(["ogrinfo", "-ro", "-al", "-q", "-where", where, str(path)],
                          capture_output=True, text=True, check=True).stdout
    rows: list[dict[str, str]] = []
    for line in text.splitlines():
        if line.startswith("OGRFeature("):
            rows.append({})
        elif rows and (m := re.match(r"^  (\w+) \((\w+)\) = (.*)$", line)):
            rows[-1][m.group(1)] = m.group(3)
        elif rows and line.startswith("  MULTIPOLYGON"):
            rows[-1]["wkt"] = line.strip()
    return rows


def ogr_count(path: Path) -> tuple[int, str]:
    text = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True,
                          text=True, check=True).stdout
    return int(re.search(r"^Feature Count: (\d+)$", text, re.M).group(1)), text


def in_3014(geometry) -> shapely.Geometry:
    t = Transformer.from_crs(3006, 3014, always_xy=True)
    return shapely.transform(shapely.from_wkb(bytes(geometry.wkb)),
                             lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def test_checks_layer_has_each_check_of_the_latest_run_on_the_site(heard, tmp_path):
    case, _party = heard
    out = tmp_path / "kontroller.gpkg"
    run = export("checks", out, "--format", "gpkg", "--crs", "EPSG:3014",
                 "--municipality", "Sundsvall", "--user", "gis")
    latest = CaseCheck.objects.filter(application__municipality__kommunkod="2281").exclude(
        application__status="draft").order_by("application_id", "run_at", "id")
    runs = {c.application_id: c for c in latest}  # the latest run of each case
    assert run.written == sum(len(r.result["checks"]) for r in runs.values()) > 0
    count, info = ogr_count(out)
    assert count == run.written and 'ID["EPSG",3014]]' in info
    rows = ogr_rows(out, f"case_number = '{case.case_number}'")
    mine = runs[case.pk].result["checks"]
    assert sorted(r["code"] for r in rows) == sorted(c["code"] for c in mine)
    strip = next(r for r in rows if r["code"] == "no_building")
    want = next(c for c in mine if c["code"] == "no_building")
    assert strip["status"] == want["status"] and strip["assessment"] == "not_acceptable"
    assert float(strip["measured"]) == pytest.approx(want["measured"])
    assert strip["text"] == want["text"] and "får" in strip["text"]
    assert json.loads(strip["data_versions"]) == json.loads(json.dumps(
        runs[case.pk].result["data_versions"]))
    site = case.site or case_footprint(case)
    got, expected = shapely.from_wkt(strip["wkt"]), in_3014(site)
    assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(
        shapely.MultiPolygon([expected]) if expected.geom_type == "Polygon" else expected),
        1e-3)
    assert run.layer == "checks" and not run.personal_data
    assert run.filters["municipality"] == "Sundsvall"


def test_checks_take_the_cases_filters(heard, tmp_path):
    case, _party = heard
    out = tmp_path / "kontroller.fgb"
    export("checks", out, "--format", "fgb", "--status", "decided")
    assert not ogr_rows(out, f"case_number = '{case.case_number}'")
    export("checks", out, "--format", "fgb", "--status", case.status, "--case-type", "BL",
           "--received-from", f"{case.received_on:%Y-%m-%d}")
    assert ogr_rows(out, f"case_number = '{case.case_number}'")


def test_neighbours_layer_lists_the_parcels_to_hear_with_the_hearing(heard, demo_users,
                                                                    tmp_path):
    case, objecting = heard
    expected = neighbours(case.parcel).properties
    parcels = {p.pk: e for e in expected for p in e.parcels}
    for user, personal in (("handlaggare", True), ("gis", False)):
        out = tmp_path / f"grannar-{user}.fgb"
        run = export("neighbours", out, "--format", "fgb", "--municipality", "2281",
                     "--user", user)
        assert run.personal_data is personal
        rows = ogr_rows(out, f"case_number = '{case.case_number}'")
        assert len(rows) == len(parcels)
        assert {r["designation"] for r in rows} == {e.designation for e in expected}
        assert {r["relation"] for r in rows} == {"touching", "across_road"}
        for row in rows:
            heard_as = "objection" if row["designation"] == objecting.designation else (
                "awaiting_reply")
            assert row["hearing"] == heard_as, row
            assert ("addressee" in row) is personal
        if personal:
            row = next(r for r in rows if r["designation"] == objecting.designation)
            assert row["addressee"] == objecting.name
    # The parcels themselves, to the millimetre.
    rows = ogr_rows(out, f"case_number = '{case.case_number}'")
    shapes = [shapely.from_wkt(r["wkt"]) for r in rows]
    for parcel in (p for e in expected for p in e.parcels):
        want = shapely.from_wkb(bytes(parcel.geom.wkb))
        assert any(shapely.equals_exact(shapely.normalize(s), shapely.normalize(want), 1e-3)
                   for s in shapes), parcel.beteckning


def test_layers_read_back_in_qgis(heard, tmp_path):
    if not QGIS.exists():
        pytest.skip("python3-qgis is not installed (WITH_QGIS=1 scripts/setup.sh)")
    _case, objecting = heard
    jobs, want = [], {}
    for layer, fmt, id_field, known in (
            ("checks", "gpkg", "code", "no_building"), ("checks", "shp", "code", "no_building"),
            ("neighbours", "fgb", "designation", objecting.designation)):
        out = tmp_path / f"{layer}{'.zip' if fmt == 'shp' else '.' + fmt}"
        result = layer_export(layer, file_format=fmt, out=out, crs=3014, municipality="2281")
        uri = f"/vsizip/{out}/{layer}.shp" if fmt == "shp" else (
            f"{out}|layername={layer}" if fmt == "gpkg" else str(out))
        want[f"{layer}/{fmt}"] = result.features
        jobs.append({"key": f"{layer}/{fmt}", "uri": uri, "id_field": id_field,
                     "ids": [known]})
    found = json.loads(run_qgis(QGIS_SCRIPT, json.dumps(jobs), tmp_path))
    for key, count in want.items():
        assert found[key]["valid"] and found[key]["count"] == count > 0, key
        assert found[key]["crs"] == "EPSG:3014", key
    for key in ("checks/gpkg", "checks/shp"):
        texts = found[key]["features"]["no_building"]["texts"]
        assert "får" in texts["text"], texts
    texts = found["neighbours/fgb"]["features"][objecting.designation]["texts"]
    assert texts["relation"] in ("touching", "across_road")


def test_the_gis_page_offers_both_layers_with_the_cases_filters(
        heard, demo_users, tmp_path, django_capture_on_commit_callbacks):
    case, _party = heard
    client = Client()
    client.force_login(demo_users["handlaggare"])
    page = client.get("/gis/export/").content.decode()
    assert 'value="checks"' in page and 'value="neighbours"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/gis/export/", {
            "layer": "neighbours", "file_format": "gpkg", "crs": "3006",
            "municipality": "2281", "status": [case.status]})
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ExportRun.objects.latest("created_at")
    assert run.status == ExportRun.Status.DONE, run.error
    assert run.filters["status"] == [case.status] and run.personal_data
    cases = Application.objects.filter(municipality__kommunkod="2281", status=case.status)
    assert run.written == sum(len(found.parcels) for other in cases
                              for found in hearing_neighbours(other)) > 0


def test_a_bbox_takes_the_rows_whose_geometry_meets_it(heard, tmp_path):
    case, _party = heard
    minx, miny, maxx, maxy = case.parcel.geom.extent
    box = shapely.box(minx - 1, miny - 1, minx + 1, miny + 1)  # one corner of the property
    out = tmp_path / "grannar.gpkg"
    run = export("neighbours", out, "--format", "gpkg", "--bbox",
                 ",".join(str(v) for v in box.bounds))
    every = [p for found in hearing_neighbours(case) for p in found.parcels]
    want = [p for p in every if shapely.intersects(box, shapely.from_wkb(bytes(p.geom.wkb)))]
    assert 0 < len(want) < len(every)
    rows = ogr_rows(out, f"case_number = '{case.case_number}'")
    assert sorted(r["designation"] for r in rows) == sorted(p.beteckning for p in want)
    assert run.filters["bbox"] == ",".join(str(v) for v in box.bounds)
