/* What lies where the map is clicked (emap.elements.ClickReport): the detail report of the
   point (the parcel, the plans, the plan regulations there), written as text into a live
   region beside the map, and the parcel outlined. A click on a clickable feature (a case)
   is that feature's, not the report's.

   Configuration: {"kind": "clickreport", "url": detail report URL answering
   ?x=lon&y=lat&srid=4326, "panel": id of the element to write into, "texts": {"looking",
   "failed", "property", "nothing", "plan", "outside", "regulations", "at"}}. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  function line(parent, tag, text) {
    var node = document.createElement(tag);
    node.textContent = text;
    parent.appendChild(node);
    return node;
  }

  function number(value) {
    return Number(value).toLocaleString(document.documentElement.lang || undefined,
                                        {maximumFractionDigits: 0});
  }

  emap.elements.clickreport = function (map, config) {
    var panel = document.getElementById(config.panel), texts = config.texts;
    var seq = 0, outline = null;
    if (!panel) { return; }

    function show(report, lat, lon) {
      panel.textContent = '';
      line(panel, 'p', texts.at + ' ' + lat.toFixed(5) + ', ' + lon.toFixed(5))
        .className = 'emap-report-at';
      var parcels = report.parcels || [];
      line(panel, 'p', parcels.length ? texts.property + ' ' + parcels.map(function (f) {
        return f.properties.beteckning + ' (' + number(f.properties.area_m2) + ' m²)';
      }).join(', ') : texts.nothing);
      line(panel, 'p', (report.plans || []).length ? texts.plan + ' ' + report.plans.map(
        function (p) {
          return [p.beteckning, p.namn, p.status ? '(' + p.status + ')' : '']
            .filter(Boolean).join(' ');
        }).join(', ') : texts.outside);
      if ((report.regulations || []).length) {
        line(panel, 'p', texts.regulations);
        var list = document.createElement('ul');
        report.regulations.forEach(function (r) {
          line(list, 'li', [r.beteckning || r.bestammelsekod, r.bestammelseformulering]
            .filter(Boolean).join(': ') + ' (' + Math.round(r.share_percent) + ' %)');
        });
        panel.appendChild(list);
      }
      if (outline) { map.removeLayer(outline); outline = null; }
      if (parcels.length) {
        outline = L.geoJSON({type: 'FeatureCollection', features: parcels}, {
          style: {color: '#b00020', weight: 3, fillOpacity: 0.06}, interactive: false
        }).addTo(map);
      }
    }

    map.on('click', function (e) {
      var mine = ++seq, lat = e.latlng.lat, lon = e.latlng.lng;
      panel.textContent = texts.looking;
      fetch(config.url + '?x=' + lon.toFixed(8) + '&y=' + lat.toFixed(8) + '&srid=4326',
            {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (report) { if (mine === seq) { show(report, lat, lon); } })
        .catch(function () { if (mine === seq) { panel.textContent = texts.failed; } });
    });
  };
})();
