"""A case's checks, stored with the data versions they read, re-run when a sync changes a
layer they read, and flagged with what changed until an officer acknowledges it; an
officer's assessment of a check; each in the audit trail.

The re-check is end to end: a copy of the fixture is served by its own MapServer, the
regulations' source reads from it, a regulation under the case is moved in the copy, and
the next sync (a real one) re-checks the case."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import shapely
import shapely.affinity
from django.contrib.gis.gdal import DataSource

from fixtures import generate
from geodata.crs import to_srid
from geodata.models import Source, SyncRun
from geodata.sync import source_sync
from permits.exceptions import NotAllowed
from permits.models import ApplicationEvent, CaseCheck, CheckAssessment
from permits.services.applications import (
    DraftInput,
    application_save,
    application_start,
    application_submit,
    attachment_add,
)
from permits.services.checks import case_check_acknowledge, case_check_run, check_assess
from tests.conftest import FIXTURE, serve
from tests.permits.conftest import pdf_upload

pytestmark = pytest.mark.django_db
E0, N0 = generate.E0, generate.N0
NO_BUILDING = "DP_KM_EG_UTF_MARK1"
# Half on the no-building land at the front of SUNDSVALL ABBOTEN 1 (19.55 m² of 39.1 m²).
FOOTPRINT = shapely.box(E0 + 18.3, N0 + 2.63, E0 + 24.1, N0 + 9.37)
MOVE_M = 2.0  # how far the regulation is moved north (into the block) in the copy

MOVE_SCRIPT = """
import sys, pyogrio, shapely
path, oid, dy = sys.argv[1], sys.argv[2], float(sys.argv[3])
frame = pyogrio.read_dataframe(path, layer="planbestammelse")
row = frame["objektidentitet"] == oid
assert row.sum() == 1, row.sum()
frame.loc[row, "geometry"] = shapely.transform(frame.loc[row, "geometry"],
                                               lambda xy: xy + [0.0, dy])
pyogrio.write_dataframe(frame, path, layer="planbestammelse", driver="GPKG")
"""


@pytest.fixture
def copy_server(tmp_path):
    """The fixture GeoPackage copied, served by a MapServer of its own."""
    copy = tmp_path / "kopia.gpkg"
    shutil.copy(FIXTURE, copy)
    server = serve(copy, tmp_path / "mapserver")
    url = next(server)
    yield copy, url
    next(server, None)


def footprint_geojson() -> dict:
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"kind": "byggnad"},
        "geometry": shapely.geometry.mapping(to_srid(FOOTPRINT, 3006, 4326))}]}


@pytest.fixture
def case(demo_users):
    applicant = demo_users["sokande"]
    application = application_start(applicant, "BL", "nybyggnad")
    from geodata.models import Parcel

    abboten = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett enbostadshus.",
        building_area_m2=39.1, height_m=6.0, contact_email="sara@example.invalid",
        parcel_objektidentitet=str(abboten.objektidentitet), drawn=footprint_geojson()))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    application_submit(application, applicant)
    application.refresh_from_db()
    return application


def no_building(run: CaseCheck) -> dict:
    return next(c for c in run.result["checks"] if c["code"] == "no_building")


def prick_under_footprint() -> tuple[str, shapely.Geometry]:
    """The no-building regulation under the footprint, read from the fixture itself."""
    layer = DataSource(str(FIXTURE))["planbestammelse"]
    hits = [(f.get("objektidentitet"), shapely.from_wkb(bytes(f.geom.wkb))) for f in layer
            if f.get("bestammelsekod") == NO_BUILDING
            and shapely.from_wkb(bytes(f.geom.wkb)).intersects(FOOTPRINT)]
    assert len(hits) == 1
    return hits[0]


def test_checks_are_stored_with_the_data_versions_they_read(case, demo_users):
    run = case_check_run(application=case, reason=CaseCheck.Reason.ASKED,
                         actor=demo_users["handlaggare"])
    assert no_building(run)["status"] == "fail" and no_building(run)["measured"] == 19.55
    versions = run.result["data_versions"]
    regulations = Source.objects.get(name="sundsvall-planbestammelser")
    last = SyncRun.objects.filter(source=regulations, outcome="succeeded").latest()
    assert versions["sundsvall-planbestammelser"]["sync_run"] == last.pk
    event = ApplicationEvent.objects.filter(application=case, kind="checks").latest("at")
    assert event.data["check_run"] == run.pk and event.actor == demo_users["handlaggare"]


def test_a_sync_that_moves_a_regulation_flags_the_open_case(
        case, demo_users, copy_server, django_capture_on_commit_callbacks):
    copy, url = copy_server
    before = case_check_run(application=case, reason=CaseCheck.Reason.ASKED)
    source = Source.objects.get(name="sundsvall-planbestammelser")
    source.url = url
    source.save()
    # The same data from another server: nothing changes, nothing is re-checked.
    with django_capture_on_commit_callbacks(execute=True):
        unchanged = source_sync(source)
    assert (unchanged.added, unchanged.changed, unchanged.removed) == (0, 0, 0)
    assert CaseCheck.objects.filter(application=case).count() == 1

    oid, prick = prick_under_footprint()
    subprocess.run([sys.executable, "-c", MOVE_SCRIPT, str(copy), oid, str(MOVE_M)],
                   check=True, capture_output=True)
    with django_capture_on_commit_callbacks(execute=True):
        moved = source_sync(source)
    assert moved.changed == 1 and moved.added == moved.removed == 0

    after = CaseCheck.objects.filter(application=case).latest()
    assert after.pk != before.pk and after.reason == CaseCheck.Reason.DATA_CHANGED
    expected = round(shapely.affinity.translate(prick, 0, MOVE_M).intersection(FOOTPRINT)
                     .area, 2)
    assert expected != 19.55
    change = next(c for c in after.changes if c["code"] == "no_building")
    assert change["before"]["measured"] == 19.55
    assert change["after"]["measured"] == no_building(after)["measured"] == expected
    assert f"sync {moved.pk}" in after.trigger and after.needs_acknowledging
    assert after.result["data_versions"]["sundsvall-planbestammelser"]["sync_run"] == moved.pk

    # The officer acknowledges it; only an officer of the municipality may.
    with pytest.raises(NotAllowed):
        case_check_acknowledge(actor=demo_users["handlaggare-harnosand"], check_run=after)
    done = case_check_acknowledge(actor=demo_users["handlaggare"], check_run=after)
    assert not done.needs_acknowledging and done.acknowledged_by == demo_users["handlaggare"]
    kinds = list(ApplicationEvent.objects.filter(application=case).values_list("kind",
                                                                                flat=True))
    assert "checks_acknowledged" in kinds


def test_a_decided_case_is_not_rechecked(case, demo_users, copy_server,
                                         django_capture_on_commit_callbacks):
    from permits.models import Application

    copy, url = copy_server
    case_check_run(application=case, reason=CaseCheck.Reason.ASKED)
    Application.objects.filter(pk=case.pk).update(status="decided")
    source = Source.objects.get(name="sundsvall-planbestammelser")
    source.url = url
    source.save()
    oid, _prick = prick_under_footprint()
    subprocess.run([sys.executable, "-c", MOVE_SCRIPT, str(copy), oid, "1.0"], check=True,
                   capture_output=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert source_sync(source).changed == 1
    assert CaseCheck.objects.filter(application=case).count() == 1


def test_an_officer_assesses_a_check(case, demo_users):
    officer = demo_users["handlaggare"]
    run = case_check_run(application=case, reason=CaseCheck.Reason.ASKED, actor=officer)
    assessment = check_assess(actor=officer, application=case, code="no_building",
                              verdict="acceptable", note="Trappa, ej byggnad.")
    assert assessment.check_run == run and assessment.verdict == "acceptable"
    event = ApplicationEvent.objects.filter(application=case, kind="check_assessed").get()
    assert event.data == {"check_run": run.pk, "code": "no_building",
                          "verdict": "acceptable", "note": "Trappa, ej byggnad."}
    with pytest.raises(NotAllowed):
        check_assess(actor=demo_users["sokande"], application=case, code="no_building",
                     verdict="agree")
    assert CheckAssessment.objects.filter(application=case).count() == 1


def test_nothing_drawn_nothing_checked(demo_users):
    application = application_start(demo_users["sokande"], "BL", "nybyggnad")
    assert case_check_run(application=application, reason=CaseCheck.Reason.ASKED) is None


def test_the_case_page_shows_the_checks_and_takes_the_officers_word(case, demo_users):
    from django.test import Client

    officer = Client()
    officer.force_login(demo_users["handlaggare"])
    url = f"/handlaggare/arenden/{case.pk}/"
    response = officer.post(f"{url}kontroller/", {"do": "run"})
    assert response.status_code == 302
    page = officer.get(url).content.decode()
    assert 'id="case-checks"' in page and "19,55" in page and NO_BUILDING in page
    response = officer.post(f"{url}kontroller/", {"do": "assess", "code": "no_building",
                                                  "verdict": "not_acceptable",
                                                  "note": "Flytta huset."})
    assert response.status_code == 302
    assert "Flytta huset." in officer.get(url).content.decode()
    bad = officer.post(f"{url}kontroller/", {"do": "assess", "code": "nope", "verdict": "agree"})
    assert bad.status_code == 400
    other = Client()
    other.force_login(demo_users["handlaggare-harnosand"])
    assert other.post(f"{url}kontroller/", {"do": "run"}).status_code == 404
    applicant = Client()
    applicant.force_login(demo_users["sokande"])
    assert applicant.post(f"{url}kontroller/", {"do": "run"}).status_code in (403, 404)


def test_a_case_is_checked_on_receipt(demo_users, django_capture_on_commit_callbacks):
    applicant = demo_users["sokande"]
    application = application_start(applicant, "BL", "nybyggnad")
    from geodata.models import Parcel

    abboten = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett enbostadshus.",
        contact_email="sara@example.invalid", parcel_objektidentitet=str(
            abboten.objektidentitet), drawn=footprint_geojson()))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    with django_capture_on_commit_callbacks(execute=True):
        application_submit(application, applicant)
    run = CaseCheck.objects.get(application=application)
    assert run.reason == CaseCheck.Reason.SUBMITTED and run.run_by is None
    assert no_building(run)["measured"] == 19.55


def test_the_audit_trail_shows_the_systems_own_checks(demo_users,
                                                       django_capture_on_commit_callbacks):
    """A case checked on receipt has an audit row with no person behind it."""
    from django.test import Client

    from geodata.models import Parcel

    applicant = demo_users["sokande"]
    application = application_start(applicant, "BL", "nybyggnad")
    abboten = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett hus.",
        contact_email="sara@example.invalid", parcel_objektidentitet=str(
            abboten.objektidentitet), drawn=footprint_geojson()))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    with django_capture_on_commit_callbacks(execute=True):
        application_submit(application, applicant)
    assert ApplicationEvent.objects.filter(application=application, kind="checks",
                                           actor=None).exists()
    officer = Client()
    officer.force_login(demo_users["handlaggare"])
    response = officer.get(f"/handlaggare/arenden/{application.pk}/")
    assert response.status_code == 200 and "systemet" in response.content.decode()


def test_a_run_before_is_read_back_as_stored(case, demo_users):
    """What the re-check reads of a case's latest run (on PostgreSQL only the compared
    fields, parsed by orjson) compares as the whole stored result does; the runs and
    changes are encoded as the JSONField's encoder encodes them."""
    import datetime
    import decimal
    import json
    import uuid

    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import connection
    from django.utils.translation import gettext_lazy

    from permits.services import checks as service
    from permits.services.clock import now

    value = {"d": datetime.date(2026, 12, 3), "n": decimal.Decimal("12.50"), "ö": "å\u2028",
             "t": datetime.datetime(2026, 12, 3, 9, 1, 2, 345678, tzinfo=datetime.UTC),
             "u": uuid.UUID(int=7), "l": gettext_lazy("on receipt"), "f": [0.1 + 0.2, -0.0]}
    assert json.loads(service._json(value)) == json.loads(json.dumps(value,
                                                                      cls=DjangoJSONEncoder))
    first = {"plan": {"beteckning": "22-P1"}, "checks": [
        {"code": "plan", "status": "ok", "measured": None, "limit": None, "unit": None,
         "bestammelsekod": None, "text": "å", "message": "Detaljplan"},
        {"code": "coverage", "status": "exceeded", "measured": 0.1 + 0.2, "limit": 30,
         "bestammelsekod": "E1", "text": "", "message": "Överskrids"},
        {"code": "coverage", "status": "ok", "measured": 1e-05, "limit": 2.5,
         "bestammelsekod": "E2", "text": "", "message": ""}], "data_versions": {}}
    latest_results = [first, {"plan": None, "checks": []}, {"checks": [{"code": "x",
                                                                        "status": "ok"}]}]
    at = now()
    for result in latest_results:
        stale = {"plan": {"beteckning": "old"}, "checks": [{"code": "plan", "status": "no"}]}
        CaseCheck.objects.create(application=case, run_at=at, reason="asked", result=stale)
        latest = CaseCheck.objects.create(application=case, run_at=at, reason="asked",
                                          result=result)  # the same time: the higher id
        CaseCheck.objects.create(application=case, reason="asked", result=stale,
                                 run_at=at - datetime.timedelta(seconds=1))
        read = service._latest_runs([case.pk])[case.pk]
        assert service._digest(read) == service._digest(latest.result)
        for other in latest_results:
            assert service.differences(read, other) == service.differences(latest.result,
                                                                            other)
        at += datetime.timedelta(seconds=2)
    if connection.vendor == "postgresql":  # migration 0007: lz4 when TOASTed
        with connection.cursor() as cursor:
            cursor.execute("SELECT attname, attcompression FROM pg_attribute WHERE attrelid "
                           "= 'permits_casecheck'::regclass AND attname IN ('result', "
                           "'changes')")
            assert dict(cursor.fetchall()) == {"result": "l", "changes": "l"}
