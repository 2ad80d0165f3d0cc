"""Invoices and the cashier's desk over HTTP: the flow, large refunds, bad input, the page."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, insert, select

from clinic.base import utcnow
from clinic.models import Invoice, OutboxEvent, Payment
from clinic.payments.desk import DESK_LIST_LIMIT
from clinic.queue import calls
from clinic.queue import tickets as queue_tickets
from clinic.reference import patients
from tests.payments.fixtures import TZ, issue_ticket, make_patient, make_queue, make_service


def _catalogue(runtime, price=25_000_00):
    with runtime.db.transaction() as s:
        return make_patient(s), make_service(s, price)


def _invoice(client, patient, service, quantity=1):
    answer = client.post(
        "/api/v1/payments/invoices",
        json={"patient_id": patient, "lines": [{"service_id": service, "quantity": quantity}]},
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_cashiers_day_open_invoice_cash_with_change_reprint_close(client_as, runtime):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    assert cashier.get("/api/v1/payments/shifts/current").get_json() == {"shift": None}
    opened = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 50_000_00})
    assert opened.status_code == 201 and opened.get_json()["cash_in_drawer"] == 50_000_00

    invoice = _invoice(cashier, patient, service, quantity=2)
    assert (invoice["total"], invoice["amount_due"], invoice["status"]) == (
        50_000_00,
        50_000_00,
        "open",
    )
    paid = cashier.post(
        f"/api/v1/payments/invoices/{invoice['id']}/pay",
        json={"method": "cash", "tendered": 60_000_00, "idempotency_key": "k-0000-0001"},
    )
    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["payment"]["change"] == 10_000_00
    assert paid.get_json()["invoice"]["status"] == "paid"
    again = cashier.post(
        f"/api/v1/payments/invoices/{invoice['id']}/pay",
        json={"method": "cash", "tendered": 60_000_00, "idempotency_key": "k-0000-0001"},
    )
    assert again.get_json()["payment"]["id"] == paid.get_json()["payment"]["id"]

    detail = cashier.get(f"/api/v1/payments/invoices/{invoice['id']}").get_json()
    assert [p["amount"] for p in detail["payments"]] == [50_000_00]
    listed = cashier.get("/api/v1/payments/invoices?status=paid").get_json()
    assert [i["id"] for i in listed] == [invoice["id"]]
    assert cashier.post(f"/api/v1/payments/invoices/{invoice['id']}/reprint").status_code == 202

    closed = cashier.post(
        "/api/v1/payments/shifts/current/close", json={"counted_cash": 100_000_00}
    )
    assert closed.status_code == 200
    assert (closed.get_json()["expected_cash"], closed.get_json()["discrepancy"]) == (
        100_000_00,
        0,
    )
    # Closed again from a second screen: the code the page words ("Open your shift first").
    again = cashier.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
    assert (again.status_code, again.get_json()["code"]) == (404, "no_open_shift")


def _paid_above_the_limit(runtime, cashier, method: str) -> tuple[dict, str, dict]:
    """An invoice 100,000 UZS above the refund approval limit, paid by ``method`` at the
    cashier's newly opened shift (no cash in it before); answers the shift, the invoice's
    refunds address and a refund of one tiyin above the limit."""
    patient, service = _catalogue(runtime, price=runtime.settings.refund_approval_from + 100_000_00)
    shift = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).get_json()
    invoice = _invoice(cashier, patient, service)
    pay_url = f"/api/v1/payments/invoices/{invoice['id']}/pay"
    assert cashier.post(pay_url, json={"method": method}).status_code == 201
    large = {"amount": runtime.settings.refund_approval_from + 1, "reason": "отказ от операции"}
    return shift, f"/api/v1/payments/invoices/{invoice['id']}/refunds", large


def test_a_large_refund_is_refused_to_a_cashier_and_done_by_a_manager(client_as, runtime):
    cashier, manager = client_as("cashier"), client_as("manager")
    _shift, refund_url, large = _paid_above_the_limit(runtime, cashier, "card")
    refused = cashier.post(refund_url, json=large)
    assert refused.status_code == 403 and refused.get_json()["code"] == "approval_required"
    small = cashier.post(refund_url, json={"amount": 1_000_00, "reason": "ошибка в счёте"})
    assert small.status_code == 201 and small.get_json()["refund"]["approved_by"] is None
    approved = manager.post(refund_url, json=large)
    assert approved.status_code == 201, approved.get_json()
    assert approved.get_json()["refund"]["approved_by"] == manager.username
    assert approved.get_json()["invoice"]["status"] == "partly_refunded"


def test_a_manager_gives_a_large_sum_back_in_cash_from_the_cashiers_drawer(client_as, runtime):
    cashier, other, manager = client_as("cashier"), client_as("cashier"), client_as("manager")
    shift, refund_url, large = _paid_above_the_limit(runtime, cashier, "cash")
    # The manager has no drawer of his own: he names the one at the desk he stands at.
    no = manager.post(refund_url, json=large).get_json()  # told which field gives the drawer
    assert (no["status"], no["code"], [*no["errors"]]) == (409, "no_open_shift", ["shift_id"])
    from_other = other.post(refund_url, json={**large, "amount": 1_000_00, "shift_id": shift["id"]})
    assert from_other.status_code == 403 and "shift_id" in from_other.get_json()["errors"]
    unknown = manager.post(refund_url, json={**large, "shift_id": 999999})
    assert unknown.status_code == 422 and "shift_id" in unknown.get_json()["errors"]
    given = manager.post(refund_url, json={**large, "shift_id": shift["id"]})
    assert given.status_code == 201, given.get_json()
    assert given.get_json()["refund"]["approved_by"] == manager.username
    # The answer, and the desk's refund.recorded, name the drawer it left (her page follows).
    assert given.get_json()["refund"]["shift_id"] == shift["id"]
    with runtime.db.session() as s:
        told = s.scalars(
            select(OutboxEvent.data).where(OutboxEvent.type == "refund.recorded")
        ).all()
    assert [e["refund"]["shift_id"] for e in told] == [shift["id"]]
    # The cash left the cashier's drawer: her shift closes counting it.
    drawer = cashier.get("/api/v1/payments/shifts/current").get_json()["shift"]
    assert drawer["cash_in_drawer"] == 100_000_00 - 1


def test_only_the_desk_roles_take_payments_and_discounts_need_their_permission(client_as, runtime):
    cashier, registrar, manager = client_as("cashier"), client_as("registrar"), client_as("manager")
    patient, service = _catalogue(runtime)
    invoice = _invoice(cashier, patient, service)
    pay_url = f"/api/v1/payments/invoices/{invoice['id']}/pay"
    assert registrar.post(pay_url, json={"method": "cash"}).status_code == 403
    assert manager.post(pay_url, json={"method": "cash"}).status_code == 403
    discount_url = f"/api/v1/payments/invoices/{invoice['id']}/discount"
    discount = {"amount": 5_000_00, "reason": "ветеран"}
    assert cashier.post(discount_url, json=discount).status_code == 403
    given = manager.post(discount_url, json=discount)
    assert given.status_code == 200 and given.get_json()["total"] == 20_000_00


def test_bad_input_is_a_4xx_naming_the_field_and_changes_nothing(client_as, runtime):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    invoice = _invoice(cashier, patient, service)
    pay_url = f"/api/v1/payments/invoices/{invoice['id']}/pay"
    cases = [
        (pay_url, {"method": "cash", "tendered": "100"}, 422, "tendered"),
        (pay_url, {"method": "cash", "amount": 1.5}, 422, "amount"),
        (pay_url, {"method": "barter"}, 422, "method"),
        (pay_url, {"method": "cash", "tendered": 1_00}, 422, "tendered"),
        (pay_url, {"method": "cash", "amount": 30_000_00}, 422, "amount"),
        (
            "/api/v1/payments/invoices",
            {"patient_id": patient, "lines": [{"service_id": 999999}]},
            404,
            "lines.0.service_id",
        ),
        (
            "/api/v1/payments/invoices",
            {"patient_id": patient, "lines": [{"service_id": service, "quantity": 0}]},
            422,
            "lines",
        ),
    ]
    for url, body, status, field in cases:
        answer = cashier.post(url, json=body)
        assert answer.status_code == status, (body, answer.get_json())
        errors = answer.get_json().get("errors", {})
        assert any(key.startswith(field) for key in errors) or field in str(errors), (body, errors)
    not_json = cashier.post(pay_url, data="method=cash", content_type="text/plain")
    assert not_json.status_code == 415
    assert (
        cashier.post("/api/v1/payments/invoices/999999/pay", json={"method": "cash"}).status_code
        == 404
    )
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 0
        assert s.scalar(select(func.count(Invoice.id))) == 1


def test_an_invoice_for_a_deactivated_patient_record_is_refused_naming_the_patient(
    client_as, runtime
):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    with runtime.db.transaction() as s:
        patients.deactivate_patient(s, patient)
    answer = cashier.post(
        "/api/v1/payments/invoices",
        json={"patient_id": patient, "lines": [{"service_id": service, "quantity": 1}]},
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"patient_id": ["inactive patient"]}
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 0


def test_the_cashier_is_offered_the_patients_tickets_of_today_to_bill(client_as, runtime):
    """The new invoice form offers the patient's own tickets of the clinic day still in a
    queue or served, with the queue's name in the page's language: not another patient's,
    not a cancelled one, not yesterday's."""
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
        waiting = issue_ticket(s, queue_id, patient)
        cancelled = issue_ticket(s, queue_id, patient)
        calls.cancel(s, cancelled, actor="desk-1")
        issue_ticket(s, queue_id, make_patient(s))
        queue_tickets.issue_ticket(
            s, queue_id, tz=TZ, patient_id=patient, now=utcnow() - timedelta(days=1)
        )
        waiting_id, code = waiting.id, waiting.code
    url = f"/api/v1/payments/patients/{patient}/tickets"
    offered = cashier.get(url, headers={"Accept-Language": "uz"}).get_json()
    assert [(t["id"], t["code"], t["queue_name"], t["status"]) for t in offered] == [
        (waiting_id, code, "Terapiya", "waiting")
    ]
    # Billed for that ticket, the invoice is its: paid, a "pay before the doctor" queue calls it.
    made = cashier.post(
        "/api/v1/payments/invoices",
        json={"patient_id": patient, "ticket_id": waiting_id, "lines": [{"service_id": service}]},
    )
    assert made.status_code == 201 and made.get_json()["ticket_id"] == waiting_id
    assert client_as("registrar").get(url).status_code == 403
    unknown = cashier.get("/api/v1/payments/patients/999999/tickets")
    assert (unknown.status_code, list(unknown.get_json()["errors"])) == (404, ["patient_id"])


def test_the_cashiers_page_is_the_cashiers(client_as):
    cashier, registrar = client_as("cashier"), client_as("registrar")
    page = cashier.get("/payments/desk?lang=ru")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cashier.js" in html and "<h1>Касса</h1>" in html
    # The new invoice form, with the addresses its script asks.
    assert "cashier-invoice.js" in html and "Новый счёт" in html
    config = json.loads(re.search(r'id="cashier-config">(.*?)</script>', html).group(1))
    assert config["patientTicketsApi"] == "/api/v1/payments/patients/{id}/tickets"
    assert (config["patientsApi"], config["servicesApi"]) == (
        "/api/v1/patients",
        "/api/v1/services",
    )
    assert registrar.get("/payments/desk").status_code == 403


def test_the_desk_channel_is_for_cashiers_not_registrars(runtime, live_server, make_user):
    from clinic.accounts import tokens, users
    from tests.payments.fixtures import make_invoice
    from tests.wsclient import WSClient

    invoice_id = make_invoice(runtime, [25_000_00])
    bearer = {}
    for role in ("cashier", "registrar"):
        user_id = make_user(role)
        with runtime.db.transaction() as s:
            bearer[role] = tokens.create_token(s, users.get_user(s, user_id), name="t")[1]
    ws = WSClient(live_server, token=bearer["cashier"])
    got = ws.subscribe("payments:desk")
    snapshot = next(m for m in got if m.get("op") == "snapshot")
    assert [i["id"] for i in snapshot["data"]["invoices"]] == [invoice_id]
    ws.close()
    ws = WSClient(live_server, token=bearer["registrar"])
    ws.send({"op": "subscribe", "channel": "payments:desk"})
    assert ws.wait_closed() == 1008


def test_a_shifts_figures_reach_its_cashier_and_the_managers_sockets_not_another_cashiers(
    runtime, live_server, client_as
):
    from tests.wsclient import WSClient

    readers = {
        "kassir1": client_as("cashier", "kassir1"),
        "kassir2": client_as("cashier", "kassir2"),
        "manager": client_as("manager"),
    }
    live = {}
    for name, reader in readers.items():
        cookie = f"clinic_session={reader.get_cookie('clinic_session').value}"
        live[name] = WSClient(live_server, cookie=cookie, origin=live_server)
        live[name].subscribe("payments:desk")
    for name in ("kassir1", "kassir2"):
        cashier = readers[name]
        assert (
            cashier.post("/api/v1/payments/shifts", json={"opening_cash": 7_000_00}).status_code
            == 201
        )
        closed = cashier.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
        assert closed.status_code == 200, closed.get_json()
    whose = {name: reader.get("/api/v1/me").get_json()["id"] for name, reader in readers.items()}
    for name, ws in live.items():
        count = 4 if name == "manager" else 2
        got = [
            (e["type"], e["data"]["shift"]["cashier_id"]) for e in ws.events("payments:desk", count)
        ]
        cashiers = ("kassir1", "kassir2") if name == "manager" else (name,)
        assert got == [
            (kind, whose[cashier])
            for cashier in cashiers
            for kind in ("shift.opened", "shift.closed")
        ], name
        ws.close()


def test_a_discount_refusal_names_the_field_the_request_sent(client_as, runtime):
    cashier, manager = client_as("cashier"), client_as("manager")
    patient, service = _catalogue(runtime)
    invoice = _invoice(cashier, patient, service)
    discount_url = f"/api/v1/payments/invoices/{invoice['id']}/discount"
    for body, field in (
        ({"amount": 5_000_00, "reason": "   "}, "reason"),
        ({"amount": 25_000_01, "reason": "ветеран"}, "amount"),
    ):
        refused = manager.post(discount_url, json=body)
        assert refused.status_code == 422, refused.get_json()
        assert list(refused.get_json()["errors"]) == [field], refused.get_json()
    assert cashier.get(f"/api/v1/payments/invoices/{invoice['id']}").get_json()["discount"] == 0


def test_a_refund_resent_by_the_browser_gives_back_once(client_as, runtime):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    invoice = _invoice(cashier, patient, service)
    refund_url = f"/api/v1/payments/invoices/{invoice['id']}/refunds"
    unpaid = cashier.post(refund_url, json={"amount": 1_000_00, "reason": "ошибка"})
    assert unpaid.status_code == 409 and unpaid.get_json()["code"] == "not_paid"
    pay_url = f"/api/v1/payments/invoices/{invoice['id']}/pay"
    assert cashier.post(pay_url, json={"method": "cash"}).status_code == 201
    body = {"amount": 5_000_00, "reason": "одна услуга", "idempotency_key": "r-0000-0001"}
    first, again = cashier.post(refund_url, json=body), cashier.post(refund_url, json=body)
    assert first.status_code == again.status_code == 201, (first.get_json(), again.get_json())
    assert again.get_json()["refund"]["id"] == first.get_json()["refund"]["id"]
    assert again.get_json()["invoice"]["refunded_amount"] == 5_000_00
    drawer = cashier.get("/api/v1/payments/shifts/current").get_json()["shift"]
    assert drawer["cash_in_drawer"] == 20_000_00


def test_an_invoice_of_an_earlier_day_is_found_by_its_number(client_as, runtime):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    invoice = _invoice(cashier, patient, service)
    with runtime.db.transaction() as s:  # made a week ago: no longer on the day's list
        s.get(Invoice, invoice["id"]).created_at -= timedelta(days=8)
    assert cashier.get("/api/v1/payments/invoices").get_json() == []
    found = cashier.get(f"/api/v1/payments/invoices?number=%20{invoice['number']}%20")
    assert [i["id"] for i in found.get_json()] == [invoice["id"]]
    assert cashier.get("/api/v1/payments/invoices?number=26-9999999").get_json() == []
    refused = cashier.get("/api/v1/payments/invoices?number=" + "1" * 21)
    assert refused.status_code == 422 and "number" in refused.get_json()["errors"]

    # The cashier's page asks the same: an invoice brought back on a later day, by its number.
    html = cashier.get("/payments/desk?lang=ru").get_data(as_text=True)
    assert '<form id="invoice-find"' in html and "Номер счёта" in html
    config = re.search(r'id="cashier-config">(.*?)</script>', html).group(1)
    assert json.loads(config)["texts"]["notFound"] == "Счёта с номером {number} нет."


def test_an_invoice_of_the_day_before_paid_today_stays_on_the_days_list(client_as, runtime):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    invoice = _invoice(cashier, patient, service)
    with runtime.db.transaction() as s:  # made yesterday, the patient pays it today
        s.get(Invoice, invoice["id"]).created_at -= timedelta(days=1)
    assert [i["id"] for i in cashier.get("/api/v1/payments/invoices").get_json()] == [invoice["id"]]
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice['id']}/pay", json={"method": "card"})
    assert paid.status_code == 201, paid.get_json()
    # Still on the desk's list (and its snapshot), to reprint or give back from, as today's.
    listed = cashier.get("/api/v1/payments/invoices?status=paid").get_json()
    assert [(i["id"], i["status"]) for i in listed] == [(invoice["id"], "paid")]


def test_the_days_list_asked_for_one_status_finds_it_behind_a_full_page_of_others(
    client_as, runtime
):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    waiting = _invoice(cashier, patient, service)
    with runtime.db.transaction() as s:  # made two days ago, still to pay
        s.get(Invoice, waiting["id"]).created_at -= timedelta(days=2)
        # A busy day since: more cancelled invoices than one page of the list holds.
        s.execute(
            insert(Invoice),
            [
                {"patient_id": patient, "status": "cancelled", "created_by": "desk"}
                for _ in range(DESK_LIST_LIMIT)
            ],
        )
    listed = cashier.get("/api/v1/payments/invoices?status=open").get_json()
    assert [i["id"] for i in listed] == [waiting["id"]]
    cancelled = cashier.get("/api/v1/payments/invoices?status=cancelled").get_json()
    assert len(cancelled) == DESK_LIST_LIMIT


def test_a_refund_asked_as_cash_comes_from_the_cash_part_and_a_wrong_way_names_the_method(
    client_as, runtime
):
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime, price=100_000_00)
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    invoice = _invoice(cashier, patient, service)
    url = f"/api/v1/payments/invoices/{invoice['id']}"
    cashier.post(url + "/pay", json={"method": "cash", "amount": 40_000_00})
    cashier.post(url + "/pay", json={"method": "card"})
    given = cashier.post(url + "/refunds", json={"amount": 30_000_00, "reason": "УЗИ не сделано",
                                                 "method": "cash"})  # fmt: skip
    assert given.status_code == 201, given.get_json()
    detail = cashier.get(url).get_json()
    cash = next(p for p in detail["payments"] if p["method"] == "cash")
    assert given.get_json()["refund"]["payment_id"] == cash["id"]
    refused = cashier.post(
        url + "/refunds", json={"amount": 1_00, "reason": "x", "method": "payme"}
    )
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"method"}
    page = cashier.get("/payments/desk?lang=uz").get_data(as_text=True)
    texts = json.loads(re.search(r'id="cashier-config">(.*?)</script>', page).group(1))["texts"]
    assert texts["refundAs"] == "Qanday qaytarish" and "method" in texts["fields"]


def test_an_invoice_asked_for_again_with_its_key_is_made_once(client_as, runtime):
    """The cashier presses Create again while the first answer is on its way, or her browser
    sends the request again after the network lost the answer: one invoice, not two open
    ones for the same ticket."""
    cashier = client_as("cashier")
    patient, service = _catalogue(runtime)
    with runtime.db.transaction() as s:
        ticket = issue_ticket(s, make_queue(s), patient_id=patient)
    body = {
        "patient_id": patient,
        "ticket_id": ticket.id,
        "lines": [{"service_id": service, "quantity": 2}],
        "idempotency_key": "inv-0000-0001",
    }
    url = "/api/v1/payments/invoices"
    first, again = cashier.post(url, json=body), cashier.post(url, json=body)
    assert first.status_code == again.status_code == 201, (first.get_json(), again.get_json())
    assert again.get_json()["id"] == first.get_json()["id"]
    # Another request under the key is a mistake, named; a new key makes a new invoice.
    other = cashier.post(url, json={**body, "lines": [{"service_id": service, "quantity": 1}]})
    assert other.status_code == 422 and "idempotency_key" in other.get_json()["errors"]
    # The key is the cashier's own: another cashier's request under it is his, and new.
    colleague = client_as("cashier", username="kassir2").post(url, json=body)
    assert colleague.status_code == 201 and colleague.get_json()["id"] != first.get_json()["id"]
    fresh = cashier.post(url, json={**body, "idempotency_key": "inv-0000-0002"})
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 3
    short = cashier.post(url, json={**body, "idempotency_key": "short"})
    assert short.status_code == 422 and "idempotency_key" in short.get_json()["errors"]


def test_the_desk_acting_on_an_invoice_number_no_column_can_hold_is_told_it_does_not_exist(
    client_as, runtime
):
    """A mistyped invoice number in the address of the desk's actions (past what an id can
    be) is the 404 any other unknown invoice gets, on both databases: not a 500, nor a refusal
    naming nothing."""
    desk = client_as("admin")  # the desk with every right: discounts too
    opened = desk.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    assert opened.status_code == 201, opened.get_json()
    bodies = {
        "pay": {"method": "cash"},
        "refunds": {"amount": 100, "reason": "mistake"},
        "discount": {"amount": 100, "reason": "veteran"},
        "cancel": {},
    }
    for invoice_id in ("2147483648", "9223372036854775808", "99999999999999999999"):
        for action, body in bodies.items():
            answer = desk.post(f"/api/v1/payments/invoices/{invoice_id}/{action}", json=body)
            assert answer.status_code == 404, (invoice_id, action, answer.get_json())
            assert "does not exist" in answer.get_json()["detail"]
