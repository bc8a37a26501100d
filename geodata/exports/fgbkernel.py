"""The compiled part of ``fgbcopy``: PostgreSQL's binary COPY rows, as libpq receives
them, written as FlatGeobuf features (see fgbcopy for what and why).

numba compiles it: ahead of time where ``make`` has built it (``manage.py
geodata_compile``: a C extension beside this file, named after the hash of this file and
fgbcopy's, which an export imports in a few milliseconds and which needs neither numba
nor LLVM when it runs), else when an export first runs it (numba's JIT, its code cached
beside this file: numba's start and the cache's loading cost some 0.6 s and 115 MB an
export).

Every index into a row is checked against the row's end by the code itself (numba's own
bounds checks are off); a row that is not what the layer holds returns a code that
fgbcopy turns into an error naming the feature.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from geodata.exports.fgbcopy import (
    _BAD_ROW,
    _BAD_VALUE,
    _COLUMN,
    _CONN,
    _DONE,
    _END,
    _FILL,
    _IDLE,
    _LOST,
    _NEXT,
    _OUT_FULL,
    _PENDING,
    _PENDING_LEN,
    _PG_EPOCH_DAYS,
    _WHAT,
    DATE,
    INT2,
    INT4,
    TEXT,
    UUID,
    ahead_name,
)

F = TypeVar("F", bound=Callable[..., Any])

# libpq's calls, linked by name (a pointer passed as the 64-bit integer it is)
_get_copy_data: Any = types.ExternalFunction(
    "PQgetCopyData", types.int32(types.int64, types.int64, types.int32))  # type: ignore[call-overload]
_free: Any = types.ExternalFunction("PQfreemem", types.void(types.int64))  # type: ignore[call-overload]
_consume_input: Any = types.ExternalFunction(
    "PQconsumeInput", types.int32(types.int64))  # type: ignore[call-overload]
# libc's poll(struct pollfd *fds, nfds_t n, int timeout)
_poll: Any = types.ExternalFunction(
    "poll", types.int32(types.int64, types.int64, types.int32))  # type: ignore[call-overload]

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
def _copy(out: np.ndarray, at: int, row: np.ndarray, start: int, n: int) -> None:
    """``out[at:at + n] = row[start:start + n]``, without making views of either."""
    for k in range(n):
        out[at + k] = row[start + k]


@jit(inline="always")
def _put_words(out: np.ndarray, at: int, words: np.ndarray) -> None:
    for k in range(words.size):
        _put32(out, at + 4 * k, np.int64(words[k]))


@jit()
def _geometry(row: np.ndarray, gs: int, ge: int, point: bool, out: np.ndarray, f: int,
              boxes: np.ndarray, feature: int, multi_head: np.ndarray, point_head: np.ndarray,
              none_head: np.ndarray) -> int:
    """Write the feature's flatbuffer from byte ``f`` of ``out`` up to its properties
    vector (the WKB is ``row[gs:ge]``; ``gs`` -1 for none), its box into row
    ``feature`` of ``boxes`` (NaN for none). Return where the properties vector goes
    (from ``f``), or minus the code of what is wrong."""
    nan = np.nan
    boxes[feature, 0] = boxes[feature, 1] = boxes[feature, 2] = boxes[feature, 3] = nan
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
        _copy(out, f + 64, row, c, 16)
        boxes[feature, 0] = boxes[feature, 2] = x
        boxes[feature, 1] = boxes[feature, 3] = y
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
            _copy(out, f + xy + 16 * points, row, c, 16 * n)
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
    boxes[feature, 0], boxes[feature, 1] = minx, miny
    boxes[feature, 2], boxes[feature, 3] = maxx, maxy
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
            _copy(out, p + 4, row, s, n)
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
            year, month, day = _civil(_be32(row, s) + _PG_EPOCH_DAYS)
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
def _kernel(conns: np.ndarray, polls: np.ndarray, flags: np.ndarray, cell: np.ndarray,
            state: np.ndarray, kinds: np.ndarray, point: bool, out: np.ndarray,
            sizes: np.ndarray, boxes: np.ndarray, multi_head: np.ndarray,
            point_head: np.ndarray, none_head: np.ndarray, signature: np.ndarray,
            hexdigits: np.ndarray) -> int:
    """Receive the rows of the COPYs on ``conns`` (libpq connections, each one's socket
    in ``polls``: poll()'s structs, two int32 each), whichever has a row, and write
    their features into ``out`` (each size-prefixed), each feature's size into
    ``sizes`` and box into ``boxes``, until every COPY has ended (_END), ``out`` or
    ``sizes`` is full (_OUT_FULL: the row waits in ``state``), no row came for a second
    (_IDLE), libpq fails (_LOST: the connection in ``state``), or a row is wrong
    (_BAD_ROW, _BAD_VALUE: what is in ``state``). ``flags`` keep each connection's
    header read (1) and COPY ended (2)."""
    fields = kinds.size + 1  # the columns, then the geometry
    starts = np.empty(fields, dtype=np.int64)
    lengths = np.empty(fields, dtype=np.int64)
    m = conns.size
    while True:
        if state[_PENDING] != 0:
            address, n, ci = state[_PENDING], state[_PENDING_LEN], state[_CONN]
            state[_PENDING] = 0
        else:
            n = 0
            ci = 0
            open_ = 0
            for j in range(m):  # a row from the first, in turn, that has one whole
                ci = (state[_NEXT] + j) % m
                if flags[ci] & 2:
                    continue
                n = _get_copy_data(conns[ci], cell.ctypes.data, 1)
                if n > 0:
                    break
                if n == -1:
                    flags[ci] |= 2
                    polls[2 * ci] = -1
                    continue
                if n < -1:
                    state[_CONN] = ci
                    return _LOST
                open_ += 1
            if n <= 0:
                if open_ == 0:
                    return _END
                # None has a whole row: wait for their sockets (an ended one's fd is
                # -1, which poll() passes over), read what came
                if _poll(polls.ctypes.data, m, 1000) == 0:
                    return _IDLE
                for j in range(m):
                    if (polls[2 * j + 1] >> 16) != 0 and _consume_input(conns[j]) == 0:
                        state[_CONN] = j
                        return _LOST
                continue
            state[_NEXT] = ci + 1
            address = cell[0]
        row = numba.carray(_pointer(address), (n,), np.uint8)
        fill, done = state[_FILL], state[_DONE]
        # A feature takes at most four times its row and a fixed head
        if fill + 4 * n + 256 > out.size or done >= sizes.size:
            state[_PENDING], state[_PENDING_LEN], state[_CONN] = address, n, ci
            return _OUT_FULL
        c = 0
        if not flags[ci] & 1:
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
            flags[ci] |= 1
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
        props = _geometry(row, gs, gs + lengths[g], point, out, f, boxes, done,
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


# The kernel's signature, as the C extension exports it
SIGNATURE = ("i8(i8[::1], i4[::1], i8[::1], i8[::1], i8[::1], i8[::1], b1, u1[::1], i8[::1], "
             "f8[:, ::1], u4[::1], u4[::1], u4[::1], u1[::1], u1[::1])")


def build(directory: Path | None = None) -> Path:
    """Compile the kernel ahead of time into a C extension beside this file (numba's
    pycc; a C compiler and Python's headers are needed), removing any built from other
    sources; return its path."""
    import numpy
    from numba.pycc import CC

    directory = directory or Path(__file__).parent
    name = ahead_name()
    compiler = CC(name)
    compiler.output_dir = str(directory)
    # numpy's own headers before the system's (Debian's python3-numpy puts those of
    # numpy 1.x among Python's)
    toolchain = compiler._toolchain
    toolchain._py_include_dirs = [numpy.get_include(), *toolchain._py_include_dirs]
    compiler.export("kernel", SIGNATURE)(cast(Any, _kernel).py_func)
    compiler.compile()
    built = next(directory.glob(f"{name}.*.so"), None) or next(directory.glob(f"{name}*.so"))
    for old in directory.glob("_fgbkernel_*.so"):
        if not old.name.startswith(name):
            old.unlink()
    return built
