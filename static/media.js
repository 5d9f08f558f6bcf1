// What the interview room (room.js) and the webconference stage (stage.js) share about cameras,
// microphones and WebRTC connections: the page that opens by itself, the tab's memory, the
// device check with its fallback to the microphone alone and its problem message, the mute and
// camera buttons, playing a video the browser may hold back, the codecs the server's media relay
// forwards, and the offers and answers exchanged with it; the microphone meter and the test
// sound of the device check. `window.fairMedia`, loaded (defer) before the interview room, the
// stage and the booth conversations' call (call.js).
// The root given to these functions holds the page's data-t- texts and its device markup:
// [data-device-problem] with [data-problem-text], [data-local-video], and the data-action="mute"
// and "camera" buttons (aria-pressed).
(function () {
  "use strict";

  // The error names that mean "no camera" (none, none that fits, or another application holds
  // it): the microphone alone is asked for then.
  var NO_CAMERA = ["NotFoundError", "OverconstrainedError", "NotReadableError"];
  // What the relay forwards (fair/media/relay.py), by kind of track.
  var RELAYED = { video: "video/vp8", audio: "audio/opus" };

  function text(root, name) { return root.getAttribute("data-t-" + name) || ""; }

  // A page not open yet (a room, a green room) reloads itself at its opening time; long timers
  // are checked again each minute.
  function reloadAt(opensAt) {
    var left = opensAt - Date.now();
    if (left <= 0) return location.reload();
    setTimeout(function () { reloadAt(opensAt); }, Math.min(left + 500, 60000));
  }

  // sessionStorage survives a reload of this tab (and is forgotten with it): a page remembers
  // that it was in the call or on stage, to come back to it. Storage may be disabled: then
  // nothing is remembered.
  function memory(key) {
    return {
      get: function () {
        try { return sessionStorage.getItem(key); } catch (e) { return null; }
      },
      set: function (value) {
        try {
          if (value) sessionStorage.setItem(key, value); else sessionStorage.removeItem(key);
        } catch (e) { /* storage disabled */ }
      }
    };
  }

  // The devices ----------------------------------------------------------------------------------

  // The camera and the microphone, or the microphone alone when there is no usable camera.
  // `video` false asks for the microphone alone. Rejects with the browser's error (its name says
  // what went wrong; a browser without getUserMedia: NotFoundError).
  function capture(audio, video) {
    var devices = navigator.mediaDevices;
    if (!devices || !devices.getUserMedia) return Promise.reject({ name: "NotFoundError" });
    return devices.getUserMedia({ audio: audio, video: video || false }).catch(function (error) {
      if (!video || NO_CAMERA.indexOf(error && error.name) < 0) throw error;
      return devices.getUserMedia({ audio: audio, video: false });
    });
  }

  // The device problem, in the page's words (data-t-denied, -no-device, -device-error), shown in
  // [data-device-problem]; returns the message, for the page's status line.
  function showProblem(root, error) {
    var name = error && error.name;
    var key = "device-error";
    if (name === "NotAllowedError" || name === "SecurityError") key = "denied";
    if (name === "NotFoundError" || name === "OverconstrainedError") key = "no-device";
    root.querySelector("[data-problem-text]").textContent = text(root, key);
    root.querySelector("[data-device-problem]").hidden = false;
    return text(root, key);
  }

  function hideProblem(root) { root.querySelector("[data-device-problem]").hidden = true; }

  // A fresh stream follows the mute and camera buttons as they are pressed, and shows in the
  // local preview; returns that video element.
  function preview(root, stream) {
    var pressed = function (action) {
      return root.querySelector('[data-action="' + action + '"]').getAttribute("aria-pressed") === "true";
    };
    stream.getAudioTracks().forEach(function (track) { track.enabled = !pressed("mute"); });
    stream.getVideoTracks().forEach(function (track) { track.enabled = !pressed("camera"); });
    var video = root.querySelector("[data-local-video]");
    video.srcObject = stream;
    return video;
  }

  function stop(stream) {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
  }

  // The mute (kind "audio") and camera ("video") buttons: pressed, the tracks of that kind are off.
  function toggle(button, kind, stream) {
    var pressed = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(pressed));
    if (!stream) return;
    stream.getTracks().forEach(function (track) {
      if (track.kind === kind) track.enabled = !pressed;
    });
  }

  // Autoplay with sound may be refused until the person clicks: `blocked` then shows a button.
  function play(media, blocked) {
    var started = media.play();
    if (started && started.catch) started.catch(function () { if (blocked) blocked(); });
  }

  // The microphone's level shown in a <meter> (0 to 1) while `stream` runs; returns the function
  // that stops it (and puts the meter back to 0). Nothing without sound or Web Audio.
  function meter(node, stream) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !stream.getAudioTracks().length) return function () {};
    var context = new Context();
    var analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(stream).connect(analyser);
    var samples = new Uint8Array(analyser.fftSize);
    var frame = 0;
    var draw = function () {
      analyser.getByteTimeDomainData(samples);
      var peak = 0;
      for (var i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i] - 128) / 128);
      node.value = peak;
      frame = requestAnimationFrame(draw);
    };
    draw();
    return function () {
      cancelAnimationFrame(frame);
      context.close().catch(function () {});
      node.value = 0;
    };
  }

  // A one-second 440 Hz tone: "can I hear?".
  function testSound() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var context = new Context();
    var tone = context.createOscillator();
    var gain = context.createGain();
    gain.gain.value = 0.2;
    tone.frequency.value = 440;
    tone.connect(gain);
    gain.connect(context.destination);
    tone.onended = function () { context.close().catch(function () {}); };
    tone.start();
    tone.stop(context.currentTime + 1);
  }

  // Connections ----------------------------------------------------------------------------------

  // A transceiver sending to the server's media relay offers only what it forwards: VP8 (with
  // its retransmissions) for video, Opus for sound.
  function preferRelayed(transceiver) {
    var kind = transceiver.sender.track && transceiver.sender.track.kind;
    var wanted = RELAYED[kind];
    var Receiver = window.RTCRtpReceiver;
    if (!wanted || !transceiver.setCodecPreferences || !Receiver || !Receiver.getCapabilities) {
      return;
    }
    var codecs = (Receiver.getCapabilities(kind) || { codecs: [] }).codecs;
    var chosen = codecs.filter(function (c) { return c.mimeType.toLowerCase() === wanted; });
    var rtx = codecs.filter(function (c) { return c.mimeType.toLowerCase() === kind + "/rtx"; });
    if (!chosen.length) return;
    try {
      transceiver.setCodecPreferences(chosen.concat(rtx));
    } catch (e) { /* the browser's own order: the server still picks VP8 and Opus */ }
  }

  // The server takes no trickled candidates: a description leaves with its candidates, once
  // they are gathered or after `most` ms (a slow STUN or TURN server: send what there is).
  // `offer` resolves with this side's offer; `answer` takes the server's offer and resolves with
  // the answer (`prepare`, if given, runs before the answer is made: transceiver directions).
  function offer(pc, most) {
    return pc.createOffer().then(function (description) { return withCandidates(pc, description, most); });
  }

  function answer(pc, sdp, most, prepare) {
    return pc.setRemoteDescription({ type: "offer", sdp: sdp }).then(function () {
      if (prepare) prepare();
      return pc.createAnswer();
    }).then(function (description) { return withCandidates(pc, description, most); });
  }

  function withCandidates(pc, description, most) {
    return pc.setLocalDescription(description).then(function () {
      return gathered(pc, most);
    }).then(function () {
      return pc.localDescription.sdp;
    });
  }

  function gathered(pc, most) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(function (resolve) {
      var timer = setTimeout(done, most);
      function check() { if (pc.iceGatheringState === "complete") done(); }
      function done() {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  window.fairMedia = {
    reloadAt: reloadAt, memory: memory, capture: capture, showProblem: showProblem,
    hideProblem: hideProblem, preview: preview, stop: stop, toggle: toggle, play: play,
    meter: meter, testSound: testSound, preferRelayed: preferRelayed, offer: offer, answer: answer
  };
})();
