// The toasts announced (templates/_ui.html, toasts): screen readers read a live region when its
// content changes, not what it held when the page loaded. So the region comes empty, with the
// messages shown beside it, and once the page has loaded (the region known to assistive
// technologies by then) the messages move into it, which is announced. They look the same in it
// (static/fair.css, "Toasts"). Without this script they simply stay visible where they are.
(function () {
  "use strict";
  var DELAY_MS = 400; // after loading: a region filled at once may not be tracked yet

  function announce() {
    document.querySelectorAll("[data-toasts]:not([data-announced])").forEach(function (box) {
      var region = box.querySelector("[data-toasts-live]");
      if (!region) return;
      box.setAttribute("data-announced", "");
      box.querySelectorAll(":scope > [data-toast]").forEach(function (toast) {
        region.appendChild(toast);
      });
    });
  }

  function later() { setTimeout(announce, DELAY_MS); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", later);
  else later();
})();
