// Webconference stages (fair/live/PROTOCOL.md, "Webconference stages"), over this page's own
// /live socket: the presenters' stage (templates/webconferences/stage.html: the green room,
// camera, microphone and screen sent to the server, start and end) and the viewers' player
// (_player.html: the server offers, the viewer answers). Both follow the talk's public channel
// for its state, its viewer count (re-watching when the presenters change) and its questions
// (_questions.html, fetched again on each `stage.question`). Nothing is global but the
// `window.fairStage` handle (the current connections, and how long the first video frame took),
// read by the browser tests; texts and data come from the root's data- attributes. Uses
// static/socket.js (the socket) and static/media.js (devices, codecs), loaded before it.
(function () {
  "use strict";
  var root = document.querySelector("[data-stage]");
  var media = window.fairMedia;
  if (!root) return;
  var role = root.getAttribute("data-stage");

  if (role === "early") {
    return media.reloadAt(Date.parse(root.getAttribute("data-opens-at"))); // the green room opens
  }

  var presenter = role === "presenter";
  var webconferenceId = Number(root.getAttribute("data-webconference-id"));
  var channel = "webconference:" + webconferenceId;
  var state = root.getAttribute("data-state"); // scheduled, live, ended, cancelled
  var canWatch = root.getAttribute("data-can-watch") === "yes";
  var questionsUrl = root.getAttribute("data-questions-url");
  var iceServers = parseJson(root.getAttribute("data-ice-servers")) || [];
  var statusNode = one("[data-stage-status]");
  var RANK = { scheduled: 0, live: 1, ended: 2, cancelled: 2 };

  var hook = { pc: null, publisher: null, screen: null, answeredAt: null, firstFrameMs: null, watches: 0 };
  window.fairStage = hook;

  function parseJson(value) { try { return JSON.parse(value); } catch (e) { return null; } }
  function text(name) { return root.getAttribute("data-t-" + name) || ""; }
  function one(selector) { return root.querySelector(selector); }
  function all(selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function over() { return state === "ended" || state === "cancelled"; }
  // A button hides and another shows in its place: keyboard focus moves with it.
  function giveWay(gone, shown) {
    var hadFocus = gone === document.activeElement;
    gone.hidden = true;
    shown.hidden = false;
    if (hadFocus) shown.focus();
  }
  function say(message) { if (message && statusNode) statusNode.textContent = message; }

  // Screen readers hear a polite message even when it repeats the previous one.
  var announceNode = one("[data-announce]");
  function announce(message) {
    if (!announceNode || !message) return;
    announceNode.textContent = "";
    setTimeout(function () { announceNode.textContent = message; }, 50);
  }

  // The socket ---------------------------------------------------------------------------------

  var joined = false;
  var live = window.fairSocket({
    path: root.getAttribute("data-live-url"),
    offline: text("offline"),
    onOpen: function () {
      command("subscribe", { channel: channel }).then(onJoined, function (error) { say(error.message); });
    },
    onEvent: function (data) { onEvent(data); },
    onClose: function (event, again) {
      joined = false;
      root.setAttribute("data-joined", "no");
      if (!again || over()) return false;
      // The server closed this socket's media connections with it: they come back on joining.
      say(text("offline"));
      return true;
    }
  });
  var command = live.command;
  var connect = live.connect;

  function talk(extra) {
    var payload = { webconference_id: webconferenceId };
    Object.keys(extra || {}).forEach(function (key) { payload[key] = extra[key]; });
    return payload;
  }

  function onJoined() {
    joined = true;
    root.setAttribute("data-joined", "yes");
    var shown = statusNode ? statusNode.textContent : "";
    if (shown === text("offline") || shown === text("connecting")) statusNode.textContent = "";
    fetchQuestions(false);
    showAskForm();
    if (presenter) {
      if (local) publish();
      if (display.stream) publishScreen();
    }
    if (state === "live") watchSoon(0);
  }

  function onEvent(data) {
    if (data.event === "resync") {
      fetchQuestions(true);
      if (state === "live" && !watcher) watchSoon(0);
      return;
    }
    if (Number(data.webconference_id) !== webconferenceId) return;
    if (data.event === "stage.state") return setState(data.state);
    if (data.event === "stage.count") return onCount(data);
    if (data.event === "stage.moved") return onMoved(data);
    if (data.event === "stage.question") return refreshQuestions();
  }

  // The talk's state ---------------------------------------------------------------------------

  function setState(next) {
    if (!(next in RANK) || RANK[next] <= RANK[state]) return; // states only move forward
    state = next;
    root.setAttribute("data-state", state);
    showPhase();
    if (state === "live") {
      if (presenter) {
        one("[data-stage-caption]").textContent = text("on-air");
        giveWay(one('[data-action="start"]'), one('[data-action="end"]'));
      }
      showPlayer();
      watchSoon(0);
    } else {
      clearTimeout(watchTimer);
      watchGen += 1; // an offer still on its way is dropped
      asking = false;
      stopWatching();
      if (presenter) stopPresenting();
      else if (!document.querySelector(".stage-state")) say(text("phase-" + state));
      else if (statusNode) statusNode.textContent = "";
      showPlayer();
      refreshQuestions();
    }
    showAskForm();
  }

  // The page's state line (webconference.html) goes by the clock; a talk started early from
  // the green room is live all the same.
  function showPhase() {
    var phase = document.querySelector(".stage-state");
    var phrase = text("phase-" + state);
    if (!phase || presenter || !phrase || phase.getAttribute("data-phase") === state) return;
    phase.setAttribute("data-phase", state);
    (phase.querySelector("strong") || phase).textContent = phrase;
  }

  function showPlayer() {
    var watch = one("[data-watch]");
    if (watch) watch.hidden = !(state === "live" && canWatch);
  }

  // Watching: the server offers, this page answers ---------------------------------------------

  var watcher = null; // {pc, tracks (by mid), keys, answeredAt, and its timers}
  var watchTimer = null;
  var watchGen = 0;
  var asking = false; // a stage.watch waits for its offer
  var recheck = false; // a stage.count came meanwhile
  var others = null; // publications on stage but this page's, from the last stage.count
  var soundOnly = false;
  var muted = false;

  function watchSoon(delay) {
    clearTimeout(watchTimer);
    watchTimer = setTimeout(watch, delay);
  }

  function watch() {
    clearTimeout(watchTimer);
    if (!canWatch || state !== "live" || !joined) return;
    if (presenter && others === 0) return stopWatching(); // nobody else to see
    var gen = ++watchGen;
    asking = true;
    recheck = false;
    if (!presenter && !watcher) say(text("connecting"));
    command("stage.watch", talk()).then(function (offer) {
      if (gen !== watchGen) return;
      asking = false;
      receive(offer);
      // Someone arrived or left while the offer was on its way: ask again, once.
      if (recheck && watcher && others !== watcher.keys.length) watchSoon(300);
    }, function (error) {
      if (gen !== watchGen) return;
      asking = false;
      watchRefused(error);
    });
  }

  function watchRefused(error) {
    var code = (error && error.code) || "";
    if (code === "offline") return; // joining again watches again
    if (code === "stage.ended") return setState("ended");
    if (code === "stage.no_presenter") {
      stopWatching();
      if (!presenter) say(error.message || text("waiting"));
      if (!presenter) watchSoon(10000); // stage.count says sooner when someone publishes
      return;
    }
    if (presenter) return;
    if (code === "stage.not_started") {
      say(text("soon"));
      return watchSoon(20000);
    }
    if (code === "stage.not_registered" || code === "auth.required") return say(error.message);
    say(error.message || text("reconnecting"));
    watchSoon(code === "stage.full" ? 15000 : 5000);
  }

  function receive(offer) {
    stopWatching();
    var pc = new RTCPeerConnection({ iceServers: offer.ice_servers || iceServers });
    var current = { pc: pc, tracks: {}, keys: [], answeredAt: 0, timer: null, retry: null, dog: null };
    (offer.tracks || []).forEach(function (track) {
      current.tracks[track.mid] = track;
      if (current.keys.indexOf(track.key) < 0) current.keys.push(track.key);
    });
    watcher = current;
    hook.pc = pc;
    hook.watches += 1;
    hook.answeredAt = hook.firstFrameMs = null;
    pc.addEventListener("track", function (event) {
      if (watcher === current) showTrack(current, event);
    });
    pc.addEventListener("connectionstatechange", function () { watchState(current); });
    return media.answer(pc, offer.sdp, 1500, function () {
      // Sound only: the video is refused in the answer, so the server does not even send it.
      pc.getTransceivers().forEach(function (transceiver) {
        var video = transceiver.receiver.track.kind === "video";
        transceiver.direction = video && soundOnly ? "inactive" : "recvonly";
      });
    }).then(function (sdp) {
      if (watcher !== current) return;
      var answer = talk({ type: "answer", sdp: sdp });
      return command("stage.answer", answer).then(function () {
        current.answeredAt = performance.now();
        hook.answeredAt = current.answeredAt;
        waitForFirstFrame(current);
        watchdog(current, -1);
      });
    }).catch(function (error) {
      if (watcher === current) watchRefused(error && error.code ? error : {});
    });
  }

  function framesDecoded(pc) {
    return pc.getStats().then(function (report) {
      var frames = 0;
      report.forEach(function (s) {
        if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
      });
      return frames;
    });
  }

  function waitForFirstFrame(current) {
    var hasVideo = Object.keys(current.tracks).some(function (mid) {
      return current.tracks[mid].kind === "video";
    });
    if (soundOnly || !hasVideo) return;
    var check = function () {
      if (watcher !== current) return;
      framesDecoded(current.pc).then(function (frames) {
        if (watcher !== current) return;
        if (frames > 0) {
          hook.firstFrameMs = performance.now() - current.answeredAt;
          if (!presenter) say(text("watching"));
          return;
        }
        if (performance.now() - current.answeredAt < 30000) current.timer = setTimeout(check, 50);
      }, function () {});
    };
    check();
  }

  // Counts come at most once a second: a presenter who left and came back within one is not
  // seen leaving, and this connection is then fed by nothing. Nothing received for 2 to 4 s
  // (the sound sends some 50 packets a second, even muted): ask for a new offer.
  function watchdog(current, last) {
    current.dog = setTimeout(function () {
      if (watcher !== current) return;
      current.pc.getStats().then(function (report) {
        if (watcher !== current) return;
        var packets = 0;
        report.forEach(function (s) {
          if (s.type === "inbound-rtp") packets += s.packetsReceived || 0;
        });
        if (packets === last && current.pc.connectionState === "connected") return watch();
        watchdog(current, packets);
      }, function () {});
    }, 2000);
  }

  function watchState(current) {
    if (watcher !== current) return;
    var now = current.pc.connectionState;
    if (now === "connected") {
      clearTimeout(current.retry);
      var hasVideo = Object.keys(current.tracks).some(function (mid) {
        return current.tracks[mid].kind === "video";
      });
      if (!presenter && (soundOnly || !hasVideo)) say(text(soundOnly ? "sound-only" : "watching"));
      return;
    }
    if (now === "failed") {
      if (!presenter) say(text("reconnecting"));
      return watchSoon(1000);
    }
    if (now === "disconnected") {
      clearTimeout(current.retry);
      current.retry = setTimeout(function () {
        if (watcher !== current || current.pc.connectionState === "connected") return;
        if (!presenter) say(text("reconnecting"));
        watch();
      }, 3000);
    }
  }

  function stopWatching() {
    if (watcher) {
      clearTimeout(watcher.timer);
      clearTimeout(watcher.retry);
      clearTimeout(watcher.dog);
      watcher.pc.close();
    }
    watcher = null;
    hook.pc = null;
    var videos = one("[data-videos]");
    if (videos) videos.textContent = "";
    tiles = {};
    showTiles();
  }

  var seenVersion = null; // the stage's publications change with it, even at equal counts

  function onCount(data) {
    showViewers(Number(data.viewers) || 0);
    others = Math.max(0, (Number(data.presenters) || 0) - mine());
    var changed = seenVersion !== null && data.version !== seenVersion;
    seenVersion = data.version;
    if (state !== "live" || !canWatch) return;
    if (asking) return (recheck = true);
    var have = watcher ? watcher.keys.length : 0;
    if (others === have && !(changed && watcher)) return;
    if (others === 0) {
      stopWatching();
      if (!presenter) say(text("waiting"));
      return;
    }
    watchSoon(300); // a presenter arrived or left: a new offer with who is there now
  }

  // The talk's media process died and its room is on another one now: every connection to the
  // old one is dead, so publish and watch again at once rather than after the browser's ICE
  // checks give up (about 30 s). Viewers ask a moment later, once the presenter is back; a
  // refusal meanwhile ("no presenter yet") waits for the stage.count that publishing brings.
  // With `leg`, another media process that served part of the audience died: only watch again.
  function onMoved(data) {
    if (over() || !joined) return;
    if (!data.leg && camera.published) publish();
    if (!data.leg && display.published) publishScreen();
    if (state !== "live" || !canWatch) return;
    stopWatching();
    watchSoon(presenter ? 1000 : 500);
  }

  // One figure per presenter's publication: its video (muted: the sound has its own element,
  // so the video can go and the sound stay) and its sound.
  var tiles = {};

  function tileFor(track) {
    var key = track.key;
    if (tiles[key]) return tiles[key];
    var info = track.info || {};
    var figure = document.createElement("figure");
    figure.setAttribute("data-key", key);
    figure.setAttribute("data-source", info.source === "screen" ? "screen" : "camera"); // stage.css
    var video = document.createElement("video");
    video.autoplay = video.playsInline = video.muted = true;
    video.setAttribute("playsinline", "");
    video.hidden = true;
    var audio = document.createElement("audio");
    audio.autoplay = true;
    audio.muted = muted;
    var caption = document.createElement("figcaption");
    var name = String(info.name || "");
    caption.textContent = info.source === "screen" ? text("screen").replace("{name}", name) : name;
    figure.appendChild(video);
    figure.appendChild(audio);
    figure.appendChild(caption);
    one("[data-videos]").appendChild(figure);
    tiles[key] = { figure: figure, video: video, audio: audio, hasVideo: false, hasAudio: false };
    return tiles[key];
  }

  function showTrack(current, event) {
    var mid = event.transceiver && event.transceiver.mid;
    var track = current.tracks[mid] || { key: String(mid), kind: event.track.kind, info: {} };
    var tile = tileFor(track);
    var stream = new MediaStream([event.track]);
    if (event.track.kind === "video") {
      tile.video.srcObject = stream;
      tile.hasVideo = true;
      play(tile.video, false);
    } else {
      tile.audio.srcObject = stream;
      tile.hasAudio = true;
      play(tile.audio, true);
    }
    event.track.addEventListener("ended", function () {
      if (watcher === current) watchSoon(500);
    });
    showTiles();
  }

  function showTiles() {
    Object.keys(tiles).forEach(function (key) {
      var tile = tiles[key];
      tile.video.hidden = soundOnly || !tile.hasVideo;
      if (soundOnly) tile.video.srcObject = null;
      tile.figure.hidden = soundOnly && !tile.hasAudio;
    });
    var section = presenter && one("[data-others]");
    if (section) section.hidden = !Object.keys(tiles).length;
  }

  function play(element, audible) {
    media.play(element, function () {
      var button = one('[data-action="play"]');
      if (audible && button) button.hidden = false;
    });
  }

  function showViewers(count) {
    var node = one("[data-viewer-count]");
    if (!node) return;
    var phrase = text("viewers").replace("{num}", String(count));
    if (node.textContent === phrase) return;
    node.textContent = phrase;
    countLater(phrase);
  }

  // The count changes every second at a busy start: say it at most twice a minute.
  var countSaidAt = 0;
  var countTimer = null;
  function countLater(phrase) {
    clearTimeout(countTimer);
    var wait = Math.max(0, countSaidAt + 30000 - Date.now());
    countTimer = setTimeout(function () {
      countSaidAt = Date.now();
      announce(phrase);
    }, wait);
  }

  // Presenting: camera and microphone, and the screen -------------------------------------------

  var local = null;
  var camera = { pc: null, published: false };
  var display = { pc: null, stream: null, published: false };

  function mine() {
    return presenter ? (camera.published ? 1 : 0) + (display.published ? 1 : 0) : 0;
  }

  // "on" while on stage: after a reload of this tab, the camera comes back by itself.
  var memory = media.memory("fair-stage-" + webconferenceId);

  // A modest camera (640x360, 24 images a second at most): every viewer receives this very
  // stream, some of them on a phone's data plan.
  var SOUND = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  var CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 20, max: 24 } };

  function startDevices() {
    media.hideProblem(root);
    media.stop(local);
    local = null;
    media.capture(SOUND, CAMERA).then(function (stream) {
      useStream(stream, stream.getVideoTracks().length ? "" : "audio-only");
    }, function (error) {
      say(media.showProblem(root, error));
    });
  }

  function useStream(stream, message) {
    local = stream;
    media.play(media.preview(root, stream));
    one('[data-action="camera"]').hidden = !stream.getVideoTracks().length;
    one('[data-action="screen"]').hidden = !navigator.mediaDevices.getDisplayMedia;
    giveWay(one('[data-action="devices"]'), one('[data-action="mute"]'));
    if (message) say(text(message));
    memory.set("on");
    publish();
  }

  function closeEntry(entry) {
    if (entry.pc) entry.pc.close();
    entry.pc = null;
  }

  // Publish one connection (the camera's or the screen's) on stage: it counts as ours at once,
  // since its stage.count may come before the answer; `again` publishes it anew.
  function send(entry, pc, source, again, done) {
    pc.addEventListener("connectionstatechange", function () { publisherState(entry, pc, again); });
    entry.published = true;
    offerTo(pc, source).then(function () {
      if (entry.pc === pc) say(text(done));
    }, function (error) {
      if (entry.pc !== pc) return;
      entry.published = false;
      publishRefused(error, again);
    });
  }

  function offerTo(pc, source) {
    return media.offer(pc, 2000).then(function (sdp) {
      return command("stage.publish", talk({ type: "offer", sdp: sdp, source: source }));
    }).then(function (answer) {
      return pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    });
  }

  function publish() {
    if (!local || !joined || over()) return;
    closeEntry(camera);
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    camera.pc = pc;
    hook.publisher = pc;
    local.getTracks().forEach(function (track) {
      var init = { direction: "sendonly", streams: [local] };
      if (track.kind === "video") init.sendEncodings = [{ maxBitrate: 500000, maxFramerate: 24 }];
      var transceiver = pc.addTransceiver(track, init);
      if (track.kind === "video") media.preferRelayed(transceiver);
    });
    say(text("publishing"));
    send(camera, pc, "camera", publish, "published");
  }

  function publisherState(entry, pc, again) {
    if (entry.pc !== pc) return;
    var now = pc.connectionState;
    if (now === "failed") {
      say(text("publish-failed"));
      setTimeout(function () { if (entry.pc === pc) again(); }, 1000);
    } else if (now === "disconnected") {
      setTimeout(function () {
        if (entry.pc !== pc || pc.connectionState === "connected") return;
        say(text("publish-failed"));
        again();
      }, 3000);
    }
  }

  function publishRefused(error, again) {
    var code = (error && error.code) || "";
    if (code === "offline") return; // joining again publishes again
    if (code === "stage.ended") return setState("ended");
    if (code === "stage.forbidden" || code === "stage.too_early" || code === "auth.required") {
      return say(error.message);
    }
    say(text("publish-failed"));
    setTimeout(again, 3000);
  }

  function shareScreen() {
    var button = one('[data-action="screen"]');
    navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false }).then(function (stream) {
      display.stream = stream;
      var track = stream.getVideoTracks()[0];
      if (track && "contentHint" in track) track.contentHint = "detail"; // sharp text over motion
      if (track) track.addEventListener("ended", stopScreen); // the browser's own "Stop sharing"
      var preview = one("[data-screen-video]");
      preview.srcObject = stream;
      media.play(preview);
      one("[data-screen-preview]").hidden = false;
      button.setAttribute("aria-pressed", "true");
      publishScreen();
    }, function (error) {
      if (error && error.name !== "NotAllowedError") say(error.message); // not a cancelled choice
    });
  }

  function publishScreen() {
    if (!display.stream || !joined || over()) return;
    closeEntry(display);
    var track = display.stream.getVideoTracks()[0];
    if (!track) return;
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    display.pc = pc;
    hook.screen = pc;
    var transceiver = pc.addTransceiver(track, {
      direction: "sendonly", streams: [display.stream], sendEncodings: [{ maxBitrate: 800000, maxFramerate: 15 }]
    });
    media.preferRelayed(transceiver);
    send(display, pc, "screen", publishScreen, "screen-on");
  }

  function stopScreen() {
    if (!display.stream) return;
    media.stop(display.stream);
    display.stream = null;
    var wasPublished = display.published;
    closeEntry(display);
    display.published = false;
    hook.screen = null;
    one("[data-screen-video]").srcObject = null;
    one("[data-screen-preview]").hidden = true;
    one('[data-action="screen"]').setAttribute("aria-pressed", "false");
    say(text("screen-off"));
    if (!wasPublished || !joined || over()) return;
    command("stage.unpublish", talk({ source: "screen" })).then(function () {}, function () {});
  }

  function stopPresenting() {
    closeEntry(camera);
    closeEntry(display);
    camera.published = display.published = false;
    hook.publisher = hook.screen = null;
    media.stop(local);
    media.stop(display.stream);
    local = display.stream = null;
    memory.set(null);
    one("[data-local-video]").srcObject = null;
    one("[data-screen-preview]").hidden = true;
    all("[data-action]").forEach(function (button) { button.hidden = true; });
    one("[data-confirm-end]").hidden = true;
    one("[data-stage-caption]").textContent = text("phase-" + state);
    if (statusNode) statusNode.textContent = "";
  }

  function simple(button, action, then) {
    button.disabled = true;
    command(action, talk()).then(function (result) {
      button.disabled = false;
      then(result);
    }, function (error) {
      button.disabled = false;
      say(error.message);
    });
  }

  // Questions ----------------------------------------------------------------------------------

  var questionsTimer = null;
  var seen = null; // question ids already shown (null before the first list)
  var asked = {}; // this page's own questions: not announced as new

  function refreshQuestions() {
    clearTimeout(questionsTimer);
    questionsTimer = setTimeout(function () { fetchQuestions(true); }, 150);
  }

  function fetchQuestions(tell) {
    if (!questionsUrl || !one("[data-questions-list]")) return;
    fetch(questionsUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-questions]");
        if (fresh) showQuestions(fresh, tell);
      })
      .catch(function () {});
  }

  function showQuestions(fresh, tell) {
    var list = one("[data-questions-list]");
    var focused = focusedControl(list);
    var ids = Array.prototype.map.call(fresh.querySelectorAll("[data-question-id]"), function (node) {
      return node.getAttribute("data-question-id");
    });
    var arrived = seen ? ids.filter(function (id) { return !seen[id] && !asked[id]; }) : [];
    seen = {};
    ids.forEach(function (id) { seen[id] = true; });
    list.innerHTML = fresh.outerHTML;
    restoreFocus(list, focused);
    var panel = one("[data-questions-panel]");
    if (panel) panel.hidden = false;
    if (tell && arrived.length) announce(text("new-question"));
    setState(fresh.getAttribute("data-state")); // catches up with a missed stage.state
    showAskForm();
  }

  function focusedControl(list) {
    var active = document.activeElement;
    if (!active || !list.contains(active)) return null;
    var item = active.closest("[data-question-id]");
    return {
      id: item && item.getAttribute("data-question-id"),
      vote: active.hasAttribute("data-vote"),
      to: active.getAttribute("data-to")
    };
  }

  // Keyboard users keep their place when the list is replaced under them.
  function restoreFocus(list, focused) {
    if (!focused) return;
    var item = focused.id && list.querySelector('[data-question-id="' + focused.id + '"]');
    var target = null;
    if (item) {
      target = focused.vote ? item.querySelector("[data-vote]") : item.querySelector('[data-to="' + focused.to + '"]');
      target = target || item.querySelector("button");
    }
    (target || list).focus();
  }

  function showAskForm() {
    var form = one('[data-stage-form="ask"]');
    if (form) form.hidden = !(state === "live" && canWatch && joined);
  }

  function ask(form) {
    var field = form.elements.body;
    var button = form.querySelector("button[type=submit]");
    var error = form.querySelector("[data-form-error]");
    button.disabled = true;
    command("stage.ask", talk({ body: field.value })).then(function (result) {
      button.disabled = false;
      error.hidden = true;
      field.removeAttribute("aria-invalid");
      field.value = "";
      asked[String(result.question_id)] = true;
      say(text("asked"));
      refreshQuestions();
      field.focus();
    }, function (failure) {
      button.disabled = false;
      error.textContent = failure.message || "";
      error.hidden = false;
      field.setAttribute("aria-invalid", "true");
    });
  }

  function vote(button) {
    var up = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    command("stage.vote", { question_id: Number(button.getAttribute("data-vote")), up: up }).then(function () {
      button.disabled = false;
      button.setAttribute("aria-pressed", String(up));
      refreshQuestions();
    }, function (error) {
      button.disabled = false;
      say(error.message);
    });
  }

  function moderate(button) {
    button.disabled = true;
    var payload = { question_id: Number(button.getAttribute("data-moderate")), status: button.getAttribute("data-to") };
    command("stage.moderate", payload).then(function () {
      button.disabled = false;
      refreshQuestions();
    }, function (error) {
      button.disabled = false;
      say(error.message);
    });
  }

  // Buttons and forms --------------------------------------------------------------------------

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-stage-form") !== "ask") return;
    event.preventDefault();
    ask(form);
  });

  root.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button");
    if (!button || !root.contains(button)) return;
    if (button.hasAttribute("data-vote")) return vote(button);
    if (button.hasAttribute("data-moderate")) return moderate(button);
    var action = button.getAttribute("data-action");
    if (action === "sound-only") {
      soundOnly = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(soundOnly));
      showTiles();
      if (watcher) watch(); // a new answer: with the video refused, or accepted again
    } else if (action === "mute") {
      if (presenter) return media.toggle(button, "audio", local);
      muted = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(muted));
      Object.keys(tiles).forEach(function (key) { tiles[key].audio.muted = muted; });
    } else if (action === "play") {
      button.hidden = true;
      Object.keys(tiles).forEach(function (key) { play(tiles[key].audio, true); });
    } else if (action === "devices") {
      startDevices();
    } else if (action === "camera") {
      media.toggle(button, "video", local);
    } else if (action === "screen") {
      if (display.stream) stopScreen(); else shareScreen();
    } else if (action === "start") {
      simple(button, "stage.start", function () { setState("live"); });
    } else if (action === "end") {
      one("[data-confirm-end]").hidden = false;
      one('[data-action="end-confirm"]').focus();
    } else if (action === "end-cancel") {
      one("[data-confirm-end]").hidden = true;
      one('[data-action="end"]').focus();
    } else if (action === "end-confirm") {
      simple(button, "stage.end", function () { setState("ended"); });
    }
  });

  // Start --------------------------------------------------------------------------------------

  if (!window.WebSocket || !window.RTCPeerConnection) {
    say(text("unsupported"));
    return fetchQuestions(false);
  }
  if (over()) return fetchQuestions(false); // read the questions again; nothing live
  showPhase();
  showPlayer();
  if (presenter && memory.get() === "on") startDevices(); // a reload on stage
  if (!presenter && state === "scheduled" && canWatch) say(text("soon"));
  else if (canWatch) say(text("connecting"));
  connect();
  // stage.state is at-most-once: before the start, read the talk's state again now and then.
  setInterval(function () { if (state === "scheduled" && joined) fetchQuestions(false); }, 30000);
})();
