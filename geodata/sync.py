"""Sync a source into the cache: fetch everything, then swap it in within one transaction."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils import timezone

from geodata.errors import CRSMismatch, GeodataError, SourceUnavailable
from geodata.kinds import Kind, kind_for
from geodata.models import Source, SyncRun
from geodata.presets import MappingError
from geodata.sources.base import SourceSpec, client_for
from geodata.sources.credentials import credentials_from_env
from geodata.sources.geometry import GeometryRejected
from geodata.sources.http import HTTPPolicy
from geodata.sources.records import FeatureRecord, Rejected

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
BATCH = 2000


@dataclass
class Counts:
    """What a sync did."""

    fetched: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    rejected: int = 0
    repaired: int = 0


def source_spec(source: Source) -> SourceSpec:
    """Return the adapter's view of a registered source."""
    return SourceSpec(name=source.name, protocol=source.protocol, url=source.url,
                      layer=source.layer, crs=source.crs, version=source.version,
                      page_size=source.page_size,
                      credentials=credentials_from_env(source.name, source.auth,
                                                       source.credentials_env))


def http_policy() -> HTTPPolicy:
    """Return the HTTP limits configured in settings."""
    return HTTPPolicy(connect_timeout=settings.LOVKARTA_SOURCE_CONNECT_TIMEOUT,
                      read_timeout=settings.LOVKARTA_SOURCE_READ_TIMEOUT,
                      deadline=settings.LOVKARTA_SOURCE_DEADLINE,
                      max_bytes=settings.LOVKARTA_SOURCE_MAX_BYTES,
                      retries=settings.LOVKARTA_SOURCE_RETRIES,
                      backoff=settings.LOVKARTA_SOURCE_BACKOFF)


def _row(record: FeatureRecord, kind: Kind, preset: str,
         context: dict[str, str]) -> dict[str, Any]:
    values = kind.fields(record.properties, preset, context)
    geom, repaired = kind.geometry(record.geometry)
    wkb = geom.wkb
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(repr(sorted((k, str(v)) for k, v in values.items())).encode())
    digest.update(wkb)
    values["content_hash"] = digest.hexdigest()
    values["geom"] = GEOSGeometry(memoryview(wkb), srid=settings.STORAGE_SRID)
    values["_repaired"] = repaired
    return values


CIRCUIT_THRESHOLD = 3
CIRCUIT_BASE = timedelta(minutes=5)
CIRCUIT_MAX = timedelta(hours=6)


@dataclass
class Fetched:
    """Rows ready for the cache, and what was rejected or repaired on the way."""

    rows: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def source_sync(source: Source, bbox: tuple[float, float, float, float] | None = None,
                progress: Progress | None = None, force: bool = False) -> SyncRun:
    """Fetch a source's features and upsert them into the cache; record the run.

    Readers see the old data or the new, never half: the swap is one transaction.
    On failure the run is recorded, the cache keeps its last good data and the error is
    raised. After repeated failures the circuit opens and the source is left alone for
    a while (``force`` tries anyway).
    """
    now = timezone.now()
    run = SyncRun.objects.create(source=source)
    counts = Counts()
    try:
        if not force and source.circuit_open_until and source.circuit_open_until > now:
            raise SourceUnavailable(source.name, (
                f"skipped after {source.consecutive_failures} failures in a row; next try "
                f"after {timezone.localtime(source.circuit_open_until):%Y-%m-%d %H:%M}"))
        kind = kind_for(source.holds)
        fetched = _fetch(source, kind, bbox, counts, progress)
        with transaction.atomic():
            _apply(kind.model, source, fetched.rows, full=bbox is None, counts=counts)
    except Exception as exc:
        run.outcome = SyncRun.Outcome.FAILED
        run.error = str(exc) if isinstance(exc, GeodataError) else (
            f"{source.name}: internal error {type(exc).__name__}: {exc}")
        _finish(run, counts)
        _circuit_failure(source, opened_before=bool(source.circuit_open_until
                                                    and source.circuit_open_until > now))
        log.error("sync of %s failed: %s", source.name, run.error)
        raise
    for item in fetched.rejected[:50]:
        log.warning("%s: rejected feature %s: %s", source.name, item.id, item.reason)
    run.outcome = SyncRun.Outcome.SUCCEEDED
    run.rejections = "\n".join(f"{r.id}: {r.reason}" for r in fetched.rejected[:10_000])
    run.repairs = "\n".join(fetched.repaired[:10_000])
    _finish(run, counts)
    Source.objects.filter(pk=source.pk).update(consecutive_failures=0, circuit_open_until=None)
    return run


def _circuit_failure(source: Source, opened_before: bool) -> None:
    if opened_before:
        return  # a skipped run is not another failure of the source
    failures = source.consecutive_failures + 1
    open_until = None
    if failures >= CIRCUIT_THRESHOLD:
        open_until = timezone.now() + min(
            CIRCUIT_BASE * 2 ** (failures - CIRCUIT_THRESHOLD), CIRCUIT_MAX)
    Source.objects.filter(pk=source.pk).update(consecutive_failures=failures,
                                               circuit_open_until=open_until)
    source.consecutive_failures, source.circuit_open_until = failures, open_until


def _finish(run: SyncRun, counts: Counts) -> None:
    run.finished_at = timezone.now()
    run.fetched, run.added, run.changed = counts.fetched, counts.added, counts.changed
    run.removed, run.rejected, run.repaired = counts.removed, counts.rejected, counts.repaired
    run.save()


def _fetch(source: Source, kind: Kind, bbox: tuple[float, float, float, float] | None,
           counts: Counts, progress: Progress | None) -> Fetched:
    client = client_for(source_spec(source), http_policy())
    out = Fetched()
    context = {"kommunkod": source.municipality.kommunkod,
               "kommunnamn": source.municipality.name} if source.municipality else {}
    for page in client.pages(bbox):
        out.rejected.extend(page.rejected)
        misplaced = sum("outside Sweden" in r.reason for r in page.rejected)
        if misplaced and misplaced * 2 > len(page.records) + len(page.rejected):
            raise CRSMismatch(f"{source.name}: {misplaced} features of a page lie outside "
                              f"Sweden; check the source's CRS ({source.crs}) and axis order")
        for record in page.records:
            try:
                row = _row(record, kind, source.preset, context)
            except (MappingError, GeometryRejected) as exc:
                out.rejected.append(Rejected(record.id, str(exc)))
                continue
            repair = row.pop("_repaired")
            if repair:
                out.repaired.append(f"{record.id}: {repair}")
            out.rows[row["objektidentitet"]] = row
        counts.fetched += len(page.records) + len(page.rejected)
        if progress:
            progress(counts.fetched, page.matched)
    counts.rejected = len(out.rejected)
    counts.repaired = len(out.repaired)
    return out


def _apply(model: Any, source: Source, rows: dict[uuid.UUID, dict[str, Any]],
           full: bool, counts: Counts) -> None:
    now = timezone.now()
    existing = dict(model.objects.filter(source=source).values_list(
        "objektidentitet", "content_hash"))
    new = [model(source=source, synced_at=now, **row) for oid, row in rows.items()
           if oid not in existing]
    model.objects.bulk_create(new, batch_size=BATCH)
    counts.added = len(new)
    changed_ids = [oid for oid, row in rows.items()
                   if oid in existing and existing[oid] != row["content_hash"]]
    if changed_ids:
        by_oid = dict(model.objects.filter(
            source=source, objektidentitet__in=changed_ids).values_list(
            "objektidentitet", "id"))
        updates = [model(id=by_oid[oid], source=source, synced_at=now, **rows[oid])
                   for oid in changed_ids]
        fields = [f for f in rows[changed_ids[0]] if f != "objektidentitet"] + ["synced_at"]
        model.objects.bulk_update(updates, fields, batch_size=BATCH)
    counts.changed = len(changed_ids)
    if full:
        vanished = [oid for oid in existing if oid not in rows]
        for start in range(0, len(vanished), BATCH):
            model.objects.filter(source=source,
                                 objektidentitet__in=vanished[start:start + BATCH]).delete()
        counts.removed = len(vanished)
