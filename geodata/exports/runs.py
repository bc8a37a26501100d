"""Exports as recorded runs: asked for (from a page or the command line), made in the
background with a broker (inline without), their progress kept for a progress bar, their
file kept for download, and every one kept as the record of who exported what."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from geodata.crs import STORAGE_SRID, srid_of
from geodata.errors import GeodataError
from geodata.exports.export import export_srid, layer_export
from geodata.exports.filters import export_filter
from geodata.exports.formats import format_get
from geodata.exports.layers import layer_get
from geodata.models import ExportRun

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5  # how often a running export writes its progress


def export_run_create(*, user: Any, layer: str, file_format: str, crs: str | int | None,
                      filters: dict[str, Any], via: str = "page") -> ExportRun:
    """Record an export asked for, after checking what can be checked at once (layer,
    format, CRS: 400 errors); the export itself runs with ``export_run_make``."""
    fmt = format_get(file_format)
    srid = export_srid(fmt, crs)
    bbox_crs = filters.get("bbox_crs")
    where = export_filter(municipality=filters.get("kommunkod"), bbox=filters.get("bbox"),
                          srid=srid_of(bbox_crs) if bbox_crs else STORAGE_SRID)
    filters = {**filters, "kommunkod": where.kommunkod}  # a name becomes its code
    spec = layer_get(layer, user=user, filters=filters)
    return ExportRun.objects.create(
        requested_by=user if getattr(user, "pk", None) else None, via=via, layer=spec.name,
        file_format=fmt.name, srid=srid, filters=filters,
        personal_data=any(c.name in PERSONAL for c in spec.columns))


# Column names that carry personal data, wherever a layer has them.
PERSONAL = frozenset({"contact_name", "contact_email", "contact_phone", "addressee",
                      "addressee_address"})


def _progress_writer(pk: int) -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """Return (write, close): how a running export keeps its progress.

    On PostgreSQL an export reads from one read-only snapshot (a transaction of its own)
    when it is not inside a caller's transaction; its progress is then written on a
    connection of its own, so the page sees it at once. Elsewhere the export's own
    connection writes it.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        def write(written: int, total: int | None) -> None:
            ExportRun.objects.filter(pk=pk).update(written=written, total=total)

        return write, lambda: None
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    table = connection.ops.quote_name(ExportRun._meta.db_table)

    def write_own(written: int, total: int | None) -> None:
        with own.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET written = %s, total = %s "  # noqa: S608
                           "WHERE id = %s", [written, total, pk])

    return write_own, own.close


def export_run_finish(run: ExportRun, status: str, **fields: Any) -> None:
    """Record how an export ended (its status, counts or error, when). The run's record
    was committed before the export began; this last word is committed without waiting
    for the disk on PostgreSQL (``synchronous_commit`` off: the WAL writer flushes it
    within a fraction of a second), where it waited behind the export's own file being
    written out (measured: 0.6 s after a FlatGeobuf of 1,000,000 parcels)."""
    for name, value in {"status": status, **fields, "finished_at": timezone.now()}.items():
        setattr(run, name, value)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        run.save()


def export_run_queue(run: ExportRun) -> None:
    """Make the export in the background (Celery with a broker, inline without), once
    the run's row is committed."""
    from django.db import transaction

    from geodata.tasks import export_layer

    transaction.on_commit(lambda: export_layer.delay(run.pk))


def export_run_make(run: ExportRun) -> ExportRun:
    """Make the export of a recorded run, keeping its progress, then its file or error."""
    ExportRun.objects.filter(pk=run.pk).update(status=ExportRun.Status.RUNNING)
    last = [0.0]
    write, done = _progress_writer(run.pk)

    def progress(written: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or (total is not None and written >= total):
            last[0] = now
            write(written, total)

    filters = run.filters
    fmt = format_get(run.file_format)
    try:
        with tempfile.TemporaryDirectory(prefix="lovkarta-export-") as tmp:
            out = Path(tmp) / f"{run.layer}-{run.pk}{fmt.suffix}"
            result = layer_export(
                run.layer, file_format=run.file_format, out=out, crs=run.srid,
                municipality=filters.get("kommunkod"), bbox=filters.get("bbox"),
                bbox_crs=filters.get("bbox_crs"), progress=progress,
                user=run.requested_by, layer_filters=filters)
            with result.path.open("rb") as handle:
                run.file.save(result.path.name, File(handle), save=False)
        done()
        run.written, run.total = result.features, result.features
        run.status = ExportRun.Status.DONE
    except GeodataError as exc:
        done()
        run.status, run.error = ExportRun.Status.FAILED, str(exc)
    except Exception as exc:  # recorded for the user, then raised for the log and worker
        done()
        export_run_finish(run, ExportRun.Status.FAILED,
                          error=f"{run.layer}: internal error {type(exc).__name__}")
        raise
    export_run_finish(run, run.status)
    log.info("export %s: %s %s, %d features, %s", run.pk, run.layer, run.file_format,
             run.written, run.status)
    return run
