// The /live socket of a page script (room.js, stage.js; fair/live/PROTOCOL.md): commands as
// promises, events handed to the page, reconnection with backoff (0.5 s doubling up to 8 s,
// with jitter). Pages that only follow channels use live.js instead.
//
//   var live = window.fairSocket({
//     path: "/live", offline: "The connection was lost…",
//     onOpen: function () { ... },          // (re)connected: join, subscribe, publish again
//     onEvent: function (payload) { ... },  // an event frame's payload
//     onClose: function (event) { ... }     // return false: do not reconnect
//   });
//   live.connect(); live.command("stage.watch", {...}).then(ok, function (error) { error.code });
//   live.close();
(function () {
  "use strict";

  window.fairSocket = function (options) {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      (options.path || "/live");
    var socket = null;
    var nextId = 1;
    var pending = {};
    var attempt = 0;

    function offline() { return { code: "offline", message: options.offline || "" }; }

    function command(action, payload) {
      return new Promise(function (resolve, reject) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return reject(offline());
        var id = nextId++;
        pending[id] = { resolve: resolve, reject: reject };
        socket.send(JSON.stringify([action, id, payload]));
      });
    }

    function onMessage(message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (!frame) return;
      if (frame[0] === "event") return options.onEvent(frame[2] || {});
      var waiting = pending[frame[1]];
      if (!waiting) return;
      delete pending[frame[1]];
      if (frame[0] === "success") waiting.resolve(frame[2] || {});
      else waiting.reject(frame[2] || {});
    }

    function onClose(event) {
      Object.keys(pending).forEach(function (id) { pending[id].reject(offline()); });
      pending = {};
      // The session ended (log-out elsewhere, "log out everywhere", reset): show the page afresh.
      // (Later: when this page itself logged out, its own navigation goes first.)
      if (event.code === 4401) return setTimeout(function () { window.location.reload(); }, 1500);
      if (options.onClose(event) === false) return;
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
