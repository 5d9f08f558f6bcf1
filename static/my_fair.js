// "My fair" (templates/candidate/my_fair.html): static/live.js reads the page again when an event
// of the candidate's own channel says something changed; this reads it again when a time the
// page depends on passes (an interview's room opening, a talk starting: elements with data-at),
// since no event says so. Every 30 seconds at most; nothing when no such time is shown.
(function () {
  "use strict";
  var panel = document.querySelector("[data-my-fair]");
  if (!panel || !window.fetch || !window.DOMParser) return;

  function due() {
    var now = Date.now();
    return Array.prototype.some.call(panel.querySelectorAll("[data-at]"), function (node) {
      var at = Date.parse(node.getAttribute("data-at"));
      return !isNaN(at) && at <= now;
    });
  }

  function reread() {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(panel.id);
        if (fresh && fresh.innerHTML !== panel.innerHTML) panel.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }

  setInterval(function () { if (due()) reread(); }, 30000);
})();
