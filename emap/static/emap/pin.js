/* The pin (emap.elements.PinPicker): click the map to pin a point, bound to form fields;
   the parcel under it is looked up, outlined and named, and the plan there summarised.

   Configuration: {"kind": "pin", "lookupUrl": url answering ?x=lon&y=lat&srid=4326 with a
   GeoJSON Feature, "reportUrl": url answering the same with plans and regulations (or ""),
   "fields": {"lat", "lon", "parcel", "designation", "summary": element ids},
   "texts": {"looking", "none", "failed", "pin", "plan", "outside"}}. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  emap.elements.pin = function (map, config) {
    var fields = config.fields, texts = config.texts;
    var el = function (id) { return id ? document.getElementById(id) : null; };
    var marker = null, outline = null, seq = 0;

    function say(text, state) {
      var out = el(fields.designation);
      if (out) { out.textContent = text; out.setAttribute('data-state', state); }
    }
    function query(url, lat, lon, accept) {
      return fetch(url + '?x=' + lon.toFixed(8) + '&y=' + lat.toFixed(8) + '&srid=4326',
                   {headers: {'Accept': accept}, credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
    }
    function lookup(lat, lon) {
      var mine = ++seq;
      say(texts.looking, 'busy');
      var parcelInput = el(fields.parcel);
      if (parcelInput) { parcelInput.value = ''; }
      query(config.lookupUrl, lat, lon, 'application/geo+json')
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
      if (!config.reportUrl || !out) { return; }
      query(config.reportUrl, lat, lon, 'application/json')
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
    window.lovkarta.place = place;
  };
})();
