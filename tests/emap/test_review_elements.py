"""The review map's elements: vector tiles, the layer switcher, the click report and the
measuring tool are static scripts configured by JSON, their assets our own."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders

from emap.elements import ClickReport, LayerSwitcher, MeasureTool, Outlines, VectorTiles
from emap.maps import LovkartaMap, render, wms_background


def test_vector_tiles_switcher_report_and_measure_are_configured_by_json():
    m = LovkartaMap(label="Karta")
    wms_background("http://127.0.0.1:8081/lovkarta", "bakgrund", "demo", name="Bakgrund",
                   control=True).add_to(m)
    VectorTiles("Fastigheter", "/api/v1/tiles/parcels/{z}/{x}/{y}.pbf",
                {"parcels": {"color": "#aa2828"}}, min_zoom=14, hint="Zooma in.",
                key="parcels").add_to(m)
    Outlines({"type": "FeatureCollection", "features": []}, {"className": "x"},
             name="Grannar", label="label").add_to(m)
    LayerSwitcher("Lager", position="topleft").add_to(m)
    ClickReport("/api/v1/detail-report", "panel", {"looking": "…"}).add_to(m)
    MeasureTool("out", {"start": "Mät"}).add_to(m)
    fragment = render(m)
    assert fragment.js == [
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet-vectorgrid/Leaflet.VectorGrid.bundled.js",
        "/static/emap/vectortiles.js", "/static/emap/layers.js", "/static/emap/switcher.js",
        "/static/emap/report.js", "/static/emap/measure.js", "/static/emap/map.js"]
    wms, tiles, outlines, switcher, report, measure = fragment.config["elements"]
    assert wms["name"] == "Bakgrund"
    assert tiles == {"kind": "vectortiles", "name": "Fastigheter",
                     "url": "/api/v1/tiles/parcels/{z}/{x}/{y}.pbf",
                     "styles": {"parcels": {"color": "#aa2828"}}, "minZoom": 14,
                     "maxNativeZoom": 18, "show": True, "hint": "Zooma in.", "popup": None,
                     "key": "parcels"}
    assert outlines["name"] == "Grannar" and outlines["label"] == "label"
    assert switcher == {"kind": "layerswitcher", "title": "Lager", "position": "topleft"}
    assert report["panel"] == "panel" and measure["output"] == "out"
    assert re.findall(r"<script[^>]*>", fragment.html) == [
        f'<script id="{fragment.map_id}-config" type="application/json">']


def test_the_scripts_are_found_and_use_no_eval():
    for path in ("vendor/leaflet-vectorgrid/Leaflet.VectorGrid.bundled.js",
                 "emap/vectortiles.js", "emap/switcher.js", "emap/report.js",
                 "emap/measure.js"):
        found = finders.find(path)
        assert found, path
        text = Path(found).read_text(encoding="utf-8")
        assert "eval(" not in text and "new Function" not in text, path
        assert ".innerHTML" not in text or path.startswith("vendor/"), path


def test_vector_tiles_with_clusters_are_configured_by_json():
    m = LovkartaMap(label="Karta")
    sized = {"sizeBy": "count", "label": "count", "labelColor": "#ffffff", "radius": [11, 26],
             "full": 1000, "style": {"fillColor": "#0b4f8a"}}
    VectorTiles("Ärenden", "/k/{z}/{x}/{y}.pbf", {"case_clusters": sized}, min_zoom=8,
                key="cases", clusters={"property": "count", "zoomTo": 13}).add_to(m)
    fragment = render(m)
    (tiles,) = fragment.config["elements"]
    assert tiles["clusters"] == {"property": "count", "zoomTo": 13}
    assert tiles["styles"]["case_clusters"] == sized and tiles["minZoom"] == 8
    # The counts are SVG text written by the script (no markup, no style attribute).
    script = Path(finders.find("emap/vectortiles.js")).read_text(encoding="utf-8")
    assert "textContent = label" in script and "setAttribute('style'" not in script
