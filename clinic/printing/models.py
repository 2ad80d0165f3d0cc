"""Printers, what each one prints for, and print jobs with the exact bytes they send.

A print job is a row: its document as ESC/POS bytes (a reprint sends the same bytes with the
copy mark), its state, its attempts and last error. One printer prints its jobs one at a
time in the order of their ids (``clinic/printing/spooler.py``); ``lease_owner`` and
``lease_until`` on the printer are that one-at-a-time guarantee.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from clinic.base import Base, BigId, JsonDoc, UTCDateTime, utcnow


class PrinterKind:
    NETWORK = "network"  # an ESC/POS printer on raw TCP (port 9100)
    PDF = "pdf"  # no printer: the desk prints the job's PDF from the browser
    ALL = (NETWORK, PDF)


class PrinterState:
    READY = "ready"
    FAILING = "failing"


class JobState:
    QUEUED = "queued"  # waiting for its turn (or for its next attempt after a failure)
    SENDING = "sending"  # being sent now
    PRINTED = "printed"
    FAILED = "failed"  # the printer stayed unreachable: the desk prints the PDF, or retries
    PDF_ONLY = "pdf_only"  # no network printer for it: the PDF is the print
    ALL = (QUEUED, SENDING, PRINTED, FAILED, PDF_ONLY)
    PENDING = (QUEUED, SENDING)


class JobKind:
    TICKET = "ticket"
    RECEIPT = "receipt"  # an invoice's, once paid (subject: the invoice)
    PAYMENT = "payment"  # a part of an invoice paid at the desk (subject: the payment)
    REFUND = "refund"
    SHIFT = "shift"  # the cashier's shift (Z) slip
    TEST = "test"
    ALL = (TICKET, RECEIPT, PAYMENT, REFUND, SHIFT, TEST)


class Printer(Base):
    __tablename__ = "printers"
    __table_args__ = (
        CheckConstraint("kind IN ('network', 'pdf')", name="kind_known"),
        CheckConstraint("paper_mm IN (58, 80)", name="paper_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default=PrinterKind.NETWORK)
    host: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    port: Mapped[int] = mapped_column(Integer, nullable=False, default=9100)
    profile: Mapped[str] = mapped_column(String(64), nullable=False, default="default")
    code_page: Mapped[str] = mapped_column(String(16), nullable=False, default="CP866")
    paper_mm: Mapped[int] = mapped_column(Integer, nullable=False, default=80)
    # The languages its documents speak, "+"-joined, in order: "ru+uz".
    languages: Mapped[str] = mapped_column(String(16), nullable=False, default="ru+uz")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=PrinterState.READY)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    last_printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class PrinterAssignment(Base):
    """What a printer prints for: ``queue:<id>`` (the tickets of that queue, issued at the
    desk or its kiosk), ``tickets`` (every other ticket), ``cashier:<username>`` (that
    cashier's receipts, refunds and shift slips), ``receipts`` (every other cashier
    document, online payments' receipts included)."""

    __tablename__ = "printer_assignments"

    target: Mapped[str] = mapped_column(String(80), primary_key=True)
    printer_id: Mapped[int] = mapped_column(
        ForeignKey("printers.id", ondelete="CASCADE"), index=True, nullable=False
    )


class PrintJob(Base):
    __tablename__ = "print_jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'sending', 'printed', 'failed', 'pdf_only')", name="state_known"
        ),
        # A print request (an outbox event) becomes one job, whoever collects it.
        UniqueConstraint("source_channel", "source_seq", name="one_job_per_request"),
        Index("ix_print_jobs_printer_pending", "printer_id", "state", "id"),
        Index("ix_print_jobs_subject", "kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # The ticket, invoice, refund or shift printed.
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    # The channel its changes go to: ``print_jobs:queue.<id>`` or ``print_jobs:cashier``.
    scope: Mapped[str] = mapped_column(String(80), nullable=False)
    printer_id: Mapped[int | None] = mapped_column(
        ForeignKey("printers.id", ondelete="SET NULL"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=JobState.QUEUED)
    copy: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # What is printed, as data (the PDF is rendered from it) and as the exact bytes sent.
    document: Mapped[dict] = mapped_column(JsonDoc, nullable=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    source_channel: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    retry_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("print_jobs.id", ondelete="SET NULL"), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    requested_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The first time it was opened as a PDF before it printed (printed from the browser,
    # maybe): its retry is then marked as a copy.
    pdf_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PrintCursor(Base):
    """How far the printing module has read a channel of print requests: requests on one
    channel commit in the order of their numbers (clinic/events), so nothing before the
    cursor can still appear."""

    __tablename__ = "print_cursors"

    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


# Collecting print requests as they commit (registered with SQLAlchemy on import).
from clinic.printing import trigger  # noqa: E402,F401
