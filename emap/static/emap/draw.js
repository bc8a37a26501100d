/* Drawing (emap.elements.DrawTool): draw and edit polygons, lines and points with
   Leaflet.draw (self-hosted, loaded before this file); what is drawn is kept in a hidden
   input as a GeoJSON FeatureCollection whose features carry a "kind", and listed with
   area or length.

   Configuration: {"kind": "draw", "fields": {"drawn": hidden input id, "kind": id of the
   select saying what is drawn, "list": id of the list}, "initial": FeatureCollection,
   "texts": {"m2", "m", "nothing"}, "kinds": {kind: label}}. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  emap.elements.draw = function (map, config) {
    var fields = config.fields, texts = config.texts, kinds = config.kinds;
    var el = function (id) { return id ? document.getElementById(id) : null; };
    var drawn = L.geoJSON(config.initial, {
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

    function kindOf(layer) {
      return (layer.feature && layer.feature.properties.kind) || 'byggnad';
    }
    function describe(layer) {
      var text = kinds[kindOf(layer)] || kindOf(layer);
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
        f.properties = {kind: kindOf(layer)};
        collection.features.push(f);
        if (list) {
          var li = document.createElement('li');
          li.textContent = describe(layer);
          list.appendChild(li);
        }
      });
      if (list && !collection.features.length) {
        var none = document.createElement('li');
        none.textContent = texts.nothing;
        list.appendChild(none);
      }
      if (input) {
        input.value = JSON.stringify(collection);
        // Others on the page (the pre-checks) follow what is drawn.
        input.dispatchEvent(new Event('change', {bubbles: true}));
      }
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
  };
})();
