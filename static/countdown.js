// The countdown of an edition's landing page (templates/public/edition.html, fair.landing).
// The server writes the sentence ("Opens in 3 days"), right without JavaScript; this keeps it
// current. It counts like fair.landing.countdown: whole days (a day or more), else whole hours
// (an hour or more), else minutes rounded up, so the sentence itself changes at most once a
// minute (once an hour, once a day further away). The element is a polite live region and is
// written only when its sentence changes: screen readers are never told every second, though
// the clock is read every few seconds so that the change comes on time. The plural forms come from the server's catalogues ({num} to fill).
(function () {
  "use strict";
  var MINUTE = 60 * 1000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

  function start(element) {
    var target = Date.parse(element.getAttribute("data-target"));
    var served = Date.parse(element.getAttribute("data-now"));
    if (isNaN(target)) return;
    // The server's clock, not the device's: the device may be minutes (or hours) wrong.
    var skew = isNaN(served) ? 0 : served - Date.now();
    var lang = document.documentElement.lang || "fr";
    var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
    var numbers = window.Intl ? new Intl.NumberFormat(lang) : null;
    var reload = element.parentNode.querySelector("[data-countdown-reload]");
    var timer = null;

    function sentence(unit, count) {
      var form = plurals && plurals.select(count) === "one" ? "one" : "other";
      var pattern = element.getAttribute("data-" + unit + "-" + form) || "";
      return pattern.replace("{num}", numbers ? numbers.format(count) : String(count));
    }

    function text(left) {
      if (left <= 0) return element.getAttribute("data-done");
      if (left >= DAY) return sentence("days", Math.floor(left / DAY));
      if (left >= HOUR) return sentence("hours", Math.floor(left / HOUR));
      return sentence("minutes", Math.max(1, Math.ceil(left / MINUTE)));
    }

    function update() {
      var left = target - (Date.now() + skew);
      var now = text(left);
      if (now && element.textContent !== now) element.textContent = now;
      if (left <= 0) {
        if (reload) reload.hidden = false;
        window.clearInterval(timer);
      }
    }

    update();
    timer = window.setInterval(update, 5000);
  }

  function init() {
    var found = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < found.length; i++) start(found[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
