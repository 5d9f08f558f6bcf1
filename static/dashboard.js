// The organisers' live panel (templates/organiser/_live_panel.html, fair/live_panel.py): a socket
// of its own (static/socket.js) follows the edition's panel channel; once subscribed it reads the
// panel again from its page (events sent before are not replayed), then applies each `panel`
// event to the figures. When the booths or talks listed change, the edition opens or closes, or
// the server says events were lost (`resync`), it reads the panel again instead.
(function () {
  "use strict";
  var panel = document.getElementById("live-panel");
  if (!panel || !window.WebSocket || !window.fairSocket) return;
  var channel = panel.getAttribute("data-panel");
  var editionId = Number(channel.split(":")[1]);
  var socket = window.fairSocket({
    path: document.body.getAttribute("data-live-url"),
    onOpen: subscribe,
    onEvent: apply,
    onClose: function () { panel.setAttribute("data-panel-live", "off"); }
  });

  function subscribe() {
    socket.command("subscribe", { channel: channel }).then(reread, function () {
      panel.setAttribute("data-panel-live", "refused");
    });
  }

  function reread() {
    fetch(panel.getAttribute("data-panel-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("live-panel");
        if (fresh && fresh.innerHTML !== panel.innerHTML) panel.innerHTML = fresh.innerHTML;
        panel.setAttribute("data-panel-live", "on");
      })
      .catch(function () {});
  }

  function minutes(value) {
    return value === null || value === undefined
      ? "–" : panel.getAttribute("data-minutes").replace("{num}", String(value));
  }

  function ids(selector, attribute) {
    return Array.prototype.map.call(panel.querySelectorAll(selector), function (node) {
      return Number(node.getAttribute(attribute));
    }).sort(function (a, b) { return a - b; }).join(",");
  }

  function listed(rows) {
    return rows.map(function (row) { return Number(row[0]); }).sort(function (a, b) { return a - b; }).join(",");
  }

  // Whether the event fits the rows shown: same booths, same talks, same open state.
  function fits(data) {
    return Boolean(data.live) === !panel.querySelector("[data-panel-closed]") &&
      ids("[data-panel-booth]", "data-panel-booth") === listed(data.booths || []) &&
      ids("[data-panel-talk]", "data-panel-talk") === listed(data.talks || []);
  }

  function setText(node, text) { if (node && node.textContent !== text) node.textContent = text; }

  function apply(data) {
    if (data.event === "resync") return reread();
    if (data.event !== "panel" || Number(data.edition_id) !== editionId) return;
    if (!fits(data)) return reread();
    panel.querySelectorAll("[data-panel-figure]").forEach(function (node) {
      var name = node.getAttribute("data-panel-figure");
      setText(node, node.hasAttribute("data-minutes-figure") ? minutes(data[name]) : String(Number(data[name]) || 0));
    });
    (data.booths || []).forEach(function (row) {
      var line = panel.querySelector('[data-panel-booth="' + Number(row[0]) + '"]');
      var staffed = line.querySelector('[data-cell="staffed"]');
      staffed.setAttribute("data-staffed", row[1] ? "yes" : "no");
      setText(staffed, panel.getAttribute(row[1] ? "data-yes" : "data-no"));
      setText(line.querySelector('[data-cell="waiting"]'), String(Number(row[2])));
      setText(line.querySelector('[data-cell="wait"]'), minutes(row[3]));
    });
    (data.talks || []).forEach(function (row) {
      var line = panel.querySelector('[data-panel-talk="' + Number(row[0]) + '"]');
      setText(line.querySelector('[data-cell="viewers"]'), String(Number(row[1])));
    });
  }

  socket.connect();
})();
