"""Checks of a case: run and stored on receipt, when an officer asks, and again when a
sync changes a layer that an open case's checks read; what a re-check changed is kept
until an officer acknowledges it; an officer's assessment of a check. Each is in the
audit trail."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import numpy as np
import orjson
import psycopg
import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from geodata.crs import STORAGE_SRID
from geodata.models import Source, SyncRun
from geodata.overlays import FootprintSet
from permits.checks.batch import footprints_reports
from permits.checks.footprint import footprint_check, report_json
from permits.exceptions import InvalidCasework, NotAllowed
from permits.models import (
    Application,
    ApplicationEvent,
    CaseCheck,
    CheckAssessment,
    DrawnFeature,
)
from permits.selectors.casework import roles_in
from permits.services import clock as service_clock
from permits.services.casework import event_record
from permits.workflow import OPEN, Role

log = logging.getLogger(__name__)
# The drawn kinds that are built: their union is the footprint checked.
BUILT = (DrawnFeature.Kind.BUILDING, DrawnFeature.Kind.EXTENSION,
         DrawnFeature.Kind.OUTBUILDING)
# The layers the checks read: a sync that changes one re-checks the open cases.
CHECKED_LAYERS = {Source.Holds.PARCELS, Source.Holds.BUILDINGS, Source.Holds.PLANS,
                  Source.Holds.REGULATIONS, Source.Holds.SHORELINE}
# Cases a background re-check task takes with a broker; without one the chunks run
# inline in turn, bigger (fewer statements), small enough to bound the memory they hold.
RECHECK_CHUNK = 500
RECHECK_CHUNK_INLINE = 5000


def case_footprint(application: Application) -> GEOSGeometry | None:
    """The area to check: what the applicant drew to build, else the site (or None)."""
    return _footprint([d.geom for d in application.drawn.filter(kind__in=BUILT)],
                      application.site)


def cases_footprints(pks: list[int]) -> FootprintSet:
    """The area to check of each case (by id) that has one, as :func:`case_footprint`:
    the union of what was drawn to build, else the site (read only for those); read as
    WKB in two queries and united in one vectorised call."""
    drawn: dict[int, list[Any]] = defaultdict(list)
    rows = list(DrawnFeature.objects.filter(application__in=pks, kind__in=BUILT).order_by(
        "application_id", "id").values_list("application_id", AsWKB("geom")))
    geoms = shapely.from_wkb([bytes(wkb) for _pk, wkb in rows])
    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    for (pk, _wkb), geom, is_area in zip(rows, geoms, polygonal, strict=True):
        if is_area:
            drawn[pk].append(geom)
    shapes: dict[int, Any] = {}
    if drawn:
        keys = sorted(drawn)
        # One row a case, its parts padded with None (which a union leaves out).
        table = np.full((len(keys), max(len(p) for p in drawn.values())), None, dtype=object)
        for row, pk in enumerate(keys):
            table[row, :len(drawn[pk])] = drawn[pk]
        unions = shapely.union_all(table, axis=1)
        kept = np.isin(shapely.get_type_id(unions), _POLYGONAL)
        shapes.update((pk, u) for pk, u, ok in zip(keys, unions, kept, strict=True) if ok)
    # Nothing drawn to build: the site is checked.
    sites = Application.objects.filter(
        pk__in=[pk for pk in pks if pk not in drawn], site__isnull=False).values_list(
            "pk", AsWKB("site"))
    shapes.update((pk, shapely.from_wkb(bytes(wkb))) for pk, wkb in sites)
    return FootprintSet.of_shapes(shapes)


_POLYGONAL = (int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON))


def _footprint(geoms: list[GEOSGeometry], site: GEOSGeometry | None) -> GEOSGeometry | None:
    parts: list[Polygon] = []
    for geom in geoms:
        if isinstance(geom, Polygon):
            parts.append(geom)
        elif isinstance(geom, MultiPolygon):
            parts.extend(geom)
    if parts:
        union = MultiPolygon(parts, srid=STORAGE_SRID).unary_union
        return union if union.geom_type in ("Polygon", "MultiPolygon") else None
    return site


def case_check_run(*, application: Application, reason: str, actor: Any = None,
                   trigger: str = "") -> CaseCheck | None:
    """Run the checks of a case's footprint and store them with the data versions read;
    None when the case has nothing drawn to check. A re-check keeps what differs from the
    run before (and the case shows it until acknowledged)."""
    footprint = case_footprint(application)
    if footprint is None:
        return None
    report = report_json(footprint_check(footprint, height_m=application.height_m,
                                         today=service_clock.today()))
    previous = CaseCheck.objects.filter(application=application).order_by(
        "-run_at", "-id").first()
    changes = differences(previous.result, report) if previous else []
    if reason == CaseCheck.Reason.DATA_CHANGED and previous and not changes:
        return previous  # nothing the case's checks read came out differently
    with transaction.atomic():
        run = CaseCheck.objects.create(
            application=application, run_at=service_clock.now(), reason=reason,
            run_by=actor if getattr(actor, "pk", None) else None, result=report,
            changes=changes if reason == CaseCheck.Reason.DATA_CHANGED else [],
            trigger=trigger[:200])
        summary = ", ".join(f"{c['code']}: {c['status']}" for c in report["checks"])
        event_record(application, actor, "checks", summary, data={
            "check_run": run.pk, "reason": reason, "changes": changes,
            "data_versions": report["data_versions"]})
    return run


def cases_check_run(*, pks: list[int], reason: str, trigger: str = "") -> list[CaseCheck]:
    """Run the checks of many open cases at once (set-based: a few SQL statements for all
    of them) and store them as :func:`case_check_run` does, each with its audit row; a
    re-check stores only the cases whose checks came out differently. Return the runs
    stored. Cases decided or withdrawn since, or with nothing drawn, are left as they are.
    """
    heights = dict(Application.objects.filter(pk__in=pks, status__in=OPEN).values_list(
        "pk", "height_m"))
    footprints = cases_footprints(sorted(heights))
    reports = footprints_reports(footprints, heights, today=service_clock.today())
    previous = _latest_runs(list(reports))
    now = service_clock.now()
    runs: list[CaseCheck] = []
    for pk, report in sorted(reports.items()):
        before = previous.get(pk)
        changes = differences(before, report) if before else []
        if reason == CaseCheck.Reason.DATA_CHANGED and before and not changes:
            continue
        runs.append(CaseCheck(
            application_id=pk, run_at=now, reason=reason, run_by=None, result=report,
            changes=changes if reason == CaseCheck.Reason.DATA_CHANGED else [],
            trigger=trigger[:200]))
    with transaction.atomic():
        _insert_runs_and_events(runs, reason)
    return runs


# On PostgreSQL the runs and their audit rows go in as one statement over arrays bound on
# the server: Django's bulk_create binds its arrays client-side and escapes each JSON
# document through a regular expression (1.2 s for 1,000 runs, against 0.2 s); %b sends
# the arrays in binary, which needs no escaping at all. The audit rows are built from the
# runs inserted (their ids, changes and data versions), so their data is not encoded and
# sent a second time.
_INSERT_RUNS_AND_EVENTS = (
    "WITH r AS (INSERT INTO {runs} (application_id, run_at, reason, result, changes, trigger) "
    "SELECT a, %(at)s, %(reason)s, r::jsonb, c::jsonb, %(trigger)s FROM unnest("
    "%(cases)b::bigint[], %(results)b::text[], %(changes)b::text[]) AS t(a, r, c) "
    "RETURNING id, application_id, result, changes) "
    "INSERT INTO {events} (application_id, at, kind, text, audience, data) "
    "SELECT r.application_id, %(at)s, %(kind)s, x.text, %(audience)s, jsonb_build_object("
    "'check_run', r.id, 'reason', %(reason)s::text, 'changes', r.changes, 'data_versions', "
    "r.result -> 'data_versions') FROM r JOIN unnest(%(cases)b::bigint[], %(texts)b::text[]) "
    "AS x(a, text) ON x.a = r.application_id "
    "RETURNING (data ->> 'check_run')::bigint, application_id")


_DJANGO_JSON = DjangoJSONEncoder()


def _json_default(value: Any) -> Any:
    return _DJANGO_JSON.default(value)


def _json(value: Any) -> str:
    """JSON text of a stored value, as the JSONField's DjangoJSONEncoder encodes it (its
    dates, times, decimals, UUIDs and lazy texts) but through orjson (~5x faster on the
    re-check's 13 MB); PostgreSQL parses it into jsonb, so the spacing does not matter."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME
                        | orjson.OPT_PASSTHROUGH_DATACLASS).decode()


def _summary(result: dict[str, Any]) -> str:
    """The audit row's text of a check run: each check's code and status."""
    return ", ".join(f"{c['code']}: {c['status']}" for c in result["checks"])


def _insert_runs_and_events(runs: list[CaseCheck], reason: str) -> None:
    """Insert check runs of one reason, time and trigger (one per case), setting pk, and
    an audit row for each (no actor or address, for the staff)."""
    if not runs:
        return
    first = runs[0]
    if connection.vendor != "postgresql":
        CaseCheck.objects.bulk_create(runs)
        ApplicationEvent.objects.bulk_create([ApplicationEvent(
            application_id=run.application_id, actor=None, kind="checks",
            text=_summary(run.result),
            data={"check_run": run.pk, "reason": reason, "changes": run.changes,
                  "data_versions": run.result["data_versions"]}, at=first.run_at,
            audience=ApplicationEvent.Audience.STAFF) for run in runs])
        return
    sql = _INSERT_RUNS_AND_EVENTS.format(runs=CaseCheck._meta.db_table,
                                         events=ApplicationEvent._meta.db_table)
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, {
            "at": first.run_at, "reason": reason, "trigger": first.trigger, "kind": "checks",
            "audience": ApplicationEvent.Audience.STAFF.value,
            "cases": [r.application_id for r in runs],
            "results": [_json(r.result) for r in runs],
            "changes": [_json(r.changes) for r in runs],
            "texts": [_summary(r.result) for r in runs]})
        ids = {application: pk for pk, application in cursor.fetchall()}
    for run in runs:
        run.pk = ids[run.application_id]


# The latest run of each case, with only what :func:`differences` reads of a run before:
# each check's code, status, figure, limit and regulation code (in order) and the plan's
# designation. The texts and messages, most of each result, stay on the server, and the
# little that comes back is parsed by orjson, not the JSONField's json.loads.
_LATEST_RUNS = (
    "SELECT r.application_id, jsonb_build_array(("
    "SELECT jsonb_agg(jsonb_build_array(c -> 'code', c -> 'status', c -> 'measured', "
    "c -> 'limit', c -> 'bestammelsekod') ORDER BY i) FROM jsonb_array_elements("
    "CASE jsonb_typeof(r.result -> 'checks') WHEN 'array' THEN r.result -> 'checks' "
    "ELSE '[]' END) WITH ORDINALITY AS e(c, i)), r.result #> '{{plan,beteckning}}')::text "
    "FROM unnest(%s::bigint[]) AS a(id) CROSS JOIN LATERAL (SELECT application_id, result "
    "FROM {runs} WHERE application_id = a.id ORDER BY run_at DESC, id DESC LIMIT 1) r")
_COMPARED = ("code", "status", "measured", "limit", "bestammelsekod")


def _latest_runs(pks: list[int]) -> dict[int, dict[str, Any]]:
    """The latest check run of each case, as much of its result as :func:`differences`
    reads (its checks and its plan's id), in one query."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LATEST_RUNS.format(runs=CaseCheck._meta.db_table), [pks])
            rows = cursor.fetchall()
        out = {}
        for application, text in rows:
            checks, plan = orjson.loads(text)
            out[application] = {
                "checks": [dict(zip(_COMPARED, c, strict=True)) for c in checks or ()],
                "plan": {"beteckning": plan} if plan is not None else None}
        return out
    latest = CaseCheck.objects.filter(application=OuterRef("pk")).order_by("-run_at", "-id")
    ids = Application.objects.filter(pk__in=pks).annotate(
        last=Subquery(latest.values("id")[:1])).values("last")
    return {application: {"checks": checks or [],
                          "plan": {"beteckning": plan} if plan is not None else None}
            for application, checks, plan in CaseCheck.objects.filter(pk__in=ids).values_list(
                "application_id", "result__checks", "result__plan__beteckning")}


def _checks_by_code(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_code: dict[str, dict[str, Any]] = {}
    for check in result.get("checks", []):
        key = check["code"] if check["code"] not in by_code else (
            f"{check['code']}:{check.get('bestammelsekod') or len(by_code)}")
        by_code[key] = check
    return by_code


def _digest(result: dict[str, Any]) -> tuple[list[tuple[Any, ...]], Any]:
    """What :func:`differences` compares of a result, in order (a re-check mostly finds
    it the same, and this is quicker to compare than check by check)."""
    return ([(c["code"], c.get("status"), c.get("measured"), c.get("limit"),
              c.get("bestammelsekod")) for c in result.get("checks", [])],
            (result.get("plan") or {}).get("beteckning"))


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What came out differently: each check whose status, figure or limit changed, and
    the plan if another one (or none) covers the footprint now."""
    if _digest(before) == _digest(after):
        return []  # the same checks in the same order, and the same plan
    out: list[dict[str, Any]] = []
    old, new = _checks_by_code(before), _checks_by_code(after)
    for code in sorted(set(old) | set(new)):
        a, b = old.get(code), new.get(code)
        fields = ("status", "measured", "limit", "bestammelsekod")
        if a is None or b is None or any(a.get(f) != b.get(f) for f in fields):
            out.append({"code": code,
                        "before": {f: a.get(f) for f in fields} if a else None,
                        "after": {f: b.get(f) for f in fields} if b else None})
    plan_before = (before.get("plan") or {}).get("beteckning")
    plan_after = (after.get("plan") or {}).get("beteckning")
    if plan_before != plan_after:
        out.append({"code": "plan_id", "before": plan_before, "after": plan_after})
    return out


def cases_to_recheck(source: Source) -> list[int]:
    """The open cases whose last checks read the source's layer (of its municipality)."""
    if source.holds not in CHECKED_LAYERS:
        return []
    cases = Application.objects.filter(status__in=OPEN, checks__isnull=False)
    if source.municipality_id:
        cases = cases.filter(municipality_id=source.municipality_id)
    return sorted(set(cases.values_list("pk", flat=True)))


def checks_after_sync(source: Source, run: SyncRun) -> int:
    """Re-check the open cases that read a layer a sync changed, set-based: background
    tasks of RECHECK_CHUNK cases each with a broker, inline without (RECHECK_CHUNK_INLINE
    at a time); return how many cases were queued."""
    from permits.tasks import check_cases

    pks = cases_to_recheck(source)
    trigger = f"{source.name}, sync {run.pk}: {run.added} added, {run.changed} changed, " \
              f"{run.removed} removed"
    size = RECHECK_CHUNK_INLINE if settings.CELERY_TASK_ALWAYS_EAGER else RECHECK_CHUNK
    for start in range(0, len(pks), size):
        chunk = pks[start:start + size]
        transaction.on_commit(lambda chunk=chunk: check_cases.delay(
            chunk, CaseCheck.Reason.DATA_CHANGED, trigger))
    if pks:
        log.info("re-checking %d open cases after %s", len(pks), trigger)
    return len(pks)


def checks_on_receipt(application: Application) -> None:
    """Check a case once it is received (after the submission commits; in the background
    with a broker). A failure never stops the submission."""
    from permits.tasks import check_case

    transaction.on_commit(lambda: check_case.delay(application.pk,
                                                   CaseCheck.Reason.SUBMITTED))


def case_check_acknowledge(*, actor: Any, check_run: CaseCheck,
                           ip: str | None = None) -> CaseCheck:
    """Record that an officer has seen what a re-check changed."""
    application = check_run.application
    if Role.OFFICER not in roles_in(actor, application):
        raise NotAllowed(_("Only an officer of the municipality acknowledges a re-check."))
    with transaction.atomic():
        done = CaseCheck.objects.filter(pk=check_run.pk, acknowledged_at=None).update(
            acknowledged_by=actor, acknowledged_at=service_clock.now())
        if done:
            event_record(application, actor, "checks_acknowledged", check_run.trigger, ip=ip,
                         data={"check_run": check_run.pk})
    check_run.refresh_from_db()
    return check_run


def check_assess(*, actor: Any, application: Application, code: str, verdict: str,
                 note: str = "", ip: str | None = None) -> CheckAssessment:
    """Record an officer's assessment of one check of the case's latest run."""
    if Role.OFFICER not in roles_in(actor, application):
        raise NotAllowed(_("Only an officer of the municipality assesses the checks."))
    latest = CaseCheck.objects.filter(application=application).order_by(
        "-run_at", "-id").first()
    if latest is None or code not in _checks_by_code(latest.result):
        raise InvalidCasework(_("There is no such check on this case."))
    if verdict not in CheckAssessment.Verdict.values:
        raise InvalidCasework(_("Choose an assessment."))
    with transaction.atomic():
        assessment = CheckAssessment.objects.create(
            application=application, check_run=latest, code=code, verdict=verdict,
            note=note.strip()[:5000], by=actor, at=service_clock.now())
        event_record(application, actor, "check_assessed",
                     f"{code}: {assessment.get_verdict_display()}", ip=ip,
                     data={"check_run": latest.pk, "code": code, "verdict": verdict,
                           "note": assessment.note})
    return assessment
