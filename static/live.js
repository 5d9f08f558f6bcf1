// The live connection (see fair/live/PROTOCOL.md): follow the user's own channel, reconnect
// with a growing, jittered delay, and apply the events the page knows how to show.
(function () {
  "use strict";
  var body = document.body;
  var userId = body.getAttribute("data-user-id");
  if (!userId || !window.WebSocket) return;
  var channel = "user:" + userId;
  // The booth hall (during live hours) also follows its edition's staffing. Anonymous visitors
  // cannot subscribe (auth.required): their page stays as it was rendered.
  var hall = document.querySelector("[data-edition-id]");
  var followed = [channel];
  if (hall) followed.push("edition:" + Number(hall.getAttribute("data-edition-id")));
  var path = body.getAttribute("data-live-url") || "/live";
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  var attempt = 0;
  var connectedBefore = false;
  var nextId = 1;

  function labels() {
    var node = document.getElementById("live-status");
    try { return JSON.parse(node.getAttribute("data-status-labels")) || {}; } catch (e) { return {}; }
  }

  function announce(label) {
    var region = document.getElementById("live-status");
    if (!region) return;
    var template = region.getAttribute("data-message") || "{status}";
    region.textContent = template.replace("{status}", label);
  }

  function applicationStatus(data) {
    var label = labels()[data.status] || data.label || data.status;
    var card = document.querySelector('[data-application-id="' + Number(data.application_id) + '"]');
    var status = card && card.querySelector("[data-status]");
    if (status) {
      status.textContent = label;
      status.setAttribute("data-status", data.status);
      status.className = "status " + data.status;
    }
    announce(label);
  }

  function staffingLabels() {
    try { return JSON.parse(hall.getAttribute("data-staffing-labels")) || {}; } catch (e) { return {}; }
  }

  function boothStaffing(data) {
    if (!hall) return;
    var card = hall.querySelector('[data-booth-id="' + Number(data.booth_id) + '"]');
    if (!card) return;
    var text = staffingLabels();
    var state = data.staffed ? "staffed" : "unstaffed";
    var staffing = card.querySelector("[data-staffing]");
    if (staffing) {
      staffing.setAttribute("data-staffing", state);
      staffing.textContent = text[state] || state;
    }
    var waiting = card.querySelector("[data-waiting]");
    if (waiting && typeof data.waiting === "number") {
      waiting.setAttribute("data-waiting", String(data.waiting));
      waiting.textContent = (text.waiting || "{num}").replace("{num}", String(data.waiting));
    }
  }

  // Events missed while disconnected are lost (at-most-once): after a reconnection, read the
  // statuses this page shows again from the server.
  function refetch() {
    if (!hall && !document.querySelector("[data-application-id] [data-status]")) return;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        fresh.querySelectorAll("[data-application-id]").forEach(function (card) {
          var status = card.querySelector("[data-status]");
          var mine = document.querySelector('[data-application-id="' + card.getAttribute("data-application-id") + '"] [data-status]');
          if (status && mine && mine.getAttribute("data-status") !== status.getAttribute("data-status")) {
            mine.textContent = status.textContent;
            mine.setAttribute("data-status", status.getAttribute("data-status"));
            mine.className = status.className;
          }
        });
        fresh.querySelectorAll("[data-booth-id]").forEach(function (card) {
          var mine = hall && hall.querySelector('[data-booth-id="' + card.getAttribute("data-booth-id") + '"]');
          ["[data-staffing]", "[data-waiting]"].forEach(function (selector) {
            var fresher = card.querySelector(selector);
            var shown = mine && mine.querySelector(selector);
            if (fresher && shown) shown.replaceWith(fresher);
          });
        });
      })
      .catch(function () {});
  }

  // The server lost events meant for this page (its Redis link went down): read them again.
  var handlers = {
    "application.status": applicationStatus,
    "booth.staffing": boothStaffing,
    resync: refetch
  };

  function connect() {
    var socket = new WebSocket(url);
    socket.addEventListener("open", function () {
      followed.forEach(function (name) {
        socket.send(JSON.stringify(["subscribe", nextId++, { channel: name }]));
      });
    });
    socket.addEventListener("message", function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame[0] === "success" && body.getAttribute("data-live") !== "on") {
        attempt = 0;
        body.setAttribute("data-live", "on");
        if (connectedBefore) refetch();
        connectedBefore = true;
      }
      if (frame[0] === "event" && frame[2] && handlers[frame[2].event]) handlers[frame[2].event](frame[2]);
    });
    socket.addEventListener("close", function (event) {
      body.setAttribute("data-live", "off");
      if (event.code === 4403) return; // refused for good: do not hammer the server
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt));
      attempt += 1;
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    });
  }

  connect();
})();
