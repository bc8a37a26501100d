"""The FlatGeobuf spatial index that exports add to what GDAL writes (geodata/exports/fgbindex).

GDAL is the judge: it reads the files we index, answers box queries through the index
(which must give what a full read filtered by the same boxes gives), reads a feature by
its id (the index's order, which must be the file's), and the tree must be laid out as
GDAL lays out its own for the same features.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.exports import layer_export
from geodata.exports.fgbindex import (
    MAGIC,
    NODE,
    FlatGeobufError,
    add_index,
    hilbert,
    level_bounds,
    packed_tree,
    write_flatgeobuf,
)
from geodata.exports.layers import Column, Layer
from geodata.models import Parcel

SCHEMA = pa.schema([pa.field("namn", pa.string()), pa.field("n", pa.int32()),
                    pa.field("geom", pa.binary())])
LAYER = Layer(name="ytor", table="", columns=(
    Column("namn", pa.string(), {}), Column("n", pa.int32(), {})),
    geometry_type="MultiPolygon", municipality_column=None)


def squares(count: int, seed: int = 2281, with_null: bool = False) -> list[pa.RecordBatch]:
    """Record batches of ``count`` small squares scattered over a 10 km field (in an
    order with no locality), each named with å, ä and ö; every 97th without a geometry
    when ``with_null``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(600_000, 610_000, count)
    y = rng.uniform(6_900_000, 6_910_000, count)
    size = rng.uniform(1, 40, count)
    geoms = shapely.multipolygons([[shapely.box(a, b, a + s, b + s)] for a, b, s in
                                   zip(x, y, size, strict=True)])
    wkb = list(shapely.to_wkb(geoms))
    if with_null:
        for i in range(0, count, 97):
            wkb[i] = None
    batches = []
    for start in range(0, count, 1000):
        stop = min(count, start + 1000)
        batches.append(pa.RecordBatch.from_arrays([
            pa.array([f"yta ÅÄÖ åäö {i}" for i in range(start, stop)]),
            pa.array(list(range(start, stop)), pa.int32()),
            pa.array(wkb[start:stop], pa.binary())], schema=SCHEMA))
    return batches


def written(tmp_path: Path, batches: list[pa.RecordBatch], name: str = "ours") -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return write_flatgeobuf(pa.RecordBatchReader.from_batches(SCHEMA, batches), layer=LAYER,
                            srid=3006, directory=directory)


def gdal_indexed(tmp_path: Path, batches: list[pa.RecordBatch]) -> Path:
    path = tmp_path / "gdal.fgb"
    pyogrio.write_arrow(pa.RecordBatchReader.from_batches(SCHEMA, batches), path,
                        layer="ytor", driver="FlatGeobuf", geometry_name="geom",
                        geometry_type="MultiPolygon", crs="EPSG:3006",
                        layer_options={"SPATIAL_INDEX": "YES"})
    return path


def tree_of(path: Path) -> np.ndarray:
    """The nodes of a FlatGeobuf file's index, as the file holds them."""
    data = path.read_bytes()
    header_size = struct.unpack_from("<I", data, 8)[0]
    count = pyogrio.read_info(path)["features"]
    nodes = level_bounds(count)[0][1]
    return np.frombuffer(data, dtype=NODE, count=nodes, offset=12 + header_size)


def test_gdal_reads_the_file_answers_boxes_through_the_index_and_ids_match(tmp_path):
    batches = squares(5000, with_null=True)
    path = written(tmp_path, batches)
    info = pyogrio.read_info(path)
    assert info["features"] == 5000 and info["crs"] == "EPSG:3006"
    assert info["capabilities"]["fast_spatial_filter"]  # GDAL found the index
    whole = pyogrio.read_dataframe(path, fid_as_index=True)
    assert sorted(whole.n) == list(range(5000))
    assert whole.namn.str.contains("ÅÄÖ åäö").all()
    assert whole.geometry.isna().sum() == len(range(0, 5000, 97))
    bounds = shapely.bounds(whole.geometry.values)
    rng = np.random.default_rng(7)
    for _ in range(25):
        x, y = rng.uniform(600_000, 610_000), rng.uniform(6_900_000, 6_910_000)
        w, h = rng.uniform(10, 3000, 2)
        box = (x, y, x + w, y + h)
        want = set(whole.n[(bounds[:, 0] <= box[2]) & (bounds[:, 2] >= box[0])
                           & (bounds[:, 1] <= box[3]) & (bounds[:, 3] >= box[1])])
        got = pyogrio.read_dataframe(path, bbox=box)
        assert set(got.n) == want
    # A feature read by its id is the one read in that place (the index's order is the
    # file's).
    fids = [0, 1, 17, 2500, 4999]
    by_id = pyogrio.read_dataframe(path, fids=fids)
    assert list(by_id.n) == list(whole.loc[fids].n)


def test_the_tree_is_laid_out_as_gdal_lays_out_its_own(tmp_path):
    batches = squares(1234)
    ours, theirs = tree_of(written(tmp_path, batches)), tree_of(gdal_indexed(tmp_path, batches))
    assert len(ours) == len(theirs) == 1234 + 78 + 5 + 1
    # The root's box is the extent of everything, on both.
    assert np.allclose([ours[0][f] for f in ("minx", "miny", "maxx", "maxy")],
                       [theirs[0][f] for f in ("minx", "miny", "maxx", "maxy")])
    # Each node points at its first child, and a parent's box holds its children's.
    levels = level_bounds(1234)
    for (first, end), (parent_first, parent_end) in zip(levels, levels[1:], strict=False):
        for parent in range(parent_first, parent_end):
            child = int(ours[parent]["offset"])
            children = ours[child:min(child + 16, end)]
            assert first <= child < end
            assert ours[parent]["minx"] == children["minx"].min()
            assert ours[parent]["maxy"] == children["maxy"].max()
    # Leaves point at the features, one after the other in the file.
    sizes = np.diff(ours[levels[0][0]:]["offset"].astype(np.int64))
    assert (sizes > 0).all()
    # The leaves are in Hilbert order: neighbours in the file are near each other (a
    # leaf node's box is a small part of the field, unlike the input's order).
    leaf_parents = ours[levels[1][0]:levels[1][1]]
    spans = (leaf_parents["maxx"] - leaf_parents["minx"]).mean()
    assert spans < 3000  # the field is 10,000 m across


def test_the_same_features_as_gdals_own_index(tmp_path):
    batches = squares(3000)
    ours = pyogrio.read_dataframe(written(tmp_path, batches))
    theirs = pyogrio.read_dataframe(gdal_indexed(tmp_path, batches))
    assert ours.sort_values("n").reset_index(drop=True).equals(
        theirs.sort_values("n").reset_index(drop=True))
    # The same tree (its size is the specification's for this many features); the
    # features are our encoder's, laid out otherwise than GDAL's
    assert len(tree_of(tmp_path / "gdal.fgb")) == len(tree_of(tmp_path / "ours" / "ytor.fgb"))


@pytest.mark.parametrize("count", [0, 1, 16, 17, 257])
def test_small_and_empty_layers(count, tmp_path):
    path = written(tmp_path, squares(count) if count else [])
    assert pyogrio.read_info(path, force_feature_count=True)["features"] == count
    if count:
        frame = pyogrio.read_dataframe(path, bbox=(600_000, 6_900_000, 610_000, 6_910_000))
        assert len(frame) == count
    assert not (tmp_path / "ours" / ".unindexed").exists()


def test_level_bounds_follow_the_specification():
    assert level_bounds(1) == [(1, 2), (0, 1)]
    assert level_bounds(16) == [(1, 17), (0, 1)]
    assert level_bounds(17) == [(3, 20), (1, 3), (0, 1)]
    assert level_bounds(300) == [(22, 322), (3, 22), (1, 3), (0, 1)]
    with pytest.raises(FlatGeobufError):
        level_bounds(0)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=5))
def test_hilbert_visits_each_cell_of_a_corner_once_going_to_a_neighbour(order):
    """The curve's first 4^k positions are the 2^k x 2^k cells at its origin, each once,
    each next to the one before."""
    side = 1 << order
    x, y = np.meshgrid(np.arange(side), np.arange(side))
    keys = hilbert(x.ravel(), y.ravel())
    assert sorted(keys.tolist()) == list(range(side * side))
    walk = np.argsort(keys)
    steps = np.abs(np.diff(x.ravel()[walk])) + np.abs(np.diff(y.ravel()[walk]))
    assert (steps == 1).all()


def test_a_parent_ignores_children_without_a_box():
    bounds = np.array([[0, 0, 1, 1], [np.nan] * 4, [2, 2, 3, 3]], dtype=float)
    nodes = packed_tree(bounds, np.array([0, 10, 20], dtype=np.uint64))
    root = nodes[0]
    assert (root["minx"], root["miny"], root["maxx"], root["maxy"]) == (0, 0, 3, 3)


def test_what_is_not_an_unindexed_flatgeobuf_is_refused(tmp_path):
    other = tmp_path / "x.fgb"
    other.write_bytes(b"PK\x03\x04 not a FlatGeobuf at all")
    with pytest.raises(FlatGeobufError, match="not a FlatGeobuf"):
        add_index(other, tmp_path / "y.fgb", np.zeros((1, 4)))
    indexed = gdal_indexed(tmp_path, squares(20))
    with pytest.raises(FlatGeobufError, match="has an index already"):
        add_index(indexed, tmp_path / "y.fgb", np.zeros((20, 4)))
    plain = tmp_path / "plain.fgb"
    pyogrio.write_arrow(pa.RecordBatchReader.from_batches(SCHEMA, squares(20)), plain,
                        layer="ytor", driver="FlatGeobuf", geometry_name="geom",
                        geometry_type="MultiPolygon", crs="EPSG:3006",
                        layer_options={"SPATIAL_INDEX": "NO"})
    with pytest.raises(FlatGeobufError, match="counts 20 features, 19 were written"):
        add_index(plain, tmp_path / "y.fgb", np.zeros((19, 4)))
    assert plain.read_bytes()[:7] == MAGIC  # left as it was
    truncated = tmp_path / "truncated.fgb"
    truncated.write_bytes(plain.read_bytes()[:-30])
    with pytest.raises(FlatGeobufError, match="ends inside feature 20 of 20"):
        add_index(truncated, tmp_path / "y.fgb", np.zeros((20, 4)))


@pytest.mark.django_db
def test_an_export_of_the_cache_is_indexed(demo_data, tmp_path):
    out = tmp_path / "parcels.fgb"
    result = layer_export("parcels", file_format="fgb", out=out, crs="EPSG:3014")
    assert pyogrio.read_info(out)["capabilities"]["fast_spatial_filter"]
    assert result.features == Parcel.objects.count()
    frame = pyogrio.read_dataframe(out)
    x0, y0, x1, y1 = frame.total_bounds
    half = pyogrio.read_dataframe(out, bbox=(x0, y0, (x0 + x1) / 2, y1))
    want = frame.geometry.bounds
    assert len(half) == int((want.minx <= (x0 + x1) / 2).sum())
