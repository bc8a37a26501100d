"""Acceptance of the GIS staff's exports: every layer in every format, in SWEREF 99 TM
(EPSG:3006), Sundsvall's local zone (EPSG:3014) and WGS 84 (EPSG:4326), read back by
the tools GIS staff use: GDAL's ``ogrinfo`` (Debian's GDAL 3.6) and QGIS (Debian's
python3-qgis 3.22, headless). Each file must hold the layer's feature count, name its CRS,
place known features (a known parcel corner among them) to the millimetre, and keep å, ä
and ö in their texts.

GeoJSON is always WGS 84 (RFC 7946). GeoParquet: neither Debian's GDAL 3.6 nor QGIS 3.22
(which reads through that GDAL) has a Parquet driver, so those files are read with pyarrow
in a subprocess, and the test says so if QGIS cannot open them.

Everything is exported once for the module (the cases made for it are rolled back), and
QGIS runs once: one subprocess opens every file and prints what it found as JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db.models import Q
from pyproj import Transformer

from fixtures.generate import E0, N0
from geodata.exports import FORMATS, LAYERS, layer_export, layer_get
from geodata.exports.shapefile import short_names
from geodata.models import Address, Building, Parcel, Plan, Regulation
from tests.conftest import load_demo
from tests.geodata.test_exports import assert_same_place, gdal_name, ogr_summary, ogrinfo

# The checks read files, not the database; the mark makes pytest-django set up the test
# database, which the module's exports read.
pytestmark = pytest.mark.django_db
QGIS = Path("/usr/lib/python3/dist-packages/qgis")
SRIDS = (3006, 3014, 4326)
LAYER_NAMES = (*LAYERS, "cases")
# GeoJSON is written in WGS 84 only; every other format in each of the three CRSs.
MATRIX = [(layer, fmt, srid) for layer in LAYER_NAMES for fmt in FORMATS for srid in SRIDS
          if fmt != "geojson" or srid == 4326]
MODELS = {"parcels": Parcel, "addresses": Address, "buildings": Building, "plans": Plan,
          "regulations": Regulation}
ABBOTEN = "SUNDSVALL ABBOTEN 1"  # its south-west corner is (E0, N0) in EPSG:3006
# The texts compared feature by feature in every file, and how the known features of a
# layer are found: each has å, ä or ö in those texts (the buildings of the fixtures have
# none: Bostad and Komplementbyggnad, Befintlig).
TEXTS = {
    "parcels": ("beteckning", "trakt", "kommunnamn", "etikett"),
    "addresses": ("adress", "adressomrade", "postort", "status"),
    "buildings": ("huvudandamal", "objektstatus"),
    "plans": ("beteckning", "namn", "syfte", "status", "typ"),
    "regulations": ("bestammelsetyp", "anvandningsform", "kategori",
                    "bestammelseformulering"),
    "cases": ("case_number", "case_type", "measure", "property_designation", "status",
              "outcome"),
}
KNOWN = {
    "parcels": [Q(beteckning=ABBOTEN), Q(beteckning__contains="Å"),
                Q(beteckning__contains="Ä"), Q(beteckning__contains="Ö")],
    "addresses": [Q(adress__contains="å"), Q(adress__contains="ö")],
    "buildings": [Q()],
    "plans": [Q(status="samråd")],
    "regulations": [Q(kategori__contains="ö"), Q(bestammelsetyp="användning")],
}
SWEDISH = set("åäöÅÄÖ")
CASE_PREFIX = "BYGG 2026-0095"  # the cases made for the module


@dataclass
class Known:
    """A feature every file of its layer must hold: its id, geometry and texts."""

    fid: str
    geom: GEOSGeometry  # as stored, EPSG:3006
    texts: dict[str, str]


@dataclass
class Expected:
    """What every file of a layer must hold."""

    id_field: str
    count: int
    known: list[Known] = field(default_factory=list)


@dataclass
class Exported:
    root: Path
    files: dict[tuple[str, str, int], Path]
    expected: dict[str, Expected]


# -- the exports ---------------------------------------------------------------------------

def make_cases() -> None:
    """Cases with å, ä and ö in their measure, type and property (personal data too,
    which an export without a municipality limit must leave out)."""
    from django.contrib.auth.models import User

    from permits.models import Application

    applicant = User.objects.get(username="sokande")
    for n, (case_type, measure, trakt) in enumerate([
            ("BL", "attefallsåtgärd", "Å"), ("BL", "ändrad användning", "Ä"),
            ("FÖRF", "nybyggnad", "Ö")], start=1):
        parcel = Parcel.objects.filter(beteckning__contains=trakt).order_by("id").first()
        Application.objects.create(
            applicant=applicant, case_type=case_type, measure=measure,
            contact_name="Sara Sökande", contact_email="sara@example.invalid",
            contact_phone="070-1234567", description="Vårt hus vid sjön",
            municipality=parcel.source.municipality, parcel=parcel,
            property_designation=parcel.beteckning,
            location=Point(*parcel.geom.point_on_surface.coords, srid=3006),
            status="decided", case_number=f"{CASE_PREFIX}{n:02d}", outcome="granted",
            received_on=date(2026, 2, n), decided_on=date(2026, 3, n))


def remove_cases() -> None:
    from permits.models import Application

    Application.objects.filter(case_number__startswith=CASE_PREFIX).delete()


def expectations(layer: str) -> Expected:
    """The count and the known features of a layer, from the database."""
    if layer == "cases":
        from permits.models import Application

        rows = Application.objects.exclude(status="draft").filter(location__isnull=False)
        known = [Known(a.case_number, a.location, {
            "case_number": a.case_number, "case_type": a.case_type, "measure": a.measure,
            "property_designation": a.property_designation, "status": a.status,
            "outcome": a.outcome}) for a in rows.filter(case_number__startswith=CASE_PREFIX)]
        return Expected("case_number", rows.count(), known)
    model = MODELS[layer]
    known = []
    for q in KNOWN[layer]:
        row = model.objects.filter(q).order_by("id").first()
        assert row is not None, (layer, q)
        known.append(Known(str(row.objektidentitet), row.geom,
                           {name: str(getattr(row, name)) for name in TEXTS[layer]}))
    return Expected("objektidentitet", model.objects.count(), known)


@pytest.fixture(scope="module")
def exported(django_db_setup, django_db_blocker, ogc_server, tmp_path_factory) -> Exported:
    """Export every layer in every format and CRS once, as an export runs (outside any
    transaction: on PostgreSQL in a snapshot of its own); the cases made for it are
    removed afterwards."""
    root = tmp_path_factory.mktemp("acceptance")
    files: dict[tuple[str, str, int], Path] = {}
    with django_db_blocker.unblock():
        if not Parcel.objects.filter(source__name="sundsvall-fastigheter").exists():
            load_demo(ogc_server)  # a transactional test before emptied the cache
        make_cases()
        try:
            expected = {layer: expectations(layer) for layer in LAYER_NAMES}
            for layer, fmt, srid in MATRIX:
                out = root / f"{layer}-{srid}{FORMATS[fmt].suffix}"
                result = layer_export(layer, file_format=fmt, out=out, crs=srid)
                assert result.features == expected[layer].count > 0, (layer, fmt, srid)
                files[layer, fmt, srid] = out
        finally:
            remove_cases()
    for layer, want in expected.items():
        assert want.known, layer
        texts = "".join(t for k in want.known for t in k.texts.values())
        assert layer == "buildings" or SWEDISH & set(texts), layer
    return Exported(root, files, expected)


# -- what a reader found, against what it must find -----------------------------------------

def in_srid(geom: GEOSGeometry, srid: int) -> shapely.Geometry:
    """The stored geometry transformed by pyproj on its own (x/y)."""
    shape = shapely.from_wkb(bytes(geom.wkb))
    if srid == 3006:
        return shape
    t = Transformer.from_crs(3006, srid, always_xy=True)
    return shapely.transform(shape, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def as_multi(shape: shapely.Geometry) -> shapely.Geometry:
    """A one-part polygon (a shapefile's, or GDAL's reading of one) as a multipolygon."""
    return shapely.MultiPolygon([shape]) if shape.geom_type == "Polygon" else shape


def field_name(layer: str, fmt: str, name: str) -> str:
    """A column's name in the file (a Shapefile's dBase names are cut to ten characters)."""
    if fmt != "shp":
        return name
    return short_names([c.name for c in layer_get(layer).columns])[name]


def check_features(found: dict[str, dict[str, Any]], want: Expected, layer: str, fmt: str,
                   srid: int, reader: str) -> None:
    """Every known feature is there once, in place to the mm, with its texts intact."""
    assert set(found) == {k.fid for k in want.known}, f"{reader}: {sorted(found)}"
    for known in want.known:
        got = found[known.fid]
        shape = shapely.from_wkt(got["wkt"])
        assert_same_place(as_multi(shape), in_srid(known.geom, srid), srid)
        for name, text in known.texts.items():
            assert got["texts"][field_name(layer, fmt, name)] == text, (reader, name)
        # An export not limited to a municipality of the exporter's carries no names,
        # e-mail addresses or phone numbers.
        assert not [n for n in got["texts"] if n.startswith("contact_")], reader
        if layer == "parcels" and known.texts["beteckning"] == ABBOTEN:
            x, y = Transformer.from_crs(3006, srid, always_xy=True).transform(E0, N0)
            apart = np.abs(shapely.get_coordinates(shape) - [x, y]).max(axis=1).min()
            assert apart < (1e-8 if srid == 4326 else 1e-3), f"{reader}: corner {apart}"


# -- GDAL: ogrinfo -------------------------------------------------------------------------

def ogr_features(name: str, where: str, id_field: str, layer: str | None = None
                 ) -> dict[str, dict[str, Any]]:
    """The features matching ``where`` as ogrinfo prints them (of one layer, or of every
    layer), by id: their fields and WKT."""
    text = ogrinfo("-q", "-where", where, name, layer) if layer else ogrinfo(
        "-al", "-q", "-where", where, name)
    features: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line.startswith("OGRFeature("):
            features.append({"texts": {}, "wkt": None})
        elif features and (m := re.match(r"^  (\w+) \((\w+)\) = (.*)$", line)):
            features[-1]["texts"][m.group(1)] = m.group(3)
        elif features and re.match(r"^  (?:MULTI)?(?:POLYGON|POINT) ", line):
            features[-1]["wkt"] = line.strip()
    return {f["texts"].get(id_field): f for f in features}


@pytest.mark.parametrize("layer,fmt,srid", [m for m in MATRIX if m[1] != "parquet"])
def test_ogrinfo_reads_every_layer_and_format(layer, fmt, srid, exported):
    path = exported.files[layer, fmt, srid]
    want = exported.expected[layer]
    name = gdal_name(path, fmt, layer)
    count, epsg, _geometry = ogr_summary(name)
    assert (count, epsg) == (want.count, srid)
    id_field = field_name(layer, fmt, want.id_field)
    ids = ", ".join(f"'{k.fid}'" for k in want.known)
    found = ogr_features(name, f"{id_field} IN ({ids})", id_field)
    check_features(found, want, layer, fmt, srid, "ogrinfo")


# -- QGIS, once for every file -------------------------------------------------------------

QGIS_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from qgis.core import QgsApplication, QgsFeatureRequest, QgsVectorLayer
    app = QgsApplication([], False)
    app.initQgis()
    results = {}
    for job in json.load(sys.stdin):
        layer = QgsVectorLayer(job["uri"], job["key"], "ogr")
        out = {"valid": layer.isValid()}
        if layer.isValid():
            out["count"] = layer.featureCount()
            out["crs"] = layer.crs().authid()
            ids = ", ".join("'%s'" % i for i in job["ids"])
            request = QgsFeatureRequest().setFilterExpression(
                '"%s" IN (%s)' % (job["id_field"], ids))
            names = [f.name() for f in layer.fields()]
            found = {}
            for feature in layer.getFeatures(request):
                texts = {n: (str(v) if v is not None else None)
                         for n, v in zip(names, feature.attributes())}
                found[texts[job["id_field"]]] = {"texts": texts,
                                                 "wkt": feature.geometry().asWkt(10)}
            out["features"] = found
        results[job["key"]] = out
    print(json.dumps(results, ensure_ascii=False), flush=True)
    # QGIS 3.22 may crash in exitQgis() when headless: the answer is out, leave at once.
    os._exit(0)
""")


def qgis_uri(path: Path, fmt: str, layer: str) -> str:
    if fmt == "shp":
        return f"/vsizip/{path}/{layer}.shp"
    if fmt == "gpkg":
        return f"{path}|layername={layer}"
    return str(path)


def run_qgis(script: str, stdin: str, tmp: Path) -> str:
    """Run a script in Debian's Python with QGIS, headless; return what it printed."""
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime),
           "HOME": str(tmp)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["/usr/bin/python3", "-c", script], input=stdin,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def qgis_read(exported) -> dict[str, Any]:
    """Every exported file as QGIS opened it (one QGIS process for the module)."""
    if not QGIS.exists():
        pytest.skip("python3-qgis is not installed (WITH_QGIS=1 scripts/setup.sh)")
    jobs = [{"key": f"{layer}/{fmt}/{srid}", "uri": qgis_uri(path, fmt, layer),
             "id_field": field_name(layer, fmt, exported.expected[layer].id_field),
             "ids": [k.fid for k in exported.expected[layer].known]}
            for (layer, fmt, srid), path in exported.files.items()]
    return json.loads(run_qgis(QGIS_SCRIPT, json.dumps(jobs), exported.root))


QGIS_CRS = {4326: ("EPSG:4326", "OGC:CRS84")}


@pytest.mark.parametrize("layer,fmt,srid", MATRIX)
def test_qgis_reads_every_layer_and_format(layer, fmt, srid, exported, qgis_read):
    result = qgis_read[f"{layer}/{fmt}/{srid}"]
    if fmt == "parquet" and not result["valid"]:
        # QGIS 3.22 reads through Debian's GDAL 3.6, which has no Parquet driver: checked
        # with pyarrow in test_geoparquet_reads_back_with_pyarrow.
        pytest.skip("QGIS 3.22 (GDAL 3.6) cannot open GeoParquet")
    want = exported.expected[layer]
    assert result["valid"], f"QGIS could not open {exported.files[layer, fmt, srid]}"
    assert result["count"] == want.count
    assert result["crs"] in QGIS_CRS.get(srid, (f"EPSG:{srid}",))
    check_features(result["features"], want, layer, fmt, srid, "QGIS")


# -- GeoParquet: pyarrow, in a process of its own ------------------------------------------

PARQUET_SCRIPT = textwrap.dedent("""
    import json, sys
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import shapely
    results = {}
    for job in json.load(sys.stdin):
        handle = pq.ParquetFile(job["path"])
        geo = json.loads(handle.metadata.metadata[b"geo"])
        column = geo["columns"][geo["primary_column"]]
        table = handle.read()
        known = table.filter(pc.is_in(table[job["id_field"]],
                                      value_set=__import__("pyarrow").array(job["ids"])))
        found = {}
        for row in known.to_pylist():
            wkb = row.pop(geo["primary_column"])
            found[row[job["id_field"]]] = {
                "texts": {k: (str(v) if v is not None else None) for k, v in row.items()},
                "wkt": shapely.from_wkb(wkb).wkt}
        results[job["key"]] = {"count": handle.metadata.num_rows,
                               "crs": column["crs"]["id"], "encoding": column["encoding"],
                               "features": found}
    print(json.dumps(results, ensure_ascii=False))
""")


@pytest.fixture(scope="module")
def parquet_read(exported) -> dict[str, Any]:
    jobs = [{"key": f"{layer}/{srid}", "path": str(path),
             "id_field": exported.expected[layer].id_field,
             "ids": [k.fid for k in exported.expected[layer].known]}
            for (layer, fmt, srid), path in exported.files.items() if fmt == "parquet"]
    done = subprocess.run([sys.executable, "-c", PARQUET_SCRIPT], input=json.dumps(jobs),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("layer,srid", [(m[0], m[2]) for m in MATRIX if m[1] == "parquet"])
def test_geoparquet_reads_back_with_pyarrow(layer, srid, exported, parquet_read):
    result = parquet_read[f"{layer}/{srid}"]
    want = exported.expected[layer]
    assert result["count"] == want.count
    assert result["crs"] == {"authority": "EPSG", "code": srid}
    assert result["encoding"] == "WKB"
    check_features(result["features"], want, layer, "parquet", srid, "pyarrow")
