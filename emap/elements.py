"""Map elements of our own: a pin bound to form fields, points, outlines, drawing, legend.

Each element is a folium ``MacroElement`` that renders no script: it names the static
script that draws it (``emap/static/emap/<kind>.js``) and gives that script its JSON
configuration (:meth:`EmapElement.config`), which :func:`emap.maps.render` writes into the
page as ``json_script`` data. A strict Content-Security-Policy (no inline scripts) holds.
"""

from __future__ import annotations

from typing import Any, ClassVar

from branca.element import MacroElement
from django.templatetags.static import static
from jinja2 import Template

LEAFLET_DRAW_JS = "vendor/leaflet-draw/leaflet.draw.js"
LEAFLET_DRAW_CSS = "vendor/leaflet-draw/leaflet.draw.css"
# Leaflet.VectorGrid (npm leaflet.vectorgrid, with its protobuf decoder bundled): draws
# Mapbox vector tiles with Leaflet's own SVG paths; no eval, no inline styles.
LEAFLET_VECTORGRID_JS = "vendor/leaflet-vectorgrid/Leaflet.VectorGrid.bundled.js"


class EmapElement(MacroElement):
    """A map element drawn by a static script of ours from its JSON configuration."""

    kind: ClassVar[str]
    """The element's kind: its script registers ``emap.elements[kind]``."""
    script: ClassVar[str]
    """The static path of that script."""
    # folium renders nothing of ours: no map code lives in Python strings.
    _template = Template("")

    def __init__(self) -> None:
        super().__init__()
        self._name = type(self).__name__
        self.default_js: list[tuple[str, str]] = [(f"emap_{self.kind}", static(self.script))]
        self.default_css: list[tuple[str, str]] = []

    def config(self) -> dict[str, Any]:
        """Return what the element's script needs, as JSON-ready data."""
        return {"kind": self.kind, **self.settings()}

    def settings(self) -> dict[str, Any]:
        """Return the element's own part of its configuration (``kind`` aside)."""
        raise NotImplementedError


class PinPicker(EmapElement):
    """Let the user pin a point; bind it to form fields and show the parcel under it.

    ``lookup_url`` answers ``?x=lon&y=lat&srid=4326`` with a GeoJSON Feature (the parcel);
    ``report_url`` the same with the plan and regulations there, written as text into the
    element ``fields["summary"]``; ``fields`` names the ids of the inputs for latitude,
    longitude and the parcel id and of the element that shows the designation; ``texts``
    carries the translated messages.
    """

    kind = "pin"
    script = "emap/pin.js"

    def __init__(self, lookup_url: str, fields: dict[str, str], texts: dict[str, str],
                 report_url: str = "") -> None:
        super().__init__()
        self.lookup_url = lookup_url
        self.report_url = report_url
        self.fields = fields
        self.texts = texts

    def settings(self) -> dict[str, Any]:
        return {"lookupUrl": self.lookup_url, "reportUrl": self.report_url,
                "fields": self.fields, "texts": self.texts}


class PointLayer(EmapElement):
    """Draw labelled points (e.g. applications), each linking to its page.

    ``points`` are dicts with ``lat``, ``lon``, ``url`` and ``label``.
    """

    kind = "points"
    script = "emap/layers.js"

    def __init__(self, points: list[dict[str, Any]]) -> None:
        super().__init__()
        self.points = points

    def settings(self) -> dict[str, Any]:
        return {"points": self.points}


class Outlines(EmapElement):
    """Draw GeoJSON outlines (the chosen property, the site) that do not take clicks.

    ``style`` is a Leaflet path style (its ``className`` marks the paths); ``fit`` fits the
    map to the outlines. With a ``name`` the layer switcher offers them under that name;
    with a ``label`` (a property of the features) each shows it as a tooltip.
    """

    kind = "outlines"
    script = "emap/layers.js"

    def __init__(self, data: dict[str, Any], style: dict[str, Any], fit: bool = False,
                 name: str = "", label: str = "") -> None:
        super().__init__()
        self.data = data
        self.style = style
        self.fit = fit
        self.name = name
        self.label = label

    def settings(self) -> dict[str, Any]:
        extra = {key: value for key, value in (("name", self.name), ("label", self.label))
                 if value}
        return {"data": self.data, "style": self.style, "fit": self.fit, **extra}


class DrawTool(EmapElement):
    """Draw and edit polygons, lines and points (Leaflet.draw, self-hosted), kept in a
    hidden input as a GeoJSON FeatureCollection whose features carry a ``kind``.

    ``fields``: ``drawn`` (the hidden input), ``kind`` (the select saying what is drawn)
    and ``list`` (where the drawn things are listed with area and length, as text);
    ``initial`` is what was drawn before; ``kinds`` the labels of the kinds.
    """

    kind = "draw"
    script = "emap/draw.js"

    def __init__(self, fields: dict[str, str], initial: dict[str, Any], texts: dict[str, str],
                 kinds: dict[str, str]) -> None:
        super().__init__()
        self.fields = fields
        self.initial = initial
        self.texts = texts
        self.kinds = kinds
        # Leaflet.draw before our script that uses it.
        self.default_js = [("leaflet_draw", static(LEAFLET_DRAW_JS)), *self.default_js]
        self.default_css = [("leaflet_draw_css", static(LEAFLET_DRAW_CSS))]

    def settings(self) -> dict[str, Any]:
        return {"fields": self.fields, "initial": self.initial, "texts": self.texts,
                "kinds": self.kinds}


class Legend(EmapElement):
    """A legend in a map corner: a swatch and a text for each style on the map.

    ``entries`` are (label, CSS declarations for the swatch), e.g. ("Fastighetsgräns",
    "border: 2px solid #aa2828"); the script sets them one by one through the CSSOM, which
    a policy without ``'unsafe-inline'`` allows. The legend is text in the page, so screen
    readers get it too.
    """

    kind = "legend"
    script = "emap/legend.js"

    def __init__(self, title: str, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title = title
        self.entries = entries

    def settings(self) -> dict[str, Any]:
        return {"title": self.title, "entries": [list(entry) for entry in self.entries]}


class VectorTiles(EmapElement):
    """An overlay of Mapbox vector tiles from our own server (Leaflet.VectorGrid).

    ``url`` is an XYZ template (``…/{z}/{x}/{y}.pbf``); ``styles`` gives each layer of the
    tiles a Leaflet path style, or ``{"by": property, "styles": {value: style},
    "default": style}`` to style its features by a property. No tile is asked for below
    ``min_zoom``; above ``max_native_zoom`` the deepest tiles are drawn larger. ``name``
    labels the overlay in the layer switcher (``show``: on at the start), ``hint`` says
    what to do when it is hidden by the zoom. ``popup`` makes the features clickable:
    ``{"title": property, "link": URL template with {property} fields, "rows": [[label,
    property, {value: text}]]}``. ``key`` names the overlay in ``window.lovkarta.layers``.

    A layer's style may instead size its points by a count: ``{"sizeBy": property,
    "label": property, "radius": [smallest, largest], "full": count drawn largest,
    "style": Leaflet path style}``, the circle labelled with the count. ``clusters``
    (``{"property": name, "zoomTo": zoom}``) makes such a feature zoom the map in on a
    click (to ``zoomTo`` at most two steps at a time) instead of opening the popup.
    """

    kind = "vectortiles"
    script = "emap/vectortiles.js"

    def __init__(self, name: str, url: str, styles: dict[str, Any], *, min_zoom: int = 0,
                 max_native_zoom: int = 18, show: bool = True, hint: str = "",
                 popup: dict[str, Any] | None = None, key: str = "",
                 clusters: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.name = name
        self.clusters = clusters
        self.url = url
        self.styles = styles
        self.min_zoom = min_zoom
        self.max_native_zoom = max_native_zoom
        self.show = show
        self.hint = hint
        self.popup = popup
        self.key = key
        self.default_js = [("leaflet_vectorgrid", static(LEAFLET_VECTORGRID_JS)),
                           *self.default_js]

    def settings(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "styles": self.styles,
                "minZoom": self.min_zoom, "maxNativeZoom": self.max_native_zoom,
                "show": self.show, "hint": self.hint, "popup": self.popup, "key": self.key,
                **({"clusters": self.clusters} if self.clusters else {})}


class LayerSwitcher(EmapElement):
    """A layer switcher (Leaflet's, open, so every layer is a labelled checkbox) for the
    layers named before it, and a status line that says which of them the zoom hides.

    Add it after the layers it switches."""

    kind = "layerswitcher"
    script = "emap/switcher.js"

    def __init__(self, title: str, position: str = "topright") -> None:
        super().__init__()
        self.title = title
        self.position = position

    def settings(self) -> dict[str, Any]:
        return {"title": self.title, "position": self.position}


class ClickReport(EmapElement):
    """Click the map (not a feature): what lies there, from the detail report, as text in
    the element ``panel`` (a live region), the parcel outlined.

    ``url`` answers ``?x=lon&y=lat&srid=4326`` with the detail report's JSON; ``texts``
    carries the translated words (``looking``, ``failed``, ``nothing``, ``property``,
    ``plan``, ``outside``, ``regulations``, ``at``).
    """

    kind = "clickreport"
    script = "emap/report.js"

    def __init__(self, url: str, panel: str, texts: dict[str, str]) -> None:
        super().__init__()
        self.url = url
        self.panel = panel
        self.texts = texts

    def settings(self) -> dict[str, Any]:
        return {"url": self.url, "panel": self.panel, "texts": self.texts}


class MeasureTool(EmapElement):
    """Measure on the map: a button starts it, each click adds a point, the distance along
    the points and the area they enclose are written (as text) into the element
    ``output`` (a live region); a second button clears.

    ``texts``: ``start``, ``stop``, ``clear``, ``distance``, ``area``, ``help``.
    """

    kind = "measure"
    script = "emap/measure.js"

    def __init__(self, output: str, texts: dict[str, str]) -> None:
        super().__init__()
        self.output = output
        self.texts = texts

    def settings(self) -> dict[str, Any]:
        return {"output": self.output, "texts": self.texts}
