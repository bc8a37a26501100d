"""Exports, read back by GIS staff's own tool (GDAL's ogrinfo) and by pyogrio.

Every format is exported from the demo cache, through the command and the library, and
read back: the feature count is the cache's for the filter, the CRS is the EPSG code asked
for, and a known parcel's corners are where pyproj puts the cache's geometry, to the
millimetre (files store x/y: easting first, longitude first).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import zipfile
from io import StringIO
from pathlib import Path

import geopandas
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geodata.errors import GeodataError
from geodata.exports import EXPORT_SRIDS, FORMATS, LAYERS, ExportError, layer_export
from geodata.exports.pgcopy import uuid_text
from geodata.exports.shapefile import short_names
from geodata.models import Address, Building, Parcel, Plan, Regulation

pytestmark = pytest.mark.django_db

KNOWN = "SUNDSVALL ABBOTEN 1"
MODELS = {"parcels": Parcel, "addresses": Address, "buildings": Building, "plans": Plan,
          "regulations": Regulation}
# A block of the town around the known parcel (EPSG:3006), and the same part of town in
# WGS 84 (lon/lat).
BBOX_3006 = (615900.0, 6919700.0, 616400.0, 6920100.0)
BBOX_4326 = (17.2440, 62.3905, 17.2500, 62.3935)
# Metres in a projected CRS; degrees in WGS 84 (1e-8 degrees is about a millimetre).
TOLERANCE = {4326: 1e-8}
OGRINFO_PARQUET = "Parquet" in subprocess.run(["ogrinfo", "--formats"], capture_output=True,
                                              text=True).stdout


# -- reading exports back ------------------------------------------------------------------

def ogrinfo(*args: str) -> str:
    return subprocess.run(["ogrinfo", "-ro", *args], check=True, capture_output=True,
                          text=True).stdout


def gdal_name(path: Path, fmt: str, layer: str) -> str:
    """The name GDAL opens an export by (a zipped Shapefile through /vsizip/)."""
    return f"/vsizip/{path}/{layer}.shp" if fmt == "shp" else str(path)


def ogr_summary(name: str) -> tuple[int, int | None, str]:
    """Feature count, the layer's EPSG code and geometry type, as ogrinfo reports them."""
    text = ogrinfo("-al", "-so", name)
    count = int(re.search(r"^Feature Count: (\d+)$", text, re.M).group(1))
    # The CRS's own ID closes its WKT at the first level of indentation.
    epsg = re.search(r'^    ID\["EPSG",(\d+)\]\]$', text, re.M)
    geometry = re.search(r"^Geometry: (.+)$", text, re.M).group(1)
    return count, int(epsg.group(1)) if epsg else None, geometry


def ogr_geometry(name: str, where: str) -> shapely.Geometry:
    """The geometry of the one feature matching ``where``, as ogrinfo prints it."""
    text = ogrinfo("-al", "-q", "-where", where, name)
    wkts = re.findall(r"^  ((?:MULTI)?(?:POLYGON|POINT) .+)$", text, re.M)
    assert len(wkts) == 1, text[-2000:]
    return shapely.from_wkt(wkts[0])


def expected(geometry: GEOSGeometry, srid: int) -> shapely.Geometry:
    """The cache's geometry transformed by pyproj on its own (x/y: always_xy)."""
    shape = shapely.from_wkb(bytes(geometry.wkb))
    if srid == 3006:
        return shape
    t = Transformer.from_crs(3006, srid, always_xy=True)
    return shapely.transform(shape, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def assert_same_place(got: shapely.Geometry, want: shapely.Geometry, srid: int) -> None:
    """Every vertex to the millimetre, each way (a ring may start at another corner or
    turn the other way: RFC 7946 and shapefiles have their own orientation)."""
    assert got.geom_type == want.geom_type
    assert shapely.get_num_geometries(got) == shapely.get_num_geometries(want)
    a, b = shapely.get_coordinates(got), shapely.get_coordinates(want)
    assert a.shape == b.shape
    apart = np.abs(a[:, None, :] - b[None, :, :]).max(axis=2)
    tolerance = TOLERANCE.get(srid, 1e-3)
    assert apart.min(axis=1).max() < tolerance and apart.min(axis=0).max() < tolerance, (
        apart.min(axis=1).max(), apart.min(axis=0).max())


def read_back(path: Path, fmt: str, layer: str = "parcels"):
    """The export as a GeoDataFrame (pyogrio; pyarrow for GeoParquet)."""
    if fmt == "parquet":
        return geopandas.read_parquet(path)
    return pyogrio.read_dataframe(gdal_name(path, fmt, layer))


def id_field(fmt: str) -> str:
    return "objektiden" if fmt == "shp" else "objektidentitet"


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("geodata_export", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def known(demo_data) -> Parcel:
    return Parcel.objects.filter(beteckning=KNOWN).order_by("omradesnummer").first()


# -- every format, in SWEREF 99 TM and in the local zone -----------------------------------

CASES = [(fmt, srid) for fmt in FORMATS if fmt != "geojson" for srid in (3006, 3014)]
CASES.append(("geojson", 4326))


@pytest.mark.parametrize("fmt,srid", CASES)
def test_every_format_reads_back_in_gdal_with_its_crs_count_and_coordinates(
        fmt, srid, known, tmp_path):
    out = tmp_path / f"parcels{FORMATS[fmt].suffix}"
    if srid == 3014 or fmt == "geojson":  # through the command GIS staff type
        args = ["parcels", "--format", fmt, "--out", str(out)]
        printed = run_command(*args + (["--crs", f"EPSG:{srid}"] if srid != 4326 else []))
        assert f"parcels: {Parcel.objects.count()} features written to {out}" in printed
        assert f"EPSG:{srid}" in printed
    else:
        result = layer_export("parcels", file_format=fmt, out=out, crs=f"EPSG:{srid}")
        assert (result.path, result.srid, result.features) == (out, srid,
                                                               Parcel.objects.count())
    total = Parcel.objects.count()
    assert total > 2000
    frame = read_back(out, fmt)
    assert len(frame) == total
    assert frame.crs.to_epsg() == srid
    got = frame[frame[id_field(fmt)] == str(known.objektidentitet)].geometry
    assert len(got) == 1
    if fmt == "shp":  # a shapefile has polygons, each ring of a multipolygon's parts
        got_shape = shapely.MultiPolygon(list(shapely.get_parts(got.iloc[0])))
    else:
        got_shape = got.iloc[0]
    assert_same_place(got_shape, expected(known.geom, srid), srid)
    if fmt == "parquet" and not OGRINFO_PARQUET:
        return  # Debian 12's GDAL has no Parquet driver; checked below through pyarrow
    count, epsg, geometry = ogr_summary(gdal_name(out, fmt, "parcels"))
    assert (count, epsg) == (total, srid)
    gdal_shape = ogr_geometry(gdal_name(out, fmt, "parcels"),
                              f"{id_field(fmt)} = '{known.objektidentitet}'")
    if gdal_shape.geom_type == "Polygon":
        gdal_shape = shapely.MultiPolygon([gdal_shape])
    assert_same_place(gdal_shape, expected(known.geom, srid), srid)


@pytest.mark.parametrize("srid", sorted(EXPORT_SRIDS))
def test_every_crs_offered_is_named_in_the_file_and_places_the_parcel(srid, known, tmp_path):
    out = tmp_path / "parcels.gpkg"
    result = layer_export("parcels", file_format="gpkg", out=out, crs=srid, bbox=BBOX_3006)
    assert result.srid == srid
    count, epsg, geometry = ogr_summary(str(out))
    assert (count, epsg, geometry) == (result.features, srid, "Multi Polygon")
    got = ogr_geometry(str(out), f"objektidentitet = '{known.objektidentitet}'")
    assert_same_place(got, expected(known.geom, srid), srid)
    if srid in (3014, 3006, 3021):  # a northing of millions: easting first, not swapped
        x, y = shapely.get_coordinates(got)[0]
        assert x < 2_000_000 < y


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_layer_exports_all_its_rows(layer, demo_data, tmp_path):
    out = tmp_path / f"{layer}.fgb"
    result = layer_export(layer, file_format="fgb", out=out, crs="EPSG:3014")
    rows = MODELS[layer].objects.count()
    assert rows > 0 and result.features == rows
    count, epsg, geometry = ogr_summary(str(out))
    assert (count, epsg) == (rows, 3014)
    assert geometry == ("Point" if layer == "addresses" else "Multi Polygon")
    frame = pyogrio.read_dataframe(out)
    assert "objektidentitet" in frame.columns and "content_hash" not in frame.columns
    sample = MODELS[layer].objects.order_by("id").first()
    row = frame[frame.objektidentitet == str(sample.objektidentitet)].iloc[0]
    assert_same_place(row.geometry, expected(sample.geom, 3014), 3014)


# -- what each format must carry -----------------------------------------------------------

def test_geojson_is_rfc7946_lon_lat_and_refuses_another_crs(known, tmp_path):
    out = tmp_path / "parcels.geojson"
    layer_export("parcels", file_format="geojson", out=out, municipality="2281")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    lon, lat = data["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 17 < lon < 18 and 62 < lat < 63  # longitude first
    assert len(data["features"]) == Parcel.objects.filter(kommunkod="2281").count()
    with pytest.raises(ExportError) as refused:
        layer_export("parcels", file_format="geojson", out=tmp_path / "x.geojson",
                     crs="EPSG:3006")
    assert (refused.value.code, refused.value.http_status) == ("unsupported_export_crs", 400)
    assert not (tmp_path / "x.geojson").exists()
    layer_export("parcels", file_format="geojson", out=out, crs="EPSG:4326", bbox=BBOX_3006)


def test_shapefile_zip_has_its_members_and_the_field_names_beside_it(known, tmp_path):
    out = tmp_path / "parcels.zip"
    run_command("parcels", "--format", "shp", "--crs", "EPSG:3014", "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert names == {"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj",
                         "parcels.cpg", "fields.csv"}
        assert archive.read("parcels.cpg").decode().strip() == "UTF-8"
        assert "SWEREF99 17 15" in archive.read("parcels.prj").decode().replace("_", " ")
        mapping = dict(csv.reader(io.StringIO(archive.read("fields.csv").decode())))
    assert mapping.pop("shapefile_field") == "field"
    assert mapping["registeren"] == "registerenhetsreferens"
    assert mapping["objektiden"] == "objektidentitet"
    assert all(len(short) <= 10 for short in mapping)
    assert set(mapping.values()) == {c.name for c in LAYERS["parcels"].columns}
    info = pyogrio.read_info(f"/vsizip/{out}/parcels.shp")
    assert set(info["fields"]) == set(mapping)
    frame = pyogrio.read_dataframe(f"/vsizip/{out}/parcels.shp",
                                   where=f"objektiden = '{known.objektidentitet}'")
    row = frame.iloc[0]
    assert (row.beteckning, row.kommunnamn, row.registeren) == (
        known.beteckning, known.kommunnamn, str(known.registerenhetsreferens))


def test_short_field_names_stay_unique():
    mapping = short_names(["bestammelsekod", "bestammelsetyp", "bestammelseformulering",
                           "BESTAMMELS", "kort"])
    assert mapping == {"bestammelsekod": "bestammels", "bestammelsetyp": "bestamme_1",
                       "bestammelseformulering": "bestamme_2", "BESTAMMELS": "BESTAMME_3",
                       "kort": "kort"}


def test_csv_has_wkt_and_its_crs_beside_it(known, tmp_path):
    out = tmp_path / "parcels.csv"
    printed = run_command("parcels", "--format", "csv", "--crs", "EPSG:3014", "--out",
                          str(out))
    assert f"beside it: {tmp_path / 'parcels.prj'}" in printed
    assert (tmp_path / "parcels.prj").exists() and (tmp_path / "parcels.csvt").exists()
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == Parcel.objects.count()
    row = next(r for r in rows if r["objektidentitet"] == str(known.objektidentitet))
    assert row["beteckning"] == KNOWN
    assert_same_place(shapely.from_wkt(row["WKT"]), expected(known.geom, 3014), 3014)


def test_geoparquet_metadata_names_the_crs_and_the_geometry(known, tmp_path):
    out = tmp_path / "parcels.parquet"
    result = layer_export("parcels", file_format="parquet", out=out, crs=3014,
                          chunk_rows=1000)
    # In the file's metadata, where GeoParquet puts it.
    geo = json.loads(pq.ParquetFile(out).metadata.metadata[b"geo"])
    column = geo["columns"]["geom"]
    assert (geo["version"], geo["primary_column"], column["encoding"]) == ("1.1.0", "geom",
                                                                           "WKB")
    assert column["geometry_types"] == ["MultiPolygon"]
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 3014}
    frame = geopandas.read_parquet(out)
    assert list(frame.total_bounds) == pytest.approx(column["bbox"])
    assert pq.ParquetFile(out).metadata.num_row_groups == 3  # 2,826 rows a thousand at a time
    assert len(frame) == result.features == Parcel.objects.count()


# -- filters -------------------------------------------------------------------------------

def ids_in(path: Path, fmt: str = "gpkg") -> set[str]:
    return set(read_back(path, fmt)[id_field(fmt)])


def test_municipality_filter_by_code_or_name(demo_data, tmp_path):
    out = tmp_path / "parcels.gpkg"
    result = layer_export("parcels", file_format="gpkg", out=out, municipality="Sundsvall")
    assert result.features == Parcel.objects.filter(kommunkod="2281").count() > 0
    # Buildings have no municipality column: theirs is their source's.
    out = tmp_path / "buildings.gpkg"
    result = layer_export("buildings", file_format="gpkg", out=out, municipality="2281")
    assert result.features == Building.objects.filter(
        source__municipality__kommunkod="2281").count() > 0
    # A real municipality with nothing in the cache gives an empty, valid file.
    out = tmp_path / "empty.gpkg"
    result = layer_export("parcels", file_format="gpkg", out=out, municipality="Kiruna")
    assert result.features == 0
    assert ogr_summary(str(out))[:2] == (0, 3006)


def test_bbox_in_sweref_takes_what_intersects_it(known, tmp_path):
    out = tmp_path / "parcels.gpkg"
    run_command("parcels", "--format", "gpkg", "--out", str(out), "--bbox",
                ",".join(str(v) for v in BBOX_3006))
    want = {str(p.objektidentitet) for p in Parcel.objects.filter(
        geom__intersects=Polygon.from_bbox(BBOX_3006))}
    assert 0 < len(want) < Parcel.objects.count()
    assert str(known.objektidentitet) in want
    assert ids_in(out) == want


def test_bbox_in_wgs84_takes_what_intersects_it_there(demo_data, tmp_path):
    out = tmp_path / "parcels.fgb"
    run_command("parcels", "--format", "fgb", "--out", str(out), "--bbox",
                ",".join(str(v) for v in BBOX_4326), "--bbox-crs", "EPSG:4326")
    # Each parcel taken to WGS 84 by pyproj and tested against the bbox there.
    box = shapely.box(*BBOX_4326)
    want = {str(p.objektidentitet) for p in Parcel.objects.all()
            if expected(p.geom, 4326).intersects(box)}
    assert 0 < len(want) < Parcel.objects.count()
    assert ids_in(out, "fgb") == want


def test_polygon_filter_in_wkt_and_in_a_geojson_file(known, tmp_path):
    c = known.geom.centroid
    triangle = shapely.Polygon([(c.x - 150, c.y - 100), (c.x + 200, c.y - 50),
                                (c.x, c.y + 180)])
    want = {str(p.objektidentitet) for p in Parcel.objects.filter(
        geom__intersects=GEOSGeometry(triangle.wkt, srid=3006))}
    assert str(known.objektidentitet) in want and len(want) > 3
    out = tmp_path / "parcels.gpkg"
    layer_export("parcels", file_format="gpkg", out=out, polygon=triangle)
    assert ids_in(out) == want
    # The same triangle in WGS 84 as a GeoJSON file, through the command.
    t = Transformer.from_crs(3006, 4326, always_xy=True)
    lonlat = shapely.transform(triangle, lambda xy: np.column_stack(t.transform(*xy.T)))
    lonlat = shapely.segmentize(lonlat, 0.0001)  # straight in SWEREF 99 TM, near enough
    geojson = tmp_path / "area.geojson"
    geojson.write_text(shapely.to_geojson(lonlat), encoding="utf-8")
    out = tmp_path / "parcels.csv"
    run_command("parcels", "--format", "csv", "--out", str(out), "--polygon", str(geojson),
                "--bbox-crs", "EPSG:4326")
    assert ids_in(out, "csv") == want


def test_chunks_are_keyset_paged_without_loss_or_repeat(demo_data, tmp_path, capsys):
    out = tmp_path / "parcels.gpkg"
    call_command("geodata_export", "parcels", "--format", "gpkg", "--out", str(out),
                 "--chunk-rows", "700", stdout=StringIO())
    total = Parcel.objects.count()
    frame = pyogrio.read_dataframe(out)
    assert len(frame) == frame.objektidentitet.nunique() == total
    assert set(frame.objektidentitet) == {str(u) for u in Parcel.objects.values_list(
        "objektidentitet", flat=True)}
    progress = capsys.readouterr().err
    assert "parcels: [" in progress and f"{total}/{total}" in progress
    assert f"1400/{total}" in progress  # drawn as each chunk is written


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,code", [
    ({"layer": "fastigheter"}, "unknown_layer"),
    ({"file_format": "kml"}, "unknown_format"),
    ({"crs": "EPSG:3857"}, "unsupported_export_crs"),
    ({"crs": "EPSG:27700"}, "unknown_crs"),
    ({"crs": "EPSG:banana"}, "unknown_crs"),
    ({"bbox": (616400.0, 6919700.0, 615900.0, 6920100.0)}, "invalid_area"),
    ({"bbox": (62.388, 17.25, 62.392, 17.26), "bbox_crs": "EPSG:4326"}, "invalid_area"),
    ({"bbox": (1.0, 2.0, 3.0)}, "invalid_area"),
    ({"polygon": shapely.Point(616000, 6919800)}, "invalid_area"),
    ({"polygon": shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])}, "invalid_area"),
    ({"bbox": BBOX_3006, "polygon": shapely.box(*BBOX_3006)}, "invalid_area"),
    ({"municipality": "Sundsval1"}, "unknown_municipality"),
])
def test_bad_input_is_a_400_and_writes_nothing(kwargs, code, demo_data, tmp_path):
    args = {"layer": "parcels", "file_format": "gpkg", "out": tmp_path / "x.gpkg", **kwargs}
    layer = args.pop("layer")
    with pytest.raises(GeodataError) as refused:
        layer_export(layer, **args)
    assert (refused.value.code, refused.value.http_status) == (code, 400)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,code", [
    (["fastigheter", "--format", "gpkg"], "unknown_layer"),
    (["parcels", "--format", "kml"], "unknown_format"),
    (["parcels", "--format", "gpkg", "--crs", "EPSG:3857"], "unsupported_export_crs"),
    (["parcels", "--format", "geojson", "--crs", "EPSG:3014"], "unsupported_export_crs"),
    (["parcels", "--format", "gpkg", "--bbox", "1,2,x,4"], "invalid_area"),
    (["parcels", "--format", "gpkg", "--polygon", "POLYGON ((1 2"], "invalid_area"),
])
def test_command_turns_bad_input_into_a_command_error(args, code, demo_data, tmp_path):
    with pytest.raises(CommandError, match=rf"\({code}\)$"):
        run_command(*args, "--out", str(tmp_path / "x.out"))
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_or_a_folder_as_the_file_is_refused(demo_data, tmp_path):
    with pytest.raises(ExportError) as refused:
        layer_export("parcels", file_format="gpkg", out=tmp_path / "nowhere" / "x.gpkg")
    assert refused.value.http_status == 400
    with pytest.raises(ExportError):
        layer_export("parcels", file_format="gpkg", out=tmp_path)
    assert list(tmp_path.iterdir()) == []



@settings(max_examples=50, deadline=None)
@given(st.lists(st.none() | st.uuids(), max_size=40), st.integers(0, 5))
def test_uuids_of_a_binary_copy_written_as_postgresql_writes_them(values, skip):
    column = pa.array([v.bytes if v else None for v in values], pa.uuid()).slice(skip)
    assert uuid_text(column).to_pylist() == [str(v) if v else None for v in values[skip:]]
