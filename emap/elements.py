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

    ``style`` is a Leaflet path style; ``fit`` fits the map to the outlines.
    """

    kind = "outlines"
    script = "emap/layers.js"

    def __init__(self, data: dict[str, Any], style: dict[str, Any], fit: bool = False) -> None:
        super().__init__()
        self.data = data
        self.style = style
        self.fit = fit

    def settings(self) -> dict[str, Any]:
        return {"data": self.data, "style": self.style, "fit": self.fit}


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
