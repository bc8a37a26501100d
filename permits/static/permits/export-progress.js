// While an export runs, reload its page every two seconds to show the progress; the page
// itself says how far it has come (and has a link to reload by hand without scripts).
(function () {
  "use strict";
  if (document.querySelector("[data-export-running]")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
