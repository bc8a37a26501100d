/* A layer switcher (emap.elements.LayerSwitcher): Leaflet's, open, so that every layer is
   a labelled checkbox, for the layers named before it (emap.overlay in map.js), and a
   status line saying which of them the zoom hides (the hints of vectortiles.js).

   Configuration: {"kind": "layerswitcher", "title": text, "position": a Leaflet control
   corner}. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  emap.elements.layerswitcher = function (map, config) {
    var overlays = {};
    (map.emapOverlays || []).forEach(function (o) { overlays[o.label] = o.layer; });
    var control = L.control.layers(null, overlays, {collapsed: false, position: config.position})
      .addTo(map);
    var box = control.getContainer();
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', config.title);
    var hint = L.DomUtil.create('p', 'emap-zoom-hint', box);
    hint.setAttribute('role', 'status');
    function update() {
      var zoom = map.getZoom();
      var texts = (map.emapHints || []).filter(function (h) {
        return map.hasLayer(h.layer) && zoom < h.minZoom;
      }).map(function (h) { return h.hint; });
      hint.textContent = texts.join(' ');
      hint.hidden = !texts.length;
    }
    map.on('zoomend overlayadd overlayremove', update);
    update();
  };
})();
