"""emap renders folium maps whose every asset is served by Lovkarta itself."""

from __future__ import annotations

import re

import folium
import folium.plugins
import pytest

from emap.elements import PinPicker, PointLayer
from emap.maps import LovkartaMap, UnsafeAsset, render, tile_background, wms_background


def test_pin_map_has_only_local_assets():
    m = LovkartaMap(label="Karta")
    wms_background("http://127.0.0.1:8081/lovkarta", "byggnad", "demo").add_to(m)
    PinPicker("/api/v1/parcels/at", {"lat": "a", "lon": "b"}, {"none": "x"}).add_to(m)
    fragment = render(m)
    assert fragment.js == ["/static/vendor/leaflet/leaflet.js"]
    assert "/static/vendor/leaflet/leaflet.css" in fragment.css
    for text in (fragment.html, fragment.script):
        for url in re.findall(r"https?://[^\s\"']+", text):
            assert url.startswith("http://127.0.0.1"), url
    assert f'id="{fragment.map_id}"' in fragment.html
    assert 'aria-label="Karta"' in fragment.html
    assert "L.tileLayer.wms" in fragment.script


def test_wmts_tiles_background_has_only_local_assets():
    m = LovkartaMap(label="Karta")
    url = "http://127.0.0.1:8081/wmts/1.0.0/bakgrund/default/GoogleMapsCompatible/{z}/{y}/{x}.png"
    tile_background(url, "demo", 21).add_to(m)
    fragment = render(m)
    assert fragment.js == ["/static/vendor/leaflet/leaflet.js"]
    assert url.replace("/", "\\/") in fragment.script or url in fragment.script
    assert '"maxNativeZoom": 21' in fragment.script
    for url_found in re.findall(r"https?://[^\s\"']+", fragment.script):
        assert url_found.startswith("http://127.0.0.1"), url_found


def test_a_cdn_plugin_is_refused():
    m = LovkartaMap(label="Karta")
    folium.plugins.Fullscreen().add_to(m)  # folium loads this one from a CDN
    with pytest.raises(UnsafeAsset, match="not served by Lovkarta"):
        render(m)


def test_point_data_cannot_break_out_of_the_script():
    m = LovkartaMap(label="Karta")
    PointLayer([{"lat": 62.4, "lon": 17.3, "url": "/x", "label": "</script><b>"}]).add_to(m)
    fragment = render(m)
    assert "</script>" not in fragment.script
