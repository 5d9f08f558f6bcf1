// The page's live updates (see fair/live/PROTOCOL.md), over a socket of static/socket.js: follow
// the user's own channel and the channels the page names, send the commands of forms marked
// data-command, and apply the events the page knows how to show; after a reconnection, read the
// page again (events missed meanwhile are lost). Every form still works without this script (it
// posts and the server redirects back).
(function () {
  "use strict";
  window.fairChatMessage = chatMessage; // the interview room's chat (room.js) shows the same way
  var body = document.body;
  var userId = body.getAttribute("data-user-id");
  if (!window.WebSocket || !window.fairSocket) return;
  if (!body.hasAttribute("data-live-url")) return; // a page without a socket (base.html)

  // Channels: the user's own, the hall's edition (staffing), and any data-follow="booth:7".
  // Visitors who are not logged in follow only the public ones (hall and booth pages).
  var hall = document.querySelector("[data-edition-id]");
  var followed = userId ? ["user:" + userId] : [];
  if (hall) followed.push("edition:" + Number(hall.getAttribute("data-edition-id")));
  document.querySelectorAll("[data-follow]").forEach(function (node) {
    node.getAttribute("data-follow").split(/\s+/).forEach(function (name) {
      if (name && followed.indexOf(name) < 0) followed.push(name);
    });
  });
  if (!followed.length) return; // nothing live on this page: no socket
  var staffBooth = document.querySelector("[data-staff-booth]");
  var live = false;
  var connectedBefore = false;
  var socket = window.fairSocket({
    path: body.getAttribute("data-live-url"),
    offline: statusRegion() && statusRegion().getAttribute("data-offline-message"),
    onOpen: subscribe,
    onEvent: dispatch,
    onClose: function () {
      live = false;
      body.setAttribute("data-live", "off");
      if (staffBooth) presence("data-offline-label");
    }
  });
  var command = socket.command;

  // Commands -----------------------------------------------------------------------------------

  // No socket was open, so the command was not sent (a command lost with its socket may have run).
  function unsent(error) { return error.code === "offline" && !error.sent; }

  function showFormMessage(form, text) {
    var node = form.querySelector("[data-form-error]");
    if (!node) return;
    node.textContent = text || "";
    node.hidden = !text;
  }

  // A form marked data-command is sent as that socket command while the socket is up: its
  // fields are the payload (fields ending in _id are numbers; the CSRF token is not needed, the
  // socket checked the Origin when it opened).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.getAttribute && form.getAttribute("data-command");
    if (!action || !live) return;
    event.preventDefault();
    var payload = {};
    new FormData(form).forEach(function (value, key) {
      if (key === "csrf_token") return;
      payload[key] = /_id$/.test(key) ? Number(value) : value;
    });
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    showFormMessage(form, "");
    // A chat message leaves the field at once (its echo may come back before the answer);
    // it is put back if it could not be sent.
    var field = action === "conversation.send" ? form.querySelector("textarea") : null;
    var typed = field ? field.value : "";
    if (field) field.value = "";
    function restore() { if (field && !field.value) field.value = typed; }
    command(action, payload).then(function (result) {
      if (button) button.disabled = false;
      if (action === "queue.next" && result && result.entry_id === null) {
        showFormMessage(form, form.getAttribute("data-none-message"));
      }
      if (field) {
        field.focus();
        return; // the message comes back as a conversation.message event
      }
      refresh();
    }, function (error) {
      if (button) button.disabled = false;
      restore();
      if (unsent(error)) return form.submit(); // the socket went away: post the form instead
      showFormMessage(form, error.message);
    });
  });

  // Re-reading the page ------------------------------------------------------------------------

  var refreshTimer = null;
  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refetch, 100);
  }

  function replacePanel(panel, fresh) {
    var active = document.activeElement;
    var hadFocus = panel.contains(active);
    var focusId = hadFocus && active.id;
    var typed = {};
    panel.querySelectorAll("textarea[id], input[type=text][id]").forEach(function (field) { typed[field.id] = field.value; });
    panel.innerHTML = fresh.innerHTML;
    Object.keys(typed).forEach(function (id) {
      var field = document.getElementById(id);
      if (field && panel.contains(field)) field.value = typed[id];
    });
    if (!hadFocus) return;
    var target = (focusId && document.getElementById(focusId)) || panel.querySelector("textarea, button, a[href]");
    if (target) target.focus();
  }

  function syncApplications(fresh) {
    fresh.querySelectorAll("[data-application-id]").forEach(function (card) {
      var status = card.querySelector("[data-status]");
      var mine = document.querySelector('[data-application-id="' + card.getAttribute("data-application-id") + '"] [data-status]');
      if (status && mine && mine.getAttribute("data-status") !== status.getAttribute("data-status")) {
        mine.textContent = status.textContent;
        mine.setAttribute("data-status", status.getAttribute("data-status"));
        mine.className = status.className;
      }
    });
  }

  function syncHall(fresh) {
    if (!hall) return;
    fresh.querySelectorAll("[data-booth-id]").forEach(function (card) {
      var mine = hall.querySelector('[data-booth-id="' + card.getAttribute("data-booth-id") + '"]');
      ["[data-staffing]", "[data-waiting]"].forEach(function (selector) {
        var fresher = card.querySelector(selector);
        var shown = mine && mine.querySelector(selector);
        if (fresher && shown) shown.replaceWith(fresher);
      });
    });
  }

  // Events missed while disconnected are lost (at-most-once): read what this page shows again.
  function refetch() {
    var panels = document.querySelectorAll("[data-live-panel]");
    if (!hall && !panels.length && !document.querySelector("[data-application-id] [data-status]")) return;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        syncApplications(fresh);
        syncHall(fresh);
        var unread = fresh.querySelector("[data-notices] [data-unread]");
        if (unread) noticesUnread({ unread: Number(unread.getAttribute("data-unread")) });
        panels.forEach(function (panel) {
          var replacement = panel.id && fresh.getElementById(panel.id);
          if (replacement && replacement.innerHTML !== panel.innerHTML) replacePanel(panel, replacement);
        });
      })
      .catch(function () {});
  }

  // Events -------------------------------------------------------------------------------------

  function statusRegion() { return document.getElementById("live-status"); }

  function say(text) {
    var region = statusRegion();
    if (region && text) region.textContent = text;
  }

  function labels() {
    try { return JSON.parse(statusRegion().getAttribute("data-status-labels")) || {}; } catch (e) { return {}; }
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
    var region = statusRegion();
    if (region) say((region.getAttribute("data-message") || "{status}").replace("{status}", label));
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

  function boothWaiting(data) {
    var card = hall && hall.querySelector('[data-booth-id="' + Number(data.booth_id) + '"]');
    var waiting = card && card.querySelector("[data-waiting]");
    if (!waiting || typeof data.waiting !== "number") return;
    waiting.setAttribute("data-waiting", String(data.waiting));
    waiting.textContent = (staffingLabels().waiting || "{num}").replace("{num}", String(data.waiting));
  }

  function desk(boothId) {
    return document.querySelector('[data-follow~="booth:' + Number(boothId) + '"]');
  }

  function queueChanged(data) {
    var scope = desk(data.booth_id);
    if (!scope) return;
    ["waiting", "called", "in_conversation"].forEach(function (name) {
      var node = scope.querySelector('[data-count="' + name + '"]');
      if (node && typeof data[name] === "number") node.textContent = String(data[name]);
    });
  }

  function queuePosition(data) {
    var scope = desk(data.booth_id);
    if (!scope) return;
    var position = scope.querySelector("[data-position]");
    if (position) position.textContent = String(data.position);
    var estimate = scope.querySelector("[data-estimate]");
    if (estimate) {
      var minutes = Math.max(1, Math.ceil(data.estimate_seconds / 60));
      estimate.textContent = (estimate.getAttribute("data-format") || "{num}").replace("{num}", String(minutes));
    }
  }

  // A call or a skip at a booth whose page is not this one: say so, with a link to the booth.
  function elsewhere(data, key) {
    if (desk(data.booth_id)) return;
    var region = statusRegion();
    if (!region) return;
    region.textContent = region.getAttribute(key) + " ";
    var link = document.createElement("a");
    link.href = "/booths/" + Number(data.booth_id);
    link.textContent = region.getAttribute("data-booth-link");
    region.appendChild(link);
  }

  function clockTime(iso, zone) {
    try {
      return new Date(iso).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", timeZone: zone });
    } catch (e) { return ""; }
  }

  // A chat message event, shown in `list` as the templates show one (templates/live/
  // _conversation.html, rooms/room.html), unless the list has it already (a page read again may
  // show it). `who` names the sender. Returns whether it was added.
  function chatMessage(list, data, mine, who, zone) {
    if (list.querySelector('[data-message-id="' + Number(data.message_id) + '"]')) return false;
    var item = document.createElement("li");
    item.className = mine ? "mine" : "theirs";
    item.setAttribute("data-message-id", String(Number(data.message_id)));
    var name = document.createElement("span");
    name.className = "who";
    name.textContent = who;
    var time = document.createElement("time");
    time.setAttribute("datetime", String(data.created_at));
    time.textContent = clockTime(data.created_at, zone || undefined);
    var text = document.createElement("p");
    text.textContent = data.body; // text only: never parsed as HTML
    item.appendChild(name);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(time);
    item.appendChild(text);
    list.appendChild(item);
    return true;
  }

  function conversationMessage(data) {
    var list = document.querySelector('[data-conversation-id="' + Number(data.conversation_id) + '"]');
    if (!list) return refresh();
    var mine = String(data.sender_id) === list.getAttribute("data-me");
    var who = list.getAttribute(mine ? "data-mine-label" : "data-theirs-label");
    chatMessage(list, data, mine, who, list.getAttribute("data-zone"));
  }

  function conversationMessageDeleted(data) {
    var list = document.querySelector('[data-conversation-id="' + Number(data.conversation_id) + '"]');
    var item = list && list.querySelector('[data-message-id="' + Number(data.message_id) + '"]');
    if (!item) return;
    var text = item.querySelector("p");
    if (text) {
      text.textContent = list.getAttribute("data-removed-label") || "";
      text.className = "removed";
    }
    var report = item.querySelector("details");
    if (report) report.remove();
  }

  // The header's "Notices" link: its count, shown and spoken ("(3 unread)"); not announced on
  // each change (the link is not a live region), read when the link is reached.
  function noticesUnread(data) {
    var link = document.querySelector("[data-notices]");
    var count = link && link.querySelector("[data-unread]");
    if (!count || typeof data.unread !== "number") return;
    var n = Math.max(0, Math.floor(data.unread));
    count.setAttribute("data-unread", String(n));
    count.hidden = n === 0;
    var badge = count.querySelector(".badge");
    if (badge) badge.textContent = String(n);
    var text = count.querySelector(".visually-hidden");
    var format = link.getAttribute(n === 1 ? "data-unread-one" : "data-unread-other") || "{num}";
    if (text) text.textContent = format.replace("{num}", String(n));
  }

  var handlers = {
    "application.status": applicationStatus,
    "notices.unread": noticesUnread,
    "booth.staffing": boothStaffing,
    "booth.waiting": boothWaiting,
    "queue.changed": queueChanged,
    "queue.position": queuePosition,
    "queue.called": function (data) { elsewhere(data, "data-called-message"); },
    "queue.skipped": function (data) { elsewhere(data, "data-skipped-message"); },
    "conversation.message": conversationMessage,
    "conversation.message_deleted": conversationMessageDeleted,
    resync: refetch
  };

  function dispatch(data) {
    if (handlers[data.event]) handlers[data.event](data);
    var name = String(data.event).replace(/[^a-z._]/g, "");
    if (name && document.querySelector('[data-refresh-on~="' + name + '"]')) refresh();
  }

  // Presence: a page marked data-staff-booth shows its recruiter at that booth while open.
  function presence(text) {
    var node = staffBooth && staffBooth.querySelector("[data-presence]");
    if (node) node.textContent = node.getAttribute(text) || "";
  }

  function staff() {
    if (!staffBooth) return;
    command("booth.staff", { booth_id: Number(staffBooth.getAttribute("data-staff-booth")) })
      .then(function () { presence("data-staffed-label"); }, function (error) {
        var node = staffBooth.querySelector("[data-presence]");
        if (node && !unsent(error)) node.textContent = error.message;
      });
  }

  // The socket ---------------------------------------------------------------------------------

  // Subscribed to every followed channel: live, and (after a reconnection) the page read again.
  // A subscription the server could not check now (server.busy: every database connection taken;
  // server.unavailable: the database out of reach) is asked again after 1 s, doubling up to 16 s,
  // each delay drawn between half and all of its step (a crowd of pages does not come back at
  // once), RETRIES times at most; meanwhile the status line says live updates are delayed, then
  // that they stopped (the page still works without them: its forms post).
  var RETRIED = ["server.busy", "server.unavailable"];
  var RETRIES = 6;
  var opening = 0; // this socket's opening: the retries of an earlier one stop
  var shown = ""; // the delay's message on the status line, cleared once live

  function delayed(key) {
    body.setAttribute("data-live", key === "data-busy-message" ? "busy" : "off");
    var region = statusRegion();
    shown = (region && region.getAttribute(key)) || "";
    say(shown);
  }

  function subscribe() {
    var mine = ++opening;
    var left = followed.length;
    function follow(name, tries) {
      command("subscribe", { channel: name }).then(function () {
        left -= 1;
        if (mine !== opening || left) return;
        live = true;
        body.setAttribute("data-live", "on");
        var region = statusRegion();
        if (shown && region && region.textContent === shown) region.textContent = "";
        shown = "";
        staff();
        if (connectedBefore) refetch();
        connectedBefore = true;
      }, function (error) {
        if (mine !== opening || RETRIED.indexOf(error.code) < 0) return;
        if (tries >= RETRIES) return delayed("data-stopped-message");
        delayed("data-busy-message");
        var step = Math.min(16000, 1000 * Math.pow(2, tries));
        setTimeout(function () {
          if (mine === opening) follow(name, tries + 1);
        }, step / 2 + Math.random() * step / 2);
      });
    }
    followed.forEach(function (name) { follow(name, 0); });
  }

  socket.connect();
})();
