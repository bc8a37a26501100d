/* Build every Lovkarta map on the page from its JSON configuration.

   emap (Python) describes a map with folium and writes the description beside the map's
   canvas as json_script data:
     <div class="emap-canvas" id="map_…" data-emap-config="map_…-config"></div>
     <script type="application/json" id="map_…-config">{"map": …, "elements": […]}</script>
   "map" holds folium's own options of the map (center, crs, options, controlScale,
   zoomControlPosition); "elements" the layers and our elements in the order they were
   added, each with a "kind". This file draws the kinds "tiles" and "wms" (folium's
   TileLayer and WmsTileLayer); the element scripts loaded before it (pin.js, draw.js,
   layers.js, legend.js) register the others in window.emap.elements. No script is
   written into the page, so the Content-Security-Policy needs no 'unsafe-inline'. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  /* The layers a layer switcher offers (emap.elements.layerswitcher, vectortiles.js):
     each element that names its layer notes it here, in the order they are drawn. */
  emap.overlay = function (map, label, layer, shown) {
    map.emapOverlays = map.emapOverlays || [];
    if (label) { map.emapOverlays.push({label: label, layer: layer}); }
    if (shown !== false) { layer.addTo(map); }
    return layer;
  };

  emap.elements.tiles = function (map, config) {
    emap.overlay(map, config.name, L.tileLayer(config.url, config.options), config.show);
  };
  emap.elements.wms = function (map, config) {
    emap.overlay(map, config.name, L.tileLayer.wms(config.url, config.options), config.show);
  };

  function build(canvas) {
    var source = document.getElementById(canvas.getAttribute('data-emap-config'));
    if (!source || canvas.emapMap) { return; }
    var config = JSON.parse(source.textContent);
    var options = Object.assign({center: config.map.center,
                                 crs: L.CRS[config.map.crs] || L.CRS.EPSG3857},
                                config.map.options);
    var map = L.map(canvas, options);
    canvas.emapMap = map;
    if (config.map.controlScale) { L.control.scale().addTo(map); }
    if (config.map.zoomControlPosition) {
      L.control.zoom({position: config.map.zoomControlPosition}).addTo(map);
    }
    // The page's scripts and the browser tests reach the map here.
    window.lovkarta = window.lovkarta || {};
    window.lovkarta.map = map;
    config.elements.forEach(function (element) {
      var draw = emap.elements[element.kind];
      if (!draw) { throw new Error('emap: no script for map element "' + element.kind + '"'); }
      draw(map, element);
    });
  }

  emap.boot = function () {
    Array.prototype.forEach.call(
      document.querySelectorAll('.emap-canvas[data-emap-config]'), build);
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', emap.boot);
  } else {
    emap.boot();
  }
})();
