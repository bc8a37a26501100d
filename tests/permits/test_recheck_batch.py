"""The set-based checks (permits.checks.batch over geodata.overlays) give what the
per-footprint path gives, figure for figure, on the fixture's data; a re-check of many
cases stores and flags them as one case's re-check does, in chunks of tasks."""

from __future__ import annotations

import random

import pytest
import shapely
import shapely.affinity
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import GEOSGeometry

from geodata.crs import STORAGE_SRID
from geodata.models import Building, Parcel, Plan, Regulation, Source, SyncRun
from permits.checks.batch import footprints_reports
from permits.checks.footprint import footprint_check, report_json
from permits.models import ApplicationEvent, CaseCheck
from permits.services import checks as service
from permits.services.checks import (
    case_check_run,
    case_footprint,
    cases_check_run,
    checks_after_sync,
    differences,
)
from permits.workflow import OPEN

pytestmark = pytest.mark.django_db
NO_BUILDING = "DP_KM_EG_UTF_MARK1"


def geos(shape: shapely.Geometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)


def sample_footprints() -> dict[int, GEOSGeometry]:
    """Footprints all over the fixture: small and large boxes, a building's own outline,
    one across two no-building areas, two parts in one, one outside any parcel."""
    x0, y0, x1, y1 = Parcel.objects.aggregate(e=Extent("geom"))["e"]
    rng = random.Random(2281)
    shapes = []
    for _ in range(60):
        w, h = rng.uniform(4, 40), rng.uniform(4, 30)
        x, y = rng.uniform(x0, x1 - w), rng.uniform(y0, y1 - h)
        shapes.append(shapely.box(x, y, x + w, y + h))
    shapes.append(shapely.box(x0 + 40, y0 + 40, x0 + 160, y0 + 140))  # many parcels
    building = Building.objects.exclude(registerenhetsreferens=None).order_by("id").first()
    assert building is not None
    shapes.append(shapely.from_wkb(bytes(building.geom.wkb)).buffer(2.0))
    pricks = [shapely.from_wkb(bytes(r.geom.wkb)) for r in Regulation.objects.filter(
        bestammelsekod=NO_BUILDING).order_by("id")[:2]]
    shapes.append(shapely.union_all([p.centroid.buffer(6.0) for p in pricks]).envelope)
    shapes.append(shapely.MultiPolygon([shapely.box(x0 + 5, y0 + 5, x0 + 15, y0 + 13),
                                        shapely.box(x0 + 60, y0 + 8, x0 + 70, y0 + 18)]))
    shapes.append(shapely.box(x1 + 500, y1 + 500, x1 + 520, y1 + 510))
    return {k: geos(s) for k, s in enumerate(shapes, start=1)}


def test_the_batch_gives_the_per_footprint_figures(demo_data):
    footprints = sample_footprints()
    heights = {k: (None if k % 3 else 4.0 + k % 7) for k in footprints}
    batch = footprints_reports(footprints, heights, today=_today())
    assert set(batch) == set(footprints)
    one_by_one = {k: report_json(footprint_check(g, height_m=heights[k], today=_today()))
                  for k, g in footprints.items()}
    for key in footprints:
        assert batch[key] == one_by_one[key], (key, _diff(batch[key], one_by_one[key]))
    # The sample reaches what the checks judge: plans, no-building land, a crossing into
    # another property, standing buildings, land outside the cache.
    statuses = {(c["code"], c["status"]) for r in batch.values() for c in r["checks"]}
    assert {("no_building", "fail"), ("no_building", "ok"), ("plan", "ok"),
            ("plan", "review")} <= statuses
    assert any(r["plan"] is None for r in batch.values())
    assert any(len(r["regulations"]) > 2 for r in batch.values())


def test_one_footprint_gives_the_figures_of_the_shapes(demo_data):
    """One footprint's checks go through the set-based overlays (a set of one); the
    figures, their order and the data versions are those of the shapes read through the
    ORM and measured with shapely."""
    from permits.checks.footprint import CheckReport, RegulationOverlap
    from permits.checks.measure import footprint_facts_by_shapes, tolerance
    from permits.checks.rules import evaluate

    sliver, today = tolerance(), _today()
    for key, footprint in sample_footprints().items():
        height = None if key % 3 else 4.0 + key % 7
        facts, versions = footprint_facts_by_shapes(footprint, height_m=height, sliver=sliver)
        outcome = evaluate(facts, tolerance=sliver, today=today)
        shapes = report_json(CheckReport(
            facts=facts, plan=outcome.plan, checks=outcome.checks,
            regulations=[RegulationOverlap(r, sliver.sliver(r.overlap_m2, r.share_percent))
                         for r in facts.regulations],
            data_versions=versions, today=today))
        ours = report_json(footprint_check(footprint, height_m=height, today=today))
        assert ours == shapes, (key, _diff(ours, shapes))


def _today():
    from permits.services import clock

    return clock.today()


def test_a_batch_of_cases_is_stored_and_flagged_as_one_case_at_a_time(
        demo_cases, monkeypatch, django_capture_on_commit_callbacks):
    open_cases = list(demo_cases.filter(status__in=OPEN).order_by("pk"))
    checked = [c for c in open_cases if case_footprint(c) is not None]
    assert len(checked) >= 10
    # 1. The same runs and audit rows as one case at a time.
    runs = cases_check_run(pks=[c.pk for c in open_cases], reason=CaseCheck.Reason.ASKED)
    assert {r.application_id for r in runs} == {c.pk for c in checked}
    by_case = {r.application_id: r for r in runs}
    for case in checked:
        single = case_check_run(application=case, reason=CaseCheck.Reason.ASKED)
        assert single is not None
        single.refresh_from_db()
        stored = CaseCheck.objects.get(pk=by_case[case.pk].pk)
        assert stored.result == single.result, (case.case_number, _diff(stored.result,
                                                                        single.result))
        event = ApplicationEvent.objects.get(application=case, kind="checks",
                                             data__check_run=stored.pk)
        assert event.actor is None and event.text == ", ".join(
            f"{c['code']}: {c['status']}" for c in stored.result["checks"])
        assert event.data["data_versions"] == stored.result["data_versions"]
    # 2. A re-check where nothing changed stores nothing.
    assert cases_check_run(pks=[c.pk for c in checked],
                           reason=CaseCheck.Reason.DATA_CHANGED) == []
    # 3. A sync changes the data: the plan of a case in Sundsvall that it is fine for
    # loses its legal force (appealed), and a no-building area moves 2 m north. The hook
    # re-checks the municipality's open cases, in chunks of tasks.
    before = {c.pk: CaseCheck.objects.filter(application=c).latest() for c in checked}
    source = Source.objects.get(name="sundsvall-planbestammelser")
    hit = next(c for c in checked if c.municipality_id == source.municipality_id
               and before[c.pk].result["checks"][0]["status"] == "ok")
    Plan.objects.filter(beteckning=before[hit.pk].result["plan"]["beteckning"]).update(
        status="överklagad")
    prick = Regulation.objects.filter(bestammelsekod=NO_BUILDING,
                                      source=source).order_by("id").first()
    moved = shapely.affinity.translate(shapely.from_wkb(bytes(prick.geom.wkb)), 0, 2.0)
    Regulation.objects.filter(pk=prick.pk).update(geom=geos(moved))
    sync = SyncRun.objects.filter(source=source).latest()
    monkeypatch.setattr(service, "RECHECK_CHUNK", 4)
    monkeypatch.setattr(service, "RECHECK_CHUNK_INLINE", 4)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queued = checks_after_sync(source, sync)
    assert queued == len(service.cases_to_recheck(source)) and len(callbacks) == -(-queued // 4)
    rechecked = CaseCheck.objects.filter(reason=CaseCheck.Reason.DATA_CHANGED)
    assert hit.pk in {r.application_id for r in rechecked}
    for run in rechecked:
        case = next(c for c in checked if c.pk == run.application_id)
        expected = _json(report_json(footprint_check(
            case_footprint(case), height_m=case.height_m, today=_today())))
        assert run.result == expected, _diff(run.result, expected)
        assert run.changes == differences(before[case.pk].result, expected) != []
        assert run.needs_acknowledging and f"sync {sync.pk}" in run.trigger
        event = ApplicationEvent.objects.get(kind="checks", data__check_run=run.pk)
        assert event.data["changes"] == run.changes
    # The cases whose checks came out the same got no new run.
    for case in checked:
        if case.pk not in {r.application_id for r in rechecked}:
            assert CaseCheck.objects.filter(application=case).latest().pk == before[case.pk].pk


def _diff(a: object, b: object, path: str = "") -> str:
    """Where two reports first differ (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _diff(a.get(key), b.get(key), f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True))
                     if (d := _diff(x, y, f"{path}[{i}]"))), "")
    return "" if a == b else f"{path}: {a!r} != {b!r}"


def _json(report: dict) -> dict:
    """A report as stored (dates as text)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(report, cls=DjangoJSONEncoder))
