"""Map elements of our own: a pin bound to form fields, and labelled point layers."""

from __future__ import annotations

import json
from typing import Any

from branca.element import MacroElement
from django.templatetags.static import static
from jinja2 import Template


def _json(value: Any) -> str:
    # Safe inside a <script>: no closing tags can be smuggled in through the data.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


class PinPicker(MacroElement):
    """Let the user pin a point; bind it to form fields and show the parcel under it.

    ``lookup_url`` answers ``?x=lon&y=lat&srid=4326`` with a GeoJSON Feature (the parcel);
    ``report_url`` the same with the plan and regulations there, written as text into the
    element ``fields["summary"]``; ``fields`` names the ids of the inputs for latitude,
    longitude and the parcel id and of the element that shows the designation; ``texts``
    carries the translated messages.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var fields = {{ this.fields_json }};
  var texts = {{ this.texts_json }};
  var lookupUrl = {{ this.lookup_json }};
  var reportUrl = {{ this.report_json }};
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
        report(lat, lon, mine);
      })
      .catch(function (status) {
        if (mine !== seq) { return; }
        if (outline) { map.removeLayer(outline); outline = null; }
        say(status === 404 ? texts.none : texts.failed, status === 404 ? 'none' : 'error');
      });
  }
  function report(lat, lon, mine) {
    var out = el(fields.summary);
    if (!reportUrl || !out) { return; }
    fetch(reportUrl + '?x=' + lon.toFixed(8) + '&y=' + lat.toFixed(8) + '&srid=4326',
          {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (rep) {
        if (mine !== seq) { return; }
        out.textContent = '';
        var plan = document.createElement('p');
        plan.textContent = rep.plans.length ? texts.plan + ' ' + rep.plans.map(function (p) {
          return p.beteckning + ' (' + p.status + ')'; }).join(', ') : texts.outside;
        out.appendChild(plan);
        if (rep.regulations.length) {
          var list = document.createElement('ul');
          rep.regulations.forEach(function (r) {
            var li = document.createElement('li');
            li.textContent = (r.beteckning ? r.beteckning + ': ' : '') +
              r.bestammelseformulering + ' (' + Math.round(r.share_percent) + ' %)';
            list.appendChild(li);
          });
          out.appendChild(list);
        }
      })
      .catch(function () { if (mine === seq) { out.textContent = texts.failed; } });
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

    def __init__(self, lookup_url: str, fields: dict[str, str], texts: dict[str, str],
                 report_url: str = "") -> None:
        super().__init__()
        self._name = "PinPicker"
        self.lookup_json = _json(lookup_url)
        self.report_json = _json(report_url)
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


class Outlines(MacroElement):
    """Draw GeoJSON outlines (the chosen property, the site) that do not take clicks."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var layer = L.geoJSON({{ this.data_json }}, {style: {{ this.style_json }},
                                               interactive: false}).addTo(map);
  if ({{ this.fit_json }} && layer.getLayers().length) {
    map.fitBounds(layer.getBounds(), {maxZoom: 18, padding: [20, 20]});
  }
})();
{% endmacro %}
""")

    def __init__(self, data: dict[str, Any], style: dict[str, Any], fit: bool = False) -> None:
        super().__init__()
        self._name = "Outlines"
        self.data_json = _json(data)
        self.style_json = _json(style)
        self.fit_json = _json(fit)


class DrawTool(MacroElement):
    """Draw and edit polygons, lines and points (Leaflet.draw, self-hosted), kept in a
    hidden input as a GeoJSON FeatureCollection whose features carry a ``kind``.

    ``fields``: ``drawn`` (the hidden input), ``kind`` (the select saying what is drawn)
    and ``list`` (where the drawn things are listed with area and length, as text).
    """

    def __init__(self, fields: dict[str, str], initial: dict[str, Any], texts: dict[str, str],
                 kinds: dict[str, str]) -> None:
        super().__init__()
        self._name = "DrawTool"
        self.fields_json = _json(fields)
        self.initial_json = _json(initial)
        self.texts_json = _json(texts)
        self.kinds_json = _json(kinds)
        self.default_js = [("leaflet_draw", static("vendor/leaflet-draw/leaflet.draw.js"))]
        self.default_css = [("leaflet_draw_css", static("vendor/leaflet-draw/leaflet.draw.css"))]

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var fields = {{ this.fields_json }};
  var texts = {{ this.texts_json }};
  var kinds = {{ this.kinds_json }};
  var el = function (id) { return document.getElementById(id); };
  var drawn = L.geoJSON({{ this.initial_json }}, {
    style: {color: '#0b4f8a', weight: 3, fillOpacity: 0.25}}).addTo(map);
  var control = new L.Control.Draw({
    position: 'topright',
    edit: {featureGroup: drawn},
    // showArea stays off: Leaflet.draw 1.0.4 throws in its area tooltip; the list below
    // the map shows every area instead.
    draw: {polygon: {allowIntersection: false, showArea: false},
           polyline: {metric: true}, rectangle: {showArea: false},
           marker: true, circle: false, circlemarker: false}
  });
  map.addControl(control);
  function describe(layer) {
    var kind = (layer.feature && layer.feature.properties.kind) || 'byggnad';
    var text = kinds[kind] || kind;
    if (layer instanceof L.Polygon) {
      var ring = layer.getLatLngs()[0];
      text += ': ' + Math.round(L.GeometryUtil.geodesicArea(ring)) + ' ' + texts.m2;
    } else if (layer instanceof L.Polyline) {
      var pts = layer.getLatLngs(), len = 0;
      for (var i = 1; i < pts.length; i++) { len += pts[i - 1].distanceTo(pts[i]); }
      text += ': ' + Math.round(len) + ' ' + texts.m;
    }
    return text;
  }
  function sync() {
    var input = el(fields.drawn), list = el(fields.list);
    var collection = {type: 'FeatureCollection', features: []};
    if (list) { list.textContent = ''; }
    drawn.eachLayer(function (layer) {
      var f = layer.toGeoJSON();
      f.properties = {kind: (layer.feature && layer.feature.properties.kind) || 'byggnad'};
      collection.features.push(f);
      if (list) {
        var li = document.createElement('li'); li.textContent = describe(layer);
        list.appendChild(li);
      }
    });
    if (list && !collection.features.length) {
      var none = document.createElement('li'); none.textContent = texts.nothing;
      list.appendChild(none);
    }
    if (input) { input.value = JSON.stringify(collection); }
  }
  map.on(L.Draw.Event.CREATED, function (e) {
    var select = el(fields.kind);
    e.layer.feature = {type: 'Feature',
                       properties: {kind: select && select.value ? select.value : 'byggnad'}};
    drawn.addLayer(e.layer);
    sync();
  });
  map.on(L.Draw.Event.EDITED, sync);
  map.on(L.Draw.Event.DELETED, sync);
  sync();
  window.lovkarta = window.lovkarta || {};
  window.lovkarta.drawn = drawn;
})();
{% endmacro %}
""")


class Legend(MacroElement):
    """A legend in a map corner: a swatch and a text for each style on the map.

    ``entries`` are (label, CSS for the swatch), e.g. ("Fastighetsgräns",
    "border: 2px solid #aa2828"). The legend is text in the page, so screen readers get
    it too.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var entries = {{ this.entries_json }};
  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function () {
    var box = L.DomUtil.create('div', 'emap-legend');
    var title = document.createElement('p');
    title.className = 'emap-legend-title';
    title.textContent = {{ this.title_json }};
    box.appendChild(title);
    var list = document.createElement('ul');
    entries.forEach(function (entry) {
      var li = document.createElement('li');
      var swatch = document.createElement('span');
      swatch.className = 'emap-swatch';
      swatch.setAttribute('style', entry[1]);
      swatch.setAttribute('aria-hidden', 'true');
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(entry[0]));
      list.appendChild(li);
    });
    box.appendChild(list);
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);
})();
{% endmacro %}
""")

    def __init__(self, title: str, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.title_json = _json(title)
        self.entries_json = _json(entries)
