/*
 * The display board: follows the board channel (board:<queue id>) of each of its queues and
 * shows who is called now and to which room, the last calls and how many wait. Each call
 * (and recall) plays a chime made with Web Audio and is read out by the browser's speech
 * synthesis in the board's languages, in order.
 *
 * The channels carry numbers, rooms and counts only. After a network loss or a server
 * restart ClinicSocket reconnects by itself and the board redraws from the snapshot or the
 * replayed events: the page never needs a reload.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("board-config");
  var root = document.getElementById("board");
  var callingList = document.getElementById("board-calling");
  var recentList = document.getElementById("board-recent");
  var idle = document.getElementById("board-idle");
  var callout = document.getElementById("board-callout");
  var soundButton = document.getElementById("board-sound");
  var clock = document.getElementById("board-clock");

  var CALLING_SHOWN = 5; // as many as fit the screen at this size
  var RECENT_SHOWN = 6;
  var FRESH_MS = 12000; // a new call stands out this long
  var CALLS = { "ticket.called": 1, "ticket.recalled": 1, "ticket.called_back": 1 };
  var AFTER_A_CALL = { called: 1, in_service: 1, served: 1, no_show: 1 };

  var queues = {}; // queue id -> {tickets: {ticket id -> board view}, waiting}
  var fresh = {}; // ticket id -> time until which it is shown as new
  var announcements = [];
  window.ClinicBoard = { announcements: announcements };

  config.queues.forEach(function (queue) {
    queues[queue.id] = { tickets: {}, waiting: null };
  });

  // -- the picture ---------------------------------------------------------------------------

  function calls() {
    var all = [];
    Object.keys(queues).forEach(function (id) {
      var tickets = queues[id].tickets;
      Object.keys(tickets).forEach(function (ticketId) {
        var ticket = tickets[ticketId];
        if (ticket.called_at && AFTER_A_CALL[ticket.status]) all.push(ticket);
      });
    });
    return all.sort(function (a, b) {
      return a.called_at < b.called_at ? 1 : a.called_at > b.called_at ? -1 : 0;
    });
  }

  function row(ticket, withFreshness) {
    var item = Q.element("li", "board-call");
    item.setAttribute("data-ticket-id", ticket.ticket_id);
    item.setAttribute("data-code", ticket.code);
    item.setAttribute("data-recalls", ticket.recalls);
    if (withFreshness && fresh[ticket.ticket_id] > Date.now()) item.className += " is-fresh";
    item.appendChild(Q.element("span", "board-call__code", ticket.code));
    item.appendChild(Q.element("span", "board-call__arrow", "→"));
    item.appendChild(Q.element("span", "board-call__room", ticket.room || "—"));
    return item;
  }

  function render() {
    var all = calls();
    var calling = all.filter(function (t) {
      return t.status === "called";
    });
    var earlier = all.filter(function (t) {
      return t.status !== "called";
    });
    callingList.textContent = "";
    calling.slice(0, CALLING_SHOWN).forEach(function (ticket) {
      callingList.appendChild(row(ticket, true));
    });
    idle.hidden = calling.length > 0;
    recentList.textContent = "";
    earlier.slice(0, RECENT_SHOWN).forEach(function (ticket) {
      recentList.appendChild(row(ticket, false));
    });
    Object.keys(queues).forEach(function (id) {
      var selector = "#board-waiting [data-queue-id='" + id + "'] [data-waiting]";
      var cell = document.querySelector(selector);
      if (cell && queues[id].waiting !== null) cell.textContent = String(queues[id].waiting);
    });
  }

  function showSnapshot(queueId, data) {
    var queue = queues[queueId];
    queue.tickets = {};
    queue.waiting = data ? data.waiting : 0;
    queue.day = (data && data.day) || null;
    if (data) {
      data.last_calls.concat(data.calling).forEach(function (ticket) {
        queue.tickets[ticket.ticket_id] = ticket;
      });
    }
    render();
  }

  function showEvent(queueId, event) {
    var queue = queues[queueId];
    if (event.type === "queue.day_closed") {
      if (Q.closesAnEarlierDay(event, queue.day)) return; // the new day's board stays
      queue.tickets = {};
      queue.waiting = 0;
    } else if (event.data && event.data.ticket_id) {
      var day = event.data.day || null;
      if (day && queue.day && day < queue.day) {
        // The day before, closing or finishing past midnight: not the day this board shows,
        // nor its count (the new day's comes with the new day's events).
        delete queue.tickets[event.data.ticket_id];
        render();
        return;
      }
      if (day && queue.day && day > queue.day) queue.tickets = {}; // midnight: a new day's calls
      if (day) queue.day = day;
      queue.tickets[event.data.ticket_id] = event.data;
      queue.waiting = event.data.waiting;
      if (CALLS[event.type]) {
        fresh[event.data.ticket_id] = Date.now() + FRESH_MS;
        window.setTimeout(render, FRESH_MS + 50);
        announce(queueId, event.data);
      }
    }
    render();
  }

  // -- the sound -----------------------------------------------------------------------------

  var audio = null;

  function audioContext() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    return audio;
  }

  function checkSound() {
    var context = audioContext();
    // Browsers start audio muted until someone touches the page, unless the display is
    // configured to allow it; then a touch anywhere turns the sound on.
    soundButton.hidden = !context || context.state === "running";
  }

  function chime() {
    var context = audioContext();
    if (!context) return 0;
    if (context.state !== "running") context.resume();
    var start = context.currentTime + 0.05;
    [
      [880, 0],
      [660, 0.4],
    ].forEach(function (tone) {
      var oscillator = context.createOscillator();
      var gain = context.createGain();
      var at = start + tone[1];
      oscillator.type = "sine";
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.5, at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.7);
      oscillator.connect(gain);
      gain.connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.75);
    });
    root.setAttribute("data-chimes", String(Number(root.getAttribute("data-chimes")) + 1));
    return 1200;
  }

  /**
   * "T-006" as a voice of that language says it: each letter of the prefix by its name in
   * that language ("Тэ" in Russian, "te" in Uzbek), then the number without its leading
   * zeros. The names come from the server (clinic/queue/speech.py, which tests the rule).
   */
  function spokenCode(code, letters) {
    var match = /^(.*?)[-\s]*0*(\d+)$/.exec(code);
    if (!match) return code;
    var words = [];
    Array.prototype.forEach.call(match[1], function (letter) {
      if (letter.toLowerCase() === letter.toUpperCase()) return; // not a letter
      var upper = letter.toUpperCase();
      words.push(letters && letters[upper] ? letters[upper] : letter);
    });
    words.push(match[2]);
    return words.join(" ");
  }

  /**
   * Room "12А" as a voice of that language says it: its digits as written, a single letter by
   * its name in that language ("12 А" in Russian, "12 A" in English), a longer run of letters
   * as the word it is, the parts apart ("2-05" is "2 05"). The same rule as the server's
   * (clinic/queue/speech.py spoken_room).
   */
  function spokenRoom(room, letters) {
    var parts = String(room).match(/[0-9]+|\p{L}+/gu);
    if (!parts) return room;
    return parts
      .map(function (part) {
        var upper = part.toUpperCase();
        return part.length === 1 && /\p{L}/u.test(part) && letters && letters[upper]
          ? letters[upper]
          : part;
      })
      .join(" ");
  }

  function callouts(ticket) {
    return config.voice.map(function (language) {
      var speech = config.speech[language];
      var template = ticket.room ? speech.withRoom : speech.withoutRoom;
      return {
        locale: speech.locale,
        text: Q.fill(template, {
          code: spokenCode(ticket.code, speech.letters),
          room: ticket.room ? spokenRoom(ticket.room, speech.letters) : "",
        }),
      };
    });
  }

  function voiceFor(locale) {
    var voices = window.speechSynthesis.getVoices() || [];
    var language = locale.split("-")[0];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").replace("_", "-").toLowerCase().indexOf(language) === 0) {
        return voices[i];
      }
    }
    return null;
  }

  function speak(lines, done) {
    var synth = window.speechSynthesis;
    if (!synth || typeof window.SpeechSynthesisUtterance !== "function") {
      window.setTimeout(done, 1000);
      return;
    }
    var left = lines.length;
    var finished = false;
    var length = lines.reduce(function (sum, line) {
      return sum + line.text.length;
    }, 0);
    function finish() {
      if (finished) return;
      finished = true;
      window.clearTimeout(guard);
      done();
    }
    // Not every engine reports the end (a display without a voice for a language): move on
    // after about as long as the words take.
    var guard = window.setTimeout(finish, 2500 + length * 110);
    lines.forEach(function (line) {
      var utterance = new window.SpeechSynthesisUtterance(line.text);
      utterance.lang = line.locale;
      utterance.rate = 0.9;
      var voice = voiceFor(line.locale);
      if (voice) utterance.voice = voice;
      utterance.onend = utterance.onerror = function () {
        left -= 1;
        if (left <= 0) finish();
      };
      synth.speak(utterance);
    });
  }

  // Calls are announced one after another. One that has been overtaken by the time its turn
  // comes (started, recalled again, or replayed after a reconnect) is skipped.
  var waitingTurn = [];
  var speaking = false;

  function announce(queueId, ticket) {
    waitingTurn.push({ queue: queueId, id: ticket.ticket_id, recalls: ticket.recalls });
    if (!speaking) window.setTimeout(nextAnnouncement, 50);
  }

  function nextAnnouncement() {
    if (speaking) return;
    var item = waitingTurn.shift();
    if (!item) return;
    var ticket = queues[item.queue].tickets[item.id];
    if (!ticket || ticket.status !== "called" || ticket.recalls !== item.recalls) {
      nextAnnouncement();
      return;
    }
    speaking = true;
    var lines = callouts(ticket);
    callout.textContent = ticket.code + (ticket.room ? " → " + ticket.room : "");
    announcements.push({ code: ticket.code, room: ticket.room, lines: lines, at: Date.now() });
    var pause = config.chime ? chime() : 0;
    window.setTimeout(function () {
      speak(lines, function () {
        speaking = false;
        nextAnnouncement();
      });
    }, pause);
  }

  // -- the clock and the connection ------------------------------------------------------------

  function tick() {
    try {
      clock.textContent = new Date().toLocaleTimeString(document.documentElement.lang, {
        hour: "2-digit",
        minute: "2-digit",
        timeZone: config.timezone,
      });
    } catch (e) {
      clock.textContent = new Date().toTimeString().slice(0, 5);
    }
  }

  soundButton.addEventListener("click", function () {
    var context = audioContext();
    if (context) context.resume().then(checkSound);
  });
  root.addEventListener("click", function () {
    if (audio && audio.state !== "running") audio.resume().then(checkSound);
  });

  // -- never stuck ----------------------------------------------------------------------------
  // ClinicSocket reconnects forever with backoff. Besides, after every reconnect, after a
  // channel is refused and every few minutes, the board asks the server whether its
  // credential still works and whether the page still shows the board as configured: a
  // stale page reloads itself, a revoked screen goes to the pairing page. A failed question
  // (the server away) changes nothing and is asked again later.
  var CHECK_EVERY_MS = 5 * 60 * 1000;
  var checking = false;
  var wasLive = false;
  var channelLost = false;

  function checkBoard(lostChannel) {
    if (checking || !window.fetch) return;
    checking = true;
    window
      .fetch(config.checkUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 401) {
          return answer.json().then(function (body) {
            window.location.assign(body.pair_url);
          });
        }
        if (!answer.ok) return null;
        return answer.json().then(function (body) {
          var stale = !body.active || body.version !== config.version;
          // A channel lost while the credential works: a fresh page subscribes again.
          if (stale || lostChannel === true || channelLost) window.location.reload();
        });
      })
      .catch(function () {
        /* the server is away: the socket's reconnect and the next round ask again */
      })
      .then(function () {
        checking = false;
      });
  }

  window.ClinicSocket.onStatus(function (status) {
    // A board has no session to end: a socket closed for its credential (the screen revoked,
    // the board switched off) leaves a board showing no calls, which says so, and asks at
    // once whether to pair again or show the "off" page, not at its next round.
    root.setAttribute("data-connection", status === "signedout" ? "reconnecting" : status);
    if (status === "live" && wasLive) checkBoard(false);
    if (status === "live") wasLive = true;
    if (status === "signedout") checkBoard(false);
  });
  window.setInterval(function () {
    checkBoard(false);
  }, CHECK_EVERY_MS);
  config.queues.forEach(function (queue) {
    window.ClinicSocket.subscribe("board:" + queue.id, {
      onSnapshot: function (data) {
        showSnapshot(queue.id, data);
      },
      onEvent: function (event) {
        // A queue renamed or moved to another room, or switched on again (changed with the
        // switch or while it was off): the page drawn from it may be out of date, which the
        // board asks about (and reloads) now rather than at its next round.
        if (event.type === "queue.changed" || event.type === "queue.switched_on") {
          checkBoard(false);
        }
        showEvent(queue.id, event);
      },
      onError: function () {
        // The channel was refused: the page or its credential is out of date.
        channelLost = true;
        window.setTimeout(function () {
          checkBoard(true);
        }, 1000);
      },
    });
  });

  tick();
  window.setInterval(tick, 10000);
  checkSound();
  render();
})();
