"""The local OGC server: real MapServer answers, concurrency, and a taken port."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from geodata.ogcserver import OGCServerError, make_server


def test_wms_130_capabilities_and_concurrent_getmap(ogc_server):
    caps = requests.get(ogc_server, params={"SERVICE": "WMS", "VERSION": "1.3.0",
                                            "REQUEST": "GetCapabilities"}, timeout=30)
    assert caps.status_code == 200 and b"registerenhetsomradesytor" in caps.content
    assert b'version="1.3.0"' in caps.content

    def tile(i: int) -> requests.Response:
        x0 = 1_920_000 + 500 * (i % 4)
        y0 = 8_910_000 + 500 * (i // 4)
        return requests.get(ogc_server, params={
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
            "LAYERS": "vatten,byggnad,registerenhetsomradesytor", "STYLES": "",
            "CRS": "EPSG:3857", "BBOX": f"{x0},{y0},{x0 + 500},{y0 + 500}",
            "WIDTH": 256, "HEIGHT": 256, "FORMAT": "image/png"}, timeout=60)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(tile, range(16)))
    assert all(r.status_code == 200 for r in responses)
    assert all(r.headers["Content-Type"] == "image/png" for r in responses)
    assert all(r.content[:8] == b"\x89PNG\r\n\x1a\n" for r in responses)


def test_ogc_api_lists_the_lantmateriet_collection(ogc_server):
    body = requests.get(f"{ogc_server}/ogcapi/collections", params={"f": "json"},
                        timeout=30).json()
    ids = {c["id"] for c in body["collections"]}
    assert {"registerenhetsomradesytor", "belagenhetsadress", "byggnad", "detaljplan",
            "planbestammelse"} <= ids


def test_wfs_20_answers_northing_first(ogc_server):
    response = requests.get(ogc_server, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
        "TYPENAMES": "registerenhetsomradesytor", "COUNT": "1",
        "SRSNAME": "urn:ogc:def:crs:EPSG::3006"}, timeout=30)
    assert response.status_code == 200
    first = response.text.split("<gml:posList")[1].split(">")[1].split()[:2]
    northing, easting = float(first[0]), float(first[1])
    assert northing > 6_000_000 > easting > 200_000


def test_taken_port_gives_a_clear_error(fixture_gpkg, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(OGCServerError, match=f"port {port} .* already taken"):
            make_server(fixture_gpkg, tmp_path, port=port)


def test_missing_data_gives_a_clear_error(tmp_path):
    with pytest.raises(OGCServerError, match="make fixtures"):
        make_server(tmp_path / "nothing.gpkg", tmp_path / "work", port=0)


def test_bbox_queries_and_pages_lose_nothing(ogc_server):
    """MapServer 8.0 readers that drop features would fail here (see the mapfile)."""
    one = requests.get(ogc_server, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
        "TYPENAMES": "registerenhetsomradesytor", "SRSNAME": "urn:ogc:def:crs:EPSG::3006",
        # A 1 m box inside SUNDSVALL ABBOTEN 1, northing first.
        "BBOX": "6919890,616130,6919891,616131,urn:ogc:def:crs:EPSG::3006"}, timeout=30)
    assert one.text.count("<ms:etikett>") == 1 and "ABBOTEN 1<" in one.text
    ids = []
    for offset in (0, 1000, 2000):
        page = requests.get(f"{ogc_server}/ogcapi/collections/registerenhetsomradesytor/items",
                            params={"f": "json", "limit": 1000, "offset": offset},
                            timeout=60).json()
        ids += [f["id"] for f in page["features"]]
    assert len(ids) == len(set(ids)) == page["numberMatched"]
