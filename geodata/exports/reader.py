"""The streamed reader: a layer's rows in chunks, as Arrow record batches in a target CRS.

On PostgreSQL, when the export reads its own snapshot (``snapshot`` below), the rows come
as Arrow columns straight from one binary ``COPY (SELECT ...) TO STDOUT`` through ADBC's
PostgreSQL driver (``pgcopy.py``), PostGIS transforming and writing the WKB: no Python
object per value. Otherwise (SpatiaLite, or inside a caller's transaction, whose
uncommitted rows another connection cannot see) rows are keyset-paged by primary key
(``id > last ORDER BY id LIMIT n``: every page costs the same however deep) through
Django's connection and transformed here. Either way the filters are applied in SQL and
memory holds about one chunk at a time whatever the layer's size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from geodata.crs import STORAGE_SRID, to_srid
from geodata.exports import pgcopy
from geodata.exports.filters import ExportFilter
from geodata.exports.layers import BOUNDS_COLUMNS, Layer

# Rows a chunk: measured at 100,000 parcels, a chunk of 50,000 cost about 200 MB over the
# process's own (Django, GDAL and PROJ: about 290 MB), one of 10,000 about 75 MB, at the
# same speed.
CHUNK_ROWS = 10_000


def _where(layer: Layer, export_filter: ExportFilter, vendor: str,
           extra: list[str] | None = None) -> tuple[str, list[Any]]:
    clauses, params = export_filter.where(layer, vendor)
    clauses += extra or []
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def layer_count(layer: Layer, export_filter: ExportFilter,
                connection: BaseDatabaseWrapper = default_connection) -> int | None:
    """Return how many rows of the layer the filter takes (None for a layer its app
    builds: known once built)."""
    if layer.rows is not None:
        return None
    where, params = _where(layer, export_filter, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {layer.table} t{where}", params)  # noqa: S608
        return int(cursor.fetchone()[0])


def layer_batches(layer: Layer, export_filter: ExportFilter, *, srid: int,
                  chunk_rows: int = CHUNK_ROWS,
                  connection: BaseDatabaseWrapper = default_connection,
                  snapshot_id: str | None = None,
                  bounds: bool = False) -> Iterator[pa.RecordBatch]:
    """Yield the layer's rows the filter takes, at most ``chunk_rows`` at a time, in
    ``srid``; read by binary COPY in the snapshot ``snapshot_id`` when one is given.
    With ``bounds``, each geometry's box follows it (``layer.schema(bounds=True)``)."""
    vendor = connection.vendor
    if snapshot_id is not None and vendor == "postgresql" and layer.rows is None:
        where, params = _where(layer, export_filter, vendor)
        yield from pgcopy.copy_batches(layer, where, params, srid=srid, chunk_rows=chunk_rows,
                                     connection=connection, snapshot_id=snapshot_id,
                                     bounds=bounds)
        return
    for batch in _python_batches(layer, export_filter, srid=srid, chunk_rows=chunk_rows,
                                 connection=connection):
        yield with_bounds(batch) if bounds else batch


def copy_source(layer: Layer, export_filter: ExportFilter, *, srid: int,
                snapshot_id: str | None,
                connection: BaseDatabaseWrapper = default_connection
                ) -> pgcopy.CopySource | None:
    """The layer's rows the filter takes, in ``srid``, as a binary COPY a writer runs
    itself in the snapshot ``snapshot_id``; None where they cannot be read so (not
    PostgreSQL, no snapshot, or a layer its app builds)."""
    vendor = connection.vendor
    if snapshot_id is None or vendor != "postgresql" or layer.rows is not None:
        return None
    where, params = _where(layer, export_filter, vendor)
    return pgcopy.copy_source(layer, where, params, srid=srid, connection=connection,
                              snapshot_id=snapshot_id)


def with_bounds(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with each geometry's box after it (BOUNDS_COLUMNS; NaN for none)."""
    boxes = shapely.bounds(shapely.from_wkb(
        batch.column("geom").to_numpy(zero_copy_only=False)))
    return pa.RecordBatch.from_arrays(
        [*batch.columns, *(pa.array(boxes[:, i]) for i in range(4))],
        names=[*batch.schema.names, *BOUNDS_COLUMNS])


def _python_batches(layer: Layer, export_filter: ExportFilter, *, srid: int,
                    chunk_rows: int, connection: BaseDatabaseWrapper
                    ) -> Iterator[pa.RecordBatch]:
    """The layer's rows read through Django's connection (keyset-paged), or as its app
    builds them."""
    vendor = connection.vendor
    if layer.rows is not None:
        yield from _built_batches(layer, export_filter, srid=srid, chunk_rows=chunk_rows)
        return
    columns = ", ".join(c.sql[vendor] for c in layer.columns)
    column = f"t.{layer.geometry_column}"
    geom = f"ST_AsBinary({column})" if vendor == "postgresql" else f"AsBinary({column})"
    where, params = _where(layer, export_filter, vendor, ["t.id > %s"])
    sql = (f"SELECT t.id, {columns}, {geom} FROM {layer.table} t{where} "  # noqa: S608
           "ORDER BY t.id LIMIT %s")
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [*params, last, chunk_rows])
            rows = cursor.fetchall()
            if not rows:
                return
            last, count = rows[-1][0], len(rows)
            batch = _batch(layer, rows, srid)
            del rows  # not held while the writer works on the batch
            yield batch
            if count < chunk_rows:
                return


def _built_batches(layer: Layer, export_filter: ExportFilter, *, srid: int,
                   chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Yield the rows an app builds for the layer, those in the filter's area, in chunks
    (the municipality is the app's to apply)."""
    assert layer.rows is not None
    area = export_filter.area
    if area is not None:
        shapely.prepare(area)  # tested against every row
    rows: list[tuple[Any, ...]] = []
    for values, wkb in layer.rows():
        if area is not None and not shapely.intersects(area, shapely.from_wkb(wkb)):
            continue
        rows.append((0, *values, wkb))  # in the place of a table's id
        if len(rows) >= chunk_rows:
            yield _batch(layer, rows, srid)
            rows = []
    if rows:
        yield _batch(layer, rows, srid)


def _batch(layer: Layer, rows: list[tuple[Any, ...]], srid: int) -> pa.RecordBatch:
    values = list(zip(*rows, strict=True))
    arrays = [column.arrow(v) for column, v in zip(layer.columns, values[1:-1], strict=True)]
    wkb = values[-1]
    if srid != STORAGE_SRID:
        # One call transforms every coordinate of the chunk (shapely hands them to pyproj
        # as one array).
        geoms = to_srid(shapely.from_wkb(np.asarray(wkb, dtype=object)), STORAGE_SRID, srid)
        wkb = shapely.to_wkb(geoms)
    arrays.append(pa.array(wkb, pa.binary()))
    return pa.RecordBatch.from_arrays(arrays, schema=layer.schema())


@contextlib.contextmanager
def snapshot(connection: BaseDatabaseWrapper = default_connection
             ) -> Iterator[str | None]:
    """Read every chunk of an export (and its count) from one snapshot, where possible.

    On PostgreSQL a read-only REPEATABLE READ transaction: a sync committing meanwhile
    neither adds rows to nor removes rows from an export under way. Its snapshot is
    exported and its id given, so that the binary COPY reads on a connection of its own
    what the count saw (None where the COPY cannot be used). Inside a transaction the
    caller already has (a test, a task), or on SQLite (whose transactions here take the
    write lock at their start, which would hold syncs back for the whole export), each
    chunk reads the data as it is then, through Django's connection.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield None
        return
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot_id = None
            if pgcopy.available():
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot_id = str(cursor.fetchone()[0])
        yield snapshot_id
