/* Measure on the map (emap.elements.MeasureTool): press "Measure", then each click adds a
   point; the distance along the points and, from three points on, the area they enclose
   are written as text into a live region. Without a mouse: pan the map with the arrow
   keys and press "Point at the centre" to add the point under the map's centre.

   Configuration: {"kind": "measure", "output": id of the element to write into, "texts":
   {"start", "stop", "centre", "clear", "distance", "area", "points", "help"}}.
   Distances are along the ellipsoid's great circles (Leaflet's), areas spherical. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};
  var RADIUS = 6378137;

  // The area of a polygon on the sphere (the formula of Leaflet.draw's geodesicArea).
  function sphericalArea(latlngs) {
    var area = 0, n = latlngs.length, rad = Math.PI / 180;
    if (n < 3) { return 0; }
    for (var i = 0; i < n; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % n];
      area += (p2.lng - p1.lng) * rad * (2 + Math.sin(p1.lat * rad) + Math.sin(p2.lat * rad));
    }
    return Math.abs(area * RADIUS * RADIUS / 2);
  }

  function format(value, digits) {
    return value.toLocaleString(document.documentElement.lang || undefined,
                                {maximumFractionDigits: digits});
  }

  function button(parent, text, onPress) {
    var b = L.DomUtil.create('button', 'emap-measure-button', parent);
    b.type = 'button';
    b.textContent = text;
    L.DomEvent.on(b, 'click', function (e) { L.DomEvent.stop(e); onPress(); });
    return b;
  }

  emap.elements.measure = function (map, config) {
    var texts = config.texts, output = document.getElementById(config.output);
    var points = [], active = false;
    var line = L.polyline([], {color: '#6a1b9a', weight: 3, dashArray: '6 4',
                               interactive: false}).addTo(map);
    var area = L.polygon([], {color: '#6a1b9a', weight: 0, fillOpacity: 0.15,
                              interactive: false}).addTo(map);
    var marks = L.layerGroup().addTo(map);

    function report() {
      var distance = 0;
      for (var i = 1; i < points.length; i++) { distance += map.distance(points[i - 1], points[i]); }
      var parts = [texts.points + ' ' + points.length + '.'];
      if (points.length > 1) { parts.push(texts.distance + ' ' + format(distance, 1) + ' m.'); }
      if (points.length > 2) { parts.push(texts.area + ' ' + format(sphericalArea(points), 0) + ' m².'); }
      if (output) { output.textContent = points.length ? parts.join(' ') : texts.help; }
      line.setLatLngs(points);
      area.setLatLngs(points.length > 2 ? points : []);
    }
    function add(latlng) {
      points.push(latlng);
      L.circleMarker(latlng, {radius: 4, color: '#6a1b9a', weight: 2, fillOpacity: 1,
                              interactive: false}).addTo(marks);
      report();
    }
    function clear() { points = []; marks.clearLayers(); report(); }

    var control = L.control({position: 'topleft'});
    control.onAdd = function () {
      var box = L.DomUtil.create('div', 'emap-measure leaflet-bar');
      box.setAttribute('role', 'group');
      box.setAttribute('aria-label', texts.start);
      var toggle = button(box, texts.start, function () {
        active = !active;
        toggle.textContent = active ? texts.stop : texts.start;
        toggle.setAttribute('aria-pressed', active ? 'true' : 'false');
        centre.disabled = !active;
        L.DomUtil[active ? 'addClass' : 'removeClass'](map.getContainer(), 'emap-measuring');
      });
      toggle.setAttribute('aria-pressed', 'false');
      toggle.className += ' emap-measure-toggle';
      var centre = button(box, texts.centre, function () { if (active) { add(map.getCenter()); } });
      centre.disabled = true;
      button(box, texts.clear, clear);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
    map.on('click', function (e) { if (active) { add(e.latlng); } });
    report();
    window.lovkarta = window.lovkarta || {};
    window.lovkarta.measure = {add: add, clear: clear, points: function () { return points; }};
  };
})();
