"""A receipt printed before Payme's fiscal data came (SetFiscalData arrives after the payment),
reprinted from its print job: the copy carries the fiscal data known now."""

from __future__ import annotations

from sqlalchemy import select

from clinic.payments.providers import PaymeTransaction
from clinic.printing import pdfs
from clinic.printing.models import JobKind
from clinic.printing.templates import COPY_MARK
from tests.printing.conftest import collect
from tests.printing.test_cashier_documents import FISCAL, _jobs, _paid_by_payme, _text

NOT_FISCAL = "НЕФИСКАЛЬНЫЙ"


def _outside_fiscal(document: dict) -> list[dict]:
    """A receipt's blocks but its fiscal part (from its last rule to the cashier's line)."""
    blocks = document["blocks"]
    last_rule = max(i for i, block in enumerate(blocks) if block["t"] == "rule")
    assert blocks[-2]["right"] == "payme" and blocks[-1]["t"] == "text"  # cashier, thanks
    return blocks[:last_rule] + blocks[-2:]


def _reprinted(client, job_id: int) -> int:
    answer = client.post(f"/api/v1/printing/jobs/{job_id}/reprint")
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["id"]


def test_a_receipt_job_reprinted_after_the_fiscal_data_came_carries_it(
    runtime, client, clinic_profile
):
    _paid_by_payme(runtime, "f", None)
    collect(runtime)
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    assert NOT_FISCAL in _text(pdfs.render(receipt.document, "roll", paper_mm=80))
    with runtime.db.transaction() as s:  # Payme's SetFiscalData, after the receipt came out
        s.scalars(select(PaymeTransaction)).one().fiscal_perform = FISCAL
    copy_id = _reprinted(client, receipt.id)
    _, reprint = _jobs(runtime, JobKind.RECEIPT)
    assert reprint.id == copy_id and reprint.copy
    text = _text(pdfs.render(reprint.document, "roll", paper_mm=80))
    for field in ("Фискальный чек", FISCAL["fiscal_sign"], FISCAL["terminal_id"], "R-77120"):
        assert field in text, field
    assert NOT_FISCAL not in text
    assert FISCAL["qr_code_url"].encode() in reprint.payload
    assert COPY_MARK.encode("cp866") in reprint.payload
    # The receipt as it was printed otherwise: the same lines, the same cashier, the same time.
    assert _outside_fiscal(reprint.document) == _outside_fiscal(receipt.document)
    # A copy of the copy is that fiscal receipt again, byte for byte behind its one mark.
    again = _reprinted(client, reprint.id)
    assert _jobs(runtime, JobKind.RECEIPT)[-1].id == again
    assert _jobs(runtime, JobKind.RECEIPT)[-1].payload == reprint.payload


def test_a_receipt_job_reprinted_before_any_fiscal_data_stays_as_printed(
    runtime, client, clinic_profile
):
    _paid_by_payme(runtime, "g", None)
    collect(runtime)
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    _reprinted(client, receipt.id)
    _, reprint = _jobs(runtime, JobKind.RECEIPT)
    assert reprint.document == receipt.document
    assert reprint.payload.endswith(receipt.payload)
