// The waiting page of the admission line (fair/web/admission.py): asks for the candidate's
// place every few seconds and shows it; goes on to the page they asked for once let in.
// Without JavaScript the page's "Refresh now" link asks instead (no meta refresh: WCAG 2.2.1).
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var every = Number(box.getAttribute("data-poll")) * 1000 || 5000;
  var place = box.querySelector("[data-place]");
  var wait = box.querySelector("[data-wait]");

  function ask() {
    fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (found) {
        if (!found) return;
        if (found.admitted) {
          window.location.assign(found.next);
          return;
        }
        if (place.textContent !== found.place_text) place.textContent = found.place_text;
        if (wait.textContent !== found.wait_text) wait.textContent = found.wait_text;
      })
      .catch(function () { /* asked again at the next turn */ })
      .then(function () { window.setTimeout(ask, every); });
  }
  window.setTimeout(ask, every);
})();
