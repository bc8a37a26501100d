"""Folium maps with self-hosted assets, rendered as fragments to embed in a page.

emap renders and never queries: views hand it geometries, URLs and texts; it returns the
HTML of a map, its configuration as JSON and the URLs of its assets. Only the static URL
of its assets is read.

No map code is written into the page: folium describes the map (the ``Map``, its tile
layers and our elements), :func:`render` turns that description into ``json_script``
data beside the map's canvas, and the static scripts (``emap/static/emap/map.js`` and one
per element kind) build the Leaflet map from it. So the pages keep a Content-Security-
Policy without ``'unsafe-inline'``; :attr:`MapFragment.origins` tells the policy where
the background tiles come from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import folium
from branca.element import Element
from django.templatetags.static import static
from django.utils.html import escape, json_script
from folium.utilities import camelize

from emap.elements import EmapElement

LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
EMAP_CSS = "emap/emap.css"
# Builds every map on the page from its configuration; loaded after the element scripts.
MAP_JS = "emap/map.js"

# Sundsvall as a default view when a view has nothing better.
DEFAULT_CENTER = (62.3925, 17.2985)

# What may stand in a Content-Security-Policy source: a host (a label may be a tile
# template's "{s}", which becomes "*") and a port, nothing that could end the directive.
_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$")


class UnsafeAsset(ValueError):
    """A map element asked for an asset from another host."""


class UnsupportedElement(TypeError):
    """A map holds a folium element that only folium's inline script could draw."""


@dataclass(frozen=True)
class MapFragment:
    """A rendered map: put ``css`` in the head, ``html`` where the map goes (the canvas
    and its ``json_script`` configuration) and ``js`` at the end of the body.

    ``config`` is the configuration the scripts read; ``origins`` are the origins the
    background tiles come from (``scheme://host[:port]``), for the page's ``img-src``.
    """

    map_id: str
    html: str
    config: dict[str, Any]
    css: list[str] = field(default_factory=list)
    js: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)


class LovkartaMap(folium.Map):
    """A folium map whose Leaflet comes from our own static files, not a CDN."""

    def __init__(self, label: str, center: tuple[float, float] = DEFAULT_CENTER,
                 zoom: int = 15, **kwargs: Any) -> None:
        self.default_js = [("leaflet", static(LEAFLET_JS))]
        self.default_css = [("leaflet_css", static(LEAFLET_CSS)), ("emap_css", static(EMAP_CSS))]
        super().__init__(location=list(center), zoom_start=zoom, tiles=None,
                         control_scale=True, **kwargs)
        self.label = label


def wms_background(url: str, layers: str, attribution: str, name: str = "Bakgrundskarta",
                   control: bool = False) -> folium.raster_layers.WmsTileLayer:
    """Return a WMS 1.3.0 background layer (web mercator tiles from a WMS); ``control``
    offers it in the map's layer switcher under ``name``."""
    return folium.raster_layers.WmsTileLayer(
        url=url, layers=layers, fmt="image/png", transparent=False, version="1.3.0",
        attr=attribution, name=name, overlay=False, control=control,
        max_zoom=20)


def tile_background(url: str, attribution: str, max_native_zoom: int,
                    name: str = "Bakgrundskarta", control: bool = False
                    ) -> folium.raster_layers.TileLayer:
    """Return a background layer of XYZ tiles (a WMTS layer's web mercator set)."""
    return folium.raster_layers.TileLayer(
        tiles=url, attr=attribution, name=name, overlay=False, control=control,
        max_zoom=20, max_native_zoom=max_native_zoom or None)


def _walk(element: Element) -> list[Element]:
    """Return the element and everything under it, parents first, in insertion order."""
    found = [element]
    for child in element._children.values():  # noqa: SLF001 (branca's tree)
        found.extend(_walk(child))
    return found


def _collect_assets(root: Element) -> tuple[list[str], list[str]]:
    css: list[str] = []
    js: list[str] = []
    for element in _walk(root):
        for _name, url in getattr(element, "default_css", []):
            if url not in css:
                css.append(url)
        for _name, url in getattr(element, "default_js", []):
            if url not in js:
                js.append(url)
    for url in css + js:
        if "://" in url or url.startswith("//"):
            raise UnsafeAsset(f"map asset {url} is not served by Lovkarta itself")
    return css, js


def _camel(options: dict[str, Any]) -> dict[str, Any]:
    return {camelize(key): value for key, value in options.items()}


def _switcher_name(layer: folium.raster_layers.TileLayer | folium.raster_layers.WmsTileLayer
                   ) -> str | None:
    """The label a layer switcher gives a folium layer (None: it is not offered)."""
    return str(layer.layer_name) if layer.control else None


def _element_config(element: Element) -> dict[str, Any]:
    """Return the JSON configuration of one element of a map (see emap/static/emap/)."""
    if element._children:  # noqa: SLF001 (branca's tree)
        raise UnsupportedElement(f"{type(element).__name__} holds elements of its own")
    if isinstance(element, EmapElement):
        return element.config()
    if isinstance(element, folium.raster_layers.WmsTileLayer):
        # folium has camel-cased these already (and left cql_filter as it is).
        return {"kind": "wms", "url": element.url, "options": dict(element.options),
                "show": element.show, "name": _switcher_name(element)}
    if isinstance(element, folium.raster_layers.TileLayer):
        return {"kind": "tiles", "url": element.tiles, "options": _camel(element.options),
                "show": element.show, "name": _switcher_name(element)}
    raise UnsupportedElement(
        f"{type(element).__name__} has no static script in emap; add an EmapElement")


def map_config(m: LovkartaMap) -> dict[str, Any]:
    """Return the configuration ``emap/map.js`` builds the map from: folium's own
    options of the map, then each element in the order it was added."""
    return {
        "map": {"center": m.location, "crs": m.crs, "options": _camel(m.options),
                "controlScale": m.control_scale,
                "zoomControlPosition": m.zoom_control if m.zoom_control_position else None},
        "elements": [_element_config(child)
                     for child in m._children.values()],  # noqa: SLF001 (branca's tree)
    }


def tile_origin(url: str) -> str | None:
    """Return the origin a tile URL (template) loads from, as a CSP source, or None for
    a URL of our own host or one that cannot be written safely into a policy."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    host = re.sub(r"^\{[a-z]\}\.", "*.", host)  # "{s}.tile.example" → "*.tile.example"
    if not _HOST.match(host):
        return None
    return f"{parts.scheme}://{host}"


def render(m: LovkartaMap, extra_html: str = "") -> MapFragment:
    """Render a map to a fragment, refusing any asset from another host and any element
    that would need an inline script."""
    css, js = _collect_assets(m)
    js.append(static(MAP_JS))
    config = map_config(m)
    origins = sorted({origin for element in config["elements"]
                      if element["kind"] in ("tiles", "wms")
                      and (origin := tile_origin(element["url"]))})
    name = m.get_name()
    config_id = f"{name}-config"
    html = (f'<div class="emap" role="region" aria-label="{escape(m.label)}">'
            f'<div class="emap-canvas" id="{name}" data-emap-config="{config_id}"></div>'
            f"{json_script(config, config_id)}{extra_html}</div>")
    return MapFragment(map_id=name, html=html, config=config, css=css, js=js,
                       origins=origins)
