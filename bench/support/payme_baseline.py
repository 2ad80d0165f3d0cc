"""The comparison for bench/payme_flow.py: a minimal Flask handler doing the same writes as
our Payme endpoint, without its guarantees.

No row locks, no idempotency check, no hold on the invoice, no provider log, no audit row,
no outbox event, no after-commit task: Check reads the invoice, Create inserts the
transaction, Perform updates it and inserts the payment and the invoice's paid amount.
Served by the same gunicorn gevent worker (``gunicorn -k gevent bench.support.payme_baseline:app``)
against the same database (``DATABASE_URL``).
"""

from __future__ import annotations

import os
import time

from flask import Flask, jsonify, request
from sqlalchemy import text

from clinic.db import make_engine
from clinic.settings import normalise_database_url

app = Flask(__name__)
engine = make_engine(normalise_database_url(os.environ["DATABASE_URL"]))


def _now() -> int:
    return int(time.time() * 1000)


@app.post("/payments/payme")
def payme():
    doc = request.get_json()
    params, method = doc["params"], doc["method"]
    with engine.begin() as conn:
        if method == "CheckPerformTransaction":
            invoice_id = int(params["account"]["invoice_id"])
            total = conn.execute(
                text("SELECT total FROM invoices WHERE id = :id"), {"id": invoice_id}
            ).scalar()
            result = {"allow": total == params["amount"]}
        elif method == "CreateTransaction":
            now = _now()
            row = conn.execute(
                text(
                    "INSERT INTO payme_transactions (payme_id, invoice_id, amount, account,"
                    " payme_time, create_time, perform_time, cancel_time, state)"
                    " VALUES (:pid, :inv, :amount, :account, :time, :now, 0, 0, 1)"
                    " RETURNING id"
                ),
                {
                    "pid": params["id"],
                    "inv": int(params["account"]["invoice_id"]),
                    "amount": params["amount"],
                    "account": '{"invoice_id": "%s"}' % params["account"]["invoice_id"],
                    "time": params["time"],
                    "now": now,
                },
            ).scalar()
            result = {"create_time": now, "transaction": str(row), "state": 1}
        else:  # PerformTransaction
            now = _now()
            txn = conn.execute(
                text("SELECT id, invoice_id, amount FROM payme_transactions WHERE payme_id = :p"),
                {"p": params["id"]},
            ).one()
            conn.execute(
                text("UPDATE payme_transactions SET state = 2, perform_time = :now WHERE id = :id"),
                {"now": now, "id": txn.id},
            )
            conn.execute(
                text(
                    "INSERT INTO payments (invoice_id, method, amount, refunded_amount, provider,"
                    " provider_ref, actor, created_at) VALUES (:inv, 'payme', :amount, 0,"
                    " 'payme', :ref, 'payme', CURRENT_TIMESTAMP)"
                ),
                {"inv": txn.invoice_id, "amount": txn.amount, "ref": params["id"]},
            )
            conn.execute(
                text(
                    "UPDATE invoices SET paid_amount = paid_amount + :amount, status = 'paid'"
                    " WHERE id = :inv"
                ),
                {"amount": txn.amount, "inv": txn.invoice_id},
            )
            result = {"transaction": str(txn.id), "perform_time": now, "state": 2}
    return jsonify({"jsonrpc": "2.0", "id": doc["id"], "result": result})


@app.get("/health/live")
def live():
    return "ok"
