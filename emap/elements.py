"""Map elements of our own: a pin bound to form fields, and labelled point layers."""

from __future__ import annotations

import json
from typing import Any

from branca.element import MacroElement
from jinja2 import Template


def _json(value: Any) -> str:
    # Safe inside a <script>: no closing tags can be smuggled in through the data.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


class PinPicker(MacroElement):
    """Let the user pin a point; bind it to form fields and show the parcel under it.

    ``lookup_url`` answers ``?x=lon&y=lat&srid=4326`` with a GeoJSON Feature (the parcel);
    ``fields`` names the ids of the inputs for latitude, longitude and the parcel id and of
    the element that shows the designation; ``texts`` carries the translated messages.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var fields = {{ this.fields_json }};
  var texts = {{ this.texts_json }};
  var lookupUrl = {{ this.lookup_json }};
  var el = function (id) { return id ? document.getElementById(id) : null; };
  var marker = null, outline = null, seq = 0;
  function say(text, state) {
    var out = el(fields.designation);
    if (out) { out.textContent = text; out.setAttribute('data-state', state); }
  }
  function lookup(lat, lon) {
    var mine = ++seq;
    say(texts.looking, 'busy');
    var parcelInput = el(fields.parcel);
    if (parcelInput) { parcelInput.value = ''; }
    fetch(lookupUrl + '?x=' + lon.toFixed(8) + '&y=' + lat.toFixed(8) + '&srid=4326',
          {headers: {'Accept': 'application/geo+json'}, credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (feature) {
        if (mine !== seq) { return; }
        if (outline) { map.removeLayer(outline); }
        outline = L.geoJSON(feature, {style: {color: '#b00020', weight: 3, fillOpacity: 0.08},
                                      interactive: false}).addTo(map);
        if (parcelInput) { parcelInput.value = feature.properties.objektidentitet; }
        say(feature.properties.beteckning, 'found');
        map.fire('lovkarta:parcel', {feature: feature});
      })
      .catch(function (status) {
        if (mine !== seq) { return; }
        if (outline) { map.removeLayer(outline); outline = null; }
        say(status === 404 ? texts.none : texts.failed, status === 404 ? 'none' : 'error');
      });
  }
  function place(lat, lon, pan) {
    if (marker) { marker.setLatLng([lat, lon]); }
    else { marker = L.marker([lat, lon], {keyboard: false, title: texts.pin}).addTo(map); }
    var latInput = el(fields.lat), lonInput = el(fields.lon);
    if (latInput) { latInput.value = lat.toFixed(8); }
    if (lonInput) { lonInput.value = lon.toFixed(8); }
    if (pan) { map.panTo([lat, lon]); }
    lookup(lat, lon);
  }
  map.on('click', function (e) { place(e.latlng.lat, e.latlng.lng, false); });
  var lat0 = parseFloat((el(fields.lat) || {}).value);
  var lon0 = parseFloat((el(fields.lon) || {}).value);
  if (!isNaN(lat0) && !isNaN(lon0)) { place(lat0, lon0, true); }
  window.lovkarta = window.lovkarta || {};
  window.lovkarta.map = map;
  window.lovkarta.place = place;
})();
{% endmacro %}
""")

    def __init__(self, lookup_url: str, fields: dict[str, str], texts: dict[str, str]) -> None:
        super().__init__()
        self._name = "PinPicker"
        self.lookup_json = _json(lookup_url)
        self.fields_json = _json(fields)
        self.texts_json = _json(texts)


class PointLayer(MacroElement):
    """Draw labelled points (e.g. applications), each linking to its page."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var points = {{ this.points_json }};
  var group = L.featureGroup().addTo(map);
  points.forEach(function (p) {
    var link = document.createElement('a');
    link.href = p.url; link.textContent = p.label;
    L.circleMarker([p.lat, p.lon], {radius: 8, color: '#0b4f8a', weight: 2,
                                    fillColor: '#3d8bd4', fillOpacity: 0.8})
      .bindPopup(link).bindTooltip(p.label).addTo(group);
  });
  if (points.length) { map.fitBounds(group.getBounds(), {maxZoom: 16, padding: [30, 30]}); }
  window.lovkarta = window.lovkarta || {};
  window.lovkarta.map = map;
  window.lovkarta.points = group;
})();
{% endmacro %}
""")

    def __init__(self, points: list[dict[str, Any]]) -> None:
        super().__init__()
        self._name = "PointLayer"
        self.points_json = _json(points)
