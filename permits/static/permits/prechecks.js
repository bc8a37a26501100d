/* Pre-checks on the application form: as the applicant draws (or changes the height), the
   buildings drawn are sent to the open checks API (POST /api/v1/checks) and what it finds
   is told in plain words beside the map. A help only: it never blocks sending.

   The box (#prechecks) names the API (data-url), the hidden drawn field (data-drawn), the
   height field (data-height) and a json_script of texts (data-texts). */
(function () {
  'use strict';
  var box = document.getElementById('prechecks');
  if (!box || !window.fetch) { return; }
  var drawn = document.getElementById(box.dataset.drawn);
  var height = document.getElementById(box.dataset.height);
  var texts = JSON.parse(document.getElementById(box.dataset.texts).textContent);
  var BUILT = {'byggnad': true, 'tillbyggnad': true, 'komplementbyggnad': true};
  var timer = null, asked = 0, spoken = false;

  function footprint() {
    var value = drawn && drawn.value ? JSON.parse(drawn.value) : null;
    var polygons = [];
    ((value && value.features) || []).forEach(function (f) {
      if (!f.geometry || !BUILT[(f.properties || {}).kind || 'byggnad']) { return; }
      if (f.geometry.type === 'Polygon') { polygons.push(f.geometry.coordinates); }
      if (f.geometry.type === 'MultiPolygon') {
        f.geometry.coordinates.forEach(function (p) { polygons.push(p); });
      }
    });
    if (!polygons.length) { return null; }
    return polygons.length === 1 ? {type: 'Polygon', coordinates: polygons[0]}
      : {type: 'MultiPolygon', coordinates: polygons};
  }

  function say(lines, summary) {
    spoken = true;
    box.textContent = '';
    var p = document.createElement('p');
    p.textContent = summary;
    box.appendChild(p);
    if (lines.length) {
      var ul = document.createElement('ul');
      lines.forEach(function (line) {
        var li = document.createElement('li');
        li.textContent = line;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }

  function ask() {
    var geometry = footprint();
    if (!geometry) {
      if (spoken) { say([], texts.nothing); }  // until something is drawn, the intro stays
      return;
    }
    var body = {geometry: geometry, srid: 4326};
    var h = height && parseFloat((height.value || '').replace(',', '.'));
    if (h > 0) { body.height_m = h; }
    var mine = ++asked;
    box.setAttribute('aria-busy', 'true');
    fetch(box.dataset.url, {method: 'POST', credentials: 'same-origin',
                            headers: {'Content-Type': 'application/json'},
                            body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      })
      .then(function (answer) {
        if (mine !== asked) { return; }  // a newer drawing was sent meanwhile
        if (!answer.ok) {
          say([answer.data.description || ''], texts.unreadable);
          return;
        }
        var found = answer.data.checks.filter(function (c) {
          return c.status !== 'ok' && c.code !== 'neighbours';
        }).map(function (c) { return c.message; });
        var neighbours = answer.data.checks.filter(function (c) {
          return c.code === 'neighbours' && c.status !== 'ok';
        });
        if (neighbours.length) { found.push(texts.neighbours); }
        say(found, found.length ? texts.found : texts.fine);
      })
      .catch(function () { if (mine === asked) { say([], texts.failed); } })
      .then(function () { if (mine === asked) { box.removeAttribute('aria-busy'); } });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 400);
  }
  if (drawn) { drawn.addEventListener('change', later); }
  if (height) { height.addEventListener('change', later); }
  if (footprint()) { ask(); }
})();
