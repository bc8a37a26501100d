"""The shore protection check (strandskydd, issue #11 point 3): within 100 m of the shoreline
an exemption (a DI case) may be needed.

The shoreline layer is synced from the demo's MapServer like any other; the footprints at
99 m and 101 m are placed, and their distances computed, here with shapely on the fixture
GeoPackage itself, not with the code under test.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
import shapely
from django.contrib.gis.gdal import DataSource
from django.test import Client
from shapely.geometry import box, mapping

from geodata.crs import to_srid
from geodata.models import Shoreline, Source, SyncRun
from geodata.presets import as_uuid
from geodata.sync import source_sync
from permits.checks.rules import Facts, Status, Tolerance, evaluate
from permits.models import CaseCheck
from permits.services.applications import (
    DraftInput,
    application_save,
    application_start,
    application_submit,
    attachment_add,
)
from permits.services.checks import case_check_run
from tests.conftest import FIXTURE
from tests.permits.conftest import pdf_upload

pytestmark = pytest.mark.django_db
SIDE = 6.0  # the footprints are squares of this side (m)


@pytest.fixture(scope="module")
def fixture_layers(fixture_gpkg) -> dict:
    """The shoreline and the parcels, read straight from the GeoPackage (with Django's
    GDAL: pyogrio's own GDAL and SQLite do not share a process with an open SpatiaLite
    connection)."""
    source = DataSource(str(FIXTURE))
    shore = [shapely.from_wkb(bytes(f.geom.wkb)) for f in source["strandlinje"]]
    names = [f.get("namn") for f in source["strandlinje"]]
    parcels = [(f.get("etikett"), shapely.from_wkb(bytes(f.geom.wkb)))
               for f in source["registerenhetsomradesytor"]]
    return {"shore": shapely.union_all(shore), "names": names, "count": len(shore),
            "parcels": sorted(parcels, key=lambda p: p[0])}


def square_at(shore: shapely.Geometry, parcel: shapely.Geometry, distance: float
              ) -> shapely.Geometry | None:
    """A square on the parcel, at its centre's northing, exactly ``distance`` m from the
    shoreline (bisection along the easting: the sea lies east), or None if none fits."""
    c = parcel.centroid

    def square(x: float) -> shapely.Geometry:
        return box(x, c.y - SIDE / 2, x + SIDE, c.y + SIDE / 2)

    west, east = parcel.bounds[0] - 200.0, parcel.bounds[2]
    if square(east).distance(shore) > distance or square(west).distance(shore) < distance:
        return None
    for _ in range(80):
        middle = (west + east) / 2
        if square(middle).distance(shore) > distance:
            west = middle
        else:
            east = middle
    found = square((west + east) / 2)
    return found if parcel.contains(found) else None


@pytest.fixture(scope="module")
def near(fixture_layers) -> dict:
    """Two footprints on one property, 99 m and 101 m from the shoreline."""
    shore = fixture_layers["shore"]
    for etikett, parcel in fixture_layers["parcels"]:
        squares = {d: square_at(shore, parcel, d) for d in (99.0, 101.0)}
        if all(s is not None for s in squares.values()):
            return {"etikett": etikett, **squares}
    raise AssertionError("no parcel of the fixture takes both footprints")


def post(client, shape: shapely.Geometry, srid: int = 3006) -> dict:
    response = client.post("/api/v1/checks", json.dumps({"geometry": mapping(shape),
                                                         "srid": srid}),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def one(data: dict, code: str) -> dict:
    found = [c for c in data["checks"] if c["code"] == code]
    assert len(found) == 1, data["checks"]
    return found[0]


# -- the layer: synced from the real OGC server -------------------------------------------

@pytest.mark.parametrize(("protocol", "version", "path"), [
    ("wfs", "2.0.0", ""), ("ogcapi-features", "", "/ogcapi")])
def test_the_shoreline_syncs_from_the_ogc_server(protocol, version, path, ogc_server,
                                                 municipality, fixture_layers):
    source = Source.objects.create(
        name=f"test-strand-{protocol}", protocol=protocol, version=version,
        url=f"{ogc_server}{path}", layer="strandlinje", crs="EPSG:3006", holds="shoreline",
        municipality=municipality, preset="lantmateriet", page_size=100)
    run = source_sync(source)
    assert (run.outcome, run.fetched, run.added, run.rejected) == ("succeeded", 1, 1, 0)
    line = Shoreline.objects.get(source=source)
    assert line.objektidentitet == uuid.UUID(as_uuid("1", "strandlinje"))
    assert (line.objekttyp, line.namn) == ("Strandlinje, hav", fixture_layers["names"][0])
    assert line.geom.geom_type == "MultiLineString" and line.geom.srid == 3006
    cached = shapely.from_wkb(bytes(line.geom.wkb))
    # Easting first and where the fixture has it (OGC API Part 1 comes in CRS84).
    assert cached.hausdorff_distance(fixture_layers["shore"]) < 0.001
    again = source_sync(source)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)


def test_the_demo_registers_and_syncs_the_shoreline(demo_data):
    source = Source.objects.get(name="sundsvall-strandlinjer")
    assert (source.holds, source.protocol, source.layer) == ("shoreline", "wfs", "strandlinje")
    run = SyncRun.objects.filter(source=source).latest()
    assert (run.outcome, run.fetched) == ("succeeded", 1)


# -- the check, via the API ----------------------------------------------------------------

def test_99_m_from_the_shoreline_needs_the_officer(client, demo_data, near, fixture_layers):
    expected = round(near[99.0].distance(fixture_layers["shore"]), 2)
    assert expected == 99.0
    data = post(client, near[99.0])
    check = one(data, "shoreline")
    assert (check["status"], check["measured"], check["limit"], check["unit"]) == (
        "review", expected, 100.0, "m")
    assert check["bestammelsekod"] is None
    assert "99,00 m" in check["message"] and "strandskyddsdispens" in check["message"]
    # The plan may have lifted the shore protection: said, not modelled.
    assert data["plan"] is not None and "detaljplan" in check["message"]
    versions = data["data_versions"]["sundsvall-strandlinjer"]
    last = SyncRun.objects.filter(source__name="sundsvall-strandlinjer",
                                  outcome="succeeded").latest()
    assert (versions["layer"], versions["sync_run"]) == ("shoreline", last.pk)


def test_101_m_from_the_shoreline_is_ok(client, demo_data, near, fixture_layers):
    expected = round(near[101.0].distance(fixture_layers["shore"]), 2)
    assert expected == 101.0
    data = post(client, near[101.0])
    check = one(data, "shoreline")
    assert (check["status"], check["measured"], check["limit"], check["unit"]) == (
        "ok", expected, 100.0, "m")
    # Shore protection is not a deviation from the plan: the neighbours are judged the
    # same either side of the line.
    assert one(data, "neighbours") == one(post(client, near[99.0]), "neighbours")


def test_the_reach_is_a_setting(client, demo_data, near, settings):
    settings.LOVKARTA_SHORE_PROTECTION_M = 300.0  # a county board's extended protection
    check = one(post(client, near[101.0]), "shoreline")
    assert (check["status"], check["measured"], check["limit"]) == ("review", 101.0, 300.0)


def test_a_footprint_in_lon_lat_measures_the_same(client, demo_data, near, fixture_layers):
    check = one(post(client, to_srid(near[99.0], 3006, 4326), srid=4326), "shoreline")
    assert check["status"] == "review"
    assert check["measured"] == pytest.approx(99.0, abs=0.01)


def test_without_shoreline_data_the_officer_is_told(client, demo_data, near):
    Source.objects.filter(holds="shoreline").update(enabled=False)
    check = one(post(client, near[101.0]), "shoreline")
    assert (check["status"], check["measured"], check["limit"]) == ("review", None, 100.0)
    assert "strandlinje" in check["message"]


def test_the_rule_rounds_before_it_compares():
    def shoreline(distance: float | None) -> tuple[str, float | None]:
        facts = Facts(footprint_m2=36.0, plans=(), regulations=(), no_building_m2=0.0,
                      property=None, shoreline_distance_m=distance)
        outcome = evaluate(facts, tolerance=Tolerance(1.0, 1.0), today=date(2026, 12, 1),
                           shore_protection_m=100.0)
        check = next(c for c in outcome.checks if c.code == "shoreline")
        return check.status, check.measured

    assert shoreline(100.004) == (Status.REVIEW, 100.0)
    assert shoreline(100.006) == (Status.OK, 100.01)
    assert shoreline(0.0) == (Status.REVIEW, 0.0)
    assert shoreline(None) == (Status.REVIEW, None)


# -- the check, via a case -----------------------------------------------------------------

def test_a_case_99_m_from_the_shore_is_checked_and_shown(demo_users, near):
    from geodata.models import Parcel

    applicant = demo_users["sokande"]
    application = application_start(applicant, "BL", "nybyggnad")
    parcel = Parcel.objects.filter(etikett=near["etikett"]).get()
    drawn = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"kind": "byggnad"},
        "geometry": mapping(to_srid(near[99.0], 3006, 4326))}]}
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett fritidshus vid havet.",
        building_area_m2=36.0, height_m=5.0, contact_email="sara@example.invalid",
        parcel_objektidentitet=str(parcel.objektidentitet), drawn=drawn))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    application_submit(application, applicant)
    run = case_check_run(application=application, reason=CaseCheck.Reason.ASKED,
                         actor=demo_users["handlaggare"])
    check = next(c for c in run.result["checks"] if c["code"] == "shoreline")
    assert (check["status"], check["limit"], check["unit"]) == ("review", 100.0, "m")
    # The drawing went through WGS 84 and back: its distance moved by under a millimetre.
    assert check["measured"] == pytest.approx(99.0, abs=0.01)
    assert run.result["data_versions"]["sundsvall-strandlinjer"]["layer"] == "shoreline"
    officer = Client()
    officer.force_login(demo_users["handlaggare"])
    page = officer.get(f"/handlaggare/arenden/{application.pk}/").content.decode()
    assert "shoreline" in page and "strandskyddsdispens" in page
