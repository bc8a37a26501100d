/* Move the focus to a form's error summary when the page comes back with errors, so
   keyboard and screen-reader users start there (a static file: the Content-Security-
   Policy allows no inline script). */
(function () {
  'use strict';
  var summary = document.getElementById('error-summary');
  if (summary) { summary.focus(); }
})();
