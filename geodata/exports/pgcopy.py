"""Binary COPY from PostgreSQL straight into Arrow record batches (ADBC's driver).

One ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` streams the whole export: ADBC's
PostgreSQL driver (C++) decodes it into Arrow columns, batch by batch, with no Python
object per value; PostGIS transforms the geometries (``ST_Transform`` gives x/y, as every
geometry inside Lovkarta is: measured equal to :mod:`geodata.crs`'s pyproj transformers to
the nanometre for every export CRS) and writes their WKB. Measured at 1,000,000 parcels
this is several times the keyset-paged read through Django's cursor.

The COPY runs on a connection of its own, which sees only committed rows: it imports the
snapshot of the export's read-only transaction (``SET TRANSACTION SNAPSHOT``), so that it
reads exactly what the count saw. Without the driver installed exports fall back to
Django's cursor.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import ClientCursor
from psycopg.conninfo import make_conninfo

from geodata.crs import STORAGE_SRID
from geodata.exports.layers import Layer

try:
    # ADBC's own API, not its DB-API module (which imports pandas: a quarter of a second
    # of every export command's start)
    import adbc_driver_manager
    import adbc_driver_postgresql as adbc
    from adbc_driver_postgresql import StatementOptions
except ImportError:  # pragma: no cover (an optional speed-up)
    adbc = None

# About this many bytes a batch as ADBC cuts the stream (some 8,500 parcels); memory
# holds about three of them (one read ahead, one written, one being decoded).
BATCH_BYTES = 4 << 20
# What of Django's connection OPTIONS libpq understands (the rest are Django's own).
_LIBPQ = frozenset({"options", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
                    "sslpassword", "application_name", "connect_timeout", "passfile",
                    "service", "target_session_attrs", "gssencmode", "channel_binding"})
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$")


def available() -> bool:
    """Return whether exports can read by binary COPY (ADBC's PostgreSQL driver)."""
    return adbc is not None


def conninfo(connection: BaseDatabaseWrapper) -> str:
    """Return the libpq connection string of Django's database (password included)."""
    settings = connection.settings_dict
    params: dict[str, Any] = {"dbname": settings["NAME"], "user": settings["USER"],
                              "password": settings["PASSWORD"], "host": settings["HOST"],
                              "port": settings["PORT"]}
    params.update({k: v for k, v in (settings.get("OPTIONS") or {}).items() if k in _LIBPQ})
    return make_conninfo(**{k: str(v) for k, v in params.items() if v not in (None, "")})


@dataclass(frozen=True)
class CopySource:
    """What a writer needs to run a layer's binary COPY itself: the connection string,
    the snapshot to read in, the columns (name, SQL on ``t``, Arrow type), the geometry's
    SQL (its WKB in the export's CRS), the table (aliased ``t``) and the filter's
    condition on it (its values written in; empty for none)."""

    conninfo: str
    snapshot_id: str
    columns: tuple[tuple[str, str, pa.DataType], ...]
    geometry: str
    table: str
    where: str


def copy_source(layer: Layer, where: str, params: list[Any], *, srid: int,
                connection: BaseDatabaseWrapper, snapshot_id: str) -> CopySource:
    """The layer's rows (``where``: `` WHERE ...`` on the table aliased ``t``, or empty)
    as a COPY to run in ``snapshot_id``."""
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise ValueError(f"cannot read by COPY in snapshot {snapshot_id!r}")
    geom = f"t.{layer.geometry_column}"
    if srid != STORAGE_SRID:
        geom = f"ST_Transform({geom}, {int(srid)})"
    condition = where.removeprefix(" WHERE ")
    if condition:
        with ClientCursor(connection.connection) as client:
            condition = client.mogrify(condition, params)
    return CopySource(
        conninfo=make_conninfo(conninfo(connection), client_encoding="UTF8"),
        snapshot_id=snapshot_id,
        columns=tuple((c.name, c.sql.get("postgresql-copy", c.sql["postgresql"]), c.arrow_type)
                      for c in layer.columns),
        geometry=f"ST_AsBinary({geom})", table=layer.table, where=condition)


def copy_batches(layer: Layer, where: str, params: list[Any], *, srid: int,
                 chunk_rows: int, connection: BaseDatabaseWrapper,
                 snapshot_id: str, bounds: bool = False) -> Iterator[pa.RecordBatch]:
    """Yield the layer's rows (``where`` on the table aliased ``t``) as record batches of
    the layer's schema, at most ``chunk_rows`` rows each, read in ``snapshot_id``; with
    ``bounds``, each geometry's box too (PostGIS measures them, exactly, in its own
    process)."""
    if adbc is None or not _SNAPSHOT_ID.match(snapshot_id):
        raise ValueError(f"cannot read by COPY in snapshot {snapshot_id!r}")
    columns = ", ".join(c.sql.get("postgresql-copy", c.sql["postgresql"]) for c in layer.columns)
    geom = f"t.{layer.geometry_column}"
    if srid != STORAGE_SRID:
        geom = f"ST_Transform({geom}, {int(srid)})"
    # In the table's own order (as ogr2ogr reads it): one snapshot needs no paging, and an
    # index scan by id cost the server a fifth more at 1,000,000 parcels.
    # A geometry transformed is g.g, transformed once for its WKB and, with ``bounds``,
    # its box; one in the table's CRS is read straight (a LATERAL cost the server 0.3 s
    # more at 1,000,000 parcels).
    lateral = srid != STORAGE_SRID
    g = "g.g" if lateral else geom
    box = "".join(f", ST_{m}({g})" for m in ("XMin", "YMin", "XMax", "YMax")) if bounds else ""
    source = (f"{layer.table} t CROSS JOIN LATERAL (SELECT {geom} AS g) g" if lateral
              else f"{layer.table} t")
    sql = f"SELECT {columns}, ST_AsBinary({g}) AS geom{box} FROM {source}{where}"  # noqa: S608
    # COPY takes no parameters: psycopg writes the values into the query as literals,
    # quoted as the server would (strings, and the area's WKB as bytea).
    with ClientCursor(connection.connection) as client:
        query = client.mogrify(sql, params)
    schema = layer.schema(bounds)
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(adbc.connect(conninfo(connection)))
        # A new connection is in autocommit: the transaction is begun by hand
        conn = stack.enter_context(adbc_driver_manager.AdbcConnection(database))
        statement = stack.enter_context(adbc_driver_manager.AdbcStatement(conn))
        for sql_text in ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                         f"SET TRANSACTION SNAPSHOT '{snapshot_id}'"):
            statement.set_sql_query(sql_text)
            statement.execute_update()
        statement.set_options(**{StatementOptions.BATCH_SIZE_HINT_BYTES.value: str(BATCH_BYTES)})
        statement.set_sql_query(query)
        stream, _ = statement.execute_query()
        reader = pa.RecordBatchReader._import_from_c(stream.address)
        try:
            for batch in prefetched(reader):
                conformed = _conform(batch, schema)
                for start in range(0, conformed.num_rows, max(1, chunk_rows)):
                    yield conformed.slice(start, chunk_rows)
        finally:
            reader.close()


_END = object()


def prefetched(batches: Iterable[pa.RecordBatch], depth: int = 1
               ) -> Iterator[pa.RecordBatch]:
    """Yield the batches, read ahead by a thread of their own: the driver decodes the next
    batch (without the GIL) while GDAL writes this one; at most ``depth`` wait."""
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, raised there)
            put(exc)

    thread = threading.Thread(target=read, name="lovkarta-export-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            del item  # not held while the writer works on it
    finally:
        stop.set()
        thread.join()


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Return the batch as the layer's schema (its names and types; a cast only where the
    database's type differs, such as a registered layer's expression; a UUID's 16 bytes
    as its usual text)."""
    arrays = [column if column.type == field.type
              else uuid_text(column) if _is_uuid(column.type) and field.type == pa.string()
              else column.cast(field.type)
              for column, field in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _is_uuid(kind: pa.DataType) -> bool:
    return isinstance(kind, pa.BaseExtensionType) and kind.extension_name == "arrow.uuid"


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Where each of the 16 bytes' two digits go in the 36 characters (the dashes after 8,
# 12, 16 and 20 digits).
_DIGITS = np.array([i + (i >= 8) + (i >= 12) + (i >= 16) + (i >= 20) for i in range(32)])


def uuid_text(column: pa.Array) -> pa.Array:
    """UUIDs (Arrow's uuid extension: 16 bytes each) as text, lower-case with dashes
    (as PostgreSQL writes them), made for the whole column at once."""
    storage = column.storage if isinstance(column.type, pa.BaseExtensionType) else column
    raw = np.frombuffer(storage.buffers()[1], dtype=np.uint8)[
        storage.offset * 16:(storage.offset + len(storage)) * 16].reshape(-1, 16)
    text = np.full((len(storage), 36), ord("-"), dtype=np.uint8)
    text[:, _DIGITS[0::2]] = _HEX[raw >> 4]
    text[:, _DIGITS[1::2]] = _HEX[raw & 0x0F]
    offsets = np.arange(0, 36 * len(storage) + 1, 36, dtype=np.int32)
    validity = None
    if storage.null_count:
        valid = storage.is_valid().to_numpy(zero_copy_only=False)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), len(storage),
                                 [validity, pa.py_buffer(offsets), pa.py_buffer(text)],
                                 null_count=storage.null_count)
