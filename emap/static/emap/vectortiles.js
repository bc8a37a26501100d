/* Vector tile overlays (emap.elements.VectorTiles).

   Configuration of an overlay: {"kind": "vectortiles", "name": label in the switcher,
   "url": ".../{z}/{x}/{y}.pbf", "styles": {tile layer: Leaflet path style ([] to draw
   nothing of that layer: overlays may share a URL, each drawing its layer), or {"by":
   property, "styles": {value: style}, "default": style}}, "minZoom", "maxNativeZoom",
   "show": bool, "hint": text while the zoom hides it, "popup": null or {"title":
   property, "link": URL template with {property} fields, "rows": [[label, property,
   {value: text}]]}, "key": name in window.lovkarta.layers}.

   A layer's style may size its points by a count instead: {"sizeBy": property, "label":
   property, "radius": [smallest, largest], "full": count drawn largest, "style": Leaflet
   path style, "labelColor"}; the circle carries the count as an SVG text (no HTML, no
   style attribute). "clusters": {"property", "zoomTo"} makes a
   feature with that property zoom the map in on a click instead of opening the popup.

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
  // Overlays with the same URL (the layers of one tile, each drawing its own) fetch a
  // tile once: the first one's request is shared while it is under way and a moment on.
  var fetching = {};
  var Grid = null;
  function grid(url, options) {
    Grid = Grid || L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise: function (coords) {
        var key = this._url + ' ' + coords.z + '/' + coords.x + '/' + coords.y;
        var found = fetching[key];
        if (!found) {
          found = fetching[key] = L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(
            this, coords);
          var forget = function () {
            window.setTimeout(function () { delete fetching[key]; }, 5000);
          };
          found.then(forget, forget);
        }
        return found;
      },
      _createLayer: function (feat, pxPerExtent, layerStyle) {
        var layer = L.VectorGrid.Protobuf.prototype._createLayer.call(
          this, feat, pxPerExtent, layerStyle);
        if (feat.type === 1) { layer.getLatLng = null; }
        return layer;
      }
    });
    return new Grid(url, options);
  }

  // An SVG tile that writes a label beside each point whose style names one.
  var LabelledTile = null;
  function labelledTile(coords, size, options) {
    LabelledTile = LabelledTile || L.SVG.Tile.extend({
      _addPath: function (layer) {
        L.SVG.Tile.prototype._addPath.call(this, layer);
        var label = layer.options && layer.options.emapLabel;
        if (!label || !layer._point) { return; }
        var text = L.SVG.create('text');
        text.setAttribute('x', layer._point.x);
        text.setAttribute('y', layer._point.y);
        text.setAttribute('text-anchor', 'middle');
        text.setAttribute('dominant-baseline', 'central');
        text.setAttribute('class', 'emap-cluster-count');
        // Presentation attributes, not a style attribute (which the CSP forbids).
        text.setAttribute('fill', layer.options.emapLabelColor || '#ffffff');
        text.setAttribute('font-size', '12');
        text.setAttribute('font-weight', 'bold');
        text.setAttribute('font-family', 'sans-serif');
        text.setAttribute('pointer-events', 'none');
        text.setAttribute('aria-hidden', 'true');
        text.textContent = label;
        this._rootGroup.appendChild(text);
      }
    });
    return new LabelledTile(coords, size, options);
  }

  function sizedStyle(spec) {
    var small = spec.radius[0], large = spec.radius[1];
    var full = Math.log(Math.max(spec.full || 1000, 2));
    return function (properties) {
      var count = Number(properties[spec.sizeBy]) || 1;
      var share = Math.min(1, Math.log(Math.max(count, 1)) / full);
      var style = L.extend({}, spec.style || {});
      style.radius = small + (large - small) * share;
      if (spec.label) {
        style.emapLabel = String(properties[spec.label]);
        style.emapLabelColor = spec.labelColor;
      }
      return style;
    };
  }

  function styleFor(spec) {
    if (spec && spec.sizeBy) { return sizedStyle(spec); }
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
    var clusters = config.clusters;
    var layer = grid(config.url, {
      vectorTileLayerStyles: styles, minZoom: config.minZoom, maxZoom: 22,
      maxNativeZoom: config.maxNativeZoom, interactive: !!(config.popup || clusters),
      rendererFactory: labelledTile, fetchOptions: {credentials: 'same-origin'}
    });
    if (config.popup || clusters) {
      layer.on('click', function (e) {
        L.DomEvent.stopPropagation(e);  // the map's own click (the report) is not this one
        var properties = e.layer.properties || {};
        if (clusters && properties[clusters.property] !== undefined) {
          var zoom = Math.min(map.getZoom() + 2, Math.max(clusters.zoomTo, map.getZoom() + 1));
          map.setView(e.latlng, zoom);
          return;
        }
        if (!config.popup) { return; }
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
