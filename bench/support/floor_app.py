"""The floor programs' server: the least a Flask app under the same gunicorn gevent worker can
do for the same work. ``GET /row`` reads one row from the database and answers it as JSON;
``POST /counter`` takes the next number of one counter row (``UPDATE ... RETURNING`` in a
transaction of its own, the table ``bench_web_counter`` made by the bench beforehand) and
answers it as JSON with 201, as issuing a ticket does; ``POST /counter-at-once`` does the same
in one round trip (the ``UPDATE`` as a statement of its own, committed by the server: the row
is locked for no round trip); ``/ws`` holds a WebSocket, and
``POST /fanout`` sends one small message to every socket held, one after the other (a naive
fan-out, no queue, no Redis).

Served by ``gunicorn -k gevent 'bench.support.floor_app:create_app()'`` with ``FLOOR_DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import time

from flask import Flask, jsonify
from flask_sock import Sock
from sqlalchemy import create_engine, text

TAKE_NUMBER = "UPDATE bench_web_counter SET n = n + 1 WHERE id = 1 RETURNING n"


def create_app() -> Flask:
    app = Flask(__name__)
    sock = Sock(app)
    engine = create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=10, max_overflow=20)
    sockets: set = set()

    @app.get("/row")
    def row():
        with engine.connect() as conn:
            found = conn.execute(text("SELECT id, code, prefix FROM queues LIMIT 1")).first()
        return jsonify({"id": found.id, "code": found.code, "prefix": found.prefix})

    @app.post("/counter")
    def counter():
        with engine.begin() as conn:
            taken = conn.execute(text(TAKE_NUMBER)).scalar_one()
        return jsonify({"number": taken}), 201

    @app.post("/counter-at-once")
    def counter_at_once():
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.autocommit = True
            try:
                taken = raw.execute(TAKE_NUMBER).fetchone()[0]
            finally:
                raw.autocommit = False
        return jsonify({"number": taken}), 201

    @app.post("/fanout")
    def fanout():
        message = json.dumps({"sent": time.monotonic()})
        for ws in list(sockets):
            try:
                ws.send(message)
            except Exception:  # a client went away: drop it
                sockets.discard(ws)
        return jsonify({"sockets": len(sockets)})

    @sock.route("/ws")
    def ws(socket):
        sockets.add(socket)
        try:
            while socket.receive() is not None:
                pass
        finally:
            sockets.discard(socket)

    return app
