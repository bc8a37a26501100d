"""Checks of a case: run and stored on receipt, when an officer asks, and again when a
sync changes a layer that an open case's checks read; what a re-check changed is kept
until an officer acknowledges it; an officer's assessment of a check. Each is in the
audit trail."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.db import transaction
from django.utils.translation import gettext as _

from geodata.crs import STORAGE_SRID
from geodata.models import Source, SyncRun
from permits.checks.footprint import footprint_check, report_json
from permits.exceptions import InvalidCasework, NotAllowed
from permits.models import Application, CaseCheck, CheckAssessment, DrawnFeature
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
                  Source.Holds.REGULATIONS}


def case_footprint(application: Application) -> GEOSGeometry | None:
    """The area to check: what the applicant drew to build, else the site (or None)."""
    parts: list[Polygon] = []
    for drawn in application.drawn.filter(kind__in=BUILT):
        geom = drawn.geom
        if isinstance(geom, Polygon):
            parts.append(geom)
        elif isinstance(geom, MultiPolygon):
            parts.extend(geom)
    if parts:
        union = MultiPolygon(parts, srid=STORAGE_SRID).unary_union
        return union if union.geom_type in ("Polygon", "MultiPolygon") else None
    return application.site


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


def _checks_by_code(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_code: dict[str, dict[str, Any]] = {}
    for check in result.get("checks", []):
        key = check["code"] if check["code"] not in by_code else (
            f"{check['code']}:{check.get('bestammelsekod') or len(by_code)}")
        by_code[key] = check
    return by_code


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What came out differently: each check whose status, figure or limit changed, and
    the plan if another one (or none) covers the footprint now."""
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
    """Re-check the open cases that read a layer a sync changed (a background task each
    with a broker, inline without); return how many were queued."""
    from permits.tasks import check_case

    pks = cases_to_recheck(source)
    trigger = f"{source.name}, sync {run.pk}: {run.added} added, {run.changed} changed, " \
              f"{run.removed} removed"
    for pk in pks:
        transaction.on_commit(lambda pk=pk: check_case.delay(
            pk, CaseCheck.Reason.DATA_CHANGED, trigger))
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
