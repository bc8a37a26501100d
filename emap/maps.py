"""Folium maps with self-hosted assets, rendered as fragments to embed in a page.

emap renders and never queries: views hand it geometries, URLs and texts; it returns the
HTML, the script and the asset URLs of a map. Only the static URL of its assets is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Element
from django.templatetags.static import static

LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
EMAP_CSS = "emap/emap.css"

# Sundsvall as a default view when a view has nothing better.
DEFAULT_CENTER = (62.3925, 17.2985)


class UnsafeAsset(ValueError):
    """A map element asked for an asset from another host."""


@dataclass(frozen=True)
class MapFragment:
    """A rendered map: put ``css`` in the head, ``html`` where the map goes, then ``js``
    and ``script`` at the end of the body."""

    map_id: str
    html: str
    script: str
    css: list[str] = field(default_factory=list)
    js: list[str] = field(default_factory=list)


class LovkartaMap(folium.Map):
    """A folium map whose Leaflet comes from our own static files, not a CDN."""

    def __init__(self, label: str, center: tuple[float, float] = DEFAULT_CENTER,
                 zoom: int = 15, **kwargs: Any) -> None:
        self.default_js = [("leaflet", static(LEAFLET_JS))]
        self.default_css = [("leaflet_css", static(LEAFLET_CSS)), ("emap_css", static(EMAP_CSS))]
        super().__init__(location=list(center), zoom_start=zoom, tiles=None,
                         control_scale=True, **kwargs)
        self.label = label


def wms_background(url: str, layers: str, attribution: str) -> folium.raster_layers.WmsTileLayer:
    """Return a WMS 1.3.0 background layer (web mercator tiles from a WMS)."""
    return folium.raster_layers.WmsTileLayer(
        url=url, layers=layers, fmt="image/png", transparent=False, version="1.3.0",
        attr=attribution, name="Bakgrundskarta", overlay=False, control=False,
        max_zoom=20)


def tile_background(url: str, attribution: str, max_native_zoom: int
                    ) -> folium.raster_layers.TileLayer:
    """Return a background layer of XYZ tiles (a WMTS layer's web mercator set)."""
    return folium.raster_layers.TileLayer(
        tiles=url, attr=attribution, name="Bakgrundskarta", overlay=False, control=False,
        max_zoom=20, max_native_zoom=max_native_zoom or None)


def _collect_assets(root: Element) -> tuple[list[str], list[str]]:
    css: list[str] = []
    js: list[str] = []
    stack: list[Element] = [root]
    while stack:
        element = stack.pop()
        for _name, url in getattr(element, "default_css", []):
            if url not in css:
                css.append(url)
        for _name, url in getattr(element, "default_js", []):
            if url not in js:
                js.append(url)
        stack.extend(element._children.values())  # noqa: SLF001 (branca's tree)
    for url in css + js:
        if "://" in url or url.startswith("//"):
            raise UnsafeAsset(f"map asset {url} is not served by Lovkarta itself")
    return css, js


def render(m: LovkartaMap, extra_html: str = "") -> MapFragment:
    """Render a map to a fragment, refusing any asset from another host."""
    css, js = _collect_assets(m)
    figure: Any = m.get_root()
    figure.render()
    html = (f'<div class="emap" role="region" aria-label="{_escape(m.label)}">'
            f'<div class="emap-canvas" id="{m.get_name()}"></div>{extra_html}</div>')
    return MapFragment(map_id=m.get_name(), html=html, script=figure.script.render(),
                       css=css, js=js)


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))

