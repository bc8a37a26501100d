/* Suggest property designations and addresses while typing (progressive enhancement:
   without this script the Search button does the same on the server). */
(function () {
  'use strict';
  var input = document.getElementById('id_designation');
  var list = document.getElementById('designation-list');
  if (!input || !list || !window.fetch) { return; }
  var timer = null, seq = 0;
  function fill(labels) {
    list.textContent = '';
    labels.forEach(function (label) {
      var option = document.createElement('option');
      option.value = label;
      list.appendChild(option);
    });
  }
  function suggest() {
    var q = input.value.trim(), mine = ++seq;
    if (q.length < 2) { fill([]); return; }
    var get = function (url) {
      return fetch(url + '?limit=6&q=' + encodeURIComponent(q),
                   {headers: {'Accept': 'application/geo+json'}, credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {features: []}; })
        .catch(function () { return {features: []}; });
    };
    Promise.all([get(input.dataset.parcels), get(input.dataset.addresses)])
      .then(function (answers) {
        if (mine !== seq) { return; }
        var labels = answers[0].features.map(function (f) { return f.properties.beteckning; })
          .concat(answers[1].features.map(function (f) { return f.properties.adress; }));
        fill(labels);
      });
  }
  input.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 200);
  });
})();
