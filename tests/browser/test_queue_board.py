"""The display board in headless Chromium: a doctor's call shows within a second, recalls are
announced, the board's frames carry no patient's name or phone; a board paired by a display's
sign-in outlives that session and a web server restart and comes back by itself, without a
reload."""

from __future__ import annotations

import json
import os
import signal
import subprocess  # nosec B404 - starts our own web server
import sys
import time
import urllib.error
import urllib.request
from datetime import time as time_of_day
from pathlib import Path

import pytest

from clinic.models import TicketSource
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.speech import spoken_room
from clinic.reference import directory as reference
from clinic.reference import patients
from tests.browser.conftest import new_tab, sign_in, sign_in_by_form, wait_live
from tests.conftest import PASSWORD, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PATIENT_NAME = "Секретов Пациент Тайнович"
PHONE = "+998901234567"


def issue(runtime, queue_id: int, **kwargs):
    with runtime.db.transaction() as s:
        ticket = q.issue_ticket(s, queue_id, tz=runtime.settings.tz, **kwargs)
        return ticket.code


def open_board(browser, base_url: str, hall: dict, lang: str = "ru"):
    context, tab = new_tab(browser, viewport={"width": 1920, "height": 1080})
    frames: list[str] = []
    tab.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(frame)))
    tab.goto(f"{base_url}/board/{hall['board']}?token={hall['display_token']}&lang={lang}")
    wait_live(tab)
    return context, tab, frames


@pytest.mark.timed
def test_a_call_from_the_doctors_page_reaches_the_board_within_a_second_and_so_does_a_recall(
    browser, live_server, runtime, queue_hall
):
    with runtime.db.transaction() as s:
        patient = patients.create_patient(
            s, {"full_name": PATIENT_NAME, "sex": "M", "phone": PHONE}
        )
        patient_id = patient.id
    code = issue(
        runtime, queue_hall["queue"], source=TicketSource.ONLINE, patient_id=patient_id, phone=PHONE
    )
    board_context, board, frames = open_board(browser, live_server, queue_hall)
    doctor_context, doctor = new_tab(browser)
    try:
        board.wait_for_selector("#board-waiting [data-waiting]:text-is('1')")
        # The moments the number is first shown, then first shown recalled, by the browser's own
        # clock (the doctor's page runs in the same browser, on the same clock).
        board.evaluate(
            """(code) => {
              window.seenAt = null;
              window.recallSeenAt = null;
              new MutationObserver(() => {
                const row = document.querySelector(`#board-calling [data-code="${code}"]`);
                if (row && window.seenAt === null) window.seenAt = Date.now();
                if (row && row.dataset.recalls === '1' && window.recallSeenAt === null) {
                  window.recallSeenAt = Date.now();
                }
              }).observe(document.getElementById('board-calling'),
                         {childList: true, subtree: true, attributes: true});
            }""",
            code,
        )
        sign_in(doctor, live_server, queue_hall["doctor"])
        doctor.goto(f"{live_server}/queue/doctor?lang=en")
        wait_live(doctor)
        doctor.wait_for_selector(f"#waiting-list [data-code='{code}']")
        # The moment of each click as the page receives it: the time Playwright itself takes to
        # find and click the button on a busy machine is not the system's.
        doctor.evaluate("""() => {
              window.clicks = {};
              document.addEventListener('click', (event) => {
                const button = event.target.closest('#call-next, [data-action="recall"]');
                if (button) window.clicks[button.id || button.dataset.action] = Date.now();
              }, {capture: true});
            }""")

        doctor.click("#call-next")
        board.wait_for_selector(f"#board-calling [data-code='{code}']")
        shown_after = board.evaluate("window.seenAt") - doctor.evaluate(
            "window.clicks['call-next']"
        )
        assert shown_after < 1000
        row = board.locator(f"#board-calling [data-code='{code}']")
        assert row.locator(".board-call__room").inner_text() == "12"

        doctor.click(f"#current [data-code='{code}'] [data-action='recall']")
        board.wait_for_selector(f"#board-calling [data-code='{code}'][data-recalls='1']")
        recalled_after = board.evaluate("window.recallSeenAt") - doctor.evaluate(
            "window.clicks['recall']"
        )
        assert recalled_after < 1000
        # Both calls are announced, in the board's three languages, the number said naturally.
        board.wait_for_function("() => ClinicBoard.announcements.length === 2", timeout=20_000)
        announced = board.evaluate("ClinicBoard.announcements")
        assert [a["code"] for a in announced] == [code, code]
        # The prefix's letter by its name in each voice (clinic/queue/speech.py).
        assert [line["text"] for line in announced[1]["lines"]] == [
            "Талон Ка 1, кабинет 12",
            "ka 1 raqamli talon, 12-xona",
            "Ticket K 1, room 12",
        ]
        assert [line["locale"] for line in announced[0]["lines"]] == ["ru-RU", "uz-UZ", "en-US"]
        assert int(board.get_attribute("#board", "data-chimes")) == 2
    finally:
        doctor_context.close()
        board_context.close()

    texts = [f if isinstance(f, str) else f.decode("utf-8", "replace") for f in frames]
    events = [json.loads(t) for t in texts if '"op":"event"' in t]
    assert {e["type"] for e in events} >= {"ticket.called", "ticket.recalled"}
    everything = "\n".join(texts)
    for secret in (PATIENT_NAME, "Секретов", PHONE, PHONE[1:], "901234567"):
        assert secret not in everything
    assert '"phone"' not in everything and '"patient_id"' not in everything


def test_the_voice_says_a_rooms_letter_by_its_name_in_each_language(
    browser, live_server, runtime, queue_hall
):
    """Room 12А (a Cyrillic А on its door): "12 А" in Russian, "12 a" in Uzbek and "12 A" in
    English, whose voice cannot read a Cyrillic letter; as clinic/queue/speech.py says it."""
    with runtime.db.transaction() as s:
        reference.update_room(s, queue_hall["room"], {"number": "12А"})
    code = issue(runtime, queue_hall["queue"])
    board_context, board, _frames = open_board(browser, live_server, queue_hall)
    try:
        # Its snapshot first: a call made before the board follows the queue arrives in the
        # snapshot, shown but not announced (a board opened after a call does not call it).
        board.wait_for_selector("#board-waiting [data-waiting]:text-is('1')")
        with runtime.db.transaction() as s:
            calls.call_next(
                s, queue_hall["queue"], tz=runtime.settings.tz, room_id=queue_hall["room"]
            )
        board.wait_for_function("() => ClinicBoard.announcements.length === 1", timeout=20_000)
        announced = board.evaluate("ClinicBoard.announcements")[0]
        assert announced["code"] == code and announced["room"] == "12А"
        assert [line["text"] for line in announced["lines"]] == [
            "Талон Ка 1, кабинет 12 А",
            "ka 1 raqamli talon, 12 a-xona",
            "Ticket K 1, room 12 A",
        ]
        said = [spoken_room("12А", language) for language in ("ru", "uz", "en")]
        assert said == ["12 А", "12 a", "12 A"]
    finally:
        board_context.close()


# -- the restart ------------------------------------------------------------------------------


class WebServer:
    """``gunicorn -c web/gunicorn_conf.py 'web:create_app()'`` as ``clinic web`` runs it, on a
    fixed port, so that it can be stopped and started again at the same address."""

    def __init__(self, settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "CLINIC_ENV": "test",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "CLINIC_INSTANCE": str(settings.instance_path),
            "CLINIC_REDIS_PREFIX": settings.redis_prefix,
            "SECRET_KEY": settings.secret_key,
            "CLINIC_ARGON2_TIME_COST": "1",
            "CLINIC_ARGON2_MEMORY_KIB": "8192",
            "WEB_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, timeout: float = 60.0) -> None:  # generous: a loaded 2-core machine
        argv = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "web/gunicorn_conf.py")]
        # Open sockets would hold a stopping worker for the whole graceful period.
        argv += ["--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "2", "web:create_app()"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # nosec B603 - our own command line
                argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/live", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"the web server did not answer: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@pytest.fixture
def web_server(settings, runtime, tmp_path):
    server = WebServer(settings, tmp_path / "web.log")
    server.start()
    yield server
    if server.process is not None:
        server.process.kill()
        server.process.wait(10)


def test_a_board_paired_by_a_display_sign_in_outlives_the_session_and_a_restart(
    browser, runtime, settings, queue_hall, web_server
):
    first = issue(runtime, queue_hall["queue"])
    second = issue(runtime, queue_hall["queue"])
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_hall["queue"], tz=runtime.settings.tz, room_id=queue_hall["room"])
    context, board = new_tab(browser, viewport={"width": 1920, "height": 1080})
    try:
        # The hall's screen is signed in once as the display account and opens its board:
        # the screen is paired for good and lands on the board's clean address.
        sign_in_by_form(board, web_server.url, queue_hall["display"])
        assert board.url == f"{web_server.url}/board/{queue_hall['board']}"
        wait_live(board)
        navigations = []
        board.on("framenavigated", lambda frame: navigations.append(frame.url))
        board.evaluate("() => { window.loadedOnce = 'still the same page'; }")
        board.wait_for_selector(f"#board-calling [data-code='{first}']")

        # Idle past CLINIC_SESSION_IDLE_MINUTES: the session's key has expired in Redis.
        sessions = list(runtime.redis.scan_iter(f"{settings.redis_prefix}:session:*"))
        assert sessions and runtime.redis.delete(*sessions) == len(sessions)
        web_server.stop()
        board.wait_for_selector("#board[data-connection='reconnecting']", timeout=10_000)
        assert board.is_visible(".board__offline")
        # Called while the server is down: the event waits in Redis and the outbox (the
        # first patient seen first: the room holds one at a time).
        with runtime.db.transaction() as s:
            tz, queue = runtime.settings.tz, q.get_queue(s, queue_hall["queue"])
            holder = calls.holder_now(s, queue, queue_hall["room"], tz=tz)
            calls.finish_service(s, holder, tz=tz)
            calls.call_next(
                s, queue_hall["queue"], tz=runtime.settings.tz, room_id=queue_hall["room"]
            )
        web_server.start()

        board.wait_for_selector(f"#board-calling [data-code='{second}']", timeout=30_000)
        board.wait_for_selector("#board[data-connection='live']", timeout=5_000)
        assert board.is_hidden(".board__offline")
        assert board.evaluate("window.loadedOnce") == "still the same page"
        assert navigations == []
        assert board.inner_text(f"#board-calling [data-code='{second}'] .board-call__room") == "12"
        assert board.inner_text("#board-waiting [data-waiting]") == "0"
        # The board's own language (ru by default), not the browser's (en-US here).
        assert board.text_content("#board-now") == "Сейчас вызываются"
    finally:
        context.close()


# -- the screen's size ------------------------------------------------------------------------


def test_a_board_of_five_busy_queues_fits_full_hd_and_hd_screens(browser, live_server, runtime):
    """Five queues with long names, five patients called and a long waiting list: the page is
    never taller than the screen, and every queue's waiting count is on it."""
    from clinic.accounts import tokens, users
    from clinic.reference import directory as reference

    queue_ids = []
    with runtime.db.transaction() as s:
        for n in range(5):
            department = reference.create_department(
                s,
                {
                    "code": f"d{n}",
                    "ticket_prefix": "ABCDE"[n],
                    "name_ru": f"Отделение функциональной диагностики и реабилитации № {n}",
                    "name_uz": f"Funksional diagnostika va reabilitatsiya bo'limi {n}",
                    "name_en": f"Functional diagnostics and rehabilitation {n}",
                },
            )
            room = reference.create_room(s, {"number": f"{100 + n}", "name": ""})
            queue = queue_admin.create_queue(
                s,
                {
                    "code": f"d{n}",
                    "department_id": department.id,
                    "room_id": room.id,
                    "closes_at": time_of_day(23, 59, 59, 999999),
                },
            )
            queue_ids.append((queue.id, room.id))
        board_id = queue_boards.create_board(
            s, {"name": "Main hall", "queue_ids": [i for i, _ in queue_ids]}
        ).id
        display = users.create_user(s, username="display-fit", password=PASSWORD, roles=["display"])
        token = tokens.create_token(s, display, name="hall")[1]
    for queue_id, room_id in queue_ids:
        for _ in range(12):
            issue(runtime, queue_id)
        with runtime.db.transaction() as s:
            calls.call_next(s, queue_id, tz=runtime.settings.tz, room_id=room_id)
    context, tab = new_tab(browser, viewport={"width": 1920, "height": 1080})
    try:
        tab.goto(f"{live_server}/board/{board_id}?token={token}")
        wait_live(tab)
        tab.wait_for_function("() => document.querySelectorAll('#board-calling li').length === 5")
        for width, height in ((1920, 1080), (1280, 720)):
            tab.set_viewport_size({"width": width, "height": height})
            tab.wait_for_function(f"() => window.innerHeight === {height}")
            fit = tab.evaluate("""() => ({
                  document: document.documentElement.scrollHeight,
                  body: document.body.scrollHeight,
                  width: document.documentElement.scrollWidth,
                  bottoms: [...document.querySelectorAll(
                    '#board-waiting li, #board-calling li')].map(
                    (e) => e.getBoundingClientRect().bottom),
                })""")
            assert fit["document"] <= height and fit["body"] <= height, (width, fit)
            assert fit["width"] <= width, (width, fit)
            assert len(fit["bottoms"]) == 10 and max(fit["bottoms"]) <= height, (width, fit)
            assert tab.locator("#board-waiting [data-waiting]:text-is('11')").count() == 5
    finally:
        context.close()


# Whether an element is whole on the screen: inside the window and inside every ancestor
# that cuts what overflows it, and its text not cut at its own edge either.
WHOLE_ON_SCREEN = """(element) => {
  const box = element.getBoundingClientRect();
  const inside = (outer) => box.left >= outer.left - 1 && box.right <= outer.right + 1
    && box.top >= outer.top - 1 && box.bottom <= outer.bottom + 1;
  if (!box.width || !box.height) return false;
  if (!inside({left: 0, top: 0, right: innerWidth, bottom: innerHeight})) return false;
  if (element.scrollWidth > element.clientWidth + 1) return false;
  for (let outer = element.parentElement; outer; outer = outer.parentElement) {
    if (getComputedStyle(outer).overflow !== 'visible'
        && !inside(outer.getBoundingClientRect())) return false;
  }
  return true;
}"""


# Hall screens lying (16:9, 4:3, a small 1024x600 one) and standing.
SCREENS = ((1920, 1080), (1280, 720), (1024, 768), (1024, 600), (1080, 1920), (768, 1366))


def test_a_board_of_sixteen_queues_fits_landscape_and_portrait_screens(
    browser, live_server, runtime
):
    """Sixteen queues of two-letter prefixes, five patients called and earlier calls: on a
    hall's screen lying or standing, each called ticket's code stays on one line with its room
    beside it, and every queue's waiting count is on the screen, the last one as well."""
    from clinic.accounts import tokens, users

    queues = []
    with runtime.db.transaction() as s:
        prefixes = [first + second for first in "ЖШЩЮ" for second in "MWЖШ"]
        for n, prefix in enumerate(prefixes):
            department = reference.create_department(
                s,
                {
                    "code": f"w{n}",
                    "ticket_prefix": prefix,
                    "name_ru": f"Отделение функциональной диагностики № {n}",
                    "name_uz": f"Funksional diagnostika bo'limi {n}",
                    "name_en": f"Functional diagnostics {n}",
                },
            )
            room = reference.create_room(s, {"number": f"{200 + n}", "name": ""})
            queue = queue_admin.create_queue(
                s,
                {
                    "code": f"w{n}",
                    "department_id": department.id,
                    "room_id": room.id,
                    "closes_at": time_of_day(23, 59, 59, 999999),
                },
            )
            queues.append((queue.id, room.id))
        board_id = queue_boards.create_board(
            s, {"name": "Main hall", "queue_ids": [i for i, _ in queues]}
        ).id
        display = users.create_user(s, username="display-16", password=PASSWORD, roles=["display"])
        token = tokens.create_token(s, display, name="hall")[1]
    tz = runtime.settings.tz
    for n, (queue_id, room_id) in enumerate(queues):
        for _ in range(3):
            issue(runtime, queue_id)
        if n < 8:  # five called now, three called and seen before them
            with runtime.db.transaction() as s:
                called = calls.call_next(s, queue_id, tz=tz, room_id=room_id)
                if n >= 5:
                    calls.finish_service(s, called, tz=tz)
    context, tab = new_tab(browser, viewport={"width": 1920, "height": 1080})
    try:
        tab.goto(f"{live_server}/board/{board_id}?token={token}")
        wait_live(tab)
        tab.wait_for_function("() => document.querySelectorAll('#board-calling li').length === 5")
        tab.wait_for_function("() => document.querySelectorAll('#board-recent li').length === 3")
        tab.wait_for_selector("#board-waiting li:last-child [data-waiting]:text-is('3')")
        tab.evaluate(f"() => {{ window.wholeOnScreen = {WHOLE_ON_SCREEN}; }}")
        for width, height in SCREENS:
            tab.set_viewport_size({"width": width, "height": height})
            tab.wait_for_function(f"() => innerWidth === {width} && innerHeight === {height}")
            seen = tab.evaluate("""() => {
                  const whole = window.wholeOnScreen;
                  const lines = (element) => {
                    const range = document.createRange();
                    range.selectNodeContents(element);
                    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
                  };
                  const calls = [...document.querySelectorAll('#board-calling li')].map((li) => {
                    const code = li.querySelector('.board-call__code');
                    const room = li.querySelector('.board-call__room');
                    return {code: code.textContent, lines: lines(code),
                            whole: whole(code) && whole(room)};
                  });
                  const rows = [...document.querySelectorAll('#board-waiting li')];
                  const last = rows[rows.length - 1];
                  return {
                    calls,
                    rows: rows.length,
                    lastRow: whole(last) && whole(last.querySelector('[data-waiting]')),
                    lastCount: last.querySelector('[data-waiting]').textContent,
                    type: parseFloat(
                      getComputedStyle(last.querySelector('.board__queue')).fontSize),
                    heading: whole(document.getElementById('board-waiting-heading')),
                    page: [document.documentElement.scrollWidth,
                           document.documentElement.scrollHeight],
                  };
                }""")
            size = (width, height)
            assert len(seen["calls"]) == 5, (size, seen)
            for call in seen["calls"]:
                assert call["lines"] == 1 and call["whole"], (size, call)
            assert seen["rows"] == 16 and seen["lastRow"], (size, seen)
            assert seen["lastCount"] == "3" and seen["heading"], (size, seen)
            assert seen["type"] >= 12, (size, seen)  # shrunk to fit, still read from near
            assert seen["page"] == [width, height], (size, seen)
    finally:
        context.close()
