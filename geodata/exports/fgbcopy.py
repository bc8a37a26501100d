"""FlatGeobuf features encoded straight from PostgreSQL's binary COPY, by compiled code.

The array encoder (``fgbwrite``) takes record batches, which ADBC's driver decodes from
the COPY first: at 1,000,000 parcels the decoding cost 1.4 s of CPU and the encoding,
array pass by array pass, another 1.5-1.8 s. Here one loop, compiled by numba, takes
each row of the COPY as libpq receives it (``PQgetCopyData``: one row a call, in
libpq's buffer) and writes its feature at once: the WKB's coordinates into the
flatbuffer, each value as FlatGeobuf holds it (a big-endian number turned round, a UUID
or a date written as text), the feature's size and box kept for the index. No Python
runs per row; Python only writes each filled buffer to the file. A large export's COPY
is split between connections by ranges of the table's pages, and the loop takes the
rows of each as they come.

The features have the layouts ``fgbwrite`` gives them (a point, a multipolygon of any
parts and rings, or no geometry, from the same templates); the properties are written
in the columns' order, as GDAL writes them. The WKB is checked as ``fgbwrite.decode``
checks it, and a row that is not what the layer holds raises ``EncodeError`` naming the
feature and what is wrong; nothing is read past a row's end.

The loop is ``fgbkernel``'s: compiled ahead of time by ``make`` (a C extension of a few
hundred kB that needs neither numba nor LLVM to run), or else by numba when an export
first needs it (its code cached). Without numba or libpq an export takes the array
encoder's path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from geodata.exports.fgbwrite import _MULTI_HEAD, _NONE_HEAD, _SIMPLE_POINT, EncodeError
from geodata.exports.pgcopy import _SNAPSHOT_ID

logger = logging.getLogger(__name__)

# What a column of the COPY holds, as the kernel reads it.
TEXT, UUID, INT2, INT4, INT8, FLOAT8, DATE, WKB = range(8)
# PostgreSQL's type OIDs of each (pg_type.dat)
KIND_OF_OID = {25: TEXT, 1043: TEXT, 1042: TEXT, 19: TEXT, 2950: UUID, 21: INT2, 23: INT4,
               20: INT8, 701: FLOAT8, 1082: DATE, 17: WKB}
# What each Arrow type of a layer's column is read as
KIND_OF_ARROW = {pa.string(): TEXT, pa.large_string(): TEXT, pa.int16(): INT2,
                 pa.int32(): INT4, pa.int64(): INT8, pa.float64(): FLOAT8, pa.date32(): DATE}
CAST_OF_KIND = {TEXT: "text", INT2: "int2", INT4: "int4", INT8: "int8", FLOAT8: "float8",
                DATE: "date"}

# What the kernel returns
_END, _OUT_FULL, _LOST, _BAD_ROW, _BAD_VALUE, _IDLE = range(6)
# The kernel's state, kept between calls: where the output buffer is filled to, how many
# features are done, a row received and not yet written (libpq's pointer, its length and
# its connection), which connection is read from next, and what was wrong with a row.
_FILL, _DONE, _PENDING, _PENDING_LEN, _CONN, _NEXT, _WHAT, _COLUMN = range(8)
_STATE = 8

# What was wrong (_WHAT), as said to the user.
_WHATS = {
    1: "WKB that is not little-endian",
    2: "a geometry with z or m",
    3: "not a point in a Point layer",
    4: "not a polygon or multipolygon in a MultiPolygon layer",
    5: "a geometry's WKB cut short",
    6: "WKB with bytes after its geometry",
    7: "a part of a multipolygon that is not a little-endian 2D polygon",
    8: "a value of the wrong size for its column",
    9: "a date outside the years 1 to 9999",
    10: "a row of the COPY that is not what was asked for",
    11: "a COPY that does not begin with PostgreSQL's binary header",
    12: "more parts, rings or points than the WKB holds",
}

_MULTI = np.array(_MULTI_HEAD, dtype=np.uint32)
_POINT = np.array(_SIMPLE_POINT[1:], dtype=np.uint32)
_NONE = np.array(_NONE_HEAD[1:], dtype=np.uint32)
_SIGNATURE = np.frombuffer(b"PGCOPY\n\xff\r\n\x00", dtype=np.uint8).copy()
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).copy()
# Days from 1970-01-01 to 2000-01-01 (PostgreSQL's dates count from the latter)
_PG_EPOCH_DAYS = 10957


@functools.cache
def _libpq() -> ctypes.CDLL | None:
    """libpq, loaded for ctypes and into the process's global symbols (the compiled
    kernel's calls are linked by name); None where it cannot be found."""
    name = ctypes.util.find_library("pq")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None
    voidp, charp, integer = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for fn, restype, argtypes in (
            ("PQconnectdb", voidp, [charp]), ("PQstatus", integer, [voidp]),
            ("PQerrorMessage", charp, [voidp]), ("PQexec", voidp, [voidp, charp]),
            ("PQresultStatus", integer, [voidp]), ("PQresultErrorMessage", charp, [voidp]),
            ("PQclear", None, [voidp]), ("PQgetResult", voidp, [voidp]),
            ("PQnfields", integer, [voidp]), ("PQftype", ctypes.c_uint, [voidp, integer]),
            ("PQgetvalue", charp, [voidp, integer, integer]), ("PQsocket", integer, [voidp]),
            ("PQserverVersion", integer, [voidp]), ("PQfreemem", None, [voidp]),
            ("PQfinish", None, [voidp])):
        function = getattr(lib, fn)
        function.restype, function.argtypes = restype, argtypes
    return lib


def ahead_name() -> str:
    """The name of the kernel's C extension built from this source (the hash of this
    file and fgbkernel's: one built from other sources is not taken)."""
    digest = hashlib.sha256()
    for name in ("fgbcopy.py", "fgbkernel.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return f"_fgbkernel_{digest.hexdigest()[:16]}"


def built() -> bool:
    """Whether the kernel's C extension is built from this source (and imports: its
    calls to libpq are linked when it is loaded)."""
    if _libpq() is None:
        return False
    try:
        importlib.import_module(f"geodata.exports.{ahead_name()}")
    except Exception:  # noqa: BLE001 (not built, or built for another numpy)
        return False
    return True


@functools.cache
def kernel() -> tuple[Callable[..., int], str] | None:
    """The compiled kernel and how it was compiled ("ahead": the C extension ``make``
    builds; "jit": numba, now), or None without libpq or numba."""
    if _libpq() is None:
        return None
    try:
        module = importlib.import_module(f"geodata.exports.{ahead_name()}")
        return module.kernel, "ahead"
    except Exception as error:  # noqa: BLE001 (not built, or built for another numpy)
        logger.info("FlatGeobuf's kernel is not built (make builds it): numba compiles "
                    "it (%s)", error)
    return jit_kernel()


@functools.cache
def jit_kernel() -> tuple[Callable[..., int], str] | None:
    """The kernel compiled by numba's JIT (its code cached), or None without numba or
    libpq."""
    name = ctypes.util.find_library("pq")
    if _libpq() is None or name is None:
        return None
    try:
        import llvmlite.binding

        from geodata.exports import fgbkernel
    except ImportError:
        return None
    llvmlite.binding.load_library_permanently(name)
    return fgbkernel._kernel, "jit"


def available() -> bool:
    """Whether exports can encode FlatGeobuf from the COPY (libpq and the kernel)."""
    return kernel() is not None


# --- the COPY ------------------------------------------------------------------------

class CopyFailed(RuntimeError):
    """PostgreSQL refused the COPY or its connection failed (the server's message)."""


@dataclass
class Encoded:
    """What ``encode_copy`` wrote: each feature's size (its size prefix included) and
    box (minx, miny, maxx, maxy; NaN for none), in the order written."""

    sizes: np.ndarray
    boxes: np.ndarray


_OUT_BYTES = 8 << 20  # the buffer written to the file at a time (some 17,000 parcels)


class _Connection:
    """A libpq connection of our own (closed with ``close``)."""

    def __init__(self, conninfo: str) -> None:
        lib = _libpq()
        if lib is None:
            raise CopyFailed("libpq is not installed")
        self.lib = lib
        self.conn = self.lib.PQconnectdb(conninfo.encode())
        if not self.conn or self.lib.PQstatus(self.conn) != 0:
            message = self.message()
            self.close()
            raise CopyFailed(message)

    def message(self) -> str:
        if not self.conn:
            return "out of memory"
        text = self.lib.PQerrorMessage(self.conn) or b""
        return text.decode("utf-8", "replace").strip()

    def run(self, sql: str, expect: int) -> Any:
        """Run ``sql``; its result (PQclear it) if its status is ``expect``."""
        result = self.lib.PQexec(self.conn, sql.encode())
        status = self.lib.PQresultStatus(result) if result else -1
        if status != expect:
            message = (self.lib.PQresultErrorMessage(result) if result else b"") or b""
            self.lib.PQclear(result)
            raise CopyFailed(message.decode("utf-8", "replace").strip() or self.message())
        return result

    def execute(self, sql: str) -> None:
        self.lib.PQclear(self.run(sql, 1))  # PGRES_COMMAND_OK

    def begin(self, snapshot_id: str) -> None:
        """Begin a read-only transaction that reads in the snapshot ``snapshot_id``."""
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise CopyFailed(f"not a snapshot: {snapshot_id!r}")
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self.execute(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")

    def value(self, sql: str) -> str:
        """The one value ``sql`` returns, as text."""
        result = self.run(sql, 2)  # PGRES_TUPLES_OK
        try:
            return (self.lib.PQgetvalue(result, 0, 0) or b"").decode()
        finally:
            self.lib.PQclear(result)

    def types(self, sql: str) -> list[int]:
        """The type OIDs of what ``sql`` returns (run with no row)."""
        result = self.run(f"{sql} LIMIT 0", 2)  # PGRES_TUPLES_OK
        try:
            return [self.lib.PQftype(result, i) for i in range(self.lib.PQnfields(result))]
        finally:
            self.lib.PQclear(result)

    def finish_copy(self) -> None:
        """Take the COPY's final result: raise if the server ended it with an error."""
        errors = []
        while True:
            result = self.lib.PQgetResult(self.conn)
            if not result:
                break
            if self.lib.PQresultStatus(result) != 1:
                errors.append((self.lib.PQresultErrorMessage(result) or b"").decode(
                    "utf-8", "replace").strip())
            self.lib.PQclear(result)
        if errors:
            raise CopyFailed("; ".join(e for e in errors if e) or self.message())

    def close(self) -> None:
        if self.conn:
            self.lib.PQfinish(self.conn)
            self.conn = None


def typed_select(columns: list[tuple[str, str, int]], types_of: Callable[[str], list[int]],
                 geometry: str, source: str) -> tuple[str, np.ndarray]:
    """The SELECT the COPY runs, each column cast where the database's type is not what
    its kind (TEXT, INT4...) is read as: ``columns`` are (name, SQL, kind wanted); a UUID
    wanted as TEXT is taken as its 16 bytes. Return it and the kinds read."""
    plain = ", ".join(sql for _, sql, _ in columns)
    found = types_of(f"SELECT {plain} FROM {source}")  # noqa: S608
    parts, kinds = [], []
    for (_, sql, wanted), oid in zip(columns, found, strict=True):
        kind = KIND_OF_OID.get(oid)
        if kind == wanted or (wanted == TEXT and kind == UUID):
            parts.append(sql)
            kinds.append(kind)
        else:
            parts.append(f"({sql})::{CAST_OF_KIND[wanted]}")
            kinds.append(wanted)
    select = f"SELECT {', '.join(parts)}, {geometry} FROM {source}"  # noqa: S608
    return select, np.array(kinds, dtype=np.int64)


# Rows from which an export's COPY is split between connections (the server makes each
# part in a process of its own, and one thread here takes the rows of both as they
# come), and into how many. Measured at 993,512 parcels on two cores, reading and
# encoding to the file: 3.1-3.3 s with two connections, 3.5-3.8 s with one.
SPLIT_FROM = 100_000
CONNECTIONS = 2


def encode_copy(*, conninfo: str, snapshot_id: str, columns: list[tuple[str, str, int]],
                geometry: str, table: str, where: str = "", order: str = "", point: bool,
                out_path: Path, expected: int, progress: Callable[[int], None] | None = None,
                connections: int = CONNECTIONS) -> Encoded:
    """Run ``COPY (SELECT columns, geometry FROM table t WHERE where) TO STDOUT (FORMAT
    binary)`` in the snapshot ``snapshot_id`` on connections of its own and write every
    row's feature to ``out_path``, back to back, in the order they come. ``expected``
    rows are looked for (more are taken); from SPLIT_FROM on, ``connections`` COPYs read
    a part of the table's pages each (PostgreSQL 14's TID range scans), side by side.
    ``order`` (an ORDER BY, for tests) keeps to one connection. ``progress(done)`` is
    called after each buffer written."""
    if kernel() is None:
        raise CopyFailed("libpq or numba is not installed")
    opened: list[_Connection] = []
    try:
        first = _Connection(conninfo)
        opened.append(first)
        first.begin(snapshot_id)
        select, kinds = typed_select(columns, first.types, geometry, f"{table} t")
        parts = 1
        if expected >= SPLIT_FROM and not order and connections > 1 \
                and first.lib.PQserverVersion(first.conn) >= 140000:
            pages = int(first.value(f"SELECT pg_relation_size('{table}'::regclass) / "
                                    "current_setting('block_size')::int"))
            parts = max(1, min(connections, pages))
        while len(opened) < parts:
            opened.append(_Connection(conninfo))
            opened[-1].begin(snapshot_id)
        for i, connection in enumerate(opened):
            conditions = [where] if where else []
            if i > 0:
                conditions.append(f"t.ctid >= '({pages * i // parts},0)'::tid")
            if i < parts - 1:
                conditions.append(f"t.ctid < '({pages * (i + 1) // parts},0)'::tid")
            part = select + (" WHERE " + " AND ".join(conditions) if conditions else "") \
                + (f" ORDER BY {order}" if order else "")
            connection.lib.PQclear(connection.run(
                f"COPY ({part}) TO STDOUT (FORMAT binary)", 3))  # PGRES_COPY_OUT
        encoded = _pump(opened, kinds, point, out_path, expected, progress, columns)
        for connection in opened:
            connection.finish_copy()
            connection.execute("COMMIT")
        return encoded
    finally:
        for connection in opened:
            connection.close()


def _pump(connections: list[_Connection], kinds: np.ndarray, point: bool, out_path: Path,
          expected: int, progress: Callable[[int], None] | None,
          columns: list[tuple[str, str, int]]) -> Encoded:
    run = kernel()
    assert run is not None
    compiled = run[0]
    conns = np.array([c.conn for c in connections], dtype=np.int64)
    # poll()'s struct pollfd for each: its socket, then events POLLIN (revents after)
    polls = np.array([[c.lib.PQsocket(c.conn), 1] for c in connections], dtype=np.int32
                     ).reshape(-1)
    flags = np.zeros(len(connections), dtype=np.int64)
    cell = np.zeros(1, dtype=np.int64)
    state = np.zeros(_STATE, dtype=np.int64)
    out = np.empty(_OUT_BYTES, dtype=np.uint8)
    sizes = np.empty(max(expected, 1024), dtype=np.int64)
    boxes = np.empty((len(sizes), 4), dtype=np.float64)
    written = 0
    with open(out_path, "wb") as file:
        try:
            while True:
                status = compiled(conns, polls, flags, cell, state, kinds, point, out, sizes,
                                  boxes, _MULTI, _POINT, _NONE, _SIGNATURE, _HEX)
                if state[_FILL]:
                    file.write(out[:state[_FILL]].data)
                    state[_FILL] = 0
                if progress is not None and state[_DONE] > written:
                    written = int(state[_DONE])
                    progress(written)
                if status == _END:
                    break
                if status == _IDLE:
                    continue
                if status == _OUT_FULL:
                    if state[_DONE] >= len(sizes):  # more rows than counted
                        sizes = np.resize(sizes, 2 * len(sizes))
                        boxes = np.resize(boxes, (len(sizes), 4))
                    if 4 * state[_PENDING_LEN] + 256 > len(out):  # one row larger than it
                        out = np.empty(4 * int(state[_PENDING_LEN]) + 256, dtype=np.uint8)
                    continue
                if status == _LOST:
                    lost = connections[int(state[_CONN])]
                    raise CopyFailed(lost.message() or "the connection was lost")
                if status == _BAD_ROW:
                    raise CopyFailed(_WHATS[int(state[_WHAT])])
                where = (f", column {columns[int(state[_COLUMN])][0]}"
                         if state[_COLUMN] >= 0 else "")
                raise EncodeError(f"feature {int(state[_DONE]) + 1} of the export{where}: "
                                  f"{_WHATS[int(state[_WHAT])]}")
        finally:
            if state[_PENDING]:  # a row received and not written (an error after it)
                connections[0].lib.PQfreemem(int(state[_PENDING]))
    done = int(state[_DONE])
    return Encoded(sizes[:done], boxes[:done])
