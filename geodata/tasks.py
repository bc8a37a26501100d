"""Background syncs: on Celery workers when a broker is configured, inline otherwise."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import shared_task
from django.db.models import Max
from django.utils import timezone

import config.celery  # noqa: F401 (the app these tasks run on: broker, eager mode)
from geodata.errors import GeodataError
from geodata.models import Source, SyncRun
from geodata.sync import source_sync

log = logging.getLogger(__name__)


@shared_task(name="geodata.sync_source")
def sync_source(source_id: int, bbox: list[float] | None = None) -> dict[str, Any]:
    """Sync one source; return what the run did (a failure is recorded, not raised)."""
    source = Source.objects.get(pk=source_id)
    box = (bbox[0], bbox[1], bbox[2], bbox[3]) if bbox else None
    try:
        run = source_sync(source, box)
    except GeodataError as exc:
        run = SyncRun.objects.filter(source=source).latest()
        log.warning("background sync of %s failed: %s", source.name, exc)
    return {"source": source.name, "run": run.pk, "outcome": run.outcome,
            "fetched": run.fetched, "added": run.added, "changed": run.changed,
            "removed": run.removed, "rejected": run.rejected, "error": run.error}


def sources_due(now: datetime) -> list[Source]:
    """Return the enabled sources whose schedule says they should sync now."""
    due: list[Source] = []
    sources = (Source.objects.filter(enabled=True, schedule_minutes__isnull=False)
               .annotate(last_start=Max("runs__started_at")))
    for source in sources:
        if source.circuit_open_until and source.circuit_open_until > now:
            continue
        last = source.last_start  # type: ignore[attr-defined]
        minutes = source.schedule_minutes or 0
        if last is None or (now - last).total_seconds() >= 60 * minutes:
            due.append(source)
    return due


@shared_task(name="geodata.sync_due_sources")
def sync_due_sources() -> list[str]:
    """Queue a sync for every source that is due; return their names."""
    names = []
    for source in sources_due(timezone.now()):
        sync_source.delay(source.pk)
        names.append(source.name)
    return names


@shared_task(name="geodata.export_layer")
def export_layer(run_id: int) -> dict[str, Any]:
    """Make a recorded export; return its outcome (a failure is recorded on the run)."""
    from geodata.exports.runs import export_run_make
    from geodata.models import ExportRun

    run = export_run_make(ExportRun.objects.select_related("requested_by").get(pk=run_id))
    return {"run": run.pk, "status": run.status, "written": run.written, "error": run.error}
