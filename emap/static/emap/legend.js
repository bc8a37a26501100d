/* A legend in a map corner (emap.elements.Legend): a swatch and a text for each style.

   Configuration: {"kind": "legend", "title": text, "entries": [[label, css], …]}, where
   css holds declarations such as "border: 2px solid #aa2828". They are set one by one
   through the CSSOM (style.setProperty): a style attribute would need 'unsafe-inline'
   in the Content-Security-Policy. */
(function () {
  'use strict';
  var emap = window.emap = window.emap || {};
  emap.elements = emap.elements || {};

  function applyStyle(element, css) {
    css.split(';').forEach(function (declaration) {
      var colon = declaration.indexOf(':');
      if (colon < 0) { return; }
      element.style.setProperty(declaration.slice(0, colon).trim(),
                                declaration.slice(colon + 1).trim());
    });
  }

  emap.elements.legend = function (map, config) {
    var legend = L.control({position: 'bottomright'});
    legend.onAdd = function () {
      var box = L.DomUtil.create('div', 'emap-legend');
      var title = document.createElement('p');
      title.className = 'emap-legend-title';
      title.textContent = config.title;
      box.appendChild(title);
      var list = document.createElement('ul');
      config.entries.forEach(function (entry) {
        var li = document.createElement('li');
        var swatch = document.createElement('span');
        swatch.className = 'emap-swatch';
        applyStyle(swatch, entry[1]);
        swatch.setAttribute('aria-hidden', 'true');
        li.appendChild(swatch);
        li.appendChild(document.createTextNode(entry[0]));
        list.appendChild(li);
      });
      box.appendChild(list);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    legend.addTo(map);
  };
})();
