"""FlatGeobuf features encoded straight from PostgreSQL's binary COPY, by compiled code.

The array encoder (``fgbwrite``) takes record batches, which ADBC's driver decodes from
the COPY first: at 1,000,000 parcels the decoding cost 1.4 s of CPU and the encoding,
array pass by array pass, another 1.5-1.8 s. Here one loop, compiled by numba, takes
each row of the COPY as libpq receives it (``PQgetCopyData``: one row a call, in
libpq's buffer) and writes its feature at once: the WKB's coordinates into the
flatbuffer, each value as FlatGeobuf holds it (a big-endian number turned round, a UUID
or a date written as text), the feature's size and box kept for the index. No Python
runs per row; Python only writes each filled buffer to the file.

The features have the layouts ``fgbwrite`` gives them (a point, a multipolygon of any
parts and rings, or no geometry, from the same templates); the properties are written
in the columns' order, as GDAL writes them. The WKB is checked as ``fgbwrite.decode``
checks it, and a row that is not what the layer holds raises ``EncodeError`` naming the
feature and what is wrong; nothing is read past a row's end.

The compiled code is cached beside this file (numba's ``cache=True``, or its user cache
where this folder cannot be written): an export compiles it once per installation.
Without numba or libpq an export takes the array encoder's path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pyarrow as pa

from geodata.exports.fgbwrite import _MULTI_HEAD, _NONE_HEAD, _SIMPLE_POINT, EncodeError

try:
    import llvmlite.binding
    import numba
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover (an optional speed-up)
    numba = None  # type: ignore[assignment]

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
_END, _OUT_FULL, _LOST, _BAD_ROW, _BAD_VALUE = range(5)
# The kernel's state, kept between calls: where the output buffer is filled to, how many
# features are done, whether the COPY's header was read, a row received and not yet
# written (libpq's pointer and its length), and what was wrong with a row.
_FILL, _DONE, _HEADER, _PENDING, _PENDING_LEN, _WHAT, _COLUMN = range(7)
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
_SIGNATURE = np.frombuffer(b"PGCOPY\n\xff\r\n\x00", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Days from 1970-01-01 to 2000-01-01 (PostgreSQL's dates count from the latter)
_PG_EPOCH_DAYS = 10957


@functools.cache
def _libpq() -> tuple[ctypes.CDLL, str] | None:
    """libpq, loaded for ctypes and for the compiled code (whose calls are linked by
    name); None where it cannot be found."""
    name = ctypes.util.find_library("pq")
    if name is None or numba is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        llvmlite.binding.load_library_permanently(name)
    except OSError:
        return None
    voidp, charp, integer = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for fn, restype, argtypes in (
            ("PQconnectdb", voidp, [charp]), ("PQstatus", integer, [voidp]),
            ("PQerrorMessage", charp, [voidp]), ("PQexec", voidp, [voidp, charp]),
            ("PQresultStatus", integer, [voidp]), ("PQresultErrorMessage", charp, [voidp]),
            ("PQclear", None, [voidp]), ("PQgetResult", voidp, [voidp]),
            ("PQnfields", integer, [voidp]), ("PQftype", ctypes.c_uint, [voidp, integer]),
            ("PQfinish", None, [voidp])):
        function = getattr(lib, fn)
        function.restype, function.argtypes = restype, argtypes
    return lib, name


def available() -> bool:
    """Whether exports can encode FlatGeobuf from the COPY (numba and libpq are here)."""
    return _libpq() is not None


# --- the compiled kernel ---------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])

if numba is not None:
    # libpq's calls, linked by name (a pointer passed as the 64-bit integer it is)
    _get_copy_data: Any = types.ExternalFunction(
        "PQgetCopyData", types.int32(types.int64, types.int64, types.int32))  # type: ignore[call-overload]
    _free: Any = types.ExternalFunction("PQfreemem", types.void(types.int64))  # type: ignore[call-overload]

    @intrinsic
    def _pointer_of(typingctx: Any, address: Any) -> Any:
        """The address (an int64) as a pointer, for ``numba.carray``."""
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.inttoptr(args[0], ir.IntType(8).as_pointer())
        return types.voidptr(address), codegen

    @intrinsic
    def _f64_of(typingctx: Any, bits: Any) -> Any:
        """The 64 bits (an int64) as the float64 they are."""
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], ir.DoubleType())
        return types.float64(types.int64), codegen  # type: ignore[call-overload]

    _pointer: Callable[[int], Any] = _pointer_of  # type: ignore[assignment]
    _as_f64: Callable[[int], float] = _f64_of  # type: ignore[assignment]


def jit(**options: Any) -> Callable[[F], F]:
    """numba's njit, its compiled code cached, without the GIL and without bounds checks
    (every index is checked against the row's end by the code itself)."""
    if numba is None:  # pragma: no cover
        return lambda fn: fn
    return cast(Callable[[F], F], numba.njit(cache=True, nogil=True, boundscheck=False,
                                             **options))


@jit(inline="always")
def _le32(b: np.ndarray, i: int) -> Any:
    return (np.int64(b[i]) | (np.int64(b[i + 1]) << 8) | (np.int64(b[i + 2]) << 16)
            | (np.int64(b[i + 3]) << 24))


@jit(inline="always")
def _le64(b: np.ndarray, i: int) -> Any:
    return _le32(b, i) | (_le32(b, i + 4) << 32)


@jit(inline="always")
def _be32(b: np.ndarray, i: int) -> Any:
    """A big-endian int32 (signed)."""
    v = ((np.int64(b[i]) << 24) | (np.int64(b[i + 1]) << 16) | (np.int64(b[i + 2]) << 8)
         | np.int64(b[i + 3]))
    return v - (np.int64(1) << 32) if v >= (np.int64(1) << 31) else v


@jit(inline="always")
def _put32(out: np.ndarray, at: int, v: Any) -> None:
    out[at] = v & 0xFF
    out[at + 1] = (v >> 8) & 0xFF
    out[at + 2] = (v >> 16) & 0xFF
    out[at + 3] = (v >> 24) & 0xFF


@jit(inline="always")
def _put_words(out: np.ndarray, at: int, words: np.ndarray) -> None:
    for k in range(words.size):
        _put32(out, at + 4 * k, np.int64(words[k]))


@jit()
def _geometry(row: np.ndarray, gs: int, ge: int, point: bool, out: np.ndarray, f: int,
              box: np.ndarray, multi_head: np.ndarray, point_head: np.ndarray,
              none_head: np.ndarray) -> int:
    """Write the feature's flatbuffer from byte ``f`` of ``out`` up to its properties
    vector (the WKB is ``row[gs:ge]``; ``gs`` -1 for none), its box into ``box``
    (NaN for none). Return where the properties vector goes (from ``f``), or minus the
    code of what is wrong."""
    nan = np.nan
    box[0] = box[1] = box[2] = box[3] = nan
    if gs < 0 or ge - gs < 5:
        _put_words(out, f, none_head)
        return 24
    if row[gs] != 1:
        return -1
    kind = _le32(row, gs + 1)
    if (kind & 0xC0000000) != 0 or (kind & 0xFFFF) >= 1000:
        return -2
    base = kind & 0xFFFF
    c = gs + 5 + (4 if kind & 0x20000000 else 0)
    if point:
        if base != 1:
            return -3
        if c + 16 > ge:
            return -5
        if c + 16 < ge:
            return -6
        x = _as_f64(_le64(row, c))
        y = _as_f64(_le64(row, c + 8))
        if np.isnan(x) or np.isnan(y):
            _put_words(out, f, none_head)
            return 24
        _put_words(out, f, point_head)
        out[f + 64:f + 80] = row[c:c + 16]
        box[0] = box[2] = x
        box[1] = box[3] = y
        return 80
    if base == 6:
        if c + 4 > ge:
            return -5
        parts = _le32(row, c)
        c += 4
        if parts * 9 > ge - c:
            return -12
    elif base == 3:
        parts = 1
    else:
        return -4
    _put_words(out, f, multi_head)
    # The parts vector at 76, the part tables after it, then each part's block (its ends
    # and xy vectors), 8-aligned
    _put32(out, f + 76, parts)
    block = 80 + 20 * parts + 4 * (parts % 2)
    if parts % 2:
        _put32(out, f + block - 4, 0)
    minx = miny = np.inf
    maxx = maxy = -np.inf
    total = 0
    for k in range(parts):
        table = 80 + 4 * parts + 16 * k
        _put32(out, f + 80 + 4 * k, 4 * parts + 12 * k)
        if base == 6:
            if c + 9 > ge:
                return -5
            if row[c] != 1 or _le32(row, c + 1) != 3:
                return -7
            c += 5
        if c + 4 > ge:
            return -5
        rings = _le32(row, c)
        c += 4
        if rings * 4 > ge - c:
            return -12
        xy_len = block + 4 + 4 * rings + 4 * (rings % 2)
        xy = xy_len + 4
        _put32(out, f + table, table - 56)
        _put32(out, f + table + 4, block - table - 4)
        _put32(out, f + table + 8, xy_len - table - 8)
        _put32(out, f + table + 12, 3)
        _put32(out, f + block, rings)
        if rings % 2:
            _put32(out, f + xy_len - 4, 0)
        points = 0
        for r in range(rings):
            if c + 4 > ge:
                return -5
            n = _le32(row, c)
            c += 4
            if n * 16 > ge - c:
                return -12
            out[f + xy + 16 * points:f + xy + 16 * (points + n)] = row[c:c + 16 * n]
            for _ in range(n):
                x = _as_f64(_le64(row, c))
                y = _as_f64(_le64(row, c + 8))
                c += 16
                minx = min(minx, x)
                maxx = max(maxx, x)
                miny = min(miny, y)
                maxy = max(maxy, y)
            points += n
            _put32(out, f + block + 4 + 4 * r, points)
        _put32(out, f + xy_len, 2 * points)
        total += points
        block = xy + 16 * points
    if c != ge:
        return -6
    if total == 0:  # empty: no geometry
        _put_words(out, f, none_head)
        return 24
    box[0], box[1], box[2], box[3] = minx, miny, maxx, maxy
    _put32(out, f + 20, block - 20)
    return block


@jit(inline="always")
def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 as (year, month, day) of the civil calendar."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


@jit(inline="always")
def _digits(out: np.ndarray, at: int, value: int, width: int) -> None:
    for k in range(width):
        out[at + width - 1 - k] = 48 + value % 10
        value //= 10


@jit()
def _properties(row: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                kinds: np.ndarray, out: np.ndarray, at: int, hexdigits: np.ndarray
                ) -> int:
    """Write the row's values (all fields but the last, the geometry) as a FlatGeobuf
    properties vector from ``out[at]``; return its end, or minus what is wrong (with the
    column's number in the upper bits)."""
    p = at + 4
    for i in range(kinds.size):
        n = lengths[i]
        if n < 0:  # null: left out
            continue
        s = starts[i]
        kind = kinds[i]
        out[p] = i & 0xFF
        out[p + 1] = i >> 8
        p += 2
        if kind == TEXT:
            _put32(out, p, n)
            out[p + 4:p + 4 + n] = row[s:s + n]
            p += 4 + n
        elif kind == UUID:
            if n != 16:
                return -(8 | (i << 8))
            _put32(out, p, 36)
            p += 4
            for k in range(16):
                if k == 4 or k == 6 or k == 8 or k == 10:
                    out[p] = 45  # -
                    p += 1
                out[p] = hexdigits[row[s + k] >> 4]
                out[p + 1] = hexdigits[row[s + k] & 0x0F]
                p += 2
        elif kind == DATE:
            if n != 4:
                return -(8 | (i << 8))
            year, month, day = _civil(_be32(row, s) + 10957)
            if year < 1 or year > 9999:
                return -(9 | (i << 8))
            _put32(out, p, 19)
            p += 4
            _digits(out, p, year, 4)
            out[p + 4] = 45
            _digits(out, p + 5, month, 2)
            out[p + 7] = 45
            _digits(out, p + 8, day, 2)
            out[p + 10] = 84  # T
            for k in range(11, 19):
                out[p + k] = 58 if k == 13 or k == 16 else 48  # 00:00:00
            p += 19
        else:  # a number, big-endian in the COPY, little-endian in FlatGeobuf
            width = 2 if kind == INT2 else 4 if kind == INT4 else 8
            if n != width:
                return -(8 | (i << 8))
            for k in range(width):
                out[p + k] = row[s + width - 1 - k]
            p += width
    _put32(out, at, p - at - 4)
    return p


@jit()
def _kernel(conn: int, cell: np.ndarray, state: np.ndarray, kinds: np.ndarray,
            point: bool, out: np.ndarray, sizes: np.ndarray, boxes: np.ndarray,
            multi_head: np.ndarray, point_head: np.ndarray, none_head: np.ndarray,
            signature: np.ndarray, hexdigits: np.ndarray) -> int:
    """Receive the COPY's rows and write their features into ``out`` (each
    size-prefixed), each feature's size into ``sizes`` and box into ``boxes``, until the
    COPY ends (_END), ``out`` or ``sizes`` is full (_OUT_FULL: the row waits in
    ``state``), libpq fails (_LOST), or a row is wrong (_BAD_ROW, _BAD_VALUE: what is in
    ``state``)."""
    fields = kinds.size + 1  # the columns, then the geometry
    starts = np.empty(fields, dtype=np.int64)
    lengths = np.empty(fields, dtype=np.int64)
    while True:
        if state[_PENDING] != 0:
            address, n = state[_PENDING], state[_PENDING_LEN]
            state[_PENDING] = 0
        else:
            n = _get_copy_data(conn, cell.ctypes.data, 0)
            if n == -1:
                return _END
            if n < 0:
                return _LOST
            address = cell[0]
        row = numba.carray(_pointer(address), (n,), np.uint8)
        fill, done = state[_FILL], state[_DONE]
        # A feature takes at most four times its row and a fixed head
        if fill + 4 * n + 256 > out.size or done >= sizes.size:
            state[_PENDING], state[_PENDING_LEN] = address, n
            return _OUT_FULL
        c = 0
        if state[_HEADER] == 0:
            same = n >= 19
            for k in range(11 if same else 0):
                same = same and row[k] == signature[k]
            if not same:
                _free(address)
                state[_WHAT] = 11
                return _BAD_ROW
            c = 19 + _be32(row, 15)
            if c < 19 or c > n:
                _free(address)
                state[_WHAT] = 11
                return _BAD_ROW
            state[_HEADER] = 1
        if n - c == 2 and row[c] == 0xFF and row[c + 1] == 0xFF:  # the trailer
            _free(address)
            continue
        if n - c < 2 or ((np.int64(row[c]) << 8) | row[c + 1]) != fields:
            _free(address)
            state[_WHAT] = 10
            return _BAD_ROW
        c += 2
        for i in range(fields):
            if c + 4 > n:
                _free(address)
                state[_WHAT] = 10
                return _BAD_ROW
            length = _be32(row, c)
            c += 4
            if length < -1 or (length > 0 and c + length > n):
                _free(address)
                state[_WHAT] = 10
                return _BAD_ROW
            starts[i] = c
            lengths[i] = length
            if length > 0:
                c += length
        if c != n:
            _free(address)
            state[_WHAT] = 10
            return _BAD_ROW
        g = kinds.size
        gs = starts[g] if lengths[g] >= 0 else -1
        f = fill + 4
        props = _geometry(row, gs, gs + lengths[g], point, out, f, boxes[done],
                          multi_head, point_head, none_head)
        if props < 0:
            _free(address)
            state[_WHAT] = -props
            state[_COLUMN] = -1
            return _BAD_VALUE
        end = _properties(row, starts, lengths, kinds, out, f + props, hexdigits)
        _free(address)
        if end < 0:
            state[_WHAT] = (-end) & 0xFF
            state[_COLUMN] = (-end) >> 8
            return _BAD_VALUE
        _put32(out, fill, end - f)
        sizes[done] = end - fill
        state[_FILL] = end
        state[_DONE] = done + 1


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
        found = _libpq()
        if found is None:
            raise CopyFailed("libpq or numba is not installed")
        self.lib = found[0]
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


def encode_copy(*, conninfo: str, snapshot_id: str, columns: list[tuple[str, str, int]],
                geometry: str, source: str, point: bool, out_path: Path, expected: int,
                progress: Callable[[int], None] | None = None) -> Encoded:
    """Run ``COPY (SELECT columns, geometry FROM source) TO STDOUT (FORMAT binary)`` in
    the snapshot ``snapshot_id`` on a connection of its own, and write every row's
    feature to ``out_path``, back to back; ``expected`` rows are looked for (more are
    taken). ``progress(done)`` is called after each buffer written."""
    found = _libpq()
    if found is None:
        raise CopyFailed("libpq or numba is not installed")
    connection = _Connection(conninfo)
    try:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        connection.execute(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")
        select, kinds = typed_select(columns, connection.types, geometry, source)
        connection.lib.PQclear(connection.run(
            f"COPY ({select}) TO STDOUT (FORMAT binary)", 3))  # PGRES_COPY_OUT
        encoded = _pump(connection, kinds, point, out_path, expected, progress, columns)
        connection.finish_copy()
        connection.execute("COMMIT")
        return encoded
    finally:
        connection.close()


def _pump(connection: _Connection, kinds: np.ndarray, point: bool, out_path: Path,
          expected: int, progress: Callable[[int], None] | None,
          columns: list[tuple[str, str, int]]) -> Encoded:
    cell = np.zeros(1, dtype=np.int64)
    state = np.zeros(_STATE, dtype=np.int64)
    out = np.empty(_OUT_BYTES, dtype=np.uint8)
    sizes = np.empty(max(expected, 1024), dtype=np.int64)
    boxes = np.empty((len(sizes), 4), dtype=np.float64)
    written = 0
    with open(out_path, "wb") as file:
        while True:
            status = _kernel(connection.conn, cell, state, kinds, point, out, sizes,
                             boxes, _MULTI, _POINT, _NONE, _SIGNATURE, _HEX)
            if state[_FILL]:
                file.write(out[:state[_FILL]].data)
                state[_FILL] = 0
            if progress is not None and state[_DONE] > written:
                written = int(state[_DONE])
                progress(written)
            if status == _END:
                break
            if status == _OUT_FULL:
                if state[_DONE] >= len(sizes):  # more rows than counted
                    sizes = np.resize(sizes, 2 * len(sizes))
                    boxes = np.resize(boxes, (len(sizes), 4))
                if 4 * state[_PENDING_LEN] + 256 > len(out):  # one row larger than it
                    out = np.empty(4 * int(state[_PENDING_LEN]) + 256, dtype=np.uint8)
                continue
            if status == _LOST:
                raise CopyFailed(connection.message() or "the connection was lost")
            if status == _BAD_ROW:
                raise CopyFailed(_WHATS[int(state[_WHAT])])
            where = (f", column {columns[int(state[_COLUMN])][0]}"
                     if state[_COLUMN] >= 0 else "")
            raise EncodeError(f"feature {int(state[_DONE]) + 1} of the export{where}: "
                              f"{_WHATS[int(state[_WHAT])]}")
    done = int(state[_DONE])
    return Encoded(sizes[:done], boxes[:done])
