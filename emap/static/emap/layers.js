/* Layers that only show things: labelled points linking to their pages
   (emap.elements.PointLayer) and outlines that take no clicks (emap.elements.Outlines).

   Configuration: {"kind": "points", "points": [{"lat", "lon", "url", "label"}, …]} and
   {"kind": "outlines", "data": GeoJSON, "style": Leaflet path style, "fit": bool,
   "name": label in the layer switcher (optional), "label": the property each feature
   shows as a tooltip (optional; the outlines then take the pointer)}. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  emap.elements.points = function (map, config) {
    var group = L.featureGroup().addTo(map);
    config.points.forEach(function (p) {
      var link = document.createElement('a');
      link.href = p.url;
      link.textContent = p.label;
      L.circleMarker([p.lat, p.lon], {radius: 8, color: '#0b4f8a', weight: 2,
                                      fillColor: '#3d8bd4', fillOpacity: 0.8})
        .bindPopup(link).bindTooltip(p.label).addTo(group);
    });
    if (config.points.length) {
      map.fitBounds(group.getBounds(), {maxZoom: 16, padding: [30, 30]});
    }
    window.lovkarta = window.lovkarta || {};
    window.lovkarta.points = group;
  };

  emap.elements.outlines = function (map, config) {
    var label = config.label;
    var layer = L.geoJSON(config.data, {
      style: config.style, interactive: !!label,
      onEachFeature: label ? function (feature, path) {
        var text = feature.properties && feature.properties[label];
        if (text) {
          var node = document.createElement('span');  // text, never parsed as HTML
          node.textContent = String(text);
          path.bindTooltip(node);
        }
      } : null});
    if (emap.overlay) { emap.overlay(map, config.name, layer, true); } else { layer.addTo(map); }
    if (config.name) {
      window.lovkarta = window.lovkarta || {};
      window.lovkarta.layers = window.lovkarta.layers || {};
      window.lovkarta.layers[config.name] = layer;
    }
    if (config.fit && layer.getLayers().length) {
      map.fitBounds(layer.getBounds(), {maxZoom: 18, padding: [20, 20]});
    }
  };
})();
