"""Sync a source into the cache: fetch everything, then swap it in within one transaction."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils import timezone

from geodata.errors import GeodataError, SourceError
from geodata.models import Parcel, Source, SyncRun
from geodata.presets import MappingError, parcel_fields
from geodata.sources.base import SourceSpec, client_for
from geodata.sources.geometry import GeometryRejected, as_multipolygon
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
                      page_size=source.page_size)


def http_policy() -> HTTPPolicy:
    """Return the HTTP limits configured in settings."""
    return HTTPPolicy(connect_timeout=settings.LOVKARTA_SOURCE_CONNECT_TIMEOUT,
                      read_timeout=settings.LOVKARTA_SOURCE_READ_TIMEOUT,
                      max_bytes=settings.LOVKARTA_SOURCE_MAX_BYTES)


def _row(record: FeatureRecord, preset: str) -> dict[str, Any]:
    values = parcel_fields(record.properties, preset)
    geom, repaired = as_multipolygon(record.geometry)
    values["objektidentitet"] = uuid.UUID(str(values["objektidentitet"]))
    values["registerenhetsreferens"] = uuid.UUID(str(values["registerenhetsreferens"]))
    wkb = geom.wkb
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(repr(sorted((k, str(v)) for k, v in values.items())).encode())
    digest.update(wkb)
    values["content_hash"] = digest.hexdigest()
    values["geom"] = GEOSGeometry(memoryview(wkb), srid=settings.STORAGE_SRID)
    values["_repaired"] = repaired
    return values


def source_sync(source: Source, bbox: tuple[float, float, float, float] | None = None,
                progress: Progress | None = None) -> SyncRun:
    """Fetch a parcel source and upsert it into the cache; record the run.

    Raises the source's error after recording it; the cache then keeps its last good data.
    """
    run = SyncRun.objects.create(source=source)
    counts = Counts()
    try:
        rows, rejected = _fetch(source, bbox, counts, progress)
        with transaction.atomic():
            _apply(source, rows, full=bbox is None, counts=counts)
    except (GeodataError, SourceError) as exc:
        run.outcome = SyncRun.Outcome.FAILED
        run.error = str(exc)
        _finish(run, counts)
        log.error("sync of %s failed: %s", source.name, exc)
        raise
    for item in rejected[:50]:
        log.warning("%s: rejected feature %s: %s", source.name, item.id, item.reason)
    run.outcome = SyncRun.Outcome.SUCCEEDED
    if rejected:
        run.error = "\n".join(f"{r.id}: {r.reason}" for r in rejected[:1000])
    _finish(run, counts)
    return run


def _finish(run: SyncRun, counts: Counts) -> None:
    run.finished_at = timezone.now()
    run.fetched, run.added, run.changed = counts.fetched, counts.added, counts.changed
    run.removed, run.rejected = counts.removed, counts.rejected
    run.save()


def _fetch(source: Source, bbox: tuple[float, float, float, float] | None, counts: Counts,
           progress: Progress | None) -> tuple[dict[uuid.UUID, dict[str, Any]], list[Rejected]]:
    client = client_for(source_spec(source), http_policy())
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for page in client.pages(bbox):
        rejected.extend(page.rejected)
        for record in page.records:
            try:
                row = _row(record, source.preset)
            except (MappingError, GeometryRejected, ValueError) as exc:
                rejected.append(Rejected(record.id, str(exc)))
                continue
            counts.repaired += row.pop("_repaired")
            rows[row["objektidentitet"]] = row
        counts.fetched += len(page.records) + len(page.rejected)
        if progress:
            progress(counts.fetched, page.matched)
    counts.rejected = len(rejected)
    return rows, rejected


def _apply(source: Source, rows: dict[uuid.UUID, dict[str, Any]], full: bool,
           counts: Counts) -> None:
    now = timezone.now()
    existing = dict(Parcel.objects.filter(source=source).values_list(
        "objektidentitet", "content_hash"))
    new = [Parcel(source=source, synced_at=now, **row) for oid, row in rows.items()
           if oid not in existing]
    Parcel.objects.bulk_create(new, batch_size=BATCH)
    counts.added = len(new)
    changed_ids = [oid for oid, row in rows.items()
                   if oid in existing and existing[oid] != row["content_hash"]]
    if changed_ids:
        by_oid = dict(Parcel.objects.filter(
            source=source, objektidentitet__in=changed_ids).values_list(
            "objektidentitet", "id"))
        updates = [Parcel(id=by_oid[oid], source=source, synced_at=now, **rows[oid])
                   for oid in changed_ids]
        fields = [f for f in rows[changed_ids[0]] if f != "objektidentitet"] + ["synced_at"]
        Parcel.objects.bulk_update(updates, fields, batch_size=BATCH)
    counts.changed = len(changed_ids)
    if full:
        vanished = [oid for oid in existing if oid not in rows]
        for start in range(0, len(vanished), BATCH):
            Parcel.objects.filter(source=source,
                                  objektidentitet__in=vanished[start:start + BATCH]).delete()
        counts.removed = len(vanished)
