// The waiting page of the admission line (fair/web/admission.py): asks for the candidate's
// place about every data-poll seconds (± data-jitter at random: those who arrived together do
// not all ask together) and shows it; goes on to the page they asked for once let in. An
// answer saying to come back later (503 with Retry-After) is asked again after that long.
// Without JavaScript the page's "Refresh now" link asks instead (no meta refresh: WCAG 2.2.1).
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var every = Number(box.getAttribute("data-poll")) || 15;
  var jitter = Number(box.getAttribute("data-jitter")) || 0;
  var place = box.querySelector("[data-place]");
  var wait = box.querySelector("[data-wait]");

  function later(seconds) {
    var drawn = seconds + (Math.random() * 2 - 1) * jitter;
    window.setTimeout(ask, Math.max(1, drawn) * 1000);
  }

  function ask() {
    var next = every;
    fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) {
        var again = Number(answer.headers.get("retry-after"));
        if (answer.status === 503 && again > 0) next = Math.min(Math.max(again, every), 120);
        return answer.ok ? answer.json() : null;
      })
      .then(function (found) {
        if (!found) return;
        if (found.admitted) {
          next = 0;
          window.location.assign(found.next);
          return;
        }
        if (place.textContent !== found.place_text) place.textContent = found.place_text;
        if (wait.textContent !== found.wait_text) wait.textContent = found.wait_text;
      })
      .catch(function () { /* asked again at the next turn */ })
      .then(function () { if (next) later(next); });
  }
  later(every);
})();
