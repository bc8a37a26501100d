"""OGC API - Features Part 2 (crs): the path Lantmäteriet's service takes.

MapServer 8.0 answers in CRS84 only, so pygeoapi (a server implementing Part 2) serves the
demo parcels here, and answers in EPSG:3006 or a local zone, northing first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from geodata.models import Parcel, Source, SyncRun
from geodata.sources.ogcapi import OGCAPIFeaturesClient
from geodata.sync import source_spec, source_sync
from tests.conftest import free_port
from tests.geodata.test_sync import abboten_1_corners, corners

CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: sv-SE
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 500}}  # capped, as real servers are
  map: {{url: "http://127.0.0.1/{{z}}/{{x}}/{{y}}.png", attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: Lovkarta test, description: Part 2 test, keywords: [fastighet],
                   keywords_type: theme, terms_of_service: none, url: http://127.0.0.1}}
  license: {{name: CC0, url: http://127.0.0.1}}
  provider: {{name: Lovkarta, url: http://127.0.0.1}}
  contact: {{name: x, position: x, address: x, city: x, stateorprovince: x, postalcode: x,
            country: x, phone: x, fax: x, email: x, url: x, hours: x, instructions: x,
            role: pointOfContact}}
resources:
  registerenhetsomradesytor:
    type: collection
    title: Registerenhetsområdesytor
    description: Demo parcels
    keywords: [fastighet]
    extents:
      spatial: {{bbox: [16.0, 61.0, 19.0, 64.0],
                crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: GeoJSON
        data: {data}
        id_field: objektidentitet
        storage_crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
        crs:
          - http://www.opengis.net/def/crs/OGC/1.3/CRS84
          - http://www.opengis.net/def/crs/EPSG/0/3006
          - http://www.opengis.net/def/crs/EPSG/0/3014
"""


@pytest.fixture(scope="module")
def part2_server(fixture_gpkg, tmp_path_factory):
    import geopandas as gpd

    work = tmp_path_factory.mktemp("pygeoapi")
    data = work / "parcels.geojson"
    parcels = gpd.read_file(fixture_gpkg, layer="registerenhetsomradesytor")
    parcels.to_crs("OGC:CRS84").to_file(data, driver="GeoJSON", COORDINATE_PRECISION=10)
    port = free_port()
    (work / "config.yml").write_text(CONFIG.format(port=port, data=data), encoding="utf-8")
    env = {**os.environ, "PYGEOAPI_CONFIG": str(work / "config.yml"),
           "PYGEOAPI_OPENAPI": str(work / "openapi.yml")}
    cli = str(Path(sys.executable).parent / "pygeoapi")
    subprocess.run([cli, "openapi", "generate", str(work / "config.yml"), "--output-file",
                    str(work / "openapi.yml")], env=env, check=True, capture_output=True)
    server = subprocess.Popen([cli, "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{url}/collections?f=json", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("pygeoapi did not start")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.django_db
@pytest.mark.parametrize("crs", ["EPSG:3006", "http://www.opengis.net/def/crs/EPSG/0/3014"])
def test_part2_server_answers_in_our_crs_northing_first(crs, part2_server, municipality):
    source = Source.objects.create(
        name=f"part2-{crs[-4:]}", protocol="ogcapi-features", url=part2_server,
        layer="registerenhetsomradesytor", crs=crs, holds="parcels",
        municipality=municipality, page_size=1000)  # capped at 500: six pages of 2,826
    client = OGCAPIFeaturesClient(source_spec(source))
    assert client.request_crs() == f"http://www.opengis.net/def/crs/EPSG/0/{crs[-4:]}"
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.rejected == 0
    assert run.fetched == Parcel.objects.filter(source=source).count() == 2826
    parcel = Parcel.objects.get(source=source, beteckning="SUNDSVALL ABBOTEN 1")
    assert corners(parcel) == abboten_1_corners()
