// The interview room (fair/interviews/rooms.py; fair/live/PROTOCOL.md, "Interview rooms"): a
// device check, the waiting room, a browser-to-browser call (WebRTC) signalled through this page's own
// /live socket, the phone number and the written chat. The recruiter always makes the offers: each
// side says "ready" once it is in the call (the candidate only once admitted), and the
// recruiter answers a candidate's "ready" with an offer (an ICE restart when that call still
// exists). A reload or a dropped socket joins again and says "ready" again, so the call
// resumes. When that direct media fails (ICE fails again after a restart, or no connection
// 15 s after the call started), or when the server says so at join (FAIR_INTERVIEW_RELAY),
// the call goes through the server's media relay instead (see "The relay" below), until the
// tab closes. Nothing is global: data and translated texts come from #room's data- attributes.
// Uses static/socket.js (the socket), static/media.js (devices, codecs) and static/live.js (chat
// messages), all loaded before it.
(function () {
  "use strict";
  var root = document.getElementById("room");
  var media = window.fairMedia;
  if (!root) return;

  if (root.getAttribute("data-state") === "not_open") {
    return media.reloadAt(Date.parse(root.getAttribute("data-opens-at"))); // the room opens
  }
  if (root.getAttribute("data-state") !== "open" || !window.WebSocket) return;

  var interviewId = Number(root.getAttribute("data-room"));
  var token = root.getAttribute("data-token");
  var recruiter = root.getAttribute("data-role") === "recruiter";
  var me = Number(root.getAttribute("data-me"));
  var mode = root.getAttribute("data-mode");
  var admitted = root.getAttribute("data-admitted") === "yes";
  var startsAt = Date.parse(root.getAttribute("data-starts-at"));
  var endsAt = Date.parse(root.getAttribute("data-ends-at"));
  var closesAt = Date.parse(root.getAttribute("data-closes-at"));
  // "call" while in the call, to resume it after a reload; "yes" once the call went through
  // the relay, which it does until the tab closes.
  var memory = media.memory("fair-room-" + interviewId);
  var relayMemory = media.memory("fair-room-" + interviewId + "-relay");
  var statusNode = document.getElementById("room-status");

  var joined = false;
  var closed = false; // the room closed, or this window gave way to another one
  var iceServers = [];
  var peers = {}; // the other person's sockets in the room: connection id -> true
  var local = null; // our MediaStream once the devices are checked
  var entered = false; // in the call (devices checked, "Enter" pressed)
  var hungUp = false;
  var call = null; // {pc, session, peer, ...}
  var pendingReady = null; // a candidate's "ready" received before the recruiter entered
  var meter = null;
  var FALLBACK_MS = 15000; // a direct call still not connected after this goes through the relay
  var relayMode = false; // the call goes through the server's media relay
  var relayed = { pub: null, sub: null, timer: null, chain: Promise.resolve() };

  function text(name) { return root.getAttribute("data-t-" + name) || ""; }
  function one(selector) { return root.querySelector(selector); }
  function all(selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function say(message) { if (message) statusNode.textContent = message; }
  function newId() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }

  // The socket ---------------------------------------------------------------------------------

  var live = window.fairSocket({
    path: root.getAttribute("data-live-url"),
    offline: text("offline"),
    onOpen: function () { join(); },
    onEvent: function (data) { onEvent(data); },
    onClose: function (event, again) {
      joined = false;
      root.setAttribute("data-joined", "no");
      // The server closed this socket's relay connections with it: joining again makes new ones.
      closeRelay("pub");
      closeRelay("sub");
      if (closed || !again) return false;
      say(text("offline"));
      return true;
    }
  });
  var command = live.command;
  var connect = live.connect;

  function roomCommand(action, payload) {
    payload = payload || {};
    payload.interview_id = interviewId;
    return command(action, payload);
  }

  function join() {
    var payload = { token: token };
    if (call) payload.session = call.session;
    roomCommand("room.join", payload).then(function (state) {
      joined = true;
      iceServers = state.ice_servers || [];
      root.setAttribute("data-joined", "yes");
      var shown = statusNode.textContent;
      if (shown === text("offline") || shown === text("connecting")) statusNode.textContent = "";
      applyMode(state.mode, false);
      if (state.relay) useRelay();
      if (state.admitted) setAdmitted();
      command("subscribe", { channel: "user:" + me }).catch(function () {});
      showPeer();
      updateSteps();
      announceReady();
    }, function (error) {
      if (error.code === "room.closed" || error.code === "room.bad_token") return shut(error.message);
      if (error.code !== "offline") say(error.message);
    });
  }

  function onEvent(data) {
    if (data.event === "resync") return join();
    if (data.event === "interview.changed") {
      if (Number(data.interview_id) === interviewId) join();
      return;
    }
    if (Number(data.interview_id) !== interviewId) return;
    if (data.event === "room.peer") return onPeer(data);
    if (data.event === "room.signal") return onSignal(data.from, data.data || {});
    if (data.event === "room.relay") return onRelayEvent(data);
    if (data.event === "room.admitted") return setAdmitted();
    if (data.event === "room.mode") return applyMode(data.mode, true);
    if (data.event === "room.message") return addMessage(data);
    if (data.event === "room.phone" && recruiter && mode === "phone") return showPhone();
  }

  // Who is in the room -------------------------------------------------------------------------

  function onPeer(data) {
    if (Number(data.user_id) === me) {
      if (data.state === "joined") elsewhere();
      return;
    }
    if (data.state === "left") {
      delete peers[data.from];
      if (call && call.peer === data.from) call.peerGone = true;
      if (!Object.keys(peers).length) say(text("peer-left"));
    } else {
      peers[data.from] = true;
      if (call && call.peer === data.from) call.peerGone = false;
    }
    if (data.state === "joined") announceReady(); // they reloaded or reconnected
    showPeer();
  }

  function showPeer() {
    var present = Object.keys(peers).length > 0;
    var key = !present ? "peer-absent" : recruiter && !admitted ? "peer-waiting" : "peer-present";
    one("[data-peer]").textContent = text(key);
  }

  // The same person opened the room in another window: this one gives way.
  function elsewhere() {
    closed = true;
    leaveCall();
    hungUp = true;
    roomCommand("room.leave").catch(function () {});
    live.close();
    say(text("elsewhere"));
    updateSteps();
  }

  function setAdmitted() {
    if (admitted) return;
    admitted = true;
    root.setAttribute("data-admitted", "yes");
    if (!recruiter) say(text("admitted"));
    showPeer();
    updateSteps();
    announceReady();
  }

  // Steps of the video panel -------------------------------------------------------------------

  function currentStep() {
    if (hungUp) return "left";
    if (!entered) return "check";
    if (!recruiter && !admitted) return "waiting";
    return "call";
  }

  function updateSteps() {
    var step = currentStep();
    var focused = document.activeElement;
    var lost = false;
    all("[data-step]").forEach(function (node) {
      node.hidden = node.getAttribute("data-step") !== step;
      if (node.hidden && node.contains(focused)) lost = true;
    });
    // The control bar: the microphone and camera from the device check on, hang up once entered.
    var video = mode === "video" && !closed;
    all("[data-call-control]").forEach(function (button) {
      var action = button.getAttribute("data-action");
      var shown = action === "hangup" ? step === "waiting" || step === "call" : step !== "left";
      button.hidden = !(video && shown);
      if (button.hidden && button === focused) lost = true;
    });
    // Keyboard users keep their place: focus moves to the step that replaced the one they were in.
    if (lost && !one("[data-panel=video]").hidden) one('[data-step="' + step + '"]').focus();
    one("[data-remote]").hidden = step !== "call" || !(call || relayed.sub);
    var admit = one("[data-admit-box]");
    if (admit) admit.hidden = admitted;
  }

  // On a small screen the stage may start below the fold: entering scrolls so that the stage and
  // the bar under it end at the bottom of the screen (or the stage's top at the top, if taller).
  function showStage() {
    var stage = one("[data-call-stage]");
    var bar = one("[data-call-bar]");
    var box = stage.getBoundingClientRect();
    if (box.top >= 0 && box.bottom <= bar.getBoundingClientRect().top) return;
    var top = window.scrollY + Math.min(box.top, box.bottom + bar.offsetHeight + 16 - window.innerHeight);
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    window.scrollTo({ top: Math.max(0, top), behavior: still ? "auto" : "smooth" });
  }

  // Devices ------------------------------------------------------------------------------------

  // The camera and microphone (or the microphone alone): resolves whether they work.
  function check(audioOnly) {
    media.hideProblem(root);
    stopMedia();
    return media.capture(true, !audioOnly).then(function (stream) {
      useStream(stream, stream.getVideoTracks().length ? "devices-ok" : "audio-only");
      return true;
    }, function (error) {
      problem(error);
      return false;
    });
  }

  function problem(error) {
    say(media.showProblem(root, error));
    one('[data-action="enter"]').hidden = true;
  }

  function useStream(stream, message) {
    local = stream;
    play(media.preview(root, stream));
    startMeter(stream);
    one('[data-action="enter"]').hidden = false;
    say(text(message));
  }

  // Without any device: see and hear the other person only.
  function withoutDevices() {
    check(true).then(function (ok) {
      if (ok) return;
      useStream(new MediaStream(), "audio-only");
      media.hideProblem(root);
    });
  }

  function stopMedia() {
    stopMeter();
    media.stop(local);
    local = null;
    one("[data-local-video]").srcObject = null;
  }

  // The microphone level of the device check (static/media.js).
  function startMeter(stream) {
    stopMeter();
    meter = media.meter(one("[data-mic-level]"), stream);
  }

  function stopMeter() {
    if (meter) meter();
    meter = null;
  }

  function testSound() { media.testSound(); }

  function play(video) {
    media.play(video, function () { one('[data-action="play"]').hidden = false; });
  }

  // The call -----------------------------------------------------------------------------------

  function enter() {
    entered = true;
    hungUp = false;
    memory.set("call");
    stopMeter();
    updateSteps();
    showStage();
    if (recruiter && pendingReady) {
      var ready = pendingReady;
      pendingReady = null;
      onReady(ready.from, ready.session);
    }
    announceReady();
  }

  function inCall() {
    return mode === "video" && entered && !hungUp && admitted && joined && !closed;
  }

  // "I am in the call": the candidate asks for an offer, the recruiter asks the candidate to.
  // Through the relay: publish and watch, if not done yet.
  function announceReady() {
    if (!inCall()) return;
    if (relayMode) return relayEnsure();
    var data = { type: "ready" };
    if (call) data.session = call.session;
    roomCommand("room.signal", { data: data }).catch(function (error) {
      if (error.code !== "offline") say(error.message);
    });
  }

  function signal(current, data) {
    data.session = current.session;
    var payload = { data: data };
    if (current.peer) payload.to = current.peer;
    return roomCommand("room.signal", payload).catch(function (error) {
      if (error.code !== "offline") say(error.message);
    });
  }

  function newCall(session, peer) {
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    var current = {
      pc: pc, session: session, peer: peer, remoteSet: false, queued: [], timer: null,
      startedAt: Date.now(), peerGone: false, chain: Promise.resolve(), failures: 0,
      fallback: null
    };
    armFallback(current);
    pc.addEventListener("icecandidate", function (event) {
      if (event.candidate) signal(current, { candidate: event.candidate.toJSON() });
    });
    pc.addEventListener("track", function (event) { showRemote(event); });
    pc.addEventListener("iceconnectionstatechange", function () { onIceState(current); });
    return current;
  }

  // Signals of one call are handled one after the other, in the order they came.
  function later(current, work) {
    current.chain = current.chain.then(work).catch(function (error) {
      if (window.console) console.warn("room call:", error);
    });
  }

  function endCall() {
    if (!call) return;
    clearTimeout(call.timer);
    clearTimeout(call.fallback);
    call.pc.close();
    call = null;
    one("[data-remote-video]").srcObject = null;
    root.setAttribute("data-call", "off");
    updateSteps();
  }

  function onSignal(from, data) {
    if (relayMode) {
      // The other page still tries the direct way (a new tab): publishing again tells it.
      if (data.type === "ready" && inCall()) relayLater(relayPublish);
      return;
    }
    if (data.type === "bye") {
      if (call && data.session === call.session) {
        endCall();
        say(text("peer-hung-up"));
      }
      return;
    }
    if (data.type === "ready") {
      if (recruiter) return onReady(from, data.session || null);
      return announceReady(); // the recruiter (re)entered: ask for an offer
    }
    if (data.type === "offer" && !recruiter) return onOffer(from, data);
    if (!call || data.session !== call.session) return;
    var current = call;
    if (data.type === "answer" && recruiter) {
      return later(current, function () {
        return current.pc.setRemoteDescription({ type: "answer", sdp: data.sdp }).then(function () {
          flushCandidates(current);
        });
      });
    }
    if (data.candidate) {
      later(current, function () {
        if (!current.remoteSet) return current.queued.push(data.candidate);
        return current.pc.addIceCandidate(data.candidate);
      });
    }
  }

  function flushCandidates(current) {
    current.remoteSet = true;
    var queued = current.queued;
    current.queued = [];
    return Promise.all(queued.map(function (candidate) {
      return current.pc.addIceCandidate(candidate).catch(function () {});
    }));
  }

  // Recruiter: a candidate is ready. Same call: restart ICE if it is not connected; an offer
  // still on its way (no session yet): wait for it a few seconds; otherwise a new call.
  function onReady(from, session) {
    if (mode !== "video" || hungUp || closed || relayMode) return;
    if (!entered) {
      pendingReady = { from: from, session: session };
      return;
    }
    if (call && call.peer === from) {
      var state = call.pc.iceConnectionState;
      var live = state === "connected" || state === "completed";
      if (session === call.session) return live ? null : offer(call, true);
      if (session === null && Date.now() - call.startedAt < 5000) return;
    }
    startCall(from);
  }

  function startCall(peer) {
    endCall();
    call = newCall(newId(), peer);
    ["audio", "video"].forEach(function (kind) {
      var track = local && local.getTracks().filter(function (t) { return t.kind === kind; })[0];
      if (track) call.pc.addTrack(track, local);
      else call.pc.addTransceiver(kind, { direction: "recvonly" });
    });
    offer(call, false);
  }

  function offer(current, restart) {
    later(current, function () {
      return current.pc.createOffer(restart ? { iceRestart: true } : {}).then(function (description) {
        return current.pc.setLocalDescription(description);
      }).then(function () {
        return signal(current, { type: "offer", sdp: current.pc.localDescription.sdp });
      });
    });
  }

  // Candidate: an offer for the current call (renegotiation, ICE restart) or a new one.
  function onOffer(from, data) {
    if (!inCall()) return;
    if (!call || call.session !== data.session) {
      endCall();
      call = newCall(data.session, from);
    }
    var current = call;
    current.peer = from;
    later(current, function () {
      return current.pc.setRemoteDescription({ type: "offer", sdp: data.sdp }).then(function () {
        if (!current.attached) attachAnswer(current);
        return flushCandidates(current);
      }).then(function () {
        return current.pc.createAnswer();
      }).then(function (answer) {
        return current.pc.setLocalDescription(answer);
      }).then(function () {
        return signal(current, { type: "answer", sdp: current.pc.localDescription.sdp });
      });
    });
  }

  // Send our tracks on the transceivers the recruiter's offer opened.
  function attachAnswer(current) {
    current.attached = true;
    current.pc.getTransceivers().forEach(function (transceiver) {
      var kind = transceiver.receiver.track.kind;
      var track = local && local.getTracks().filter(function (t) { return t.kind === kind; })[0];
      if (!track) {
        transceiver.direction = "recvonly";
        return;
      }
      transceiver.sender.replaceTrack(track);
      if (transceiver.sender.setStreams) transceiver.sender.setStreams(local);
      transceiver.direction = "sendrecv";
    });
  }

  function showRemote(event) {
    var video = one("[data-remote-video]");
    var stream = event.streams && event.streams[0];
    if (!stream) {
      stream = video.srcObject || new MediaStream();
      stream.addTrack(event.track);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
    updateSteps();
    play(video);
  }

  function onIceState(current) {
    if (current !== call) return;
    var state = current.pc.iceConnectionState;
    root.setAttribute("data-call", state);
    if (state === "connected" || state === "completed") {
      clearTimeout(current.timer);
      clearTimeout(current.fallback);
      current.fallback = null;
      return say(text("connected"));
    }
    if (state !== "disconnected" && state !== "failed") return;
    if (state === "failed") current.failures += 1;
    if (current.failures > 1) return fallBack(); // failed again after an ICE restart
    if (!current.fallback) armFallback(current);
    say(text("reconnecting"));
    clearTimeout(current.timer);
    current.timer = setTimeout(function () {
      if (current !== call) return;
      var now = current.pc.iceConnectionState;
      if (now === "connected" || now === "completed") return;
      if (!recruiter) return announceReady(); // asks the recruiter for an ICE restart
      if (current.peerGone) return endCall(); // they left: their next "ready" starts anew
      offer(current, true);
    }, state === "failed" ? 0 : 2000);
  }

  // A direct call that is not connected FALLBACK_MS after it started (or after it dropped) goes
  // through the relay, unless the other person left meanwhile (their return starts anew).
  function armFallback(current) {
    clearTimeout(current.fallback);
    current.fallback = setTimeout(function () {
      current.fallback = null;
      if (current !== call || current.peerGone) return;
      var now = current.pc.iceConnectionState;
      if (now !== "connected" && now !== "completed") fallBack();
    }, FALLBACK_MS);
  }

  // The relay ----------------------------------------------------------------------------------
  // Each person publishes their camera and microphone to the server (room.relay_publish: a
  // send-only connection, VP8 and Opus, what the relay forwards) and watches the other's
  // (room.relay_watch: the server offers, we answer). Publishing tells the other page
  // (`room.relay` "published"), which switches to the relay too if needed, and watches again.
  // The relay takes no trickled candidates: descriptions leave once their candidates are in.

  function useRelay() {
    if (relayMode) return;
    relayMode = true;
    relayMemory.set("yes");
    endCall();
    root.setAttribute("data-relay", "yes");
    one("[data-relay-note]").hidden = false;
  }

  function fallBack() {
    if (relayMode || !inCall()) return;
    useRelay();
    say(text("relay-fallback"));
    relayEnsure();
  }

  function relayLater(work) {
    relayed.chain = relayed.chain.then(work).catch(function (error) {
      if (error && error.code && error.code !== "offline") say(error.message);
      else if (window.console) console.warn("room relay:", error);
    });
  }

  function usable(pc) {
    return pc && pc.connectionState !== "failed" && pc.connectionState !== "closed";
  }

  // Publish and watch, each unless it is already under way.
  function relayEnsure() {
    relayLater(function () {
      if (!inCall()) return;
      return (usable(relayed.pub) ? Promise.resolve() : relayPublish()).then(function () {
        if (inCall() && !usable(relayed.sub)) return relayWatch();
      });
    });
  }

  function onRelayEvent(data) {
    if (data.state === "published") {
      if (!relayMode) {
        useRelay();
        say(text("relay-fallback"));
        return relayEnsure(); // publishes ours, watches theirs
      }
      if (inCall()) relayLater(relayWatch);
      return;
    }
    if (data.state === "moved") {
      // The relay's media process stopped; the room moved to another, where our connections
      // do not exist: publish and watch there at once (publishing makes the other re-watch).
      if (!relayed.pub && !relayed.sub) return;
      closeRelay("pub");
      closeRelay("sub");
      say(text("reconnecting"));
      updateSteps();
      return relayEnsure();
    }
    if (data.state === "left" && relayed.sub) {
      closeRelay("sub"); // what it received has ended
      if (mode === "video" && inCall()) say(text("peer-hung-up"));
      updateSteps();
    }
  }

  function closeRelay(which) {
    var pc = relayed[which];
    if (!pc) return;
    relayed[which] = null;
    pc.close();
    if (which === "sub") {
      one("[data-remote-video]").srcObject = null;
      root.setAttribute("data-call", "off");
    }
  }

  // Hang up, a mode without video, another window: the server closes our relay connections.
  function endRelay() {
    clearTimeout(relayed.timer);
    if (!relayed.pub && !relayed.sub) return;
    closeRelay("pub");
    closeRelay("sub");
    roomCommand("room.relay_leave").catch(function () {});
    updateSteps();
  }

  function relayPc() {
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    pc.addEventListener("iceconnectionstatechange", function () { onRelayState(pc); });
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
      return roomCommand("room.relay_publish", { type: "offer", sdp: sdp });
    }).then(function (reply) {
      if (reply && relayed.pub === pc) {
        return pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      }
    });
  }

  function relayWatch() {
    return roomCommand("room.relay_watch").then(function (reply) {
      closeRelay("sub");
      var pc = relayPc();
      var stream = new MediaStream();
      relayed.sub = pc;
      pc.addEventListener("track", function (event) {
        if (relayed.sub !== pc) return;
        stream.addTrack(event.track);
        var video = one("[data-remote-video]");
        if (video.srcObject !== stream) video.srcObject = stream;
        updateSteps();
        play(video);
      });
      return media.answer(pc, reply.sdp, 3000).then(function (sdp) {
        if (relayed.sub !== pc) return null;
        return roomCommand("room.relay_answer", { type: "answer", sdp: sdp });
      });
    }, function (error) {
      // They publish nothing yet: their `room.relay` "published" will say when to watch.
      if (error.code !== "room.relay_empty") throw error;
    });
  }

  function onRelayState(pc) {
    if (pc !== relayed.pub && pc !== relayed.sub) return;
    var state = pc.iceConnectionState;
    if (pc === relayed.sub) root.setAttribute("data-call", state);
    if ((state === "connected" || state === "completed") && pc === relayed.sub) {
      return say(text("connected"));
    }
    if (state !== "failed") return;
    // Our way to the server broke: connect again in a moment (publishing makes them re-watch).
    say(text("reconnecting"));
    clearTimeout(relayed.timer);
    relayed.timer = setTimeout(function () {
      if (!usable(relayed.pub)) closeRelay("pub");
      if (!usable(relayed.sub)) closeRelay("sub");
      if (relayMode) announceReady();
    }, 2000);
  }

  // Out of the call, direct or relayed, the camera and microphone off (hang up, a mode without
  // video, another window, the room closing).
  function leaveCall() {
    endCall();
    endRelay();
    stopMedia();
    entered = false;
  }

  function hangUp() {
    if (call) signal(call, { type: "bye" });
    leaveCall();
    hungUp = true;
    memory.set(null);
    say(text("left"));
    updateSteps();
  }

  function rejoin() {
    if (closed) return location.reload();
    hungUp = false;
    updateSteps();
    check(false).then(function (ok) { if (ok) enter(); });
  }

  // Modes, phone, chat -------------------------------------------------------------------------

  function modeLabels() {
    try { return JSON.parse(root.getAttribute("data-mode-labels")) || {}; } catch (e) { return {}; }
  }

  function applyMode(next, announce) {
    if (!next || next === mode) return;
    mode = next;
    root.setAttribute("data-mode", mode);
    all("[data-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-panel") !== mode;
    });
    all('button[name="mode"]').forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.value === mode));
    });
    var label = document.querySelector("[data-mode-label]");
    if (label) label.textContent = modeLabels()[mode] || mode;
    if (mode !== "video") {
      leaveCall();
    } else if (memory.get() === "call" && !closed) {
      check(false).then(function (ok) { if (ok) enter(); });
    }
    if (mode === "phone" && recruiter) showPhone();
    if (announce) say(text("mode-" + mode));
    updateSteps();
  }

  function showPhone() {
    var node = one("[data-phone-number]");
    if (!node) return;
    roomCommand("room.phone").then(function (result) {
      node.textContent = "";
      if (!result.phone) return (node.textContent = text("phone-none"));
      var link = document.createElement("a");
      link.href = "tel:" + result.phone.replace(/[^0-9+]/g, "");
      link.textContent = result.phone;
      node.appendChild(link);
    }, function (error) {
      node.textContent = error.message || "";
    });
  }

  function addMessage(data) {
    var list = one("[data-room-messages]");
    var mine = Number(data.sender_id) === me;
    var who = text(mine ? "mine" : "theirs");
    if (window.fairChatMessage(list, data, mine, who, root.getAttribute("data-zone"))) {
      list.scrollTop = list.scrollHeight;
    }
  }

  // Forms go through the socket while the room is joined; otherwise they post as usual.
  root.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.getAttribute && form.getAttribute("data-room-form");
    if (!kind || !joined) return;
    event.preventDefault();
    var button = event.submitter || form.querySelector("button[type=submit]");
    var error = form.querySelector("[data-form-error]");
    var action = "room.message";
    var payload = {};
    if (kind === "mode") {
      action = "room.mode";
      payload.mode = button && button.value;
    } else if (kind === "phone") {
      action = "room.set_phone";
      payload.phone = form.elements.phone.value;
    } else {
      payload.body = form.elements.body.value;
    }
    if (button) button.disabled = true;
    roomCommand(action, payload).then(function (result) {
      if (button) button.disabled = false;
      if (error) error.hidden = true;
      if (kind === "mode") applyMode(result.mode, true);
      if (kind === "phone") say(text("phone-saved"));
      if (kind === "message") {
        form.elements.body.value = "";
        form.elements.body.focus();
      }
    }, function (failure) {
      if (button) button.disabled = false;
      if (failure.code === "offline") return form.requestSubmit(button || undefined);
      if (error) {
        error.textContent = failure.message || "";
        error.hidden = false;
      } else {
        say(failure.message);
      }
    });
  });

  root.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-action]");
    if (!button || !root.contains(button)) return;
    var action = button.getAttribute("data-action");
    if (action === "check") check(false);
    else if (action === "audio-only") withoutDevices();
    else if (action === "speaker") { testSound(); }
    else if (action === "enter") enter();
    else if (action === "mute") media.toggle(button, "audio", local);
    else if (action === "camera") media.toggle(button, "video", local);
    else if (action === "hangup") hangUp();
    else if (action === "rejoin") rejoin();
    else if (action === "phone") showPhone();
    else if (action === "play") {
      button.hidden = true;
      play(one("[data-remote-video]"));
    } else if (action === "admit") {
      button.disabled = true;
      roomCommand("room.admit").then(function () {
        button.disabled = false;
        setAdmitted();
      }, function (error) {
        button.disabled = false;
        say(error.message);
      });
    }
  });

  // The countdown ------------------------------------------------------------------------------

  function duration(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    seconds %= 60;
    return (hours ? hours + ":" + pad(minutes) : String(minutes)) + ":" + pad(seconds);
  }

  var warned = false;
  var phoneShown = false;
  function tick() {
    if (closed) return;
    var now = Date.now();
    var label = one("[data-countdown-label]");
    var value = one("[data-countdown]");
    if (now < startsAt) {
      label.textContent = text("starts-in");
      value.textContent = duration(startsAt - now);
    } else if (now < endsAt) {
      label.textContent = text("time-left");
      value.textContent = duration(endsAt - now);
      if (!warned && endsAt - now <= 300000) {
        warned = true;
        if (endsAt - now > 295000) say(text("five-minutes"));
      }
      if (!phoneShown && recruiter && mode === "phone" && joined) {
        phoneShown = true;
        showPhone();
      }
    } else if (now < closesAt) {
      label.textContent = "";
      value.textContent = text("over");
    } else {
      return shut(text("closed"));
    }
    setTimeout(tick, 1000 - (now % 1000));
  }

  function shut(message) {
    closed = true;
    leaveCall();
    memory.set(null);
    live.close();
    all("[data-panel], .modes, [data-call-bar], .countdown").forEach(function (node) { node.hidden = true; });
    say(message);
  }

  // Start --------------------------------------------------------------------------------------

  say(text("connecting"));
  if (relayMemory.get() === "yes") useRelay(); // this tab's call already went through the relay
  updateSteps();
  connect();
  tick();
  if (mode === "video" && memory.get() === "call") {
    check(false).then(function (ok) { if (ok) enter(); }); // a reload during the call resumes it
  }
})();
