"""The cashier's page in headless Chromium: a cash payment shows on the registrar's desk as
paid within a second, and the held "pay before the doctor" ticket becomes callable; cancelled
at the desk, the paid ticket's row says the money is to be given back."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from clinic.payments import invoices, shifts
from clinic.payments.models import Refund
from clinic.queue import calls
from tests.browser.conftest import LateAnswer, new_tab, sign_in, wait_live
from tests.payments import provider_support
from tests.payments.fixtures import TZ, issue_ticket, make_patient, make_queue, make_service

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Payme and Click are configured: the desk offers their checkout links.
settings = provider_support.settings


def _call_next(runtime, queue_id):
    with runtime.db.transaction() as s:
        ticket = calls.call_next(s, queue_id, tz=TZ, actor="doctor")
        return ticket.code if ticket else None


def _open(browser, contexts, live_server, username, path, lang="en", socket=None, **options):
    """A page signed in as ``username`` in its own browser context, live; ``socket``: a route
    its WebSocket goes through (:class:`SocketGate`); ``options``: the context's (a
    ``viewport``)."""
    context, tab = new_tab(browser, **options)
    contexts.append(context)
    if socket is not None:
        tab.route_web_socket("**/ws*", socket)
    sign_in(tab, live_server, username)
    tab.goto(f"{live_server}{path}?lang={lang}")
    wait_live(tab)
    return tab


class SocketGate:
    """A route for a page's WebSocket (``tab.route_web_socket("**/ws*", gate)``). ``cut()``:
    the server's frames stop reaching the page, as on a network break; ``back()``: the page's
    socket closes and it connects again, and its channels start from a snapshot, as when the
    events it missed are older than the server keeps."""

    def __init__(self) -> None:
        self.socket = None  # the page's socket now
        self.cut_off = None  # the socket whose frames no longer reach the page
        self.anew = False  # the page's next sockets subscribe from a snapshot

    def __call__(self, socket) -> None:
        server = socket.connect_to_server()
        self.socket, anew = socket, self.anew

        def to_server(message):
            if anew and isinstance(message, str):
                asked = json.loads(message)
                if asked.get("op") == "subscribe":
                    asked.pop("last_id", None)  # none of the events it missed are kept
                    message = json.dumps(asked)
            server.send(message)

        def to_page(frame):
            if socket is not self.cut_off:
                socket.send(frame)

        socket.on_message(to_server)
        server.on_message(to_page)

    def cut(self) -> None:
        self.cut_off = self.socket

    def back(self) -> None:
        self.anew = True
        self.cut_off.close()


@pytest.mark.timed
def test_a_cash_payment_shows_paid_at_reception_within_a_second_and_releases_the_ticket(
    browser, live_server, runtime, make_user
):
    cashier_id = make_user("cashier", "kassa-1")
    make_user("registrar", "desk-1")
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
        patient = make_patient(s)
        ticket = issue_ticket(s, queue_id, patient)
        code = ticket.code
        invoice = invoices.create_invoice(
            s,
            patient_id=patient,
            ticket_id=ticket.id,
            lines=[{"service_id": make_service(s, 25_000_00), "quantity": 1}],
            actor="desk-1",
        )
        invoice_id = invoice.id
        shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0)
    assert _call_next(runtime, queue_id) is None  # held until paid

    contexts = []
    try:
        reception = _open(browser, contexts, live_server, "desk-1", "/queue/desk")
        row = reception.locator(f".desk-queue[data-queue-id='{queue_id}'] [data-code='{code}']")
        row.wait_for()
        assert row.get_attribute("data-paid") is None

        # The cashier works in Russian: amounts read "25 000 сум", never "25 000,00".
        cashier = _open(browser, contexts, live_server, "kassa-1", "/payments/desk", "ru")
        invoice_row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        invoice_row.wait_for()
        assert "25 000 сум" in invoice_row.inner_text()
        # The patient may pay by phone: Payme's and Click's links, each with its QR image.
        invoice_row.locator("button[data-action=checkout]").click()
        for provider, address in (("payme", "https://checkout.paycom.uz/"),
                                  ("click", "https://my.click.uz/services/pay?")):  # fmt: skip
            link = invoice_row.locator(f".cashier-checkout [data-provider={provider}]")
            link.locator("img.checkout__qr").wait_for()
            assert link.locator("a").get_attribute("href").startswith(address)
            drawn = "img => img.complete && img.naturalWidth > 0"
            assert link.locator("img.checkout__qr").evaluate(drawn), provider
        invoice_row.locator("input[name=tendered]").fill("30 000")
        invoice_row.locator("button[data-action=cash]").click()
        # The answer to the cashier's click (the socket may show the row paid even sooner).
        cashier.locator("#cashier-status", has_text="Сдача: 5 000 сум").wait_for()
        invoice_row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        assert invoice_row.get_attribute("data-status") == "paid"
        assert invoice_row.locator(".cashier-checkout").count() == 0  # nothing left to pay

        # The payment committed before the cashier saw it: reception follows within a second.
        reception.locator(
            f".desk-queue[data-queue-id='{queue_id}'] [data-code='{code}'][data-paid='yes']"
        ).wait_for(timeout=1000)

        # Part of it given back from the page: once, under the key the page sends with it.
        invoice_row.locator("input[name=refund_amount]").fill("5 000")
        invoice_row.locator("input[name=refund_reason]").fill("Анализ не понадобился")
        invoice_row.locator("button[data-action=refund]").click()
        cashier.locator(
            f"#invoices tr[data-invoice-id='{invoice_id}'][data-status='partly_refunded']"
        ).wait_for()
        assert _call_next(runtime, queue_id) == code
        assert cashier.locator("#cashier-unseen").is_hidden()

        # Called, he is gone: the registrar cancels his paid ticket, told first that it is paid
        # and that the money goes back at the cashier's desk.
        asked = []
        reception.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        row.locator("button[data-action=cancel]").click()
        reception.locator(f".desk-queue[data-queue-id='{queue_id}'] [data-code='{code}']").wait_for(
            state="detached"
        )
        assert code in asked[0] and "is paid" in asked[0] and "cashier" in asked[0]
        # The cashier's open page marks his row at once, by the rest paid, and counts it at
        # the top; the refund's fields hold what goes back, and why.
        mark = invoice_row.locator(".cashier-invoices__unseen")
        mark.wait_for()
        assert "талон отменён" in mark.inner_text() and "20 000 сум" in mark.inner_text()
        assert ": 1 (всего 20 000 сум)" in cashier.locator("#cashier-unseen").inner_text()
        assert invoice_row.locator("input[name=refund_amount]").input_value() == "20 000"
        invoice_row.locator("button[data-action=refund]").click()
        cashier.locator(
            f"#invoices tr[data-invoice-id='{invoice_id}'][data-status='refunded']"
        ).wait_for()
        assert invoice_row.locator(".cashier-invoices__unseen").count() == 0
        assert cashier.locator("#cashier-unseen").is_hidden()
    finally:
        for context in contexts:
            context.close()
    with runtime.db.session() as s:
        given_back = s.scalars(select(Refund).where(Refund.invoice_id == invoice_id)).all()
    assert [r.amount for r in given_back] == [5_000_00, 20_000_00]
    assert given_back[0].provider_ref.startswith(f"desk:{cashier_id}:")
    assert given_back[1].reason == "Не принят: талон отменён"  # in the cashier's language


def test_a_refused_payment_is_explained_in_the_cashiers_language(
    browser, live_server, runtime, make_user
):
    make_user("cashier", "kassa-2")
    with runtime.db.transaction() as s:
        invoice_id = invoices.create_invoice(
            s,
            patient_id=make_patient(s),
            lines=[{"service_id": make_service(s, 150_000_00, code="UTT-7"), "quantity": 1}],
            actor="desk-1",
        ).id
    contexts = []
    try:
        cashier = _open(browser, contexts, live_server, "kassa-2", "/payments/desk", "uz")
        row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        row.wait_for()
        assert "150 000 so'm" in row.inner_text()
        # No shift is open: the API refuses with its code, the desk says so in Uzbek.
        row.locator("button[data-action=card]").click()
        cashier.locator("#cashier-error", has_text="Avval smenani oching.").wait_for()
        assert row.get_attribute("data-status") == "open"

        # A walk-in patient billed at the desk: found by his name in Latin, a service added
        # by its code; the new invoice joins the day's list, ready to take payment.
        cashier.click("#new-invoice-card summary")
        cashier.fill("#new-invoice-patient input[name=q]", "karimov")
        cashier.click("#new-invoice-patient button[type=submit]")
        cashier.click("#new-invoice-patients button[data-action=choose]")
        cashier.fill("#new-invoice-service input[name=q]", "utt-7")
        cashier.click("#new-invoice-service button[type=submit]")
        cashier.click("#new-invoice-services button[data-action=choose]")
        cashier.locator("#new-invoice-total", has_text="Jami: 150 000 so'm").wait_for()
        cashier.click("#new-invoice button[type=submit]")
        cashier.locator("#cashier-status", has_text="ro'yxatga qo'shildi").wait_for()
        made = cashier.locator(
            f"#invoices tr[data-status=open]:not([data-invoice-id='{invoice_id}'])"
        )
        made.locator("button[data-action=cash]").wait_for()
        assert "150 000 so'm" in made.inner_text()
        # The form is cleared and folded away.
        assert cashier.locator("#new-invoice-lines tr").count() == 0
        assert not cashier.locator("#new-invoice-card").evaluate("card => card.open")
    finally:
        for context in contexts:
            context.close()


def test_a_payment_or_refund_the_desk_refuses_is_explained_in_the_cashiers_language(
    browser, live_server, runtime, make_user
):
    """The refusals a cashier meets (too little cash handed over, a refund larger than paid or
    without a reason, one the drawer cannot give, one only the provider gives) are said in
    the page's language, each by its code or by the field it names. An invoice is paid part
    in cash, the rest by card."""
    from clinic.payments import desk

    cashier_id = make_user("cashier", "kassa-3")
    with runtime.db.transaction() as s:
        lines = [{"service_id": make_service(s, 25_000_00), "quantity": 1}]
        patient = make_patient(s)
        cash = invoices.create_invoice(s, patient_id=patient, lines=lines, actor="kassa-3")
        online = invoices.create_invoice(s, patient_id=patient, lines=lines, actor="kassa-3")
        today = invoices.create_invoice(s, patient_id=patient, lines=lines, actor="kassa-3")
        first = shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0)
        desk.take_payment(s, cash.id, cashier_id=cashier_id, actor="kassa-3", method="cash")
        invoices.record_payment(
            s, online, method="payme", amount=25_000_00, provider="payme",
            provider_ref="6389e0d1a2b3c4d5e6f7bbbb", actor="payme",
        )  # fmt: skip
        shifts.close_shift(s, first, counted_cash=25_000_00)
        shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0)  # an empty drawer
        cash_id, online_id, today_id = cash.id, online.id, today.id
    contexts = []
    try:
        cashier = _open(browser, contexts, live_server, "kassa-3", "/payments/desk", "ru")
        row = cashier.locator(f"#invoices tr[data-invoice-id='{today_id}']")
        row.locator("input[name=tendered]").fill("20 000")  # less than the 25 000 due
        row.locator("button[data-action=cash]").click()
        cashier.locator(
            "#cashier-error", has_text="Наличных передано меньше, чем к оплате."
        ).wait_for()
        assert row.get_attribute("data-status") == "open"
        # Part in cash, the rest by card: the amount field offers what is due, the cashier
        # types less; the row then says what was paid and what is still due, and offers to
        # give back the part paid.
        amount = row.locator("input[name=amount]")
        assert amount.input_value() == "25 000"
        amount.fill("10 000")
        row.locator("input[name=tendered]").fill("10 000")
        # Another desk's invoice arrives meanwhile: the list is drawn again, her typing stays.
        with runtime.db.transaction() as s:
            other = invoices.create_invoice(s, patient_id=patient, lines=lines, actor="desk-1")
        cashier.locator(f"#invoices tr[data-invoice-id='{other.id}']").wait_for()
        assert (amount.input_value(), row.locator("input[name=tendered]").input_value()) == (
            "10 000",
            "10 000",
        )
        row.locator("button[data-action=cash]").click()
        cashier.locator("#cashier-status", has_text="осталось оплатить 15 000 сум").wait_for()
        status = row.locator(".cashier-invoices__status").inner_text()
        assert "Оплачено 10 000 сум" in status and "Осталось оплатить 15 000 сум" in status, status
        assert row.get_attribute("data-status") == "open"
        assert row.locator("button[data-action=refund]").count() == 1
        assert amount.input_value() == "15 000"
        row.locator("button[data-action=card]").click()
        row = cashier.locator(f"#invoices tr[data-invoice-id='{today_id}'][data-status='paid']")
        row.wait_for()
        refusals = [
            (today_id, "30 000", "Анализ не понадобился", "Проверьте сумму возврата"),
            (today_id, "5 000", "", "Укажите причину возврата."),
            # The drawer holds the 10 000 of the part paid in cash only.
            (cash_id, "20 000", "Анализ не понадобился", "В кассе недостаточно наличных"),
            (online_id, "5 000", "Анализ не понадобился", "возвращает платёжная система"),
        ]
        for invoice_id, amount, reason, said in refusals:
            row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
            row.locator("input[name=refund_amount]").fill(amount)
            row.locator("input[name=refund_reason]").fill(reason)
            row.locator("button[data-action=refund]").click()
            cashier.locator("#cashier-error", has_text=said).wait_for()
            assert row.get_attribute("data-status") == "paid"
    finally:
        for context in contexts:
            context.close()
    with runtime.db.session() as s:
        taken = invoices.payments_of(s, today_id)
    assert [(p.method, p.amount) for p in taken] == [("cash", 10_000_00), ("card", 15_000_00)]


def test_a_manager_gives_a_large_cash_refund_from_a_cashiers_drawer_and_her_page_follows(
    browser, live_server, runtime, make_user
):
    """Above the approval limit the cashier calls the manager over: at the refunds page (no
    payments, no shift of his own) he chooses her drawer among the open ones, gives 600,000
    UZS back in cash, and her open desk page shows her drawer's cash drop at once."""
    from sqlalchemy import update

    from clinic.accounts.models import User
    from clinic.payments import desk

    cashier_id = make_user("cashier", "kassa-5")
    other_id = make_user("cashier", "kassa-6")
    make_user("manager", "boss-1")
    with runtime.db.transaction() as s:
        s.execute(update(User).where(User.id == cashier_id).values(full_name="Каримова Азиза"))
        lines = [{"service_id": make_service(s, 700_000_00), "quantity": 1}]
        invoice = invoices.create_invoice(s, patient_id=make_patient(s), lines=lines, actor="x")
        hers = shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0).id
        desk.take_payment(s, invoice.id, cashier_id=cashier_id, actor="kassa-5", method="cash")
        shifts.open_shift(s, cashier_id=other_id, opening_cash=1_000_000_00)  # another desk's
        invoice_id = invoice.id
    contexts = []
    try:
        cashier = _open(browser, contexts, live_server, "kassa-5", "/payments/desk")
        cashier.locator("#shift-state", has_text="cash in the drawer 700,000 UZS").wait_for()

        manager = _open(browser, contexts, live_server, "boss-1", "/payments/refunds", "ru")
        row = manager.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        # An option is never "visible" to Playwright: waited for as being there.
        row.locator("select[name=refund_shift] option", has_text="Каримова Азиза").wait_for(
            state="attached"
        )
        assert manager.locator("#shift-open, #new-invoice").count() == 0
        assert row.locator("button[data-action=cash], button[data-action=reprint]").count() == 0
        row.locator("input[name=refund_amount]").fill("600 000")
        row.locator("input[name=refund_reason]").fill("Отказ от операции")
        # Two drawers are open: none is chosen for him, and the page says what to do at the
        # drawer's field, asking the API nothing.
        asked = []
        manager.on("request", lambda request: asked.append(request.method))
        row.locator("button[data-action=refund]").click()
        manager.locator("#cashier-error", has_text="Выберите кассу").wait_for()
        assert "POST" not in asked
        drawer_field = row.locator("select[name=refund_shift]")
        assert drawer_field.get_attribute("aria-invalid") == "true"
        assert drawer_field.evaluate("field => field === document.activeElement")
        drawer = f"Каримова Азиза, смена {hers}: 700 000 сум"
        row.locator("select[name=refund_shift]").select_option(label=drawer)
        row.locator("button[data-action=refund]").click()
        manager.locator("#cashier-status", has_text="Возврат 600 000 сум проведён.").wait_for()
        manager.locator(
            f"#invoices tr[data-invoice-id='{invoice_id}'][data-status='partly_refunded']"
        ).wait_for()
        # The manager's list of drawers and the cashier's own page both follow the cash out.
        manager.locator("select[name=refund_shift] option", has_text="100 000 сум").wait_for(
            state="attached"
        )
        cashier.locator("#shift-state", has_text="cash in the drawer 100,000 UZS").wait_for()
    finally:
        for context in contexts:
            context.close()
    with runtime.db.session() as s:
        given = s.scalars(select(Refund).where(Refund.invoice_id == invoice_id)).all()
    assert [(r.amount, r.shift_id, r.approved_by) for r in given] == [(600_000_00, hers, "boss-1")]


def _part_paid_invoice(runtime, make_user, *cashiers):
    """A 25,000 UZS invoice, and each of ``cashiers`` (usernames) with a shift open: the
    invoice's id and theirs."""
    ids = [make_user("cashier", username) for username in cashiers]
    with runtime.db.transaction() as s:
        lines = [{"service_id": make_service(s, 25_000_00), "quantity": 1}]
        invoice_id = invoices.create_invoice(
            s, patient_id=make_patient(s), lines=lines, actor="desk-1"
        ).id
        for cashier_id in ids:
            shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0)
    return invoice_id, ids


def test_a_row_waits_for_its_payments_answer_and_a_late_answer_never_draws_it_back(
    browser, live_server, runtime, make_user
):
    """A part paid in cash whose answer is slow: the payment's own event redraws the row with
    the rest in the amount field first, yet its buttons wait for the answer, so a second
    press takes nothing. Another desk takes the rest by card meanwhile; the answer, come at
    last, tells of the part paid but leaves the row paid."""
    from clinic.payments import desk

    invoice_id, (_, kassa_8) = _part_paid_invoice(runtime, make_user, "kassa-7", "kassa-8")
    contexts = []
    try:
        cashier = _open(browser, contexts, live_server, "kassa-7", "/payments/desk")
        selector = f"#invoices tr[data-invoice-id='{invoice_id}']"
        row = cashier.locator(selector)
        row.locator("input[name=amount]").fill("10,000")
        late = LateAnswer()
        cashier.route("**/pay", late)
        row.locator("button[data-action=cash]").click()
        late.read(cashier)
        # Its own event is in before the answer: the row is drawn anew, the rest to pay.
        row.locator(".cashier-invoices__status", has_text="Paid so far 10,000 UZS").wait_for()
        assert row.locator("input[name=amount]").input_value() == "15,000"
        assert row.locator("button[data-action=cash]").is_disabled()
        row.locator("button[data-action=cash]").click(force=True)  # pressed again: nothing
        cashier.wait_for_timeout(300)
        with runtime.db.transaction() as s:
            desk.take_payment(s, invoice_id, cashier_id=kassa_8, actor="kassa-8", method="card")
        cashier.locator(f"{selector}[data-status='paid']").wait_for()
        late.give()
        cashier.locator("#cashier-status", has_text="Invoice").wait_for()
        assert row.get_attribute("data-status") == "paid"
        assert row.locator("button[data-action=reprint]").is_enabled()
    finally:
        for context in contexts:
            context.close()
    with runtime.db.session() as s:
        taken = invoices.payments_of(s, invoice_id)
    assert [(p.method, p.amount) for p in taken] == [("cash", 10_000_00), ("card", 15_000_00)]


def test_a_late_payments_answer_does_not_undo_a_part_given_back_at_another_screen(
    browser, live_server, runtime, make_user
):
    """A part paid by card whose answer is slow; a manager gives half of it back at another
    screen meanwhile, so less is paid than the answer says: the answer, come at last, is older
    than the refund, and the row keeps what is due after it."""
    from clinic.payments import desk

    invoice_id, (kassa_10,) = _part_paid_invoice(runtime, make_user, "kassa-10")
    contexts = []
    try:
        cashier = _open(browser, contexts, live_server, "kassa-10", "/payments/desk")
        row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        status = row.locator(".cashier-invoices__status")
        row.locator("input[name=amount]").fill("20,000")
        late = LateAnswer()
        cashier.route("**/pay", late)
        row.locator("button[data-action=card]").click()
        late.read(cashier)
        status.filter(has_text="Paid so far 20,000 UZS").wait_for()
        with runtime.db.transaction() as s:
            desk.refund_at_desk(
                s, invoice_id, cashier_id=kassa_10, actor="boss", amount=10_000_00,
                reason="Half of it back", method="card", may_refund_large=True, large_from=0,
            )  # fmt: skip
        status.filter(has_text="Paid so far 10,000 UZS").wait_for()
        late.give()
        cashier.locator("#cashier-status", has_text="still due 15,000 UZS").wait_for()
        assert "Paid so far 10,000 UZS" in status.inner_text()
        assert row.locator("input[name=amount]").input_value() == "15,000"
    finally:
        for context in contexts:
            context.close()


def test_a_payment_or_refund_whose_answer_was_lost_is_said_once_it_landed_and_not_made_twice(
    browser, live_server, runtime, make_user
):
    """The network loses the answer to a part paid in cash (the request reaches the server
    later, as a gateway's retry would): the page does not claim the server was out of reach
    but asks her to check the row; once the row shows the part paid it says so, with the
    change; the same press again is answered as the first and takes nothing more. Then part
    of that part is given back, its answer lost and its event too, and the desk is read anew
    from a snapshot: less is paid of the open invoice, nothing counts as given back, yet the
    page finds the refund by its own key and says it was given."""
    invoice_id, _ = _part_paid_invoice(runtime, make_user, "kassa-9")
    contexts = []
    gate = SocketGate()
    try:
        cashier = _open(browser, contexts, live_server, "kassa-9", "/payments/desk", socket=gate)
        row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        lost = []

        def lose_the_answer(route):
            request = route.request
            lost.append((request.url, request.post_data, request.headers))
            route.abort()

        cashier.route("**/pay", lose_the_answer)
        row.locator("input[name=amount]").fill("10,000")
        row.locator("input[name=tendered]").fill("20,000")
        row.locator("button[data-action=cash]").click()
        cashier.locator("#cashier-error", has_text="the payment may have gone through").wait_for()
        assert "could not be reached" not in cashier.locator("#cashier-error").inner_text()
        cashier.unroute("**/pay")

        url, data, headers = lost[0]
        sent = cashier.request.post(url, data=data, headers=headers)  # it reaches the server
        assert sent.status == 201
        cashier.locator(
            "#cashier-status", has_text="10,000 UZS of invoice"
        ).wait_for()  # said once the row shows it
        said = cashier.locator("#cashier-status").inner_text()
        assert "still due 15,000 UZS" in said and "Change due: 10,000 UZS" in said, said
        assert cashier.locator("#cashier-error").inner_text() == ""

        # She presses the same again: the API answers with the first payment.
        row.locator("input[name=amount]").fill("10,000")
        row.locator("input[name=tendered]").fill("20,000")
        with cashier.expect_response("**/pay") as answer:
            row.locator("button[data-action=cash]").click()
        assert answer.value.status == 201
        status = row.locator(".cashier-invoices__status").inner_text()
        assert "Paid so far 10,000 UZS" in status and "Due 15,000 UZS" in status, status

        cashier.route("**/refunds", lose_the_answer)
        gate.cut()  # the socket breaks with it: the refund's event never reaches the page
        row.locator("input[name=refund_amount]").fill("4,000")
        row.locator("input[name=refund_reason]").fill("The patient left")
        row.locator("button[data-action=refund]").click()
        cashier.locator("#cashier-error", has_text="the refund may have gone through").wait_for()
        cashier.unroute("**/refunds")
        url, data, headers = lost[1]
        assert cashier.request.post(url, data=data, headers=headers).status == 201
        gate.back()  # read anew: the invoice open, 6,000 paid, nothing refunded
        row.locator(".cashier-invoices__status", has_text="Paid so far 6,000 UZS").wait_for()
        cashier.locator("#cashier-status", has_text="Refund of 4,000 UZS recorded.").wait_for()
        assert cashier.locator("#cashier-error").inner_text() == ""
    finally:
        for context in contexts:
            context.close()
    with runtime.db.session() as s:
        taken = invoices.payments_of(s, invoice_id)
        given = s.scalars(select(Refund.amount).where(Refund.invoice_id == invoice_id)).all()
    assert [(p.method, p.amount) for p in taken] == [("cash", 10_000_00)]
    assert given == [4_000_00]


# Whether an element's text takes one line: its text's boxes, one per line it spans.
ONE_LINE = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  return new Set([...range.getClientRects()].map(box => Math.round(box.top))).size === 1;
}"""

# Whether a field holds its placeholder uncut: its words, in the placeholder's font, against
# the room inside the field's padding.
HOLDS_PLACEHOLDER = """field => {
  const style = getComputedStyle(field, "::placeholder");
  const own = getComputedStyle(field);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = field.clientWidth - parseFloat(own.paddingLeft) - parseFloat(own.paddingRight);
  return context.measureText(field.placeholder).width <= room;
}"""


def test_the_desk_shows_discounts_and_refunds_cancels_an_unpaid_invoice_and_closes_with_a_note(
    browser, live_server, runtime, make_user
):
    """On a 1366x768 screen in Uzbek (its words the longest): an invoice's number and total
    each on one line, the refund amount field's placeholder uncut; a discount's sum and
    reason under the total; a partly refunded invoice's sum given back and the sum left to
    give back. An open invoice nothing was paid of is cancelled from its row once the
    cashier agrees (not while she declines), once; another cancelled at another screen
    follows there. The shift is closed with a note, kept with it."""
    from clinic.payments import desk
    from clinic.payments.models import CashierShift

    cashier_id = make_user("cashier", "kassa-11")
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        service = make_service(s, 150_000_00)
        shift_id = shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0).id

        def bill():
            lines = [{"service_id": service, "quantity": 1}]
            return invoices.create_invoice(s, patient_id=patient, lines=lines, actor="desk-1")

        to_cancel, elsewhere, discounted, given = bill(), bill(), bill(), bill()
        invoices.set_discount(s, discounted, amount=30_000_00, reason="Nafaqaxo'r", actor="boss")
        desk.take_payment(s, given.id, cashier_id=cashier_id, actor="kassa-11", method="card")
        desk.refund_at_desk(
            s, given.id, cashier_id=cashier_id, actor="kassa-11", amount=40_000_00,
            reason="Tahlil kerak emas", method="card", may_refund_large=False,
            large_from=500_000_00,
        )  # fmt: skip
        numbers = {i.id: i.number for i in (to_cancel, elsewhere, discounted, given)}
    contexts = []
    try:
        cashier = _open(
            browser, contexts, live_server, "kassa-11", "/payments/desk", "uz",
            viewport={"width": 1366, "height": 768},
        )  # fmt: skip

        def row(invoice, status="open"):
            return cashier.locator(
                f"#invoices tr[data-invoice-id='{invoice.id}'][data-status='{status}']"
            )

        given_row = row(given, "partly_refunded")
        status = given_row.locator(".cashier-invoices__status").inner_text()
        assert "40 000 so'm" in status and "110 000 so'm" in status, status
        assert given_row.locator("button[data-action=cancel]").count() == 0
        assert given_row.locator(".cashier-invoices__number").evaluate(ONE_LINE)
        assert given_row.locator(".cashier-invoices__total").evaluate(ONE_LINE)
        assert given_row.locator("input[name=refund_amount]").evaluate(HOLDS_PLACEHOLDER)

        total = row(discounted).locator(".cashier-invoices__total")
        assert "30 000 so'm" in total.locator(".cashier-invoices__discount").inner_text()
        assert total.locator(".cashier-invoices__reason").inner_text() == "Nafaqaxo'r"

        # Declined, nothing is sent; agreed, the invoice is cancelled once.
        questions, cancels = [], []
        cashier.on("request", lambda r: cancels.append(r.url) if r.url.endswith("/cancel") else 0)
        cashier.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        row(to_cancel).locator("button[data-action=cancel]").click()
        cashier.wait_for_timeout(200)
        assert cancels == [] and numbers[to_cancel.id] in questions[0], questions
        cashier.once("dialog", lambda dialog: dialog.accept())
        row(to_cancel).locator("button[data-action=cancel]").click()
        cashier.locator("#cashier-status", has_text=numbers[to_cancel.id]).wait_for()
        assert row(to_cancel, "cancelled").locator("button").count() == 0
        assert cancels == [f"{live_server}/api/v1/payments/invoices/{to_cancel.id}/cancel"]

        with runtime.db.transaction() as s:  # at another screen
            invoices.cancel_invoice(s, invoices.get_invoice(s, elsewhere.id), actor="kassa-12")
        row(elsewhere, "cancelled").wait_for()
        assert row(elsewhere, "cancelled").locator("button").count() == 0

        note = cashier.locator("#shift-close textarea[name=note]")
        assert note.get_attribute("maxlength") == "1000"
        cashier.fill("#shift-close input[name=counted_cash]", "110 000")
        note.fill("Kassada 110 000 so'm: hammasi joyida")
        cashier.click("#shift-close button[type=submit]")
        cashier.locator("#shift-open").wait_for()
    finally:
        for context in contexts:
            context.close()
    with runtime.db.session() as s:
        closed = s.get(CashierShift, shift_id)
        assert closed.note == "Kassada 110 000 so'm: hammasi joyida"
        cancelled = [invoices.get_invoice(s, i).status for i in (to_cancel.id, elsewhere.id)]
    assert cancelled == ["cancelled", "cancelled"]
