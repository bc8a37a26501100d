"""Writing a sync's pages into the cache: the rows added, changed and gone (``Writer``),
and the pages kept aside until the write where the database has one writer at a time
(``PageStore``, SpatiaLite). ``geodata.sync`` fetches and checks; this module writes."""

from __future__ import annotations

import pickle  # noqa: S403 (only our own pages, written and read by this process)
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils import timezone

from geodata.bulk import insert_rows, update_rows
from geodata.models import Source

Row = tuple[tuple[Any, ...], bytes, str]  # the mapped values, the WKB, the content hash
PageSink = Callable[[Sequence[str], list[Row]], None]

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

    def reset(self) -> None:
        """Forget a failed attempt's figures."""
        for item in fields(self):
            setattr(self, item.name, 0)


class Writer:
    """Write pages of rows into a cache table; remove what vanished at the end.

    On PostgreSQL a page is written by a writer thread on the sync's own connection (so
    in its transaction) while the next page is fetched and read: the database's time
    (index updates) overlaps ours. Only one write is in flight; the thread that reads
    pages does not touch the connection meanwhile. Use as a context manager, so that no
    write is left running when the transaction ends.
    """

    def __init__(self, model: Any, source: Source, full: bool, counts: Counts) -> None:
        self.model, self.source, self.full, self.counts = model, source, full, counts
        self.now = timezone.now()
        # Identities as canonical text, as the field mappers give them.
        self.existing = {str(oid): (pk, digest) for oid, pk, digest in model.objects.filter(
            source=source).values_list("objektidentitet", "id", "content_hash")}
        self.seen: set[str] = set()
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.pool: ThreadPoolExecutor | None = None
        self.pending: Future[None] | None = None
        self.deferred: list[str] = []  # indexes and foreign keys, made again by finish()

    def __enter__(self) -> Writer:
        if self.connection.vendor == "postgresql":
            with self.connection.cursor() as cursor:
                # The cache is derived data: its commit need not wait for the disk. A crash
                # just after may lose the sync (never part of it, and never the run record
                # alone: later commits are lost with it); the next sync fetches it again.
                cursor.execute("SET LOCAL synchronous_commit = off")
                if not self.existing:
                    self.deferred = self._defer_upkeep(cursor)
                # Unless a first load dropped it, the source's foreign key is checked at
                # the end of each page's COPY (on the writer thread, while the next page
                # is read), not all at once at commit, when nothing else is left to do.
                foreign_keys = [] if self.deferred else self._source_foreign_keys(cursor)
                for name in foreign_keys:
                    cursor.execute(f"SET CONSTRAINTS {self.connection.ops.quote_name(name)} "
                                   "IMMEDIATE")
            self.connection.inc_thread_sharing()
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-writer")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            try:
                self._wait()
            except Exception:  # noqa: BLE001 (the first error is already being raised)
                if exc[0] is None:
                    raise
            finally:
                self.pool.shutdown()
                self.connection.dec_thread_sharing()

    def _source_foreign_keys(self, cursor: Any) -> list[str]:
        table = self.model._meta.db_table
        constraints = self.connection.introspection.get_constraints(cursor, table)
        return [name for name, c in constraints.items()
                if c["foreign_key"] and c["columns"] == ["source_id"]]

    def _defer_upkeep(self, cursor: Any) -> list[str]:
        """On a first load into an empty table, drop its plain indexes and foreign keys;
        return the statements that finish() runs to make each again over all the rows.

        Building an index over a loaded table is several times cheaper than keeping it up
        to date row by row (a GiST index above all), and one query checks a foreign key
        for every row at once where a row-by-row check costs as much as the rest of the
        load: this is how pg_restore loads. Dropping them locks the table until commit:
        other readers wait for the first load instead of finding nothing; if another
        transaction holds the table when the load starts, it loads row by row instead,
        without waiting. The primary key and the unique constraint stay (the constraint
        is what makes two syncs of one source collide rather than duplicate). A failed
        sync rolls back, indexes and all.
        """
        table = self.model._meta.db_table
        quote = self.connection.ops.quote_name
        empty = f"SELECT NOT EXISTS (SELECT 1 FROM {quote(table)})"  # noqa: S608 (model's)
        cursor.execute(empty)
        if not cursor.fetchone()[0]:
            return []
        try:
            # Only if nobody is using the table right now: a sync never queues behind a
            # reader (and so never makes other readers queue behind it).
            with transaction.atomic(using=self.connection.alias):
                cursor.execute(f"LOCK TABLE {quote(table)} IN ACCESS EXCLUSIVE MODE NOWAIT")
        except OperationalError:
            return []
        cursor.execute(empty)  # another sync may have filled it before we locked it
        if not cursor.fetchone()[0]:
            return []
        # Checks still deferred in this transaction (a caller's, deleting rows that others
        # refer to) would stop CREATE INDEX at the end: have them made now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "AND NOT i.indisprimary AND NOT i.indisunique AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname", [table])
        indexes = cursor.fetchall()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                       [table])
        foreign_keys = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        for name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        return [definition for _name, definition in indexes] + [
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
            for name, definition in foreign_keys]

    def write(self, fields: Sequence[str], rows: list[Row]) -> None:
        """Insert new rows and update changed ones; rows are (values, WKB, hash)."""
        columns = [*fields, "source", "synced_at", "content_hash", "geom"]
        oid_at = fields.index("objektidentitet")
        new, changed = [], []
        for values, wkb, digest in rows:
            oid = values[oid_at]
            if oid in self.seen:
                continue  # the same feature twice in one sync: keep the first
            self.seen.add(oid)
            old = self.existing.get(oid)
            if old is None:
                new.append((*values, self.source.pk, self.now, digest, wkb))
            elif old[1] != digest:
                changed.append((*values, self.source.pk, self.now, digest, wkb, old[0]))
        self._wait()
        if self.pool is not None:
            self.pending = self.pool.submit(self._store, columns, new, changed)
        else:
            self._store(columns, new, changed)

    def _store(self, columns: list[str], new: list[tuple[Any, ...]],
               changed: list[tuple[Any, ...]]) -> None:
        if new:
            self.counts.added += insert_rows(self.model, columns, new, self.connection)
        if changed:
            update_rows(self.model, columns, changed, self.connection)
            self.counts.changed += len(changed)

    def _wait(self) -> None:
        """Let the write in flight finish; raise its error."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def finish(self) -> None:
        """Make the deferred indexes and foreign keys; remove the features that the source
        no longer has (full syncs only)."""
        self._wait()
        if self.deferred:
            with self.connection.cursor() as cursor:
                for statement in self.deferred:
                    cursor.execute(statement)
            self.deferred = []
        if not self.full:
            return
        vanished = [oid for oid in self.existing if oid not in self.seen]
        for start in range(0, len(vanished), BATCH):
            self.model.objects.filter(
                source=self.source, objektidentitet__in=vanished[start:start + BATCH]).delete()
        self.counts.removed = len(vanished)


class PageStore:
    """A sync's pages of rows, kept in a temporary file until they are written.

    Memory holds a page at a time, as when pages are written as they arrive; the file
    (in TMPDIR) holds the layer, about the size of its WKB and values. It is removed when
    the store is closed, whether the sync succeeded or not.
    """

    def __init__(self) -> None:
        # Closed by __exit__; unlinked at once, so nothing is left even if the process dies.
        self.file = tempfile.TemporaryFile(prefix="lovkarta-sync-")  # noqa: SIM115
        self.pages = 0

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.file.close()

    def add(self, fields: Sequence[str], rows: list[Row]) -> None:
        """Keep one page: its cache fields and its rows."""
        pickle.dump((tuple(fields), rows), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.pages += 1

    def __iter__(self) -> Iterator[tuple[tuple[str, ...], list[Row]]]:
        """Yield the pages in the order they were added."""
        self.file.seek(0)
        for _page in range(self.pages):
            yield pickle.load(self.file)  # noqa: S301 (written by add() above)
