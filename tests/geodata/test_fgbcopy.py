"""FlatGeobuf features encoded from PostgreSQL's binary COPY by compiled code
(geodata/exports/fgbcopy).

The rows are real: hypothesis's batches (those of test_fgbwrite: multipolygons of several
parts and holes, polygons, points, empty and null geometries, every column type with
nulls, å, ä and ö) go into a table of the test database, and the COPY of it, in an
exported snapshot as an export reads, is encoded. GDAL is the judge: it reads back what
went in. Hostile WKB (kept as bytea, which PostGIS would never write) is refused naming
the feature; dates FlatGeobuf cannot write, a server error in the COPY and rows larger
than the buffer are covered too. PostgreSQL only: SpatiaLite has no COPY.
"""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyogrio
import pytest
import shapely
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata.exports import fgbcopy
from geodata.exports.fgbcopy import CopyFailed, EncodeError
from geodata.exports.fgbwrite import header
from geodata.exports.pgcopy import conninfo
from tests.geodata.test_fgbwrite import COLUMNS, GOOD, assert_read_back, batches, polygon

# The mark makes pytest-django set up the test database; the rows are written and read
# on connections of their own, committed, as an export reads them.
pytestmark = pytest.mark.django_db
TABLE = "fgbcopy_rows"
KINDS = {pa.string(): fgbcopy.TEXT, pa.int16(): fgbcopy.INT2, pa.int32(): fgbcopy.INT4,
         pa.int64(): fgbcopy.INT8, pa.float64(): fgbcopy.FLOAT8, pa.date32(): fgbcopy.DATE}


def db_settings(examples: int) -> settings:
    """Hypothesis's settings for a test on the module's table (a fixture of the module)."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def pg(django_db_setup, django_db_blocker):
    """The test database's connection string, and a connection (autocommit) to it with
    the table of rows."""
    if connection.vendor != "postgresql":
        pytest.skip("the binary COPY is PostgreSQL's")
    with django_db_blocker.unblock():
        info = conninfo(connection)
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (ord int, namn text, kod varchar(12), n int4, "
                     "kort int2, lang int8, yta float8, dag date, id uuid, wkb bytea)")
        try:
            yield info, conn
        finally:
            conn.execute(f"DROP TABLE {TABLE}")


def put(pg, rows: list[dict]) -> None:
    """The table holds these rows (ord is each one's number), committed."""
    _, conn = pg
    conn.execute(f"TRUNCATE {TABLE}")
    names = ["ord", "namn", "kod", "n", "kort", "lang", "yta", "dag", "id", "wkb"]
    with conn.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join(['%s'] * 10)})",  # noqa: S608
            [[i, *(row.get(name) for name in names[1:])] for i, row in enumerate(rows)])


def copy(pg, out: Path, columns: list[tuple[str, str, int]], *, point: bool = False,
         geometry: str = "t.wkb", expected: int = 0) -> fgbcopy.Encoded:
    """Encode the table's COPY (in its rows' order) in a snapshot exported as an export
    exports it."""
    info, _ = pg
    with psycopg.connect(info) as holder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot = holder.execute("SELECT pg_export_snapshot()").fetchone()[0]
        return fgbcopy.encode_copy(conninfo=info, snapshot_id=snapshot, columns=columns,
                                   geometry=geometry, table=TABLE, order="t.ord",
                                   point=point, out_path=out, expected=expected)


def written(path: Path, features: Path, encoded: fgbcopy.Encoded, fields: list[pa.Field],
            point: bool) -> Path:
    """A FlatGeobuf file without an index: our header, then the features as encoded."""
    body = features.read_bytes()
    assert len(body) == int(encoded.sizes.sum())
    path.write_bytes(header(name="lager", geometry_type="Point" if point else "MultiPolygon",
                            columns=fields, srid=3006, count=len(encoded.sizes),
                            envelope=None, node_size=0) + body)
    return path


def rows_of(batch: pa.RecordBatch) -> list[dict]:
    names = [f.name for f in COLUMNS]
    columns = {name: batch.column(name).to_pylist() for name in [*names, "geom"]}
    return [{**{name: columns[name][i] for name in names}, "wkb": columns["geom"][i],
             "id": uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128) if i % 3 else None}
            for i in range(batch.num_rows)]


COPY_COLUMNS = [(f.name, f"t.{f.name}", KINDS[f.type]) for f in COLUMNS]


def check(pg, tmp: Path, drawn, point: bool) -> None:
    batch, geoms = drawn
    rows = rows_of(batch)
    put(pg, rows)
    columns = [*COPY_COLUMNS, ("id", "t.id", fgbcopy.TEXT)]
    encoded = copy(pg, tmp / ".features", columns, point=point, expected=len(rows))
    path = written(tmp / "lager.fgb", tmp / ".features", encoded,
                   [*COLUMNS, pa.field("id", pa.string())], point)
    assert_read_back(path, batch, geoms, point)
    # A UUID as PostgreSQL writes it
    got = pyogrio.read_arrow(path, columns=["id"])[1].column("id").to_pylist()
    assert got == [None if r["id"] is None else str(r["id"]) for r in rows]
    # Each feature's box over all its points (a hole outside its shell, as hypothesis
    # may draw one, included: GEOS and PostGIS measure the shell only); NaN for none
    points = [None if g is None or g.is_empty else shapely.get_coordinates(g) for g in geoms]
    want = np.array([[np.nan] * 4 if p is None else [*p.min(axis=0), *p.max(axis=0)]
                     for p in points])
    np.testing.assert_array_equal(encoded.boxes, want)


@db_settings(40)
@given(drawn=batches())
def test_multipolygons_from_the_copy_read_back_by_gdal(pg, tmp_path_factory, drawn):
    check(pg, tmp_path_factory.mktemp("fgbcopy"), drawn, point=False)


@db_settings(20)
@given(drawn=batches(point=True))
def test_points_from_the_copy_read_back_by_gdal(pg, tmp_path_factory, drawn):
    check(pg, tmp_path_factory.mktemp("fgbcopy"), drawn, point=True)


def test_columns_of_other_types_are_cast_to_what_the_layer_holds(pg, tmp_path):
    put(pg, [{"n": 7, "yta": 2.5, "kort": 12, "namn": "Åsen"}, {"n": None, "kort": -3}])
    columns = [("n", "t.n", fgbcopy.INT8), ("yta", "t.yta::numeric", fgbcopy.FLOAT8),
               ("kort", "t.kort", fgbcopy.TEXT), ("namn", "t.namn::varchar", fgbcopy.TEXT)]
    encoded = copy(pg, tmp_path / ".features", columns)
    fields = [pa.field("n", pa.int64()), pa.field("yta", pa.float64()),
              pa.field("kort", pa.string()), pa.field("namn", pa.string())]
    table = pyogrio.read_arrow(written(tmp_path / "t.fgb", tmp_path / ".features", encoded,
                                       fields, point=False))[1]
    assert table.column("n").to_pylist() == [7, None]
    assert table.column("yta").to_pylist() == [2.5, None]
    assert table.column("kort").to_pylist() == ["12", "-3"]
    assert table.column("namn").to_pylist() == ["Åsen", None]
    assert pyogrio.read_info(tmp_path / "t.fgb")["dtypes"].tolist() == [
        "int64", "float64", "object", "object"]


HOSTILE = [
    (shapely.to_wkb(shapely.box(0, 0, 1, 1), byte_order=0), "little-endian"),
    (shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)])), "not a polygon"),
    (shapely.to_wkb(shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)])), "z or m"),
    (shapely.to_wkb(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))[:-8], "more parts"),
    (shapely.to_wkb(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)])) + b"\0", "after"),
    (b"\x01\x06\0\0\0\xff\xff\xff\x7f", "more parts"),
    (b"\x01\x03\0\0\0\x01\0\0\0\xff\xff\xff\x7f", "more parts"),
    (b"\x01\x06\0\0\0\x01\0\0\0\x01\x02\0\0\0\0\0\0\0", "not a little-endian 2D polygon"),
    # Two parts: the first whole, the second's head cut after three bytes
    (b"\x01\x06\0\0\0\x02\0\0\0"
     + shapely.to_wkb(shapely.box(0, 0, 1, 1)) + b"\x01\x03\0", "cut short"),
]


@pytest.mark.parametrize(("wkb", "message"), HOSTILE)
def test_hostile_wkb_is_refused_naming_the_feature(pg, tmp_path, wkb, message):
    good = shapely.to_wkb(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))
    put(pg, [{"wkb": good}, {"wkb": good}, {"wkb": wkb}])
    with pytest.raises(EncodeError, match=rf"feature 3 of the export: .*{message}"):
        copy(pg, tmp_path / ".features", [("n", "t.n", fgbcopy.INT4)])


@pytest.mark.parametrize(("wkb", "message"), [
    (shapely.to_wkb(shapely.box(0, 0, 1, 1)), "not a point"),
    (shapely.to_wkb(shapely.Point(1, 2))[:-1], "cut short"),
    (shapely.to_wkb(shapely.Point(1, 2)) + b"\0", "after"),
])
def test_hostile_points_are_refused_naming_the_feature(pg, tmp_path, wkb, message):
    put(pg, [{"wkb": shapely.to_wkb(shapely.Point(1, 2))}, {"wkb": wkb}])
    with pytest.raises(EncodeError, match=rf"feature 2 of the export: .*{message}"):
        copy(pg, tmp_path / ".features", [("n", "t.n", fgbcopy.INT4)], point=True)


@db_settings(120)
@given(values=st.lists(st.none() | st.binary(max_size=80) | st.sampled_from(GOOD),
                       min_size=1, max_size=6),
       point=st.booleans())
def test_any_bytes_encode_or_are_refused(pg, tmp_path_factory, values, point):
    put(pg, [{"wkb": v, "n": i} for i, v in enumerate(values)])
    out = tmp_path_factory.mktemp("bytes") / ".features"
    try:
        encoded = copy(pg, out, [("n", "t.n", fgbcopy.INT4)], point=point)
    except EncodeError as error:
        assert "of the export" in str(error)
        return
    assert len(encoded.sizes) == len(values)
    assert out.stat().st_size == encoded.sizes.sum()


@pytest.mark.parametrize("day", ["10000-01-01", "infinity", "-infinity", "0001-12-31 BC"])
def test_a_date_flatgeobuf_cannot_write_is_refused_naming_its_column(pg, tmp_path, day):
    put(pg, [{"dag": datetime.date(2024, 2, 29)}, {"dag": None}])
    _, conn = pg
    conn.execute(f"UPDATE {TABLE} SET dag = %s::date WHERE ord = 1", [day])  # noqa: S608
    with pytest.raises(EncodeError, match="feature 2 of the export, column dag: a date outside"):
        copy(pg, tmp_path / ".features", [("dag", "t.dag", fgbcopy.DATE)])


def test_a_server_error_in_the_copy_is_raised_with_its_message(pg, tmp_path):
    put(pg, [{"n": 1}, {"n": 0}, {"n": 2}])
    with pytest.raises(CopyFailed, match="division by zero"):
        copy(pg, tmp_path / ".features", [("n", "(10 / t.n)", fgbcopy.INT4)])


def test_more_rows_than_expected_and_more_than_a_buffer_holds(pg, tmp_path):
    # 25,000 features of some 500 bytes: the 8 MB buffer is written several times, and
    # the sizes and boxes grow past the 1,024 rows expected
    ring = [(np.cos(a) * 10, np.sin(a) * 10) for a in np.linspace(0, 2 * np.pi, 25)]
    wkb = shapely.to_wkb(shapely.MultiPolygon([shapely.Polygon(ring)]))
    put(pg, [{"wkb": wkb, "n": i, "namn": "Ö" * (i % 50)} for i in range(25_000)])
    encoded = copy(pg, tmp_path / ".features", [("n", "t.n", fgbcopy.INT4),
                                                ("namn", "t.namn", fgbcopy.TEXT)], expected=1)
    assert len(encoded.sizes) == 25_000
    table = pyogrio.read_arrow(written(
        tmp_path / "many.fgb", tmp_path / ".features", encoded,
        [pa.field("n", pa.int32()), pa.field("namn", pa.string())], point=False))[1]
    assert table.column("n").to_pylist() == list(range(25_000))
    assert table.column("namn").to_pylist()[49] == "Ö" * 49


def test_a_feature_larger_than_the_buffer(pg, tmp_path):
    # 600,000 points: 9.6 MB of coordinates in one row, more than the 8 MB buffer
    angles = np.linspace(0, 2 * np.pi, 600_000)
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    ring[-1] = ring[0]
    big = shapely.MultiPolygon([shapely.Polygon(ring)])
    small = shapely.MultiPolygon([shapely.box(0, 0, 1, 1)])
    put(pg, [{"wkb": shapely.to_wkb(g), "n": i} for i, g in enumerate([small, big, small])])
    encoded = copy(pg, tmp_path / ".features", [("n", "t.n", fgbcopy.INT4)])
    frame = pyogrio.read_dataframe(written(tmp_path / "big.fgb", tmp_path / ".features",
                                           encoded, [pa.field("n", pa.int32())], point=False))
    assert shapely.equals_exact(frame.geometry[1], big, 0)
    assert frame["n"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("where", ["", "t.n % 7 <> 3"])
def test_a_copy_split_between_connections_takes_every_row_once(pg, tmp_path, monkeypatch,
                                                                where):
    # 30,000 rows over some 500 pages, read by three COPYs, each a third of the pages
    monkeypatch.setattr(fgbcopy, "SPLIT_FROM", 1)
    wkb = shapely.to_wkb(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))
    put(pg, [{"wkb": wkb, "n": i, "namn": f"rad {i} å"} for i in range(30_000)])
    info, _ = pg
    with psycopg.connect(info) as holder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot = holder.execute("SELECT pg_export_snapshot()").fetchone()[0]
        # Rows written after the snapshot are not read by any of the three
        _, conn = pg
        conn.execute(f"INSERT INTO {TABLE} (ord, n, wkb) VALUES (30000, 30000, %s)", [wkb])  # noqa: S608
        encoded = fgbcopy.encode_copy(
            conninfo=info, snapshot_id=snapshot, columns=[("n", "t.n", fgbcopy.INT4),
                                                          ("namn", "t.namn", fgbcopy.TEXT)],
            geometry="t.wkb", table=TABLE, where=where, point=False,
            out_path=tmp_path / ".features", expected=30_000, connections=3)
    want = [i for i in range(30_000) if not where or i % 7 != 3]
    assert len(encoded.sizes) == len(want)
    table = pyogrio.read_arrow(written(
        tmp_path / "split.fgb", tmp_path / ".features", encoded,
        [pa.field("n", pa.int32()), pa.field("namn", pa.string())], point=False))[1]
    got = table.column("n").to_pylist()
    assert sorted(got) == want
    assert got != want  # the three parts came interleaved, as each had rows
    names = dict(zip(got, table.column("namn").to_pylist(), strict=True))
    assert names[want[-1]] == f"rad {want[-1]} å"


def test_make_builds_the_kernel_ahead_of_time():
    # Without it an export compiles the kernel with numba: some 0.6 s and 115 MB more
    assert fgbcopy.built(), ("FlatGeobuf's kernel is not built from this source: "
                             "make deps (or manage.py geodata_compile) builds it")


def test_the_kernel_built_ahead_writes_what_numba_compiles_now(pg, tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    geoms = [None, shapely.MultiPolygon(), shapely.box(0, 0, 1, 1)] + [
        shapely.MultiPolygon([polygon(rng, 600_000 + 30 * i + 25 * j, 6_900_000, j % 3)
                              for j in range(1 + i % 4)]) for i in range(300)]
    put(pg, [{"wkb": None if g is None else shapely.to_wkb(g), "n": i, "namn": f"Ö {i}",
              "dag": datetime.date(1901, 1, 1) + datetime.timedelta(days=97 * i),
              "id": uuid.UUID(int=i * 7919), "yta": i / 7, "lang": -i * 2**40}
             for i, g in enumerate(geoms)])
    columns = [*COPY_COLUMNS, ("id", "t.id", fgbcopy.TEXT)]
    ahead = copy(pg, tmp_path / "ahead", columns)
    assert fgbcopy.kernel()[1] == "ahead"
    monkeypatch.setattr(fgbcopy, "kernel", fgbcopy.jit_kernel)
    jit = copy(pg, tmp_path / "jit", columns)
    assert (tmp_path / "ahead").read_bytes() == (tmp_path / "jit").read_bytes()
    np.testing.assert_array_equal(ahead.sizes, jit.sizes)
    np.testing.assert_array_equal(ahead.boxes, jit.boxes)


@pytest.mark.parametrize("rows", [0, 1, 700])
def test_the_whole_file_with_its_index_from_the_copy(pg, tmp_path, rows):
    # What an export writes (header, packed Hilbert R-tree, features in its order),
    # empty, of one feature and of several hundred; GDAL reads it and queries its index
    from types import SimpleNamespace

    from geodata.exports.fgbindex import write_flatgeobuf_copy
    from geodata.exports.pgcopy import CopySource

    squares = [shapely.MultiPolygon([shapely.box(600_000 + 10 * i, 6_900_000,
                                                 600_005 + 10 * i, 6_900_005)])
               for i in range(rows)]
    put(pg, [{"wkb": shapely.to_wkb(g), "n": i, "namn": "Älvsbacka"}
             for i, g in enumerate(squares)])
    info, _ = pg
    with psycopg.connect(info) as holder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot = holder.execute("SELECT pg_export_snapshot()").fetchone()[0]
        source = CopySource(conninfo=info, snapshot_id=snapshot,
                            columns=(("n", "t.n", pa.int32()), ("namn", "t.namn", pa.string())),
                            geometry="t.wkb", table=TABLE, where="")
        done = []
        path = write_flatgeobuf_copy(
            source, layer=SimpleNamespace(name="rutor", geometry_type="MultiPolygon"),
            srid=3006, directory=tmp_path, expected=rows, progress=done.append)
    assert path == tmp_path / "rutor.fgb" and not (tmp_path / ".features").exists()
    assert (done[-1] if done else 0) == rows
    info = pyogrio.read_info(path, force_feature_count=True)
    assert info["features"] == rows and info["crs"] == "EPSG:3006"
    frame = pyogrio.read_dataframe(path, bbox=(600_100, 6_899_000, 600_125, 6_901_000))
    assert sorted(frame["n"]) == [i for i in (10, 11, 12) if i < rows]
    assert set(frame["namn"]) <= {"Älvsbacka"}
