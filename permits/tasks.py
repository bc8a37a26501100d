"""Background work of casework: on Celery workers when a broker is configured, inline
otherwise (CELERY_TASK_ALWAYS_EAGER)."""

from __future__ import annotations

import logging

from celery import shared_task

import config.celery  # noqa: F401 (the app these tasks run on: broker, eager mode)
from permits.models import Application, CaseCheck
from permits.workflow import OPEN

log = logging.getLogger(__name__)


@shared_task(name="permits.check_case")
def check_case(application_id: int, reason: str, trigger: str = "") -> int | None:
    """Run the checks of an open case (on receipt, or after its data changed); return the
    run's id. A case decided or withdrawn since keeps its checks as they were."""
    from permits.services.checks import case_check_run

    application = Application.objects.filter(pk=application_id, status__in=OPEN).first()
    if application is None:
        return None
    try:
        run = case_check_run(application=application, reason=reason, trigger=trigger)
    except Exception:
        # The case stands without its checks; an officer can run them from the case page.
        log.exception("checks of %s (%s) failed", application.case_number, reason)
        if reason == CaseCheck.Reason.SUBMITTED:
            return None
        raise
    return run.pk if run else None


@shared_task(name="permits.check_cases")
def check_cases(application_ids: list[int], reason: str, trigger: str = "") -> int:
    """Run the checks of many open cases at once (set-based); return how many runs were
    stored. A re-check stores only the cases whose checks came out differently."""
    from permits.services.checks import cases_check_run

    try:
        runs = cases_check_run(pks=application_ids, reason=reason, trigger=trigger)
    except Exception:
        # The cases keep their last checks; the next sync (or an officer) runs them again.
        log.exception("checks of %d cases (%s) failed", len(application_ids), reason)
        raise
    return len(runs)
