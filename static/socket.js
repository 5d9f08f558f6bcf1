// The one /live socket client of the browser (fair/live/PROTOCOL.md), loaded on every page by
// base.html before the scripts that use it: live.js (the page's own channels and events),
// room.js and stage.js (each with a socket of its own). Commands are promises; event frames go
// to the page; a lost socket connects again after 0.5 s, doubling up to 8 s, each delay drawn
// between half and all of the current step, and reset once a socket opens (refused because the
// admission gate holds the candidate: after 15 s ± 3, the waiting page's pace). The page's onOpen
// then joins or subscribes again and re-reads what it shows (events are at-most-once).
//
//   var live = window.fairSocket({
//     path: "/live", offline: "The connection was lost…",
//     onOpen: function () { ... },          // (re)connected: join, subscribe, publish again
//     onEvent: function (payload) { ... },  // an event frame's payload
//     onClose: function (event, again) { ... }  // again: whether it would connect again;
//   });                                          // return false: it does not
//   live.connect(); live.command("stage.watch", {...}).then(ok, function (error) { error.code });
//   live.close();
//
// A command that fails without an answer rejects with {code: "offline", message: options.offline,
// sent}: sent is false when no socket was open (nothing left: a form may post instead), true
// when the socket closed before the answer (it may have run).
(function () {
  "use strict";

  // Closed for good: refused (4403, wrong Origin) or replaced by a newer socket of the account
  // (4429). Clients must not connect again after these.
  var FINAL = [4403, 4429];
  var SESSION_ENDED = 4401;
  // Refused because the admission gate holds the candidate (1013 with this reason): asked again
  // at the waiting page's pace (fair/web/admission.py: POLL ± JITTER), not within seconds (each
  // connect takes their place in line, as the waiting page's ask does, and costs more).
  var HELD = "waiting for admission";
  var HELD_SECONDS = 15;
  var HELD_JITTER = 3;

  window.fairSocket = function (options) {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      (options.path || "/live");
    var socket = null;
    var nextId = 1;
    var pending = {};
    var attempt = 0;

    function offline(sent) { return { code: "offline", message: options.offline || "", sent: sent }; }

    function command(action, payload) {
      return new Promise(function (resolve, reject) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return reject(offline(false));
        var id = nextId++;
        pending[id] = { resolve: resolve, reject: reject };
        socket.send(JSON.stringify([action, id, payload]));
      });
    }

    function onMessage(message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (!frame) return;
      if (frame[0] === "event") return frame[2] ? options.onEvent(frame[2]) : undefined;
      var waiting = pending[frame[1]];
      if (!waiting) return;
      delete pending[frame[1]];
      if (frame[0] === "success") waiting.resolve(frame[2] || {});
      else waiting.reject(frame[2] || {});
    }

    function onClose(event) {
      Object.keys(pending).forEach(function (id) { pending[id].reject(offline(true)); });
      pending = {};
      var ended = event.code === SESSION_ENDED;
      var again = !ended && FINAL.indexOf(event.code) < 0;
      if (options.onClose && options.onClose(event, again) === false) again = false;
      // The session ended (log-out elsewhere, "log out everywhere", reset): show the page afresh,
      // so that a private page no longer shows on a shared screen. (Later: when this page itself
      // logged out, its own navigation goes first.)
      if (ended) return setTimeout(function () { window.location.reload(); }, 1500);
      if (!again) return;
      if (event.code === 1013 && event.reason === HELD) {
        return setTimeout(connect, (HELD_SECONDS + (Math.random() * 2 - 1) * HELD_JITTER) * 1000);
      }
      var delay = Math.min(8000, 500 * Math.pow(2, attempt));
      attempt += 1;
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    }

    function connect() {
      socket = new WebSocket(url);
      socket.addEventListener("open", function () { attempt = 0; options.onOpen(); });
      socket.addEventListener("message", onMessage);
      socket.addEventListener("close", onClose);
    }

    function close() { if (socket) socket.close(); }

    return { connect: connect, command: command, close: close };
  };
})();
