"""The printer registry (administrators): network ESC/POS printers or "PDF only", what each
prints for (its targets), and each printer's state as the printing worker finds it.

Targets (one printer each): ``queue:<id>`` the tickets of a queue (its desk and kiosk),
``tickets`` every other ticket, ``cashier:<username>`` that cashier's receipts, refunds and
shift slips, ``receipts`` every other cashier document (online payments' receipts too).
"""

from __future__ import annotations

import ipaddress
import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.events import record_event
from clinic.printing import jobs, routes, thermal
from clinic.printing.events import PRINTER_CHANGED
from clinic.printing.models import (
    JobState,
    Printer,
    PrinterAssignment,
    PrinterKind,
    PrinterState,
    PrintJob,
)
from clinic.printing.templates import languages_of
from clinic.queue.models import Queue

PRINTERS_CHANNEL = "printers:all"
TARGET_RE = re.compile(r"^(queue:[1-9][0-9]{0,8}|tickets|receipts|cashier:[A-Za-z0-9_.@-]{1,64})$")
CODE_PAGES = ("CP866", "CP1251", "CP437")
FIELDS = ("name", "kind", "host", "port", "profile", "code_page", "paper_mm", "languages", "active")
HOST_NAME_RE = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
# A name whose last part is all digits is a mistyped address (999.1.1.1, 192.168.1), not a
# name a resolver would find.
NUMERIC_NAME_RE = re.compile(r"(.*\.)?[0-9]+\.?")


def is_host(value: str) -> bool:
    """An IP address or a host name the printing worker can resolve (no port, no scheme,
    nothing around it): not the "any" address, a broadcast or a multicast one, which no
    printer has."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return bool(HOST_NAME_RE.fullmatch(value)) and not NUMERIC_NAME_RE.fullmatch(value)
    broadcast = address == ipaddress.IPv4Address("255.255.255.255")
    return not (address.is_unspecified or address.is_multicast or broadcast)


def get_printer(session: Session, printer_id: int, *, held: bool = False) -> Printer:
    """The printer (``held``: read again and locked until the transaction ends)."""
    lock = {"with_for_update": True, "populate_existing": True} if held else {}
    printer = session.get(Printer, printer_id, **lock) if is_id(printer_id) else None
    if printer is None:
        # Coded: a page says a printer another administrator removed in its own language.
        raise NotFound(f"printer {printer_id} does not exist", code="printer_unknown")
    return printer


def printer_to_change(session: Session, printer_id: int) -> Printer:
    """The printer, its row held until the change commits: a job being made for it (see
    :func:`clinic.printing.jobs.hold_printer`) commits first, or waits and sees the change."""
    return get_printer(session, printer_id, held=True)


def printer_to_test(session: Session, printer_id: int) -> Printer:
    """The printer, to print a test page on. One that prints nothing on paper is refused: a
    "PDF only" printer or one switched off would make the test page a PDF nobody asked for,
    while the administrator waits at the printer for a paper that never comes."""
    printer = get_printer(session, printer_id)
    if printer.kind != PrinterKind.NETWORK:
        raise Conflict(
            f"printer {printer_id} is PDF only: it prints no test page", code="printer_pdf_only"
        )
    if not printer.active:
        raise Conflict(
            f"printer {printer_id} is switched off: switch it on to print a test page",
            code="printer_switched_off",
        )
    return printer


def list_printers(session: Session) -> list[Printer]:
    return list(session.scalars(select(Printer).order_by(Printer.name)))


def targets_of(session: Session, printer_id: int) -> list[str]:
    return list(
        session.scalars(
            select(PrinterAssignment.target)
            .where(PrinterAssignment.printer_id == printer_id)
            .order_by(PrinterAssignment.target)
        )
    )


def printer_as_dict(session: Session, printer: Printer, *, removed: bool = False) -> dict:
    return {
        "id": printer.id,
        "name": printer.name,
        "kind": printer.kind,
        "host": printer.host,
        "port": printer.port,
        "profile": printer.profile,
        "code_page": printer.code_page,
        "paper_mm": printer.paper_mm,
        "languages": printer.languages,
        "active": printer.active,
        "state": printer.state,
        "failing_since": iso(printer.failing_since),
        "last_error": printer.last_error,
        "failure": thermal.failure(printer.last_error),
        "last_printed_at": iso(printer.last_printed_at),
        "targets": [] if removed else targets_of(session, printer.id),
        "removed": removed,
    }


def announce(session: Session, printer: Printer, *, removed: bool = False) -> None:
    session.flush()
    data = {"printer": printer_as_dict(session, printer, removed=removed)}
    record_event(session, PRINTERS_CHANNEL, PRINTER_CHANGED.name, data)


def _check(data: dict) -> None:
    errors = {}
    if not data["name"]:
        errors["name"] = ["a name, 1-80 characters"]
    if data["kind"] not in PrinterKind.ALL:
        errors["kind"] = [f"one of {', '.join(PrinterKind.ALL)}"]
    if data["kind"] == PrinterKind.NETWORK and not data["host"]:
        errors["host"] = ["a network printer needs its address"]
    elif data["host"] and not is_host(data["host"]):
        errors["host"] = ["an IP address or a host name, without the port: 192.168.1.50"]
    if data["code_page"] not in CODE_PAGES:
        errors["code_page"] = [f"one of {', '.join(CODE_PAGES)}"]
    else:
        errors.update(thermal.setup_errors(data["profile"], data["code_page"]))
    if data["paper_mm"] not in (58, 80):
        errors["paper_mm"] = ["58 or 80"]
    chosen = languages_of(data["languages"])
    if "+".join(chosen) != data["languages"] or len(set(chosen)) != len(chosen):
        errors["languages"] = ["ru, uz or en, each once, joined by +: ru+uz"]
    bad = [t for t in data["targets"] if not TARGET_RE.match(t)]
    if bad:
        errors["targets"] = [f"not a target: {', '.join(bad)}"]
    if errors:
        raise ValidationFailed("the printer's settings are not valid", errors=errors)


def _check_queues(session: Session, targets: list[str]) -> None:
    """Refuse a ``queue:<id>`` target of no queue: its printer would never print a ticket."""
    wanted = {int(t[6:]) for t in targets if t.startswith("queue:")}
    known = set(session.scalars(select(Queue.id).where(Queue.id.in_(wanted)))) if wanted else set()
    missing = [f"queue:{queue_id}" for queue_id in sorted(wanted - known)]
    if missing:
        raise ValidationFailed(
            "the printer's settings are not valid",
            errors={"targets": [f"no such queue: {', '.join(missing)}"]},
        )


def _normalized(data: dict) -> dict:
    """The name trimmed (" Kassa" and "Kassa" are one printer to whoever reads the list), and
    a cashier target's username in lower case, as usernames are kept: ``cashier:Amina`` is
    the desk of the cashier who signs in as amina."""
    targets = [
        f"cashier:{t[8:].lower()}" if isinstance(t, str) and t.startswith("cashier:") else t
        for t in data["targets"]
    ]
    return {**data, "name": data["name"].strip(), "targets": targets}


def _name_taken(session: Session, name: str, printer_id: int | None) -> None:
    other = session.scalar(select(Printer).where(Printer.name == name))
    if other is not None and other.id != printer_id:
        detail = f"a printer is already named {name!r}"
        raise Conflict(detail, code="name_taken", errors={"name": [detail]})


def _set_targets(session: Session, printer: Printer, targets: list[str]) -> list[Printer]:
    """The printer prints for exactly ``targets``; a target leaves the printer it had.
    Answers those other printers, which print for less now (to be announced too)."""
    session.execute(delete(PrinterAssignment).where(PrinterAssignment.printer_id == printer.id))
    if not targets:
        return []
    losing = session.scalars(
        select(Printer)
        .join(PrinterAssignment, PrinterAssignment.printer_id == Printer.id)
        .where(PrinterAssignment.target.in_(targets), Printer.id != printer.id)
        .distinct()
        .order_by(Printer.id)
    ).all()
    session.execute(delete(PrinterAssignment).where(PrinterAssignment.target.in_(targets)))
    session.add_all(PrinterAssignment(target=t, printer_id=printer.id) for t in set(targets))
    return list(losing)


DEFAULTS = {
    "kind": PrinterKind.NETWORK,
    "host": "",
    "port": 9100,
    "profile": "default",
    "code_page": "CP866",
    "paper_mm": 80,
    "languages": "ru+uz",
    "active": True,
    "targets": [],
}


def create_printer(session: Session, data: dict) -> Printer:
    data = _normalized({**DEFAULTS, **data})
    _check(data)
    _check_queues(session, data["targets"])
    _name_taken(session, data["name"], None)
    printer = Printer(**{f: data[f] for f in FIELDS})
    session.add(printer)
    session.flush()
    # The printers the targets left show their shorter lists on the printers page too.
    for other in _set_targets(session, printer, data["targets"]):
        announce(session, other)
    routes.take_waiting_jobs(session, printer, set(data["targets"]))
    announce(session, printer)
    return printer


def update_printer(session: Session, printer_id: int, changes: dict) -> Printer:
    printer = printer_to_change(session, printer_id)
    current = {f: getattr(printer, f) for f in FIELDS}
    had = targets_of(session, printer.id)
    data = _normalized({**current, "targets": had, **changes})
    _check(data)
    _check_queues(session, changes.get("targets") or [])
    _name_taken(session, data["name"], printer.id)
    for f in FIELDS:
        setattr(printer, f, data[f])
    if "targets" in changes:
        for other in _set_targets(session, printer, data["targets"]):
            announce(session, other)
    if not printer.active or printer.kind != PrinterKind.NETWORK:
        _to_pdf(session, printer)
    else:
        if not jobs.paper_printer(current["active"], current["kind"]):
            # Switched on again (or made a network printer): a fresh start, as a new address
            # is. The failure it had before would otherwise fail its first job at the first
            # refusal of a printer still warming up, and show it failing meanwhile.
            printer.state, printer.failing_since, printer.last_error = PrinterState.READY, None, ""
        if any(current[f] != getattr(printer, f) for f in ("profile", "code_page", "paper_mm")):
            jobs.remake(session, printer)
        if any(current[f] != getattr(printer, f) for f in ("host", "port")):
            if printer.failing_since is not None:
                # A new address gets a retry period of its own: a typo corrected into another
                # one fails its jobs after that period, not at the first refusal.
                printer.failing_since = utcnow()
            jobs.try_now(session, printer)
    routes.take_waiting_jobs(session, printer, set(data["targets"]) - set(had))
    announce(session, printer)
    return printer


def _to_pdf(session: Session, printer: Printer) -> None:
    """The printer will not print its waiting jobs (removed, switched off, PDF only): they
    become PDFs for their desks (a job being made for it is among them: the caller holds
    the printer, :func:`printer_to_change`)."""
    waiting = session.scalars(
        select(PrintJob).where(
            PrintJob.printer_id == printer.id, PrintJob.state.in_(JobState.PENDING)
        )
    )
    for job in waiting:
        job.state = JobState.PDF_ONLY
        jobs.announce(session, job)


def remove_printer(session: Session, printer_id: int) -> None:
    """Remove a printer; its unprinted jobs stay, as PDFs for the desk (no printer)."""
    printer = printer_to_change(session, printer_id)
    _to_pdf(session, printer)
    announce(session, printer, removed=True)
    session.execute(delete(PrinterAssignment).where(PrinterAssignment.printer_id == printer.id))
    session.delete(printer)


def mark_ready(session: Session, printer: Printer, now) -> None:
    printer.last_printed_at = now
    if printer.state != PrinterState.READY:
        printer.state, printer.failing_since, printer.last_error = PrinterState.READY, None, ""
        announce(session, printer)


def mark_failing(session: Session, printer: Printer, error: str, now) -> None:
    printer.last_error = error[:500]
    if printer.state != PrinterState.FAILING:
        printer.state, printer.failing_since = PrinterState.FAILING, now
    announce(session, printer)
