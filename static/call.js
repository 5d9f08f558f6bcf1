// The video call of a booth conversation (fair/conversation_calls.py; fair/live/PROTOCOL.md,
// "Booth conversations by video or phone"), beside its written chat, on the live desk (the
// candidate's booth page and the recruiter's desk). The conversation's state is the desk's panel,
// which static/live.js reads again on every `conversation.mode` event: while it says "video"
// (data-call-state), this script shows #call: the device check, then the call; when it says
// anything else, or the conversation ends, the call stops. Asking, accepting and refusing are the
// panel's forms; nobody's camera starts without their click.
//
// The call itself goes as in the interview room: browser to browser over this script's own /live
// socket (call.join, call.signal), the recruiter making the offers, descriptions sent with their
// candidates; when it does not connect (FALLBACK_MS, or ICE fails), or the server says so at join,
// through the server's media relay (call.relay_*), which the other page follows when it hears
// `call.relay` "published". Devices, codecs, previews, the meter and the descriptions come from
// static/media.js; texts from #call's data-t- attributes.
(function () {
  "use strict";
  var root = document.getElementById("call");
  var panel = document.getElementById("desk-panel");
  var media = window.fairMedia;
  if (!root || !panel || !media || !window.WebSocket || !window.fairSocket) return;

  var recruiter = root.getAttribute("data-role") === "recruiter";
  var me = Number(root.getAttribute("data-me"));
  var statusNode = document.getElementById("call-status");
  var FALLBACK_MS = 12000;

  var conversation = null; // the conversation whose video call this page shows
  var hungUp = null; // a conversation this page left the video of, until the panel says so
  var otherName = "";
  var memory = null; // "call" once entered: a reload enters again by itself
  var local = null; // our MediaStream once the devices are checked
  var stopMeter = null;
  var entered = false;
  var joined = false;
  var iceServers = [];
  var peer = null; // the other person's socket in the call
  var call = null; // the direct connection: {pc, peer, session, fallback}
  var relayMode = false;
  var relayed = { pub: null, sub: null, chain: Promise.resolve() };

  function text(name) { return root.getAttribute("data-t-" + name) || ""; }
  function one(selector) { return root.querySelector(selector); }
  function all(selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function say(message) { statusNode.textContent = message || ""; }
  function named(name) { return text(name).replace("{name}", otherName); }
  function newId() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }

  // The socket -----------------------------------------------------------------------------------

  var started = false;
  var live = window.fairSocket({
    path: root.getAttribute("data-live-url"),
    offline: text("offline"),
    onOpen: function () { if (entered) join(); },
    onEvent: onEvent,
    onClose: function (event, again) {
      joined = false;
      root.setAttribute("data-joined", "no");
      closeRelay("pub"); // the server closed them with the socket
      closeRelay("sub");
      if (entered && again) say(text("offline"));
      return again;
    }
  });

  function command(action, payload) {
    payload = payload || {};
    if (payload.conversation_id === undefined) payload.conversation_id = conversation;
    return live.command(action, payload);
  }

  function report(error) {
    if (error && error.code && error.code !== "offline") say(error.message);
    else if (window.console) console.warn("call:", error);
  }

  // What the panel says ----------------------------------------------------------------------------

  function readPanel() {
    var state = panel.querySelector("[data-call-state]");
    var id = null;
    if (state) {
      otherName = state.getAttribute("data-other-name") || "";
      if (state.getAttribute("data-mode") === "video") id = Number(state.getAttribute("data-call-conversation"));
    }
    if (hungUp !== null && id !== hungUp) hungUp = null;
    if (id === hungUp) id = null;
    if (id === conversation) return;
    if (conversation !== null) stopVideo();
    if (id !== null) startVideo(id);
  }

  function startVideo(id) {
    conversation = id;
    memory = media.memory("fair-call-" + id);
    root.hidden = false;
    one("[data-remote] .call-name").textContent = otherName;
    one("[data-peer]").textContent = named("peer-absent");
    one('[data-step="check"]').hidden = false;
    showControls(false);
    say("");
    if (!started) {
      started = true;
      live.connect();
    }
    if (memory.get() === "call") check(false).then(function (ok) { if (ok) enter(); });
    else if (!/^(TEXTAREA|INPUT|SELECT)$/.test((document.activeElement || {}).tagName || "")) {
      one('[data-action="check"]').focus();
    }
  }

  function stopVideo() {
    if (joined) command("call.leave").catch(function () {});
    endCall();
    endRelay();
    if (stopMeter) stopMeter();
    stopMeter = null;
    media.stop(local);
    local = null;
    one("[data-local-video]").srcObject = null;
    one("[data-remote-video]").srcObject = null;
    one("[data-remote]").hidden = true;
    if (memory) memory.set(null);
    entered = false;
    joined = false;
    peer = null;
    relayMode = false;
    root.setAttribute("data-joined", "no");
    root.setAttribute("data-relay", "no");
    one("[data-relay-note]").hidden = true;
    one('[data-action="enter"]').hidden = true;
    media.hideProblem(root);
    root.hidden = true;
    conversation = null;
  }

  function showControls(shown) {
    all("[data-call-control]").forEach(function (node) { node.hidden = !shown; });
  }

  // The device check --------------------------------------------------------------------------------

  function check(audioOnly) {
    media.hideProblem(root);
    media.stop(local);
    local = null;
    return media.capture(true, !audioOnly).then(function (stream) {
      useStream(stream, stream.getVideoTracks().length ? "devices-ok" : "audio-only");
      return true;
    }, function (error) {
      say(media.showProblem(root, error));
      one('[data-action="enter"]').hidden = true;
      return false;
    });
  }

  function useStream(stream, message) {
    local = stream;
    play(media.preview(root, stream));
    if (stopMeter) stopMeter();
    stopMeter = media.meter(one("[data-mic-level]"), stream);
    one('[data-action="enter"]').hidden = false;
    say(text(message));
  }

  function withoutDevices() {
    check(true).then(function (ok) {
      if (ok) return;
      media.hideProblem(root);
      useStream(new MediaStream(), "audio-only");
    });
  }

  function play(video) {
    media.play(video, function () { one('[data-action="play"]').hidden = false; });
  }

  function enter() {
    entered = true;
    memory.set("call");
    if (stopMeter) stopMeter();
    stopMeter = null;
    one('[data-step="check"]').hidden = true;
    showControls(true);
    one('[data-action="hangup"]').focus();
    join(); // without a socket yet, its opening joins
  }

  // Joining, and who is there -------------------------------------------------------------------

  function join() {
    if (conversation === null) return;
    var id = conversation;
    command("call.join", { session: newId() }).then(function (state) {
      if (conversation !== id) return;
      joined = true;
      root.setAttribute("data-joined", "yes");
      iceServers = state.ice_servers || [];
      if (state.relay) useRelay();
      if (relayMode) relayEnsure();
    }, function (error) {
      if (error.code === "offline") return;
      say(error.message); // not by video any more, or ended: the panel says so in a moment
    });
  }

  function onEvent(data) {
    if (data.event === "resync") return entered ? join() : undefined;
    if (Number(data.conversation_id) !== conversation || data.user_id === me) return;
    if (data.event === "call.peer") return onPeer(data);
    if (data.event === "call.signal") return onSignal(data.from, data.data || {});
    if (data.event === "call.relay") return onRelayEvent(data);
  }

  function onPeer(data) {
    if (data.state === "left") {
      if (data.from !== peer) return;
      peer = null;
      endCall();
      one("[data-remote]").hidden = true;
      one("[data-peer]").textContent = named("peer-left");
      return say(named("peer-left"));
    }
    peer = data.from;
    one("[data-peer]").textContent = named("peer-present");
    if (!entered) return;
    if (relayMode) return relayEnsure();
    if (recruiter) startCall();
  }

  // Browser to browser -------------------------------------------------------------------------------

  function newCall(to, session) {
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    var current = { pc: pc, peer: to, session: session || newId(), fallback: null };
    pc.addEventListener("track", function (event) { if (call === current) showRemote(event); });
    pc.addEventListener("iceconnectionstatechange", function () { onIceState(current); });
    call = current;
    armFallback(current);
    return current;
  }

  function endCall() {
    if (!call) return;
    clearTimeout(call.fallback);
    call.pc.close();
    call = null;
    root.setAttribute("data-call", "off");
  }

  function ownTrack(kind) {
    return local && local.getTracks().filter(function (t) { return t.kind === kind; })[0];
  }

  function startCall() {
    endCall();
    var current = newCall(peer);
    ["audio", "video"].forEach(function (kind) {
      var track = ownTrack(kind);
      if (track) current.pc.addTrack(track, local);
      else current.pc.addTransceiver(kind, { direction: "recvonly" });
    });
    media.offer(current.pc, 3000).then(function (sdp) {
      if (call !== current) return null;
      var data = { type: "offer", sdp: sdp, session: current.session };
      return command("call.signal", { to: current.peer, data: data });
    }).catch(report);
  }

  function onSignal(from, data) {
    if (data.type === "bye") {
      if (from === peer) endCall();
      return;
    }
    if (data.type === "offer" && !recruiter && entered) {
      peer = from;
      endCall();
      var current = newCall(from, data.session);
      media.answer(current.pc, data.sdp, 3000, function () {
        current.pc.getTransceivers().forEach(function (transceiver) {
          var track = ownTrack(transceiver.receiver.track.kind);
          if (!track) return;
          transceiver.sender.replaceTrack(track);
          transceiver.direction = "sendrecv";
        });
      }).then(function (sdp) {
        if (call !== current) return null;
        var answer = { type: "answer", sdp: sdp, session: current.session };
        return command("call.signal", { to: from, data: answer });
      }).catch(report);
      return;
    }
    if (data.type === "answer" && call && call.peer === from && call.session === data.session) {
      call.pc.setRemoteDescription({ type: "answer", sdp: data.sdp }).catch(report);
    }
  }

  function showRemote(event) {
    var video = one("[data-remote-video]");
    var stream = event.streams && event.streams[0];
    if (!stream) {
      stream = video.srcObject || new MediaStream();
      stream.addTrack(event.track);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
    one("[data-remote]").hidden = false;
    play(video);
  }

  function onIceState(current) {
    if (current !== call) return;
    var state = current.pc.iceConnectionState;
    root.setAttribute("data-call", state);
    if (state === "connected" || state === "completed") {
      clearTimeout(current.fallback);
      return say(text("connected"));
    }
    if (state === "failed") return fallBack();
    if (state === "disconnected") {
      say(text("reconnecting"));
      armFallback(current);
    }
  }

  function armFallback(current) {
    clearTimeout(current.fallback);
    current.fallback = setTimeout(function () {
      if (current !== call) return;
      var state = current.pc.iceConnectionState;
      if (state !== "connected" && state !== "completed") fallBack();
    }, FALLBACK_MS);
  }

  // Through the relay ----------------------------------------------------------------------------------

  function useRelay() {
    if (relayMode) return;
    relayMode = true;
    endCall();
    root.setAttribute("data-relay", "yes");
    one("[data-relay-note]").hidden = false;
  }

  function fallBack() {
    if (relayMode || !entered) return;
    useRelay();
    say(text("relay-fallback"));
    relayEnsure();
  }

  function usable(pc) {
    return pc && pc.connectionState !== "failed" && pc.connectionState !== "closed";
  }

  function relayLater(work) {
    relayed.chain = relayed.chain.then(work).catch(report);
  }

  function relayEnsure() {
    relayLater(function () {
      if (!entered || !joined) return null;
      return (usable(relayed.pub) ? Promise.resolve() : relayPublish()).then(function () {
        if (entered && !usable(relayed.sub)) return relayWatch();
        return null;
      });
    });
  }

  function onRelayEvent(data) {
    if (data.state === "published") {
      if (!relayMode) {
        useRelay();
        say(text("relay-fallback"));
        return relayEnsure();
      }
      if (entered) relayLater(relayWatch);
      return;
    }
    if (data.state === "moved" && (relayed.pub || relayed.sub)) {
      // The relay's media process stopped: the room moved to another, publish and watch there.
      closeRelay("pub");
      closeRelay("sub");
      say(text("reconnecting"));
      return relayEnsure();
    }
    if (data.state === "left") closeRelay("sub");
  }

  function relayPc() {
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    pc.addEventListener("iceconnectionstatechange", function () {
      if (pc !== relayed.sub) return;
      var state = pc.iceConnectionState;
      root.setAttribute("data-call", state);
      if (state === "connected" || state === "completed") say(text("connected"));
      if (state === "failed") {
        closeRelay("sub");
        say(text("reconnecting"));
        setTimeout(relayEnsure, 2000);
      }
    });
    return pc;
  }

  function relayPublish() {
    closeRelay("pub");
    var tracks = local ? local.getTracks() : [];
    if (!tracks.length) return Promise.resolve(); // without devices: watch only
    var pc = relayPc();
    relayed.pub = pc;
    tracks.forEach(function (track) {
      media.preferRelayed(pc.addTransceiver(track, { direction: "sendonly", streams: [local] }));
    });
    return media.offer(pc, 3000).then(function (sdp) {
      if (relayed.pub !== pc) return null;
      return command("call.relay_publish", { type: "offer", sdp: sdp });
    }).then(function (reply) {
      if (reply && relayed.pub === pc) return pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      return null;
    });
  }

  function relayWatch() {
    return command("call.relay_watch").then(function (reply) {
      closeRelay("sub");
      var pc = relayPc();
      var stream = new MediaStream();
      relayed.sub = pc;
      pc.addEventListener("track", function (event) {
        if (relayed.sub !== pc) return;
        stream.addTrack(event.track);
        showRemote({ streams: [stream] });
      });
      return media.answer(pc, reply.sdp, 3000).then(function (sdp) {
        if (relayed.sub !== pc) return null;
        return command("call.relay_answer", { type: "answer", sdp: sdp });
      });
    }, function (error) {
      if (error.code !== "call.relay_empty") throw error; // their `published` says when
    });
  }

  function closeRelay(which) {
    var pc = relayed[which];
    if (!pc) return;
    relayed[which] = null;
    pc.close();
    if (which === "sub") {
      one("[data-remote-video]").srcObject = null;
      one("[data-remote]").hidden = true;
    }
  }

  function endRelay() {
    if (!relayed.pub && !relayed.sub) return;
    closeRelay("pub");
    closeRelay("sub");
    if (joined) command("call.relay_leave").catch(function () {});
  }

  // The buttons --------------------------------------------------------------------------------------

  // Hanging up goes back to written chat for both (the panel then says so).
  function hangUp() {
    var id = conversation;
    if (call) {
      var bye = { type: "bye", session: call.session };
      command("call.signal", { to: call.peer, data: bye }).catch(function () {});
    }
    command("conversation.mode", { mode: "chat" }).catch(report);
    hungUp = id;
    stopVideo();
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-action]");
    if (!button || !root.contains(button)) return;
    var action = button.getAttribute("data-action");
    if (action === "check") check(false);
    else if (action === "audio-only") withoutDevices();
    else if (action === "speaker") media.testSound();
    else if (action === "enter") enter();
    else if (action === "mute") media.toggle(button, "audio", local);
    else if (action === "camera") media.toggle(button, "video", local);
    else if (action === "hangup") hangUp();
    else if (action === "play") {
      button.hidden = true;
      play(one("[data-remote-video]"));
    }
  });

  new MutationObserver(readPanel).observe(panel, { childList: true });
  readPanel();
})();
