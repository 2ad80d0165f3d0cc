"""The floor programs' server: the least a Flask app under the same gunicorn gevent worker can
do for the same work. ``GET /row`` reads one row from the database and answers it as JSON;
``/ws`` holds a WebSocket, and ``POST /fanout`` sends one small message to every socket held,
one after the other (a naive fan-out, no queue, no Redis).

Served by ``gunicorn -k gevent 'bench.support.floor_app:create_app()'`` with ``FLOOR_DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import time

from flask import Flask, jsonify
from flask_sock import Sock
from sqlalchemy import create_engine, text


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
