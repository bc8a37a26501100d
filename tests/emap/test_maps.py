"""emap renders folium maps whose every asset is served by Lovkarta itself, and whose
behaviour comes from static scripts configured by JSON: no map code in the page."""

from __future__ import annotations

import json
import re

import folium
import folium.plugins
import pytest

from emap.elements import DrawTool, Legend, PinPicker, PointLayer
from emap.maps import (
    LovkartaMap,
    UnsafeAsset,
    UnsupportedElement,
    render,
    tile_background,
    tile_origin,
    wms_background,
)


def config_in(html: str) -> dict:
    """Return the json_script configuration written into a fragment's HTML."""
    found = re.search(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html,
                      re.DOTALL)
    assert found, html
    assert f'data-emap-config="{found.group(1)}"' in html
    return json.loads(found.group(2))


def test_pin_map_has_only_local_assets():
    m = LovkartaMap(label="Karta")
    wms_background("http://127.0.0.1:8081/lovkarta", "byggnad", "demo").add_to(m)
    PinPicker("/api/v1/parcels/at", {"lat": "a", "lon": "b"}, {"none": "x"}).add_to(m)
    fragment = render(m)
    assert fragment.js == ["/static/vendor/leaflet/leaflet.js", "/static/emap/pin.js",
                           "/static/emap/map.js"]
    assert "/static/vendor/leaflet/leaflet.css" in fragment.css
    for url in re.findall(r"https?://[^\s\"']+", fragment.html):
        assert url.startswith("http://127.0.0.1"), url
    assert f'id="{fragment.map_id}"' in fragment.html
    assert 'aria-label="Karta"' in fragment.html
    # The only script in the fragment is data: nothing a policy would have to allow.
    assert re.findall(r"<script[^>]*>", fragment.html) == [
        f'<script id="{fragment.map_id}-config" type="application/json">']
    config = config_in(fragment.html)
    assert config == fragment.config
    wms, pin = config["elements"]
    assert wms["kind"] == "wms" and wms["url"] == "http://127.0.0.1:8081/lovkarta"
    assert wms["options"]["layers"] == "byggnad" and wms["options"]["version"] == "1.3.0"
    assert pin == {"kind": "pin", "lookupUrl": "/api/v1/parcels/at", "reportUrl": "",
                   "fields": {"lat": "a", "lon": "b"}, "texts": {"none": "x"}}
    assert config["map"]["controlScale"] is True and config["map"]["options"]["zoom"] == 15
    assert fragment.origins == ["http://127.0.0.1:8081"]


def test_wmts_tiles_background_has_only_local_assets():
    m = LovkartaMap(label="Karta")
    url = "http://127.0.0.1:8081/wmts/1.0.0/bakgrund/default/GoogleMapsCompatible/{z}/{y}/{x}.png"
    tile_background(url, "demo", 21).add_to(m)
    fragment = render(m)
    assert fragment.js == ["/static/vendor/leaflet/leaflet.js", "/static/emap/map.js"]
    tiles, = config_in(fragment.html)["elements"]
    assert tiles["kind"] == "tiles" and tiles["url"] == url
    assert tiles["options"]["maxNativeZoom"] == 21
    for url_found in re.findall(r"https?://[^\s\"']+", fragment.html):
        assert url_found.startswith("http://127.0.0.1"), url_found
    assert fragment.origins == ["http://127.0.0.1:8081"]


def test_scripts_come_after_what_they_need():
    m = LovkartaMap(label="Karta")
    Legend("Teckenförklaring", [("Vatten", "background: #aad3df")]).add_to(m)
    DrawTool({"drawn": "d"}, {"type": "FeatureCollection", "features": []}, {}, {}).add_to(m)
    fragment = render(m)
    js = fragment.js
    assert js[0] == "/static/vendor/leaflet/leaflet.js"
    assert js.index("/static/vendor/leaflet-draw/leaflet.draw.js") < js.index(
        "/static/emap/draw.js")
    assert js[-1] == "/static/emap/map.js"
    assert [e["kind"] for e in fragment.config["elements"]] == ["legend", "draw"]
    assert fragment.config["elements"][0]["entries"] == [["Vatten", "background: #aad3df"]]


def test_a_cdn_plugin_is_refused():
    m = LovkartaMap(label="Karta")
    folium.plugins.Fullscreen().add_to(m)  # folium loads this one from a CDN
    with pytest.raises(UnsafeAsset, match="not served by Lovkarta"):
        render(m)


def test_an_element_that_needs_inline_script_is_refused():
    m = LovkartaMap(label="Karta")
    folium.Marker([62.4, 17.3]).add_to(m)  # drawn by folium's inline script only
    with pytest.raises(UnsupportedElement, match="Marker"):
        render(m)


def test_point_data_cannot_break_out_of_the_script():
    m = LovkartaMap(label="Karta")
    PointLayer([{"lat": 62.4, "lon": 17.3, "url": "/x", "label": "</script><b>"}]).add_to(m)
    fragment = render(m)
    assert "</script><b>" not in fragment.html
    assert fragment.html.count("</script>") == 1
    point, = config_in(fragment.html)["elements"][0]["points"]
    assert point["label"] == "</script><b>"


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:8082/wms", "http://127.0.0.1:8082"),
    ("https://maps.example.se/wmts/{z}/{y}/{x}.png", "https://maps.example.se"),
    ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
    ("https://user:pw@maps.example.se/wms", "https://maps.example.se"),
    ("/wmts/{z}/{y}/{x}.png", None),  # our own host: 'self'
    ("ftp://maps.example.se/x", None),
    ("https://maps.example.se;script-src *", None),  # cannot end the directive
])
def test_tile_origin_is_a_safe_policy_source(url, origin):
    assert tile_origin(url) == origin
