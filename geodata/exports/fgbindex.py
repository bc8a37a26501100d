"""A FlatGeobuf file's spatial index (a packed Hilbert R-tree), added to a file GDAL wrote.

GDAL's FlatGeobuf writer builds its index when the file is closed: every feature is
written to a temporary file, the features are sorted along a Hilbert curve, and each is
read back by a seek of its own into the final file. Measured with ogr2ogr at 1,000,000
parcels that step is nearly two thirds of the whole (7.4 s with the index, 2.6 s
without). Here GDAL writes the features without an index (``SPATIAL_INDEX=NO``), in the
order they come; their boxes are taken as they pass (``BoundsTap``); and ``add_index``
writes the final file: GDAL's header (its ``index_node_size`` set), the tree, then the
features in the tree's order, read back in runs rather than one by one.

The layout is the FlatGeobuf specification's (https://flatgeobuf.org): the magic bytes,
the header (a size-prefixed flatbuffer), the tree's nodes from the root level down to
the leaves (each node four float64 and a uint64: its box, and for a leaf the feature's
byte offset from the start of the features, for a node the index of its first child),
then the size-prefixed features in the leaves' order.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from geodata.exports.layers import BOUNDS_COLUMNS
from geodata.exports.reader import with_bounds

NODE_SIZE = 16  # children a node (the specification's and GDAL's default)
MAGIC = b"fgb\x03fgb"
# The header table's field index_node_size (uint16), by its position in the schema.
_INDEX_NODE_SIZE_FIELD = 9
_FEATURES_COUNT_FIELD = 8
NODE = np.dtype([("minx", "<f8"), ("miny", "<f8"), ("maxx", "<f8"), ("maxy", "<f8"),
                 ("offset", "<u8")])
_READ_BLOCK = 16 << 20


class FlatGeobufError(ValueError):
    """The file is not what GDAL's FlatGeobuf writer makes without an index."""


class BoundsTap:
    """Pass record batches through, keeping each feature's box in the order they pass:
    the batches' box columns (BOUNDS_COLUMNS, as the export's reader gives them, or added
    here where a stream has none), taken off what passes."""

    def __init__(self, batches: pa.RecordBatchReader) -> None:
        self.batches = batches
        self.given = all(name in batches.schema.names for name in BOUNDS_COLUMNS)
        self.schema = pa.schema([f for f in batches.schema if f.name not in BOUNDS_COLUMNS])
        self.parts: list[np.ndarray] = []

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self.batches:
            boxed = batch if self.given else with_bounds(batch)
            self.parts.append(np.column_stack([
                boxed.column(name).to_numpy(zero_copy_only=False) for name in BOUNDS_COLUMNS]))
            yield boxed.select(self.schema.names)

    def reader(self) -> pa.RecordBatchReader:
        """The batches without their box columns, as a stream."""
        return pa.RecordBatchReader.from_batches(self.schema, iter(self))

    def take_bounds(self) -> np.ndarray:
        """The boxes taken, one row (minx, miny, maxx, maxy) a feature (the parts are
        let go: they are not held twice)."""
        parts, self.parts = self.parts, []
        return np.concatenate(parts) if parts else np.empty((0, 4))


def hilbert(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The position of each point (x, y: integers 0..65535) along a Hilbert curve of
    order 16 (the bit-interleaving formulation the FlatGeobuf writers use)."""
    x, y = x.astype(np.uint32), y.astype(np.uint32)
    a = x ^ y
    b = 0xFFFF ^ a
    c = 0xFFFF ^ (x | y)
    d = x & (y ^ 0xFFFF)
    A = a | (b >> 1)
    B = (a >> 1) ^ a
    C = ((c >> 1) ^ (b & (d >> 1))) ^ c
    D = ((a & (c >> 1)) ^ (d >> 1)) ^ d
    a, b, c, d = A, B, C, D
    A = (a & (a >> 2)) ^ (b & (b >> 2))
    B = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2))
    C = C ^ (a & (c >> 2)) ^ (b & (d >> 2))
    D = D ^ (b & (c >> 2)) ^ ((a ^ b) & (d >> 2))
    a, b, c, d = A, B, C, D
    A = (a & (a >> 4)) ^ (b & (b >> 4))
    B = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4))
    C = C ^ (a & (c >> 4)) ^ (b & (d >> 4))
    D = D ^ (b & (c >> 4)) ^ ((a ^ b) & (d >> 4))
    a, b, c, d = A, B, C, D
    C = C ^ (a & (c >> 8)) ^ (b & (d >> 8))
    D = D ^ (b & (c >> 8)) ^ ((a ^ b) & (d >> 8))
    a = C ^ (C >> 1)
    b = D ^ (D >> 1)
    i0 = x ^ y
    i1 = b | (0xFFFF ^ (i0 | a))
    i0 = (i0 | (i0 << 8)) & 0x00FF00FF
    i0 = (i0 | (i0 << 4)) & 0x0F0F0F0F
    i0 = (i0 | (i0 << 2)) & 0x33333333
    i0 = (i0 | (i0 << 1)) & 0x55555555
    i1 = (i1 | (i1 << 8)) & 0x00FF00FF
    i1 = (i1 | (i1 << 4)) & 0x0F0F0F0F
    i1 = (i1 | (i1 << 2)) & 0x33333333
    i1 = (i1 | (i1 << 1)) & 0x55555555
    return ((i1 << 1) | i0).astype(np.uint32)


def hilbert_order(bounds: np.ndarray) -> np.ndarray:
    """The features' order along the Hilbert curve of their boxes' centres over the
    extent of all (features without a box first)."""
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    known = np.isfinite(cx) & np.isfinite(cy)
    keys = np.zeros(len(bounds), dtype=np.uint32)
    if known.any():
        minx, maxx = cx[known].min(), cx[known].max()
        miny, maxy = cy[known].min(), cy[known].max()
        scale_x = 0xFFFF / (maxx - minx) if maxx > minx else 0.0
        scale_y = 0xFFFF / (maxy - miny) if maxy > miny else 0.0
        hx = np.floor((cx[known] - minx) * scale_x)
        hy = np.floor((cy[known] - miny) * scale_y)
        keys[known] = hilbert(hx, hy)
    return np.argsort(keys, kind="stable")


def level_bounds(count: int, node_size: int = NODE_SIZE) -> list[tuple[int, int]]:
    """Each level's nodes as (first, end) in the tree's array, the leaves first (they are
    at its end, the root at index 0)."""
    if count <= 0:
        raise FlatGeobufError("a tree needs at least one feature")
    sizes = [count]
    n = count
    while True:
        n = -(-n // node_size)
        sizes.append(n)
        if n == 1:
            break
    total = sum(sizes)
    out = []
    for size in sizes:
        total -= size
        out.append((total, total + size))
    return out


def packed_tree(bounds: np.ndarray, offsets: np.ndarray, node_size: int = NODE_SIZE,
                order: np.ndarray | None = None) -> np.ndarray:
    """The tree's nodes over leaves with these boxes (taken in ``order`` if given: the
    leaves' order) and byte offsets. A parent's box ignores children without one (NaN)."""
    levels = level_bounds(len(bounds), node_size)
    nodes = np.zeros(levels[0][1], dtype=NODE)
    first, end = levels[0]
    leaves = nodes[first:end]
    for i, name in enumerate(("minx", "miny", "maxx", "maxy")):
        leaves[name] = bounds[:, i] if order is None else bounds[order, i]
    leaves["offset"] = offsets
    for (first, end), (parent_first, parent_end) in zip(levels, levels[1:], strict=False):
        children = nodes[first:end]
        starts = np.arange(0, end - first, node_size)
        parents = nodes[parent_first:parent_end]
        with np.errstate(invalid="ignore"):
            for name, reduce in (("minx", np.fmin), ("miny", np.fmin),
                                 ("maxx", np.fmax), ("maxy", np.fmax)):
                parents[name] = reduce.reduceat(children[name], starts)
        parents["offset"] = first + starts
    return nodes


def _header(fd: int) -> tuple[bytes, int]:
    """The magic bytes and size-prefixed header of the file, and where the features begin."""
    head = os.pread(fd, 12, 0)
    if len(head) < 12 or head[:7] != MAGIC:
        raise FlatGeobufError("not a FlatGeobuf file")
    size = struct.unpack_from("<I", head, 8)[0]
    return os.pread(fd, 12 + size, 0), 12 + size


def _header_field(header: bytes, field: int) -> int:
    """The position in ``header`` (magic and size prefix included) of a field of the
    header table, 0 where the table does not hold it."""
    table = 12 + struct.unpack_from("<I", header, 12)[0]
    vtable = table - struct.unpack_from("<i", header, table)[0]
    vtable_size = struct.unpack_from("<H", header, vtable)[0]
    entry = 4 + 2 * field
    if entry + 2 > vtable_size:
        return 0
    at = struct.unpack_from("<H", header, vtable + entry)[0]
    return table + at if at else 0


def _feature_sizes(fd: int, start: int, count: int) -> np.ndarray:
    """Each feature's size in bytes (its size prefix included), walking the size prefixes
    from ``start`` on."""
    sizes = np.empty(count, dtype=np.uint64)
    unpack = struct.Struct("<I").unpack_from
    block, base, at, i = b"", start, 0, 0
    while i < count:
        if at + 4 > len(block):
            base += at
            block, at = os.pread(fd, _READ_BLOCK, base), 0
            if len(block) < 4:
                raise FlatGeobufError(f"the file ends after {i} of {count} features")
        size = unpack(block, at)[0] + 4
        sizes[i] = size
        at += size
        i += 1
    end, size = base + at, os.fstat(fd).st_size
    if end > size:
        raise FlatGeobufError(f"the file ends inside feature {count} of {count}")
    if end < size:
        raise FlatGeobufError(f"the file holds more than {count} features")
    return sizes


def add_index(source: Path, target: Path, bounds: np.ndarray,
              node_size: int = NODE_SIZE) -> None:
    """Write ``target``: the FlatGeobuf file ``source`` (written by GDAL without an
    index) with a packed Hilbert R-tree over ``bounds`` (one box a feature, in the file's
    order) and its features in the tree's order; then remove ``source``."""
    fd = os.open(source, os.O_RDONLY)
    try:
        header, start = _header(fd)
        count_at = _header_field(header, _FEATURES_COUNT_FIELD)
        count = struct.unpack_from("<Q", header, count_at)[0] if count_at else len(bounds)
        if count != len(bounds):
            raise FlatGeobufError(f"the header counts {count} features, "
                                  f"{len(bounds)} were written")
        # A flatbuffer leaves out a field of the default value (16: an index); a file
        # without one holds index_node_size 0, which is set in place.
        node_at = _header_field(header, _INDEX_NODE_SIZE_FIELD)
        if not node_at or struct.unpack_from("<H", header, node_at)[0] != 0:
            raise FlatGeobufError("the file has an index already")
        if count == 0:
            os.replace(source, target)
            return
        sizes = _feature_sizes(fd, start, count)
        order = hilbert_order(bounds)
        starts = np.zeros(count, dtype=np.uint64)
        np.cumsum(sizes[:-1], out=starts[1:])
        starts += start
        starts, sizes = starts[order], sizes[order]  # in the tree's order
        offsets = np.zeros(count, dtype=np.uint64)
        np.cumsum(sizes[:-1], out=offsets[1:])
        tree = packed_tree(bounds, offsets, node_size, order)
        del order, offsets
        patched = bytearray(header)
        struct.pack_into("<H", patched, node_at, node_size)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(out, patched)
            _write_all(out, tree.view(np.uint8).data)
            del tree
            _copy_in_order(fd, out, starts, sizes)
        finally:
            os.close(out)
    finally:
        os.close(fd)
    os.unlink(source)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# Runs copied between two writes; the source's pages mapped for them are let go after each
# batch, so that the copy holds at most this many pages in memory (4 KB each).
_RUNS_AT_ONCE = 8192


def _copy_in_order(source: int, target: int, starts: np.ndarray, sizes: np.ndarray) -> None:
    """Append the features at ``starts`` (sizes ``sizes``) of ``source`` to ``target`` in
    that order. A run of features that lie one after the other in the source is one
    slice of the source mapped in memory; the slices go out in one write a batch."""
    ends = starts + sizes
    # Where a feature does not follow the one before it in the source, a run begins.
    breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
    run_from = starts[np.concatenate(([0], breaks))]
    run_to = ends[np.concatenate((breaks, [len(starts)])) - 1]
    with mmap.mmap(source, 0, access=mmap.ACCESS_READ) as mapped:
        for chunk in range(0, len(run_from), _RUNS_AT_ONCE):
            stop = chunk + _RUNS_AT_ONCE
            _write_all(target, b"".join([
                mapped[a:b] for a, b in zip(run_from[chunk:stop].tolist(),
                                            run_to[chunk:stop].tolist(), strict=True)]))
            # The pages stay in the page cache; they leave this process's memory.
            mapped.madvise(mmap.MADV_DONTNEED)


def write_flatgeobuf(batches: pa.RecordBatchReader, *, layer: Any, srid: int,
                     directory: Path) -> Path:
    """Write the stream as FlatGeobuf with its spatial index: GDAL writes the features
    (``SPATIAL_INDEX=NO``) while their boxes are taken, then ``add_index`` adds the tree."""
    from geodata.exports.ogr import ogr_write

    unindexed = directory / ".unindexed"
    unindexed.mkdir()
    tap = BoundsTap(batches)
    made = ogr_write(tap.reader(), layer=layer, srid=srid, directory=unindexed, driver="FlatGeobuf",
                     suffix=".fgb", layer_options={"SPATIAL_INDEX": "NO"})
    target = directory / made.name
    add_index(made, target, tap.take_bounds())
    unindexed.rmdir()
    return target
