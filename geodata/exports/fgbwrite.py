"""FlatGeobuf features encoded from Arrow record batches, a batch at a time, by array
operations: no Python object and no GDAL call per feature.

GDAL's FlatGeobuf writer builds each feature with a flatbuffers builder, one at a time,
holding the GIL (pyogrio's Arrow path); at 1,000,000 parcels that was about 1.2 s of a
5.6 s export, and walking the size prefixes of what it wrote, to index it, another
0.5 s. Here a batch's geometries are decoded from their WKB level by level (all the
batch's first polygons, then all second ones...), each feature's flatbuffer is laid out
by arithmetic on those counts (numpy); a point or a polygon of one ring (most parcels)
is a fixed head before its WKB's own coordinates, sliced by Arrow; and the pieces
(heads, coordinates, properties) are joined row by row by Arrow's
``binary_join_element_wise`` kernel. The features are written in the order they come,
their sizes and boxes kept; ``fgbindex`` then writes the file in the spatial index's order.

Every feature has one of three fixed layouts (a point, a multipolygon, no geometry),
valid flatbuffers of the FlatGeobuf schema (https://flatgeobuf.org, feature.fbs): the
root offset, the vtables and tables at fixed places, then the variable parts (the
multipolygon's parts vector and part tables, each part's ``ends`` and ``xy`` vectors),
then the properties vector. Every reference points forward, and every vector's elements
are aligned to their size from the flatbuffer's start. The tests hold the result to
GDAL's own reading of it and of GDAL's own writing of the same batches.

The header is written by the flatbuffers library. Layers with a column or geometry type
not covered here are written by GDAL (``encodable``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS

GEOMETRY_TYPES = {"Point": 1, "MultiPolygon": 6}
_POLYGON = 3
# FlatGeobuf's column types (header.fbs) of the Arrow types exports carry; each value is
# written as GDAL writes it (a date as the DateTime text YYYY-MM-DDT00:00:00).
_SHORT, _INT, _LONG, _DOUBLE, _STRING, _DATETIME = 3, 5, 7, 10, 11, 13
COLUMN_TYPES: dict[pa.DataType, int] = {
    pa.int16(): _SHORT, pa.int32(): _INT, pa.int64(): _LONG, pa.float64(): _DOUBLE,
    pa.string(): _STRING, pa.large_string(): _STRING, pa.date32(): _DATETIME,
}
_FIXED: dict[int, str] = {_SHORT: "<i2", _INT: "<i4", _LONG: "<i8", _DOUBLE: "<f8"}
_WKB_SRID = 0x20000000
_WKB_ZM = 0xC0000000


class EncodeError(ValueError):
    """A geometry that is not what the layer holds, or WKB that cannot be read."""


def encodable(schema: pa.Schema, geometry_type: str) -> bool:
    """Whether a stream of this schema (its columns, then ``geom`` as WKB) is encoded
    here; otherwise GDAL writes it."""
    fields = [f for f in schema if f.name != "geom"]
    return (geometry_type in GEOMETRY_TYPES and "geom" in schema.names
            and len(fields) < 0xFFFF and all(f.type in COLUMN_TYPES for f in fields))


# --- WKB ---------------------------------------------------------------------------

def _at_any_byte(data: np.ndarray, kind: str) -> np.ndarray:
    """``data`` read as values of ``kind`` starting at every byte (a view with a stride
    of one byte: indexing it at a byte position reads the value there, aligned or not)."""
    size = np.dtype(kind).itemsize
    return np.ndarray(shape=(max(len(data) - size + 1, 0),), dtype=kind, buffer=data,
                      strides=(1,))


def _u32(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian uint32 at each byte position ``at`` of ``data``."""
    return _at_any_byte(data, "<u4")[at].astype(np.int64)


def simple_rows(array: pa.Array, geometry_type: str) -> tuple[np.ndarray, int, np.ndarray]:
    """The rows whose WKB is one point, or one polygon of one ring (a multipolygon of one
    part, or a polygon), with its coordinates after the same number of header bytes as
    the first such row's: a mask, that number, and each such row's points."""
    offsets, data = _binary_buffers(array)
    n = len(array)
    start, length = offsets[:-1], np.diff(offsets)
    ok = length >= 21 if geometry_type == "Point" else length >= 29
    if array.null_count:
        ok &= ~array.is_null().to_numpy(zero_copy_only=False)
    at = np.where(ok, start, 0)
    if not len(data) or not ok.any():
        return np.zeros(n, dtype=bool), 0, np.zeros(0, dtype=np.int64)
    u32 = _at_any_byte(data, "<u4")
    kind = u32[at + 1]
    head = np.where(kind & _WKB_SRID, 9, 5)
    base = kind & ~np.uint32(_WKB_SRID)
    ok &= data[at] == 1
    if geometry_type == "Point":
        skip = head
        points = np.ones(n, dtype=np.int64)
        ok &= (base == 1) & (length == head + 16)
        if ok.any():  # an empty point's coordinates are NaN
            xy = _at_any_byte(data, "<f8")
            ok &= ~(np.isnan(xy[np.where(ok, at + head, 0)])
                    | np.isnan(xy[np.where(ok, at + head + 8, 0)]))
    else:
        multi = base == 6
        ok &= multi | (base == _POLYGON)
        # Each read only where the row is long enough (else at the first row's bytes)
        head = np.where(ok, head, 0)
        # A multipolygon's part: its byte order, type and rings; a polygon's rings
        parts = np.where(multi, u32[np.where(ok, at + head, 0)], 1)
        inner = head + np.where(multi, 9, 0)  # where the polygon's ring count is
        ok &= (parts == 1) & (~multi | ((data[np.where(ok, at + head + 4, 0)] == 1)
                                        & (u32[np.where(ok, at + head + 5, 0)] == _POLYGON)))
        rings = u32[np.where(ok, at + inner, 0)]
        points = u32[np.where(ok, at + inner + 4, 0)].astype(np.int64)
        skip = inner + 8
        ok &= (rings == 1) & (length == skip + 16 * points)
    rows = np.flatnonzero(ok)
    if not rows.size:
        return ok, 0, np.zeros(0, dtype=np.int64)
    first = int(skip[rows[0]])
    ok &= skip == first
    return ok, first, points[ok]


@dataclass
class Geometries:
    """A batch's geometries, decoded: which features have one, and for each its parts
    (polygons; a point is one part of one ring of one point), each part's rings, each
    ring's points and where in ``data`` its first coordinate is."""

    data: np.ndarray  # the WKB bytes (uint8)
    present: np.ndarray  # bool, a feature
    part_counts: np.ndarray  # int64, a feature (0 without geometry)
    ring_counts: np.ndarray  # int64, a part, in the features' order
    point_counts: np.ndarray  # int64, a ring, in the parts' order
    ring_at: np.ndarray  # int64, a ring: the byte of its first x


def _binary_buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64, one more than values) and data bytes of a binary array."""
    kind: type[np.signedinteger[Any]]
    if pa.types.is_large_binary(array.type):
        kind = np.int64
    else:
        array = array.cast(pa.binary()) if not pa.types.is_binary(array.type) else array
        kind = np.int32
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=kind)[array.offset:array.offset + len(array) + 1]
    data = (np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None
            else np.zeros(0, dtype=np.uint8))
    return offsets.astype(np.int64), data


def decode(array: pa.Array, geometry_type: str,
           numbers: np.ndarray | None = None) -> Geometries:
    """Decode a batch's WKB (little-endian, 2D; PostGIS's EWKB SRID allowed): points in a
    Point layer, multipolygons or polygons (one part) in a MultiPolygon layer. Empty
    geometries count as none. Raise EncodeError naming the first feature that is not (by
    its number in ``numbers``: the rows of its batch these are)."""
    offsets, data = _binary_buffers(array)
    n = len(array)
    start, end = offsets[:-1], offsets[1:]
    valid = ~array.is_null().to_numpy(zero_copy_only=False) if array.null_count else \
        np.ones(n, dtype=bool)
    present = valid & (end - start >= 5)
    idx = np.flatnonzero(present)
    s, fend = start[idx], end[idx]

    def fail(where: np.ndarray, what: str) -> None:
        """Raise for the first feature where ``where`` (a mask over ``idx``) holds."""
        if where.any():
            fail_at(np.flatnonzero(where)[:1], what)

    def fail_at(at: np.ndarray, what: str) -> None:
        """Raise for the first of these positions in ``idx``."""
        if at.size:
            row = int(idx[at.min()])
            number = int(numbers[row]) if numbers is not None else row
            raise EncodeError(f"feature {number} of its batch: {what}")

    fail(data[s] != 1, "WKB that is not little-endian")
    kind = _u32(data, s + 1)
    fail((kind & _WKB_ZM != 0) | ((kind & 0xFFFF) >= 1000), "a geometry with z or m")
    base = kind & 0xFFFF
    head = s + 5 + np.where(kind & _WKB_SRID, 4, 0)
    part_counts = np.zeros(n, dtype=np.int64)
    if geometry_type == "Point":
        fail(base != 1, "not a point in a Point layer")
        fail(head + 16 != fend, "a point's WKB of the wrong length")
        empty = np.zeros(len(idx), dtype=bool)
        if len(idx):
            first = data[head[:, None] + np.arange(16)].view("<f8")
            empty = np.isnan(first).any(axis=1)
        present[idx[empty]] = False
        keep = ~empty
        part_counts[idx[keep]] = 1
        count = int(keep.sum())
        return Geometries(data, present, part_counts, np.ones(count, dtype=np.int64),
                          np.ones(count, dtype=np.int64), head[keep])
    multi = base == 6
    fail(~multi & (base != _POLYGON), "not a polygon or multipolygon in a MultiPolygon layer")
    parts = np.where(multi, _u32(data, np.minimum(head, fend - 4)), 1)
    fail(multi & (head + 4 > fend), "a multipolygon's WKB cut short")
    cursor = np.where(multi, head + 4, head)
    # A multipolygon's part takes 9 bytes at least, a polygon's rings 4: a count that
    # cannot fit is not read on
    fail(parts * np.where(multi, 9, 4) > fend - cursor, "more parts than the WKB holds")
    part_counts[idx] = parts
    part_rows: list[tuple[np.ndarray, int, np.ndarray]] = []
    ring_rows: list[tuple[np.ndarray, int, int, np.ndarray, np.ndarray]] = []
    active = np.flatnonzero(parts > 0)
    j = 0
    while active.size:
        c = cursor[active]
        inner = multi[active]
        at = c[inner]
        if at.size:
            fail_at(active[inner][at + 9 > fend[active][inner]], "a polygon cut short")
            fail_at(active[inner][(data[at] != 1) | (_u32(data, at + 1) != _POLYGON)],
                    "a part of a multipolygon that is not a little-endian 2D polygon")
        c = c + np.where(inner, 5, 0)
        fail_at(active[c + 4 > fend[active]], "a polygon cut short")
        rings = _u32(data, c)
        c = c + 4
        fail_at(active[rings * 4 > fend[active] - c], "more rings than the WKB holds")
        part_rows.append((active, j, rings))
        live = np.flatnonzero(rings > 0)
        r = 0
        while live.size:
            cc = c[live]
            fail_at(active[live][cc + 4 > fend[active[live]]], "a ring cut short")
            points = _u32(data, cc)
            ring_rows.append((active[live], j, r, cc + 4, points))
            c[live] = cc + 4 + 16 * points
            fail_at(active[live][c[live] > fend[active[live]]], "a ring cut short")
            r += 1
            live = live[rings[live] > r]
        cursor[active] = c
        j += 1
        active = active[parts[active] > j]
    fail(cursor != fend, "WKB with bytes after its geometry")
    if part_rows:
        feature = np.concatenate([a for a, _, _ in part_rows])
        number = np.concatenate([np.full(len(a), k) for a, k, _ in part_rows])
        order = np.lexsort((number, feature))
        ring_counts = np.concatenate([rc for _, _, rc in part_rows])[order]
        feature = np.concatenate([a for a, _, _, _, _ in ring_rows]) if ring_rows else \
            np.zeros(0, dtype=np.int64)
        parts_of = np.concatenate([np.full(len(a), k) for a, k, _, _, _ in ring_rows]) \
            if ring_rows else feature
        rings_of = np.concatenate([np.full(len(a), k) for a, _, k, _, _ in ring_rows]) \
            if ring_rows else feature
        order = np.lexsort((rings_of, parts_of, feature))
        ring_at = (np.concatenate([at for *_, at, _ in ring_rows])[order] if ring_rows
                   else feature)
        point_counts = (np.concatenate([p for *_, p in ring_rows])[order] if ring_rows
                        else feature)
    else:
        ring_counts = point_counts = ring_at = np.zeros(0, dtype=np.int64)
    # A multipolygon of no parts, or of parts of no points, is empty: no geometry
    points_per_feature = _sums(_sums(point_counts, ring_counts), part_counts)
    empty = present & (points_per_feature == 0)
    if empty.any():
        return _without(Geometries(data, present, part_counts, ring_counts, point_counts,
                                   ring_at), empty)
    return Geometries(data, present, part_counts, ring_counts, point_counts, ring_at)


def _without(g: Geometries, empty: np.ndarray) -> Geometries:
    """The geometries with the ``empty`` features' parts and rings left out."""
    part_feature = np.repeat(np.arange(len(g.present)), g.part_counts)
    keep_parts = ~empty[part_feature]
    ring_part = np.repeat(np.arange(len(g.ring_counts)), g.ring_counts)
    keep_rings = keep_parts[ring_part]
    present = g.present & ~empty
    part_counts = np.where(empty, 0, g.part_counts)
    return Geometries(g.data, present, part_counts, g.ring_counts[keep_parts],
                      g.point_counts[keep_rings], g.ring_at[keep_rings])


# --- features ------------------------------------------------------------------------

def _words(*halves: int) -> list[int]:
    """uint16 pairs as little-endian uint32 words."""
    return [halves[i] | (halves[i + 1] << 16) for i in range(0, len(halves), 2)]


# Words of a feature, from the flatbuffer's start (after its size prefix). The feature
# table is at byte 12 (its vtable at 4: geometry at +4, properties at +8); the word at
# byte 20 holds the properties' offset.
_FEATURE_VTABLE = _words(8, 12, 4, 8)
# A multipolygon: the geometry table at 44 (vtable at 24: parts at +4, type at +8), the
# part tables' shared vtable at 56 (ends +4, xy +8, type +12), the parts vector at 76.
_MULTI_HEAD = [12, *_FEATURE_VTABLE, 8, 28, 0, *_words(20, 12, 0, 0, 0, 0, 0, 0, 8, 4), 20,
               28, 6, *_words(18, 16, 4, 8, 0, 0, 0, 0, 12, 0)]
# The same for one polygon of one ring, through the xy vector's length: the parts vector
# (1, the part table at 84), the part table (vtable at 56; ends at 104, xy at 116; type
# Polygon), 4 bytes of padding, the ends vector (1, n), 4 bytes of padding, xy's length
# (2n); its coordinates follow at 120. Words 0 (the size prefix), 6 (the properties'
# offset), 28 (n) and 30 (2n) are each feature's own.
_SIMPLE_MULTI = np.array([0, *_MULTI_HEAD, 1, 4, 28, 16, 24, _POLYGON, 0, 1, 0, 0, 0],
                         dtype=np.uint32)
_SIMPLE_MULTI_XY = 120
# A point: the geometry table at 44 (vtable at 24: xy at +4, type at +8), xy's length at
# 60, its x and y at 64; the properties at 80.
_SIMPLE_POINT = np.array([0, 12, *_FEATURE_VTABLE, 8, 28, 60,
                          *_words(18, 12, 0, 4, 0, 0, 0, 0, 8, 0), 20, 12, 1, 0, 2],
                         dtype=np.uint32)
_SIMPLE_POINT_XY = 64
# No geometry: the feature's vtable without it; the properties at 24.
_NONE_HEAD = np.array([0, 12, *_words(8, 12, 0, 8), 8, 0, 4], dtype=np.uint32)
_NONE_PROPS = 24


def _sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The sums of ``values`` taken ``counts`` at a time, in order (0 for a count of 0)."""
    running = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=running[1:])
    ends = np.cumsum(counts)
    return running[ends] - running[ends - counts]


def _runs(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each count, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


def _binary(lengths: np.ndarray, data: np.ndarray | bytes) -> pa.Array:
    """A binary array of these lengths over these bytes."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.binary(), len(lengths),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _multi_sections(g: Geometries) -> tuple[np.ndarray, np.ndarray]:
    """The geometry sections of decoded rows (multipolygons, any number of parts and
    rings, or no geometry): each the size prefix (left 0) and the flatbuffer up to its
    properties vector, with the coordinates; their bytes back to back and each one's
    length."""
    present, parts = g.present, g.part_counts
    ring_counts, point_counts, ring_at = g.ring_counts, g.point_counts, g.ring_at
    n = len(present)
    # Per part: the ends vector (its length, a word a ring), padded so that the xy
    # vector's length is 4 bytes before an 8-byte boundary, then the xy vector.
    part_points = _sums(point_counts, ring_counts)
    block = 4 + 4 * ring_counts + 4 * (ring_counts % 2) + 4 + 16 * part_points
    props = np.where(present, 80 + 20 * parts + 4 * (parts % 2) + _sums(block, parts),
                     _NONE_PROPS)
    lengths = 4 + props
    # Laid out 4 bytes apart, each flatbuffer's start 8-aligned in the buffer (its
    # doubles are written as such), then put back to back
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths + 4, out=offsets[1:])
    offsets += 4
    buffer = np.zeros((int(offsets[-1]) + 7) // 8, dtype=np.uint64)
    words, doubles = buffer.view(np.uint32), buffer.view("<f8")
    base = offsets[:-1] // 4 + 1  # each flatbuffer's start, in words
    head = np.array(_MULTI_HEAD, dtype=np.uint32)
    for mask, template in ((present, head), (~present, _NONE_HEAD[1:])):
        at = base[mask]
        if at.size:
            words[at[:, None] + np.arange(len(template))] = template
    m = np.flatnonzero(present)
    words[base[m] + 5] = (props[m] - 20).astype(np.uint32)
    if not m.size:
        return _closed(buffer, offsets, lengths), lengths
    pm = parts[m]
    pbase = np.repeat(base[m], pm)  # each part's feature's start, in words
    k = _runs(pm)  # a part's number in its feature
    # The parts vector at byte 76: its length, then each part table's offset
    words[base[m] + 19] = pm.astype(np.uint32)
    per_part = np.repeat(pm, pm)
    words[pbase + 20 + k] = (4 * per_part + 12 * k).astype(np.uint32)
    table = 80 + 4 * per_part + 16 * k  # bytes from the flatbuffer's start
    before = np.cumsum(block) - block  # the blocks before each part's, in all
    first_block = 80 + 20 * pm + 4 * (pm % 2)
    block_start = np.repeat(first_block - before[np.cumsum(pm) - pm], pm) + before
    xy_at = block_start + 4 + 4 * ring_counts + 4 * (ring_counts % 2)
    words[pbase + table // 4] = (table - 56).astype(np.uint32)
    words[pbase + table // 4 + 1] = (block_start - table - 4).astype(np.uint32)
    words[pbase + table // 4 + 2] = (xy_at - table - 8).astype(np.uint32)
    words[pbase + table // 4 + 3] = _POLYGON
    words[pbase + block_start // 4] = ring_counts.astype(np.uint32)
    running = np.zeros(len(point_counts) + 1, dtype=np.int64)
    np.cumsum(point_counts, out=running[1:])
    ends = running[1:] - np.repeat(running[np.cumsum(ring_counts) - ring_counts], ring_counts)
    words[np.repeat(pbase + block_start // 4 + 1, ring_counts) + _runs(ring_counts)] = \
        ends.astype(np.uint32)
    words[pbase + xy_at // 4] = (2 * part_points).astype(np.uint32)
    # The coordinates, gathered from the WKB (a view with a stride of one byte reads a
    # float64 at any byte), then scattered into their places.
    if len(point_counts):
        at = np.repeat(ring_at, 2 * point_counts) + 8 * _runs(2 * point_counts)
        xy = np.ndarray(shape=(len(g.data) - 7,), dtype="<f8", buffer=g.data,
                        strides=(1,))[at]
        doubles[np.repeat((pbase * 4 + xy_at + 4) // 8, 2 * part_points)
                + _runs(2 * part_points)] = xy
    return _closed(buffer, offsets, lengths), lengths


def _closed(buffer: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sections at ``offsets`` (of ``lengths``, 4 bytes apart) back to back."""
    data = buffer.view(np.uint8)
    gaps = np.repeat(offsets[:-1] + lengths, 4) + np.tile(np.arange(4), len(lengths))
    keep = np.ones(int(offsets[-1]), dtype=bool)
    keep[:4] = False
    keep[gaps] = False
    return data[:int(offsets[-1])][keep]


_DAYS_KEPT = (-25567, 47482)  # 1900-01-01 to 2099-12-31, days since 1970-01-01


@functools.cache
def _days_kept() -> np.ndarray:
    """The text of each day of 1900-2099 (1.4 MB), for dates looked up, not reckoned."""
    return _reckoned(np.arange(_DAYS_KEPT[0], _DAYS_KEPT[1] + 1))


def _civil(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as the text YYYY-MM-DDT00:00:00 (19 bytes a row)."""
    kept = (days >= _DAYS_KEPT[0]) & (days <= _DAYS_KEPT[1])
    if kept.all():
        return _days_kept()[days - _DAYS_KEPT[0]]
    text = _reckoned(days)
    text[kept] = _days_kept()[days[kept] - _DAYS_KEPT[0]]
    return text


def _reckoned(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as the text YYYY-MM-DDT00:00:00 (19 bytes a row; the civil
    calendar's arithmetic, vectorised)."""
    z = days.astype(np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    text = np.tile(np.frombuffer(b"0000-00-00T00:00:00", dtype=np.uint8), (len(days), 1))
    for position, value, width in ((0, year, 4), (5, month, 2), (8, day, 2)):
        for digit in range(width):
            text[:, position + width - 1 - digit] = 48 + (value // 10 ** digit) % 10
    return text


class _Properties:
    """A batch's properties, as pieces joined row by row: one record of the same size in
    every row (the properties' length, then each column that has a value of the same
    size in every row: its index and value), then a piece a column with nulls, and two
    for a text of varying length (its index and length; its bytes). FlatGeobuf readers
    take the values in any order: each comes with its column's index."""

    def __init__(self, batch: pa.RecordBatch, columns: list[pa.Field]) -> None:
        n = batch.num_rows
        fixed: list[tuple[str, str | tuple[str, int]]] = [("length", "<u4")]
        values: dict[str, Any] = {}
        self.pieces: list[pa.Array] = []
        self.lengths = np.zeros(n, dtype=np.int64)
        for index, field in enumerate(columns):
            column = batch.column(field.name)
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            valid = ~column.is_null().to_numpy(zero_copy_only=False) if column.null_count \
                else None
            kind = COLUMN_TYPES[field.type]
            if kind in _FIXED:
                value = (column.fill_null(0) if valid is not None else column).to_numpy(
                    zero_copy_only=False)
                self._add(fixed, values, index, valid, _FIXED[kind], value.astype(_FIXED[kind]))
                continue
            if kind == _DATETIME:
                text = _civil(column.cast(pa.int32()).fill_null(0).to_numpy(
                    zero_copy_only=False))
                self._add(fixed, values, index, valid, ("u1", 19), text, length=19)
                continue
            if column.type != pa.string():
                column = column.cast(pa.string())
            offsets, data = _binary_buffers(column)
            lengths = np.diff(offsets)
            if valid is None and n and lengths[0] and (lengths == lengths[0]).all():
                # A text of one length in every row (an identifier, a code): in the record
                width = int(lengths[0])
                self._add(fixed, values, index, None, ("u1", width),
                          data[offsets[0]:offsets[-1]].reshape(n, width), length=width)
                continue
            live = valid if valid is not None else np.ones(n, dtype=bool)
            self.pieces.append(self._head(index, live, lengths))
            self.pieces.append(column.view(pa.binary()))
            self.lengths += np.where(live, 6 + lengths, 0)
        record = np.zeros(n, dtype=np.dtype([(name, kind) for name, kind in fixed]))
        for name, value in values.items():
            record[name] = value
        self.lengths += record.dtype.itemsize - 4
        record["length"] = self.lengths
        self.record = _binary(np.full(n, record.dtype.itemsize), record.view(np.uint8))

    def _add(self, fixed: list, values: dict[str, Any], index: int,
             valid: np.ndarray | None, kind: str | tuple[str, int], value: np.ndarray,
             length: int | None = None) -> None:
        """A column's values: into the record where every row has one, else a piece."""
        if valid is None:
            fixed.append((f"c{index}", "<u2"))
            values[f"c{index}"] = np.uint16(index)
            if length is not None:
                fixed.append((f"n{index}", "<u4"))
                values[f"n{index}"] = np.uint32(length)
            fixed.append((f"v{index}", kind))
            values[f"v{index}"] = value
            return
        fields = [("c", "<u2")] + ([("n", "<u4")] if length is not None else []) + [("v", kind)]
        rows = np.zeros(int(valid.sum()), dtype=np.dtype(fields))
        rows["c"] = index
        if length is not None:
            rows["n"] = length
        rows["v"] = value[valid]
        self.pieces.append(_binary(np.where(valid, rows.dtype.itemsize, 0), rows.view(np.uint8)))
        self.lengths += np.where(valid, rows.dtype.itemsize, 0)

    @staticmethod
    def _head(index: int, valid: np.ndarray, lengths: np.ndarray) -> pa.Array:
        """A text's column index and length in each row that has one."""
        rows = np.zeros(int(valid.sum()), dtype=np.dtype([("c", "<u2"), ("n", "<u4")]))
        rows["c"] = index
        rows["n"] = lengths[valid]
        return _binary(np.where(valid, 6, 0), rows.view(np.uint8))


def _tail(wkb: pa.Array, simple: np.ndarray, skip: int) -> pa.Array:
    """The simple rows' coordinates, straight from their WKB (all after ``skip`` bytes);
    nothing for the others."""
    if not pa.types.is_binary(wkb.type):
        wkb = wkb.cast(pa.binary())
    # The others as nulls (a validity bitmap over the same values), which the slice keeps
    # null and the join takes as nothing
    buffers = wkb.buffers()
    only = pa.Array.from_buffers(pa.binary(), len(wkb), [
        pa.py_buffer(np.packbits(simple, bitorder="little")), buffers[1], buffers[2]],
        offset=0) if wkb.offset == 0 else pc.if_else(pa.array(simple), wkb, None)
    return pc.binary_slice(only, skip, 2**31 - 1)


def _point_sections(g: Geometries) -> tuple[np.ndarray, np.ndarray]:
    """The geometry sections of points (with their coordinates) or of rows without
    geometry, as ``_multi_sections`` makes them for multipolygons."""
    n = len(g.present)
    width = len(_SIMPLE_POINT) * 4 + 16
    lengths = np.where(g.present, width, 4 * len(_NONE_HEAD))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.zeros(int(offsets[-1]), dtype=np.uint8)
    words = data.view("<u4")
    base = offsets[:-1] // 4
    for mask, template in ((g.present, _SIMPLE_POINT), (~g.present, _NONE_HEAD)):
        at = base[mask]
        if at.size:
            words[at[:, None] + np.arange(len(template))] = template
    at = np.flatnonzero(g.present)
    if at.size:
        xy = _at_any_byte(g.data, "<f8")
        coordinates = np.column_stack([xy[g.ring_at], xy[g.ring_at + 8]])
        data[(offsets[at] + 4 * len(_SIMPLE_POINT))[:, None] + np.arange(16)] = \
            coordinates.view(np.uint8).reshape(-1, 16)
    return data, lengths


def encode(batch: pa.RecordBatch, geometry_type: str) -> pa.Array:
    """Encode a batch's features (its columns, then ``geom`` as WKB), each size-prefixed:
    the values of the binary array returned, whose data are the features back to back.

    A point, and a polygon of one ring (most parcels), is its WKB's coordinates after a
    fixed head; the others (more parts or rings, no geometry) are decoded and laid out
    by ``_multi_sections``."""
    n = batch.num_rows
    columns = [f for f in batch.schema if f.name != "geom"]
    wkb = batch.column("geom")
    if isinstance(wkb, pa.ChunkedArray):
        wkb = wkb.combine_chunks()
    point = geometry_type == "Point"
    simple, skip, points = simple_rows(wkb, geometry_type)
    others = np.flatnonzero(~simple)
    props = _Properties(batch, columns)
    # A fixed head for each simple row, its coordinates straight from the WKB after it
    template = _SIMPLE_POINT if point else _SIMPLE_MULTI
    heads = np.broadcast_to(template, (len(points), len(template))).copy()
    xy_at = _SIMPLE_POINT_XY if point else _SIMPLE_MULTI_XY
    coordinates = 16 * points
    if not point:
        heads[:, 6] = xy_at + coordinates - 20
        heads[:, 28] = points
        heads[:, 30] = 2 * points
    heads[:, 0] = xy_at + coordinates + 4 + props.lengths[simple]
    head_piece = _binary(np.where(simple, heads.shape[1] * 4, 0), heads.view(np.uint8))
    # A section of its own, coordinates included, for each of the others
    section_lengths = np.zeros(n, dtype=np.int64)
    if others.size:
        g = decode(wkb.take(pa.array(others)), geometry_type, others)
        sections, lengths = (_point_sections(g) if point
                             else _multi_sections(g))
        sections = np.array(sections, dtype=np.uint8, copy=True)
        # Each begins with its size prefix: the flatbuffer goes on past the section by
        # the properties' length and its values
        sections.view("<u4")[(np.cumsum(lengths) - lengths) // 4] = (
            lengths + props.lengths[others]).astype(np.uint32)
        section_lengths[others] = lengths
    else:
        sections = np.zeros(0, dtype=np.uint8)
    pieces = [head_piece, _binary(section_lengths, sections), _tail(wkb, simple, skip),
              props.record, *props.pieces]
    return pc.binary_join_element_wise(*pieces, b"", null_handling="replace",
                                       null_replacement=b"")


# --- the header ------------------------------------------------------------------

def header(*, name: str, geometry_type: str, columns: list[pa.Field], srid: int,
           count: int, envelope: tuple[float, float, float, float] | None,
           node_size: int) -> bytes:
    """The magic bytes and the size-prefixed header (header.fbs), padded so that what
    follows begins 8-aligned: the layer's name, envelope, geometry type, columns, feature
    count, index node size (0: no index) and CRS (EPSG code, name and WKT, as GDAL
    writes them)."""
    builder = flatbuffers.Builder(4096)
    crs = CRS.from_epsg(srid)
    org, crs_name, wkt = (builder.CreateString(s) for s in ("EPSG", crs.name, crs.to_wkt()))
    builder.StartObject(6)
    builder.PrependUOffsetTRelativeSlot(0, org, 0)
    builder.PrependInt32Slot(1, srid, 0)
    builder.PrependUOffsetTRelativeSlot(2, crs_name, 0)
    builder.PrependUOffsetTRelativeSlot(4, wkt, 0)
    crs_table = builder.EndObject()
    tables = []
    for field in columns:
        column_name = builder.CreateString(field.name)
        builder.StartObject(11)
        builder.PrependUOffsetTRelativeSlot(0, column_name, 0)
        builder.PrependUint8Slot(1, COLUMN_TYPES[field.type], 0)
        tables.append(builder.EndObject())
    builder.StartVector(4, len(tables), 4)
    for table in reversed(tables):
        builder.PrependUOffsetTRelative(table)
    column_vector = builder.EndVector()
    envelope_vector = None
    if envelope is not None:
        builder.StartVector(8, 4, 8)
        for value in reversed(envelope):
            builder.PrependFloat64(value)
        envelope_vector = builder.EndVector()
    layer_name = builder.CreateString(name)
    builder.StartObject(14)
    builder.PrependUOffsetTRelativeSlot(0, layer_name, 0)
    if envelope_vector is not None:
        builder.PrependUOffsetTRelativeSlot(1, envelope_vector, 0)
    builder.PrependUint8Slot(2, GEOMETRY_TYPES[geometry_type], 0)
    builder.PrependUOffsetTRelativeSlot(7, column_vector, 0)
    builder.PrependUint64Slot(8, count, 0)
    builder.PrependUint16Slot(9, node_size, 16)
    builder.PrependUOffsetTRelativeSlot(10, crs_table, 0)
    builder.Finish(builder.EndObject())
    body = bytes(builder.Output())
    # Trailing bytes are outside every table: the header's size covers them
    body += b"\0" * ((4 - len(body)) % 8)
    return b"fgb\x03fgb\x01" + len(body).to_bytes(4, "little") + body
