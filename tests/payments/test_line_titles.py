"""An invoice's lines name their service in each language of the interface, and the cashier's
desk names them in its own: an Uzbek desk lists "Xizmat ..." as its new-invoice form
offered it, not the Russian name the line keeps for the fiscal receipt."""

from __future__ import annotations

import json

from sqlalchemy import select

from clinic.models import OutboxEvent
from clinic.payments import invoices
from tests.payments.fixtures import make_patient, make_service
from tests.web.page_scripts import STAND_IN, run, script

NAMES = {"ru": "Услуга KONS-1", "uz": "Xizmat KONS-1", "en": "Service KONS-1"}


def test_each_line_names_its_service_in_every_language(runtime, client_as):
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        service = make_service(s, 150_000_00, code="KONS-1")
        invoice = invoices.create_invoice(
            s, patient_id=patient, lines=[{"service_id": service}], actor="cashier"
        )
        invoice_id, number = invoice.id, invoice.number
    with runtime.db.transaction() as s:
        created = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "invoice.created")
            .order_by(OutboxEvent.id.desc())
        ).first()
    line = created.data["invoice"]["lines"][0]
    # The Russian title is the one copied onto the line (receipts, fiscal data) as before.
    assert line["title"] == NAMES["ru"]
    assert line["titles"] == NAMES
    cashier = client_as("cashier")
    assert (
        cashier.get(f"/api/v1/payments/invoices/{invoice_id}").get_json()["lines"][0]["titles"]
        == NAMES
    )
    found = cashier.get(f"/api/v1/payments/invoices?number={number}").get_json()
    assert found[0]["lines"][0]["titles"] == NAMES
    # The desk's channel: the snapshot a desk (re)connecting draws its list from.
    from clinic.channels import snapshot

    with runtime.db.transaction() as s:
        snapshot, _ = snapshot(s, "payments:desk", runtime.settings.tz)
    mine = [i for i in snapshot["invoices"] if i["id"] == invoice_id]
    assert mine and mine[0]["lines"][0]["titles"] == NAMES


DESK = STAND_IN + """
var document = standIn(), handlers = null, drawn = [];
window.ClinicQueue = {
  config: function () {
    return { texts: standIn(), money: {}, channel: "payments:desk", shiftApi: "/shift",
             language: LANGUAGE };
  },
  fill: function (t) { return String(t); },
  say: function () {},
  element: function (tag, cls, text) {
    if (typeof text === "string") drawn.push(text);
    return standIn();
  },
  api: function () { return Promise.resolve({ status: 200, body: { shift: null } }); },
};
window.ClinicMoney = function () { return function (x) { return String(x); }; };
window.ClinicMoney.reader = function () { return function () { return null; }; };
window.ClinicSocket = {
  subscribe: function (channel, h) { handlers = h; },
  onStatus: function () {},
};
"""

TITLES = {"ru": "Консультация", "uz": "Konsultatsiya", "en": "Consultation"}


def _invoice(line: dict, status: str = "open") -> dict:
    return {
        "id": 1, "number": "26-0000001", "status": status, "total": 100, "paid_amount": 0,
        "amount_due": 100, "lines": [line],
    }  # fmt: skip


def _drawn(language: str, snapshot: list[dict], events: list[dict] = ()) -> list[str]:
    program = (
        f"var LANGUAGE = {json.dumps(language)};\n"
        + DESK
        + script("once.js")
        + script("cashier-shift.js")
        + script("cashier.js")
        + f"\nhandlers.onSnapshot({{invoices: {json.dumps(snapshot)}}});"
        + f"\ndrawn.length = 0; {json.dumps(list(events))}.forEach(handlers.onEvent);"
        + "\nprocess.stdout.write(JSON.stringify(drawn));"
    )
    return run(program)


def test_the_desk_lists_each_line_in_its_own_language():
    line = {"service_id": 7, "title": TITLES["ru"], "titles": TITLES, "quantity": 2}
    assert "Konsultatsiya ×2" in _drawn(
        "uz", [], [{"type": "invoice.created", "data": {"invoice": _invoice(line)}}]
    )
    assert "Consultation ×2" in _drawn(
        "en", [], [{"type": "invoice.created", "data": {"invoice": _invoice(line)}}]
    )
    # A line that comes without its names (a payment from Payme's side): named as the desk
    # learned its service before, not in Russian.
    bare = {"service_id": 7, "title": TITLES["ru"], "quantity": 1}
    paid = {"type": "invoice.paid", "data": {"invoice": _invoice(bare, "paid")}}
    assert "Konsultatsiya" in _drawn("uz", [_invoice(line)], [paid])
    # A service the desk never saw named: its title, as before.
    assert "Консультация" in _drawn("uz", [], [paid])
