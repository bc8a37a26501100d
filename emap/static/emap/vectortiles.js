/* Vector tile overlays (emap.elements.VectorTiles).

   Configuration of an overlay: {"kind": "vectortiles", "name": label in the switcher,
   "url": ".../{z}/{x}/{y}.pbf", "styles": {tile layer: Leaflet path style, or {"by":
   property, "styles": {value: style}, "default": style}}, "minZoom", "maxNativeZoom",
   "show": bool, "hint": text while the zoom hides it, "popup": null or {"title":
   property, "link": URL template with {property} fields, "rows": [[label, property,
   {value: text}]]}, "key": name in window.lovkarta.layers}.

   The tiles are Mapbox vector tiles drawn by Leaflet.VectorGrid (self-hosted from npm) as
   SVG paths: Leaflet asks only for the tiles the view shows, and none below minZoom.
   The layer switcher (switcher.js) offers it under its name. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  // Leaflet 1.8 dropped L.DomEvent.fakeStop, which VectorGrid 1.3's canvas renderer calls
  // on a click (we draw with SVG, but keep the canvas path working).
  if (window.L && L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  // A point of a vector tile has no latitude and longitude of its own: Leaflet would ask
  // a small marker for them on a click, so the click's own position is used instead.
  var Grid = null;
  function grid(url, options) {
    Grid = Grid || L.VectorGrid.Protobuf.extend({
      _createLayer: function (feat, pxPerExtent, layerStyle) {
        var layer = L.VectorGrid.Protobuf.prototype._createLayer.call(
          this, feat, pxPerExtent, layerStyle);
        if (feat.type === 1) { layer.getLatLng = null; }
        return layer;
      }
    });
    return new Grid(url, options);
  }

  function styleFor(spec) {
    if (!spec || !spec.by) { return spec || {}; }
    return function (properties) {
      return spec.styles[String(properties[spec.by])] || spec['default'] || {};
    };
  }

  function fill(template, properties) {
    return template.replace(/\{(\w+)\}/g, function (match, name) {
      var value = properties[name];
      return encodeURIComponent(value === undefined || value === null ? '' : value);
    });
  }

  function popupContent(spec, properties) {
    var box = document.createElement('div');
    box.className = 'emap-popup';
    var title = document.createElement('p');
    title.className = 'emap-popup-title';
    var link = document.createElement('a');
    link.href = fill(spec.link, properties);
    link.textContent = String(properties[spec.title]);
    title.appendChild(link);
    box.appendChild(title);
    var list = document.createElement('dl');
    spec.rows.forEach(function (row) {
      var value = properties[row[1]];
      if (value === undefined || value === null) { return; }
      var shown = row[2] && row[2][String(value)] !== undefined ? row[2][String(value)]
        : String(value);
      var dt = document.createElement('dt');
      dt.textContent = row[0];
      var dd = document.createElement('dd');
      dd.textContent = shown;
      list.appendChild(dt);
      list.appendChild(dd);
    });
    box.appendChild(list);
    return box;
  }

  emap.elements.vectortiles = function (map, config) {
    var styles = {};
    Object.keys(config.styles).forEach(function (name) {
      styles[name] = styleFor(config.styles[name]);
    });
    var layer = grid(config.url, {
      vectorTileLayerStyles: styles, minZoom: config.minZoom, maxZoom: 22,
      maxNativeZoom: config.maxNativeZoom, interactive: !!config.popup,
      rendererFactory: L.svg.tile, fetchOptions: {credentials: 'same-origin'}
    });
    if (config.popup) {
      layer.on('click', function (e) {
        L.DomEvent.stopPropagation(e);  // the map's own click (the report) is not this one
        L.popup({maxWidth: 320}).setLatLng(e.latlng)
          .setContent(popupContent(config.popup, e.layer.properties)).openOn(map);
      });
    }
    emap.overlay(map, config.name, layer, config.show);
    if (config.hint) {
      map.emapHints = map.emapHints || [];
      map.emapHints.push({layer: layer, minZoom: config.minZoom, hint: config.hint});
    }
    window.lovkarta = window.lovkarta || {};
    window.lovkarta.layers = window.lovkarta.layers || {};
    window.lovkarta.layers[config.key || config.name] = layer;
  };
})();
