"""Our OGC API - Features at /ogc/, read by the clients GIS staff and other systems use.

Over a real HTTP server (pytest-django's live_server), every published collection is
loaded by QGIS's own OGC API client (the OAPIF provider of Debian's QGIS 3.22), GDAL's
OAPIF driver (Debian's GDAL 3.6 through ogr2ogr, and the GDAL 3.12 of pyogrio's wheel in
a process of its own) and OWSLib, each with the right count and a known feature (a known
parcel corner among them) to the millimetre in EPSG:3006 and EPSG:3014. QGIS 3.22 and
GDAL 3.6 predate OGC API Features Part 2 in their clients: they ask for CRS84 and
transform themselves; GDAL 3.12 and OWSLib ask the server for the CRS (``crs=``).

Then our own geodata adapter syncs a parcel layer from our own API into the cache under
another source and gets every geometry back to the millimetre; and the open cases
collection is read property by property for names, e-mail addresses and phone numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
import shapely
import shapely.geometry
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point
from django.db.models import Q
from owslib.ogcapi.features import Features
from pyproj import Transformer

from fixtures.generate import E0, N0
from geodata.models import Parcel, Source, SyncRun
from geodata.publish.registry import all_collections
from geodata.publish.registry import get as collection_get
from geodata.sync import source_sync
from tests.geodata.test_export_acceptance import as_multi, in_srid, ogr_features
from tests.geodata.test_exports import assert_same_place, ogrinfo
from tests.permits.conftest import demo_cases  # noqa: F401  (a fixture of these tests too)

QGIS = Path("/usr/lib/python3/dist-packages/qgis")
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
SRIDS = (3006, 3014)
COLLECTIONS = ("parcels", "addresses", "buildings", "plans", "regulations", "cases")
ABBOTEN = "SUNDSVALL ABBOTEN 1"  # its south-west corner is (E0, N0) in EPSG:3006
# How each collection's known feature is found, and the texts compared in every client
# (å, ä and ö among them).
KNOWN = {
    "parcels": (Q(beteckning=ABBOTEN), ("beteckning", "trakt")),
    "addresses": (Q(adress__contains="å"), ("adress", "status")),
    "buildings": (Q(), ("huvudandamal",)),
    "plans": (Q(status="samråd"), ("namn", "status")),
    "regulations": (Q(kategori__contains="ö"), ("kategori", "bestammelsetyp")),
    "cases": (Q(), ("case_number", "measure", "outcome")),
}
CASE_PROPERTIES = {"case_number", "case_type", "measure", "decided_on", "outcome",
                   "kommunkod"}


def expectations() -> dict[str, dict[str, Any]]:
    """Each collection's count, id field and one known feature, from the database."""
    out = {}
    for cid in COLLECTIONS:
        collection = collection_get(cid)
        queryset = collection.queryset()
        where, texts = KNOWN[cid]
        id_field = collection.id_field
        row = (queryset.filter(where).order_by("pk")
               .values_list(id_field.path, collection.geometry,
                            *(collection.field(t).path for t in texts)).first())
        assert row is not None, cid
        out[cid] = {"count": queryset.count(), "id_field": id_field.name,
                    "fid": str(row[0]), "geom": row[1],
                    "texts": dict(zip(texts, (str(v) for v in row[2:]), strict=True))}
        assert out[cid]["count"] > 0, cid
    return out


def ogr_layer_summary(path: Path, layer: str) -> tuple[int, int | None]:
    """A layer's feature count and EPSG code, as ogrinfo reports them."""
    text = ogrinfo("-so", str(path), layer)
    count = int(re.search(r"^Feature Count: (\d+)$", text, re.M).group(1))
    epsg = re.search(r'^    ID\["EPSG",(\d+)\]\]$', text, re.M)
    return count, int(epsg.group(1)) if epsg else None


def check_known(found: dict[str, Any], want: dict[str, Any], cid: str, srid: int,
                client: str) -> None:
    """The known feature is where pyproj puts the stored one (to the mm), texts intact."""
    shape = shapely.from_wkt(found["wkt"])
    assert_same_place(as_multi(shape), in_srid(want["geom"], srid), srid)
    assert {t: found["texts"][t] for t in want["texts"]} == want["texts"], (client, cid)
    if cid == "parcels":
        x, y = Transformer.from_crs(3006, srid, always_xy=True).transform(E0, N0)
        apart = np.abs(shapely.get_coordinates(shape) - [x, y]).max(axis=1).min()
        assert apart < 0.001, f"{client}: the corner of {ABBOTEN} is {apart:.4f} m off"


@pytest.fixture
def open_case(demo_cases):  # noqa: F811  (the imported fixture)
    """One more decided case, with a telephone number (the demo's have none)."""
    from permits.models import Application

    parcel = Parcel.objects.filter(beteckning__contains="Ö").order_by("id").first()
    return Application.objects.create(
        applicant=User.objects.get(username="sokande"), case_type="BL",
        measure="ändrad användning", contact_name="Sara Sökande",
        contact_email="sara.sokande@example.invalid", contact_phone="070-123 45 67",
        description="Vårt hus vid sjön", municipality=parcel.source.municipality,
        parcel=parcel, location=Point(*parcel.geom.point_on_surface.coords, srid=3006),
        status="decided", case_number="BYGG 2026-009901", outcome="granted",
        decided_on=date(2026, 3, 2))


# -- the clients, over a real HTTP server ----------------------------------------------------

QGIS_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem,
                           QgsCoordinateTransform, QgsFeatureRequest, QgsProject,
                           QgsVectorLayer)
    app = QgsApplication([], False)
    app.initQgis()
    url = sys.argv[1]
    results = {}
    for job in json.loads(os.environ["QGIS_JOBS"]):
        layer = QgsVectorLayer(f"url='{url}' typename='{job['collection']}'",
                               job["collection"], "OAPIF")
        out = {"valid": layer.isValid()}
        if layer.isValid():
            out["count"] = layer.featureCount()
            out["crs"] = layer.crs().authid()
            ids, known = set(), None
            for feature in layer.getFeatures():
                fid = str(feature[job["id_field"]])
                ids.add(fid)
                if fid == job["fid"]:
                    known = feature
            out["read"] = len(ids)
            out["known"] = {}
            for srid in job["srids"]:
                to_srid = QgsCoordinateTransform(
                    layer.crs(), QgsCoordinateReferenceSystem(f"EPSG:{srid}"),
                    QgsProject.instance())
                geometry = known.geometry()
                geometry.transform(to_srid)
                out["known"][str(srid)] = {
                    "wkt": geometry.asWkt(10),
                    "texts": {t: str(known[t]) for t in job["texts"]}}
        results[job["collection"]] = out
    print(json.dumps(results, ensure_ascii=False), flush=True)
    # QGIS 3.22 may crash in exitQgis() when headless: the answer is out, leave at once.
    os._exit(0)
""")

# GDAL 3.12 (pyogrio's wheel) asks the server for the CRS (the OAPIF driver's CRS open
# option, Part 2). In a process of its own: pyogrio's GDAL and SQLite do not share a
# process with an open SpatiaLite connection.
PYOGRIO_SCRIPT = textwrap.dedent("""
    import json, sys
    import pyogrio
    url = sys.argv[1]
    results = {}
    for job in json.load(sys.stdin):
        frame = pyogrio.read_dataframe(f"OAPIF:{url}", layer=job["collection"],
                                       CRS=f"EPSG:{job['srid']}", PAGE_SIZE="1000")
        ids = frame[job["id_field"]].astype(str)
        row = frame[ids == job["fid"]].iloc[0]
        results[f"{job['collection']}/{job['srid']}"] = {
            "gdal": pyogrio.__gdal_version_string__, "count": len(frame),
            "read": int(ids.nunique()), "crs": frame.crs.to_epsg(),
            "known": {"wkt": row.geometry.wkt,
                      "texts": {t: str(row[t]) for t in job["texts"]}}}
    print(json.dumps(results, ensure_ascii=False))
""")


def qgis_env(tmp: Path) -> dict[str, str]:
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime),
           "HOME": str(tmp)}
    env.pop("PYTHONPATH", None)
    return env


def owslib_read(url: str, cid: str, srid: int) -> tuple[list[dict[str, Any]], str]:
    """Every feature of a collection in EPSG:srid through OWSLib, paged by offset to the
    last page (a page without a next link); and the Content-Crs the server sent."""
    api = Features(url)
    features: list[dict[str, Any]] = []
    while True:
        page = api.collection_items(cid, limit=1000, offset=len(features),
                                    crs=EPSG.format(srid))
        features += page["features"]
        assert page["numberMatched"] >= len(features)
        if not any(link["rel"] == "next" for link in page["links"]):
            return features, api.response_headers.get("Content-Crs", "")


@pytest.mark.django_db(transaction=True)
def test_qgis_gdal_and_owslib_load_every_collection(open_case, live_server, tmp_path):
    want = expectations()
    assert [c.id for c in all_collections()] == list(COLLECTIONS)
    url = f"{live_server.url}/ogc/"
    jobs = [{"collection": cid, "id_field": w["id_field"], "fid": w["fid"],
             "texts": list(w["texts"]), "srids": list(SRIDS)} for cid, w in want.items()]
    # QGIS works in a process of its own meanwhile (the live server is threaded); what it
    # prints goes to files, so that no pipe fills while the other clients run.
    qgis = None
    qgis_out, qgis_err = tmp_path / "qgis.out", tmp_path / "qgis.err"
    if QGIS.exists():
        with qgis_out.open("w") as out, qgis_err.open("w") as err:
            qgis = subprocess.Popen(["/usr/bin/python3", "-c", QGIS_SCRIPT, url],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env={**qgis_env(tmp_path), "QGIS_JOBS": json.dumps(jobs)})

    # GDAL 3.12: the server answers in the CRS asked for.
    done = subprocess.run(
        [sys.executable, "-c", PYOGRIO_SCRIPT, url], capture_output=True, text=True,
        timeout=300, check=True,
        input=json.dumps([{**job, "srid": srid} for job in jobs for srid in SRIDS]))
    for key, got in json.loads(done.stdout).items():
        cid, srid = key.split("/")[0], int(key.split("/")[1])
        assert (got["count"], got["read"], got["crs"]) == (want[cid]["count"],) * 2 + (
            srid,), f"GDAL {got['gdal']}: {key}"
        check_known(got["known"], want[cid], cid, srid, f"GDAL {got['gdal']}")

    # Debian's GDAL 3.6 (ogr2ogr, every collection at once): CRS84, transformed by GDAL.
    for srid in SRIDS:
        out = tmp_path / f"ogc-{srid}.gpkg"
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{url}", "-t_srs",
                        f"EPSG:{srid}", "-oo", "PAGE_SIZE=1000"], capture_output=True,
                       text=True, timeout=300, check=True)
        for cid, w in want.items():
            count, epsg = ogr_layer_summary(out, cid)
            assert (count, epsg) == (w["count"], srid), f"ogr2ogr: {cid} in {srid}"
            found = ogr_features(str(out), f"{w['id_field']} = '{w['fid']}'", w["id_field"],
                                 layer=cid)
            check_known(found[w["fid"]], w, cid, srid, "GDAL 3.6")

    # OWSLib: every feature, every property, in each CRS (northing first: Part 2).
    for cid, w in want.items():
        for srid in SRIDS:
            features, content_crs = owslib_read(url, cid, srid)
            assert content_crs == f"<{EPSG.format(srid)}>"
            ids = [str(f["id"]) for f in features]
            assert len(ids) == len(set(ids)) == w["count"], f"OWSLib: {cid} in {srid}"
            known = next(f for f in features if str(f["id"]) == w["fid"])
            easting_first = shapely.transform(shapely.geometry.shape(known["geometry"]),
                                              lambda c: c[:, ::-1])
            check_known({"wkt": easting_first.wkt, "texts": {
                t: str(known["properties"][t]) for t in w["texts"]}}, w, cid, srid, "OWSLib")
            if cid == "cases":
                assert all(set(f["properties"]) == CASE_PROPERTIES for f in features)

    if qgis is None:
        pytest.skip("python3-qgis is not installed (WITH_QGIS=1 scripts/setup.sh)")
    qgis.wait(timeout=300)
    stderr = qgis_err.read_text()
    assert qgis.returncode == 0, stderr[-2000:]
    results = json.loads(qgis_out.read_text().strip().splitlines()[-1])
    for cid, w in want.items():
        got = results[cid]
        assert got["valid"], f"QGIS could not load {cid}: {stderr[-2000:]}"
        # QGIS 3.22's OAPIF client asks for CRS84 only (Part 2 came in later versions).
        assert got["crs"] in ("OGC:CRS84", "EPSG:4326")
        assert (got["count"], got["read"]) == (w["count"], w["count"]), f"QGIS: {cid}"
        for srid in SRIDS:
            check_known(got["known"][str(srid)], w, cid, srid, "QGIS")


# -- our own adapter, from our own API -------------------------------------------------------

PARCEL_FIELDS = ("registerenhetsreferens", "objekttyp", "kommunkod", "kommunnamn", "trakt",
                 "block", "enhet", "omradesnummer", "etikett", "beteckning",
                 "kort_beteckning", "senastandrad")


@pytest.mark.django_db(transaction=True)
def test_our_adapter_syncs_parcels_from_our_own_api_to_the_mm(demo_data, live_server):
    published = {str(oid): (geom, values) for oid, geom, *values in
                 Parcel.objects.values_list("objektidentitet", "geom", *PARCEL_FIELDS)}
    assert len(published) == Parcel.objects.count() > 2000
    for srid in SRIDS:  # the storage CRS, and a local zone transformed back on the way in
        source = Source.objects.create(
            name=f"lovkarta-ogc-{srid}", protocol="ogcapi-features",
            url=f"{live_server.url}/ogc", layer="parcels", crs=f"EPSG:{srid}",
            holds="parcels", preset="lantmateriet", page_size=1000)
        run = source_sync(source)
        assert run.outcome == SyncRun.Outcome.SUCCEEDED, run.error
        assert run.fetched == len(published) and not run.rejections
        assert (run.server_count, run.server_count_exact) == (len(published), True)
        synced = {str(oid): (geom, values) for oid, geom, *values in
                  Parcel.objects.filter(source=source).values_list(
                      "objektidentitet", "geom", *PARCEL_FIELDS)}
        assert synced.keys() == published.keys()
        ids = sorted(published)
        got = shapely.from_wkb([bytes(synced[i][0].wkb) for i in ids])
        want = shapely.from_wkb([bytes(published[i][0].wkb) for i in ids])
        assert (shapely.get_num_coordinates(got) == shapely.get_num_coordinates(want)).all()
        apart = shapely.hausdorff_distance(shapely.normalize(got), shapely.normalize(want))
        assert float(apart.max()) < 0.001, f"EPSG:{srid}: a vertex is {apart.max():.4f} m off"
        for i in ids:
            assert synced[i][1] == published[i][1], (srid, i)
        # The next round trip reads the API as it was (this copy published twice would
        # give every parcel twice).
        source.delete()


# -- the open cases: no personal data ----------------------------------------------------------

@pytest.mark.django_db
def test_open_cases_hold_no_name_email_or_phone(open_case, client):
    from permits.models import Application
    from permits.publish import decided_cases

    secrets = set()
    for case in Application.objects.select_related("applicant"):
        person = case.applicant
        secrets |= {case.contact_name, case.contact_email, case.contact_phone,
                    case.description, person.username, person.email, person.first_name,
                    person.last_name, person.get_full_name()}
    secrets.discard("")
    assert {"Sara Sökande", "070-123 45 67", "sara.sokande@example.invalid"} <= secrets
    decided = decided_cases().count()
    assert decided > 2 and decided < Application.objects.count()
    for crs in ("", EPSG.format(3006), EPSG.format(3014)):
        features: list[dict[str, Any]] = []
        url = "/ogc/collections/cases/items?" + urlencode({"limit": 7, **(
            {"crs": crs} if crs else {})})
        while url:
            response = client.get(url, HTTP_ACCEPT="application/geo+json")
            assert response.status_code == 200
            body = response.content.decode()
            assert not [s for s in secrets if s in body]
            page = json.loads(body)
            features += page["features"]
            url = next((link["href"] for link in page["links"] if link["rel"] == "next"), "")
        assert len(features) == len({f["id"] for f in features}) == decided
        for feature in features:  # every property of every feature
            assert set(feature["properties"]) == CASE_PROPERTIES
            for name, value in feature["properties"].items():
                text = str(value).casefold()
                assert not [s for s in secrets if s.casefold() in text], (feature["id"], name)
                assert "@" not in text
    page = client.get("/ogc/collections/cases/items", {"f": "html", "limit": 1000})
    assert not [s for s in secrets if s in page.content.decode()]
    one = client.get(f"/ogc/collections/cases/items/{open_case.case_number}",
                     HTTP_ACCEPT="application/geo+json")
    assert set(json.loads(one.content)["properties"]) == CASE_PROPERTIES
    assert not [s for s in secrets if s in one.content.decode()]
