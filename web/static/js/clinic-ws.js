/*
 * ClinicSocket: the pages' one WebSocket to /ws (protocol: docs/websocket.md).
 *
 *   var sub = ClinicSocket.subscribe("job:" + id, {
 *     onSnapshot: function (data, message) {},   // the channel's whole current state
 *     onEvent: function (event) {},              // {channel, id, type, data, ts}
 *     onError: function (reason) {}              // the server refused this channel
 *   });
 *   sub.unsubscribe();
 *   ClinicSocket.onStatus(function (status) {}); // "connecting" | "live" | "reconnecting"
 *                                              // | "signedout" (the session ended)
 *
 * The client remembers per channel the number of the last event it handed to the page (in
 * memory and in sessionStorage) and, after any close or error, reconnects with exponential
 * backoff and jitter and subscribes every channel again from that number, so the page sees
 * each event once and in order, or a fresh snapshot when the server's history no longer
 * reaches back far enough.
 */
(function (global) {
  "use strict";

  var MIN_DELAY_MS = 500;
  var MAX_DELAY_MS = 15000;
  var STABLE_AFTER_MS = 5000; // a connection that lived this long resets the backoff
  var DEFAULT_HEARTBEAT_S = 25;
  // How long a ping sent when the page is looked at again may go unanswered: a socket that
  // slept with the phone is often dead without knowing it, and the heartbeat alone would find
  // out only after a whole period.
  var PROBE_MS = 5000;
  var STORAGE_PREFIX = "clinic.ws.last:";
  var CLOSE_NOT_ALLOWED = 1008;
  // The reason of a 1008 that refuses a channel; the other 1008s ("access revoked",
  // "credentials required", "too many messages") are about the socket, not a channel.
  var CHANNEL_REFUSED = "channel not allowed";
  var CHANNEL_ERRORS = { too_many_channels: 1, bad_channel: 1, bad_last_id: 1 };
  // The 1008s of a staff page whose session ended (timed out, signed out, the password
  // changed): it still tries again (a sign-in in another tab brings every channel back), and
  // says "signedout" meanwhile, for the page to send its user to sign in.
  var SIGNED_OUT = ["credentials required", "access revoked"];

  function storageGet(channel) {
    try {
      var raw = global.sessionStorage.getItem(STORAGE_PREFIX + channel);
      var value = raw === null ? NaN : parseInt(raw, 10);
      return isFinite(value) && value >= 0 ? value : null;
    } catch (e) {
      return null; // storage disabled: memory is enough
    }
  }

  function storageSet(channel, value) {
    try {
      if (value === null) {
        global.sessionStorage.removeItem(STORAGE_PREFIX + channel);
      } else {
        global.sessionStorage.setItem(STORAGE_PREFIX + channel, String(value));
      }
    } catch (e) {
      /* storage full or disabled: memory is enough */
    }
  }

  // Pages opened without a session (a display board, a patient's phone) name their
  // credentials in a data-ws-query attribute of the page, e.g. "token=..." or "ticket=...".
  function pageCredentials() {
    var holder = global.document ? global.document.querySelector("[data-ws-query]") : null;
    return holder ? holder.getAttribute("data-ws-query") : "";
  }

  function socketUrl() {
    var scheme = global.location.protocol === "https:" ? "wss:" : "ws:";
    var query = pageCredentials();
    return scheme + "//" + global.location.host + "/ws" + (query ? "?" + query : "");
  }

  function call(fn, a, b) {
    if (typeof fn !== "function") return;
    try {
      fn(a, b);
    } catch (e) {
      // A page callback that throws must not break the socket for every other channel.
      if (global.console) global.console.error(e);
    }
  }

  function Client(url) {
    this.url = url;
    this.ws = null;
    this.status = "idle";
    this.channels = {}; // channel -> {lastId, handlers, acknowledged}
    this.pending = []; // channels sent a subscribe, not yet answered, in sending order
    this.leaving = {}; // channels the page left while their subscribe was unanswered
    this.statusListeners = [];
    this.attempt = 0;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.probeTimer = null;
    this.heartbeatMs = DEFAULT_HEARTBEAT_S * 1000;
    this.lastHeard = 0;
    this.pingSentAt = 0;
    this.openedAt = 0;
    this.startedAt = 0; // when the current socket was asked for
    this.liveSince = 0; // when the current socket opened; 0 while it has not
    this.wanted = false;
    this.signedOut = false; // closed for the session's end: retrying says "signedout"
    var self = this;
    if (global.addEventListener) {
      global.addEventListener("online", function () {
        self.probe();
      });
    }
    var doc = global.document;
    if (doc && doc.addEventListener) {
      doc.addEventListener("visibilitychange", function () {
        if (doc.visibilityState === "visible") self.probe();
      });
    }
  }

  // The network is back, or the page is looked at again (a phone unlocked, a tab brought to
  // the front): a reconnect waiting for its turn goes now, and an open socket is asked at
  // once whether it still lives, and given up unless it answers within PROBE_MS.
  Client.prototype.probe = function () {
    var self = this;
    if (!this.wanted) return;
    if (this.retryTimer !== null) {
      this.reconnectNow();
      return;
    }
    if (this.ws === null || this.ws.readyState !== 1 || this.probeTimer !== null) return;
    var asked = Date.now();
    if (!this.send({ op: "ping" })) return;
    this.pingSentAt = asked;
    var ws = this.ws;
    this.probeTimer = global.setTimeout(function () {
      self.probeTimer = null;
      if (self.ws === ws && self.lastHeard < asked) self.dropped(null);
    }, PROBE_MS);
  };

  Client.prototype.setStatus = function (status) {
    if (status === "reconnecting" && this.signedOut) status = "signedout";
    if (status === this.status) return;
    this.status = status;
    for (var i = 0; i < this.statusListeners.length; i++) call(this.statusListeners[i], status);
  };

  Client.prototype.onStatus = function (listener) {
    this.statusListeners.push(listener);
    if (this.status !== "idle") call(listener, this.status);
  };

  Client.prototype.connect = function () {
    this.wanted = true;
    if (this.ws !== null || this.retryTimer !== null) return;
    this.open();
  };

  Client.prototype.open = function () {
    var self = this;
    this.setStatus(this.attempt === 0 && this.openedAt === 0 ? "connecting" : "reconnecting");
    var ws;
    try {
      ws = new global.WebSocket(this.url);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    // A handshake nobody answers (the server's connection slots all taken, a proxy waiting
    // on a server gone) ends in no close and no error for minutes: give it up after a
    // heartbeat period, as an unanswered ping, and try again.
    this.startedAt = Date.now();
    this.startHeartbeat();
    ws.onopen = function () {
      if (self.ws !== ws) return;
      self.openedAt = Date.now();
      self.liveSince = self.openedAt;
      self.lastHeard = Date.now();
      self.pending = [];
      Object.keys(self.channels).forEach(function (channel) {
        self.sendSubscribe(channel);
      });
      self.startHeartbeat();
    };
    ws.onmessage = function (e) {
      if (self.ws !== ws) return;
      self.lastHeard = Date.now();
      var message;
      try {
        message = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      self.handle(message);
    };
    ws.onerror = function () {
      // A close event always follows; reconnecting is decided there.
    };
    ws.onclose = function (e) {
      if (self.ws !== ws) return;
      self.dropped(e.code, e.reason);
    };
  };

  Client.prototype.send = function (message) {
    if (this.ws !== null && this.ws.readyState === 1) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  };

  Client.prototype.sendSubscribe = function (channel) {
    var entry = this.channels[channel];
    var message = { op: "subscribe", channel: channel };
    if (entry.lastId !== null) message.last_id = entry.lastId;
    if (this.send(message)) {
      entry.acknowledged = false;
      this.pending.push(channel);
    }
  };

  Client.prototype.handle = function (message) {
    var entry = message.channel ? this.channels[message.channel] : null;
    switch (message.op) {
      case "hello":
        if (message.heartbeat > 0) this.heartbeatMs = message.heartbeat * 1000;
        this.startHeartbeat();
        this.signedOut = false;
        this.setStatus("live");
        break;
      case "snapshot":
        if (!entry) return;
        this.remember(message.channel, message.last_id);
        call(entry.handlers.onSnapshot, message.data, message);
        break;
      case "event":
        if (!entry) return;
        if (entry.lastId !== null && message.id <= entry.lastId) return; // seen already
        this.remember(message.channel, message.id);
        call(entry.handlers.onEvent, message);
        break;
      case "subscribed":
        this.acknowledge(message.channel);
        if (entry && entry.lastId === null) this.remember(message.channel, message.last_id);
        break;
      case "ping":
        this.send({ op: "ping" }); // the server asked for a sign of life; a ping is one
        break;
      case "pong":
        break;
      case "revoked":
        // The user's rights changed while the socket was open: this channel is gone.
        if (entry) this.refuse(message.channel, "revoked: access changed");
        break;
      case "error":
        if (CHANNEL_ERRORS[message.code] && this.pending.length) {
          // The server answers in order: the oldest unanswered subscription is the one.
          this.refuse(this.pending[0], message.code + ": " + message.detail);
        } else if (global.console) {
          global.console.warn("WebSocket error", message.code, message.detail);
        }
        break;
      default:
        break;
    }
  };

  Client.prototype.remember = function (channel, id) {
    var entry = this.channels[channel];
    if (!entry || typeof id !== "number") return;
    entry.lastId = id;
    storageSet(channel, id);
  };

  Client.prototype.acknowledge = function (channel) {
    var at = this.pending.indexOf(channel);
    if (at >= 0) this.pending.splice(at, 1);
    if (this.channels[channel]) this.channels[channel].acknowledged = true;
    if (this.leaving[channel] && this.pending.indexOf(channel) < 0) {
      delete this.leaving[channel];
      this.send({ op: "unsubscribe", channel: channel });
    }
  };

  Client.prototype.refuse = function (channel, reason) {
    var entry = this.channels[channel];
    this.acknowledge(channel);
    if (!entry) return;
    delete this.channels[channel];
    call(entry.handlers.onError, reason);
  };

  Client.prototype.startHeartbeat = function () {
    var self = this;
    if (this.heartbeatTimer !== null) global.clearInterval(this.heartbeatTimer);
    this.pingSentAt = 0;
    this.heartbeatTimer = global.setInterval(function () {
      var now = Date.now();
      if (self.ws !== null && self.ws.readyState === 0) {
        if (now - self.startedAt >= self.heartbeatMs) self.dropped(null); // never opened
      } else if (self.pingSentAt > self.lastHeard && now - self.pingSentAt > self.heartbeatMs) {
        // A ping went unanswered for a whole period: the connection is dead but unaware.
        self.dropped(null);
      } else if (self.pingSentAt <= self.lastHeard && now - self.lastHeard >= self.heartbeatMs) {
        if (self.send({ op: "ping" })) self.pingSentAt = now;
      }
    }, Math.max(1000, Math.floor(this.heartbeatMs / 2)));
  };

  Client.prototype.dropped = function (code, reason) {
    var ws = this.ws;
    this.ws = null;
    if (this.heartbeatTimer !== null) {
      global.clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
    if (this.probeTimer !== null) {
      global.clearTimeout(this.probeTimer);
      this.probeTimer = null;
    }
    if (ws !== null) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        ws.close();
      } catch (e) {
        /* already closed */
      }
    }
    if (code === CLOSE_NOT_ALLOWED && reason === CHANNEL_REFUSED && this.pending.length) {
      // The server closes at the first refused channel, having answered every one before it.
      // Closed for its credentials instead, the socket keeps every channel for the next one.
      this.refuse(this.pending[0], "not allowed");
    }
    this.pending = [];
    this.leaving = {}; // a new socket follows none of them
    this.signedOut =
      code === CLOSE_NOT_ALLOWED && SIGNED_OUT.indexOf(reason) >= 0 && !pageCredentials();
    // Only a socket that itself stayed open that long resets the backoff: one that never
    // opened (the server still away) must not, or every screen would retry twice a second.
    if (this.liveSince && Date.now() - this.liveSince >= STABLE_AFTER_MS) this.attempt = 0;
    this.liveSince = 0;
    if (this.wanted) this.scheduleReconnect();
  };

  Client.prototype.scheduleReconnect = function () {
    var self = this;
    this.setStatus("reconnecting");
    var base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * Math.pow(2, this.attempt));
    // Jitter spreads the clients of a restarted server over time instead of all at once.
    var delay = Math.min(MAX_DELAY_MS, base + Math.random() * base * 0.5);
    this.attempt += 1;
    this.retryTimer = global.setTimeout(function () {
      self.retryTimer = null;
      self.open();
    }, delay);
  };

  Client.prototype.reconnectNow = function () {
    if (this.retryTimer !== null) {
      global.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.open();
  };

  Client.prototype.subscribe = function (channel, handlers, options) {
    var self = this;
    options = options || {};
    var lastId = null;
    if (typeof options.lastId === "number") {
      lastId = options.lastId;
    } else if (options.resume) {
      lastId = storageGet(channel); // the page keeps its own state across reloads
    }
    delete this.leaving[channel]; // wanted again: its new subscribe starts it over
    this.channels[channel] = { lastId: lastId, handlers: handlers || {}, acknowledged: false };
    storageSet(channel, lastId);
    if (this.ws !== null && this.ws.readyState === 1) this.sendSubscribe(channel);
    this.connect();
    return {
      unsubscribe: function () {
        self.unsubscribe(channel);
      },
    };
  };

  Client.prototype.unsubscribe = function (channel) {
    if (!this.channels[channel]) return;
    delete this.channels[channel];
    storageSet(channel, null);
    if (this.pending.indexOf(channel) >= 0) {
      // Its subscribe is unanswered yet. Left now, the server may never answer it, and the
      // next refusal (answered in order) would be blamed on another channel: leave it once
      // answered.
      this.leaving[channel] = true;
      return;
    }
    this.send({ op: "unsubscribe", channel: channel });
  };

  Client.prototype.lastEventId = function (channel) {
    var entry = this.channels[channel];
    return entry ? entry.lastId : storageGet(channel);
  };

  var client = new Client(socketUrl());

  global.ClinicSocket = {
    /** Subscribe to a channel: a snapshot (or the missed events), then live events. */
    subscribe: function (channel, handlers, options) {
      return client.subscribe(channel, handlers, options);
    },
    unsubscribe: function (channel) {
      client.unsubscribe(channel);
    },
    /** Call listener with "connecting", "live" or "reconnecting" now and on every change. */
    onStatus: function (listener) {
      client.onStatus(listener);
    },
    /** Open the socket without a subscription yet (to show the live indicator early). */
    connect: function () {
      client.connect();
    },
    /** The number of the last event of channel this page has seen, or null. */
    lastEventId: function (channel) {
      return client.lastEventId(channel);
    },
    status: function () {
      return client.status;
    },
  };
})(window);
