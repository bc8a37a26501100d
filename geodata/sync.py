"""Sync a source into the cache: readers see the old data or the new, never half.

On PostgreSQL pages are written as they arrive, in one transaction (a writer there locks
only the rows it writes). SpatiaLite has one writer at a time for the whole database, so
there every page is fetched and checked first, with no transaction open, into a temporary
file (:class:`PageStore`), and then written in one short transaction: an applicant's save
or submit never waits for a remote server.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from geodata.cachewrite import Counts, PageSink, PageStore, Writer
from geodata.errors import (
    CRSMismatch,
    GeodataError,
    IncompleteRead,
    PagingUnstable,
    SourceUnavailable,
    UnsupportedSource,
)
from geodata.hooks import sync_changed
from geodata.kinds import Kind, kind_for
from geodata.models import CatalogueEntry, Source, SyncRun
from geodata.presets import PRESETS, MappingError
from geodata.sources.base import SourceSpec, client_for
from geodata.sources.boverket import CATALOGUE_FIELDS, BoverketCatalogueClient
from geodata.sources.credentials import credentials_from_env
from geodata.sources.filters import FilterError, Filters, parse_filters
from geodata.sources.geometry import GeometryRejected, coerce_many
from geodata.sources.http import HTTPPolicy
from geodata.sources.paging import ServerCount
from geodata.sources.records import Page, Rejected
from geodata.sources.wms import describe as describe_wms
from geodata.sources.wmts import WMTSClient

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
def source_spec(source: Source, sorted_paging: bool = False) -> SourceSpec:
    """Return the adapter's view of a registered source."""
    mapping = PRESETS.get(source.holds, {}).get(source.preset, {})
    return SourceSpec(name=source.name, protocol=source.protocol, url=source.url,
                      layer=source.layer, crs=source.crs, version=source.version,
                      page_size=source.page_size,
                      id_field=mapping.get("objektidentitet", "objektidentitet"),
                      credentials=credentials_from_env(source.name, source.auth,
                                                       source.credentials_env),
                      filters=_filters(source), sorted_paging=sorted_paging)


def _filters(source: Source) -> Filters:
    try:
        return parse_filters(source.filter)
    except FilterError as exc:
        raise UnsupportedSource(f"{source.name}: attribute filter: {exc}") from exc


def http_policy() -> HTTPPolicy:
    """Return the HTTP limits configured in settings."""
    return HTTPPolicy(connect_timeout=settings.LOVKARTA_SOURCE_CONNECT_TIMEOUT,
                      read_timeout=settings.LOVKARTA_SOURCE_READ_TIMEOUT,
                      deadline=settings.LOVKARTA_SOURCE_DEADLINE,
                      max_bytes=settings.LOVKARTA_SOURCE_MAX_BYTES,
                      retries=settings.LOVKARTA_SOURCE_RETRIES,
                      backoff=settings.LOVKARTA_SOURCE_BACKOFF,
                      parallel=settings.LOVKARTA_SOURCE_PARALLEL_REQUESTS)


CIRCUIT_THRESHOLD = 3
CIRCUIT_BASE = timedelta(minutes=5)
CIRCUIT_MAX = timedelta(hours=6)


@dataclass
class Fetched:
    """What was rejected or repaired on the way into the cache."""

    rejected: list[Rejected] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    version: str = ""  # of the source's first answer (ETag, Last-Modified, timeStamp)
    count: ServerCount = field(default_factory=ServerCount)  # what the server said it had


def source_sync(source: Source, bbox: tuple[float, float, float, float] | None = None,
                progress: Progress | None = None, force: bool = False) -> SyncRun:
    """Fetch a source's features and upsert them into the cache; record the run.

    Readers see the old data or the new, never half: the sync writes in one transaction,
    and memory holds a page, not the whole layer (pages are written as they arrive on
    PostgreSQL, kept in a temporary file until the write on SpatiaLite, where the write
    lock is not held while the source is read).
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
        if source.holds == Source.Holds.CATALOGUE:
            fetched = _sync_catalogue(source, counts, progress)
        elif source.holds == Source.Holds.BACKGROUND:
            fetched = Fetched()
            run.source_version = _sync_background(source)
        else:
            with _fewer_collections():
                fetched = _sync_features(source, bbox, counts, progress)
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
    run.server_count, run.server_count_exact = fetched.count.value, fetched.count.exact
    run.source_version = run.source_version or fetched.version
    run.rejections = "\n".join(f"{r.id}: {r.reason}" for r in fetched.rejected[:10_000])
    run.repairs = "\n".join(fetched.repaired[:10_000])
    _finish(run, counts)
    Source.objects.filter(pk=source.pk).update(consecutive_failures=0, circuit_open_until=None)
    sync_changed(source, run)  # e.g. re-check the open cases that read this layer
    return run


def _sync_features(source: Source, bbox: tuple[float, float, float, float] | None,
                   counts: Counts, progress: Progress | None) -> Fetched:
    """Page a feature source into its cache table; write it in one transaction.

    Readers (and a failed sync) see the last good data until it commits. On SpatiaLite
    every page is fetched before the transaction begins (see the module's docstring). A
    WFS is paged in its own order first; if that order proves unstable (a feature twice,
    or fewer than counted), the attempt is dropped (rolled back, or never written) and
    the layer paged again, sorted by identity.
    """
    kind = kind_for(source.holds)

    def attempt(sorted_paging: bool) -> Fetched:
        if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
            with transaction.atomic(), Writer(kind.model, source, full=bbox is None,
                                               counts=counts) as writer:
                fetched = _fetch(source, kind, bbox, counts, progress, writer.write,
                                 sorted_paging)
                writer.finish()
            return fetched
        with PageStore() as store:
            fetched = _fetch(source, kind, bbox, counts, progress, store.add, sorted_paging)
            # Only now the write lock: the diff against the cache as it is at this moment.
            with transaction.atomic(), Writer(kind.model, source, full=bbox is None,
                                               counts=counts) as writer:
                for fields, rows in store:
                    writer.write(fields, rows)
                    gc.collect(1)  # as for a fetched page, see _fewer_collections
                writer.finish()
        return fetched

    try:
        return attempt(sorted_paging=False)
    except PagingUnstable as exc:
        if source.protocol != Source.Protocol.WFS:  # only a WFS can be asked to sort
            raise
        log.warning("%s; paging again, sorted by identity", exc)
        counts.reset()
        return attempt(sorted_paging=True)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the garbage collector less often during a feature sync.

    A page makes tens of thousands of short-lived containers (rows, tuples, geometries)
    that reference counting frees; with the default thresholds the collector still
    traverses them (and every older object) over and over: an eighth of a sync's CPU
    time. Objects that exist before the sync are frozen out of collection, automatic
    young collections come 70 times less often, and the sync collects the young
    generations once a page, so that cycles (a page's worth at most) are still freed and
    memory stays as it was.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


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


def _sync_background(source: Source) -> str:
    """Read a background map's capabilities; keep what drawing it needs on the source.

    A WMTS gives its tile URLs and matrix sets (axes normalised); a WMS is checked to
    offer every layer the source names. The last good description stays if this fails.
    """
    spec = source_spec(source)
    if source.protocol == Source.Protocol.WMTS:
        layer = WMTSClient(spec.name, spec.url, spec.layer, http_policy(),
                           spec.credentials).describe()
        info, version = layer.as_info(), layer.version
    elif source.protocol == Source.Protocol.WMS:
        info, version = describe_wms(spec.name, spec.url, spec.layer, http_policy(),
                                     spec.credentials)
    else:
        raise UnsupportedSource(f"{source.name}: a background map is a WMS or a WMTS, "
                                f"not {source.protocol!r}")
    Source.objects.filter(pk=source.pk).update(service_info=info)
    source.service_info = info
    return version


def _sync_catalogue(source: Source, counts: Counts, progress: Progress | None) -> Fetched:
    """Replace a source's catalogue records with the release it offers (its version).

    The records (a few thousand) are read first, then written in one transaction.
    """
    client = client_for(source_spec(source), http_policy())
    assert isinstance(client, BoverketCatalogueClient)
    release = ""
    records: dict[str, tuple[str, dict[str, Any]]] = {}
    for release, record in client.records():
        values = {name: record.get(name) or "" for name in CATALOGUE_FIELDS}
        for day in ("borjargalla", "slutargalla"):
            values[day] = _day(values[day])
        records[str(record["id"])] = (release, values)
        counts.fetched += 1
        if progress and counts.fetched % 100 == 0:
            progress(counts.fetched, None)
    _check_complete(source, client.count, counts.fetched)
    with transaction.atomic():
        _write_catalogue(source, records, counts)
    if progress:
        progress(counts.fetched, counts.fetched)
    return Fetched(version=release, count=client.count)


def _write_catalogue(source: Source, records: dict[str, tuple[str, dict[str, Any]]],
                     counts: Counts) -> None:
    existing = {str(e.catalogue_id): e for e in CatalogueEntry.objects.filter(source=source)}
    for key, (release, values) in records.items():
        old = existing.get(key)
        if old is None:
            CatalogueEntry.objects.create(source=source, release=release,
                                          catalogue_id=key, **values)
            counts.added += 1
        elif any(getattr(old, k) != v for k, v in values.items()) or old.release != release:
            for name, value in values.items():
                setattr(old, name, value)
            old.release = release
            old.save()
            counts.changed += 1
    vanished = [e.pk for k, e in existing.items() if k not in records]
    CatalogueEntry.objects.filter(pk__in=vanished).delete()
    counts.removed = len(vanished)


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _fetch(source: Source, kind: Kind, bbox: tuple[float, float, float, float] | None,
           counts: Counts, progress: Progress | None, write: PageSink,
           sorted_paging: bool = False) -> Fetched:
    """Read every page of a source; hand each page's rows to ``write``."""
    client = client_for(source_spec(source, sorted_paging), http_policy())
    out = Fetched()
    context = {"kommunkod": source.municipality.kommunkod,
               "kommunnamn": source.municipality.name} if source.municipality else {}
    for page in client.pages(bbox):
        out.version = out.version or page.version
        out.rejected.extend(page.rejected)
        misplaced = sum("outside Sweden" in r.reason for r in page.rejected)
        if misplaced and misplaced * 2 > page.accepted + len(page.rejected):
            raise CRSMismatch(f"{source.name}: {misplaced} features of a page lie outside "
                              f"Sweden; check the source's CRS ({source.crs}) and axis order")
        ids, geoms, fields, mapped = _map_page(page, kind, source.preset, context)
        rows = []
        geometries = coerce_many(geoms, kind.geometry)
        for fid, geometry, values in zip(ids, geometries, mapped, strict=True):
            if isinstance(geometry, GeometryRejected):
                out.rejected.append(Rejected(fid, str(geometry)))
                continue
            if isinstance(values, MappingError):
                out.rejected.append(Rejected(fid, str(values)))
                continue
            wkb, repair = geometry
            if repair:
                out.repaired.append(f"{fid}: {repair}")
            # What changed is decided by the mapped values and the geometry.
            digest = hashlib.sha1(repr(values).encode(), usedforsecurity=False)
            digest.update(wkb)
            rows.append((values, wkb, digest.hexdigest()))
        if rows:
            write(fields, rows)
        # The young objects of a page, cycles included (GDAL's reader leaves a few holding
        # the page's arrays), are collected once a page; see _fewer_collections.
        gc.collect(1)
        counts.fetched += page.size
        if progress:
            progress(counts.fetched, page.matched)
    out.count = client.count
    _check_complete(source, client.count, counts.fetched)
    counts.rejected = len(out.rejected)
    counts.repaired = len(out.repaired)
    return out


def _check_complete(source: Source, count: ServerCount, read: int) -> None:
    """Refuse a sync that did not read what the server said it has: a full sync would
    remove what it did not see, so the attempt is rolled back (the caller's transaction)."""
    shortfall = count.shortfall(read)
    if shortfall:
        raise IncompleteRead(source.name, f"{shortfall}; the layer was not read to the end, "
                                          "so the cache keeps its last good data")


MappedPage = tuple[list[str], list[Any], tuple[str, ...], list[tuple[Any, ...] | MappingError]]


def _map_page(page: Page, kind: Kind, preset: str, context: dict[str, str]) -> MappedPage:
    """Return a page's ids, geometries, the cache fields and each feature's values in
    their order (or why it cannot be mapped): a page at once where the kind can, feature
    by feature otherwise."""
    table = page.table
    if kind.rows is not None:
        if table is not None:
            ids, geoms, column, count = (table.ids, table.geometries, table.column,
                                         len(table.ids))
        else:
            records = page.records
            ids, geoms = [r.id for r in records], [r.geometry for r in records]

            def column(name: str) -> list[Any]:
                return [r.properties.get(name) for r in records]

            count = len(records)
        done = kind.rows(column, count, preset, context)
        if done is not None:
            return ids, geoms, *done
    records = table.records() if table is not None else page.records
    fields: tuple[str, ...] = ()
    take: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None
    mapped: list[tuple[Any, ...] | MappingError] = []
    for record in records:
        try:
            values = kind.fields(record.properties, preset, context)
        except MappingError as exc:
            mapped.append(exc)
            continue
        if take is None:
            fields = tuple(values)
            take = operator.itemgetter(*fields)  # the values in field order
        mapped.append(take(values))
    return [r.id for r in records], [r.geometry for r in records], fields, mapped
