"""Price-list import: a CSV or XLSX file upserted in committed batches that a retry resumes.

The file is stored with its job and read again on every attempt (reading is deterministic,
so row N is the same row each time). Each batch commits its upserts together with the
job's progress and the resumable state (the next row and the counts so far), so a job
claimed again after a crash continues after the last committed batch and ends with the
counts an uninterrupted run would have given.

See docs/price-import.md for the file format.
"""

from __future__ import annotations

import copy
import re
from itertools import groupby
from typing import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic import jobs
from clinic.errors import DomainError
from clinic.jobs.models import Job, JobFile
from clinic.reference import import_audit, price_list
from clinic.reference.doctor_match import doctor_name
from clinic.reference.editing import reads_as
from clinic.reference.file_codes import code_on_file, codes_by_look, known_code
from clinic.reference.models import Department
from clinic.reference.price_list_file import (
    SHEETS,
    PriceListRejected,
    Reason,
    Row,
    check_deadline,
    file_kind,
    parse_price_list,
)
from clinic.reference.price_rows import (
    COLUMN_OF_FIELD,
    RowProblems,
    import_department,
    import_doctor,
    service_entry,
    worded,
)

JOB_KIND = "price_import"
jobs.followed_with(JOB_KIND, "reference.import")
TASK_NAME = "imports.price_list"
DEFAULT_BATCH_SIZE = 200
MAX_REPORTED_ERRORS = 1000
# A reason may quote the cell: the job's result stays small however long the cells were.
MAX_REASON_CHARS = 300
OUTCOMES = ("created", "updated", "unchanged", "rejected")


def start_import(
    session: Session,
    *,
    filename: str,
    data: bytes,
    content_type: str = "",
    created_by: str | None = None,
) -> Job:
    """A queued import job holding the file, in the caller's transaction (dispatch after
    commit). Refuses an empty or unrecognised file before anything is written."""
    file_kind(filename, data)
    job = jobs.create_job(session, kind=JOB_KIND, task_name=TASK_NAME, created_by=created_by)
    session.add(
        JobFile(
            job_id=job.id,
            filename=filename[:255],
            content_type=(content_type or "")[:100],
            size=len(data),
            data=data,
        )
    )
    session.flush()
    return job


# -- importing ------------------------------------------------------------------------------


def import_price_list(
    sessionmaker: Callable[[], Session],
    job_id: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    deadline: float | None = None,
) -> dict:
    """Import the job's file to the end and return the job's result (see :func:`result_of`).

    Call it on a claimed job; it resumes after the job's last committed batch. Raises
    :class:`ImportTooLong` once ``time.monotonic()`` passes ``deadline``.
    """
    state = None
    for state in import_batches(sessionmaker, job_id, batch_size=batch_size, deadline=deadline):
        pass
    if state is None:  # nothing was left to do: the saved state is the whole story
        with sessionmaker() as session:
            state = jobs.get_job(session, job_id).state or _fresh_state()
    return result_of(state)


def import_batches(
    sessionmaker: Callable[[], Session],
    job_id: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    deadline: float | None = None,
) -> Iterator[dict]:
    """Import the rows not yet imported, one committed batch at a time, yielding the saved
    state after each commit.

    Every batch's transaction holds its upserts, the job's progress and the state, so a
    crash loses at most the batch in flight and a later attempt redoes exactly that batch.
    Raises :class:`clinic.jobs.ClaimLost` when another attempt has claimed the job since this
    one did.
    """
    with sessionmaker() as session:
        job = jobs.get_job(session, job_id)
        attempt, state = job.attempts, job.state or _fresh_state()
        stored = session.scalars(
            select(JobFile).where(JobFile.job_id == job_id).order_by(JobFile.id).limit(1)
        ).first()
        codes = codes_by_look(session)
        actor = import_audit.uploader(session, job.created_by)
    if stored is None:
        raise PriceListRejected("The job has no file to import.")
    rows = parse_price_list(stored.filename, stored.data, deadline=deadline)
    repeats = _repeats(rows)
    batch_size = max(1, batch_size)
    while state["next"] < len(rows):
        check_deadline(deadline)
        state = copy.deepcopy(state)
        start = state["next"]
        stop = min(start + batch_size, len(rows))
        with sessionmaker() as session, session.begin():
            job = jobs.lock_claimed(session, job_id, attempt)
            departments = dict(session.execute(select(Department.code, Department.id)).all())
            batch = [(rows[i], repeats.get(i)) for i in range(start, stop)]
            trail = import_audit.Trail(actor, job_id)  # its rows commit with the batch, once
            for row, (outcome, problems) in zip(
                rows[start:stop], _import_rows(session, departments, codes, batch, trail)
            ):
                _count(state, row, outcome, problems)
            trail.write(session)
            state["next"] = stop
            jobs.save_progress(session, job, done=stop, total=len(rows), state=state)
        yield state


def _fresh_state() -> dict:
    return {"next": 0, "counts": {}, "errors": [], "errors_total": 0}


def _count(state: dict, row: Row, outcome: str, problems) -> None:
    counts = state["counts"].setdefault(row.sheet, dict.fromkeys(OUTCOMES, 0))
    counts[outcome] += 1
    for column, reason in problems:
        state["errors_total"] += 1
        if len(state["errors"]) < MAX_REPORTED_ERRORS:
            error = {
                "sheet": row.sheet,
                "row": row.number,
                "column": column,
                "reason": reason[:MAX_REASON_CHARS],
            }
            if isinstance(reason, Reason):  # the page says it in its own language by these
                error["code"], error["values"] = reason.code, dict(reason.values)
            state["errors"].append(error)


def result_of(state: dict) -> dict:
    """The job's result: counts over every row, the errors by row and column, and the
    counts of each sheet."""
    sheets = state.get("counts", {})
    result = {o: sum(c.get(o, 0) for c in sheets.values()) for o in OUTCOMES}
    result["errors"] = list(state.get("errors", []))
    result["sheets"] = {name: dict(sheets[name]) for name in SHEETS if name in sheets}
    if state.get("errors_total", 0) > len(result["errors"]):
        result["errors_not_shown"] = state["errors_total"] - len(result["errors"])
    return result


def _repeats(rows: list[Row]) -> dict[int, int]:
    """For each row (by position) that repeats an earlier row's code (for doctors: name and
    department), the number of the row it repeats."""
    seen: dict[tuple[str, str], int] = {}
    repeats = {}
    for i, row in enumerate(rows):
        v = row.values
        if row.sheet == "doctors":
            name = doctor_name(v.get("full_name", ""))
            key = f"{name}\x00{reads_as(v.get('department_code', ''))}" if name else ""
        else:  # "gp-01" and "GP-01" are one service (known_code), "card" and "CARD" one department
            key = reads_as(v.get("code", ""))
        if key:
            first = seen.setdefault((row.sheet, key), row.number)
            if first != row.number:
                repeats[i] = first
    return repeats


def _import_rows(
    session: Session,
    departments: dict[str, int],
    codes: dict[str, set[str]],
    batch: list[tuple[Row, int | None]],
    trail: import_audit.Trail,
) -> list[tuple[str, list[tuple[str | None, str]]]]:
    """Each row's outcome and problems, in order, and what each changed noted in ``trail``.
    Departments and doctors (a workbook's few) are written row by row; the services (the
    sheet that comes last, and the one of many rows) are checked row by row and written
    together."""
    answers = []
    for services, group in groupby(batch, key=lambda item: item[0].sheet == "services"):
        if services:
            answers += _import_services(session, departments, codes, list(group), trail)
        else:
            answers += [_import_row(session, departments, row, r, trail) for row, r in group]
    return answers


def _problems_of(row: Row, repeat_of: int | None) -> list[tuple[str | None, str]]:
    problems = list(row.problems)
    if repeat_of is not None:
        column = "full_name" if row.sheet == "doctors" else "code"
        repeats = f"Repeats row {repeat_of}; only the first one is imported."
        problems.append((column, Reason("repeats", repeats, row=repeat_of)))
    return problems


def _import_row(
    session: Session, departments: dict, row: Row, repeat_of: int | None, trail
) -> tuple[str, list[tuple[str | None, str]]]:
    """A department's or a doctor's row: its outcome and its problems. A rejected row writes
    nothing (and notes nothing)."""
    problems = _problems_of(row, repeat_of)
    importer = {"departments": import_department, "doctors": import_doctor}[row.sheet]
    try:
        with trail.row(row.sheet, row.number), jobs.savepoint(session):
            return importer(session, departments, row.values, problems, trail), []
    except RowProblems as exc:
        return "rejected", exc.problems
    except DomainError as exc:
        return "rejected", _refusal(session, row, exc)


def _import_services(
    session: Session,
    departments: dict[str, int],
    codes: dict[str, set[str]],
    rows: list[tuple[Row, int | None]],
    trail: import_audit.Trail,
) -> list[tuple[str, list[tuple[str | None, str]]]]:
    """The services' rows: their outcomes and problems, in order. The rows that pass their
    checks are written together and noted in ``trail``; a rejected row writes nothing.
    ``codes``: the services' codes by how they read (:func:`~clinic.reference.file_codes.
    codes_by_look`), kept up with the ones created."""
    answers: list = []
    entries: list[tuple[int, Row, dict]] = []
    for row, repeat_of in rows:
        try:
            data = service_entry(departments, row.values, _problems_of(row, repeat_of))
        except RowProblems as exc:
            answers.append(("rejected", exc.problems))
            continue
        data["code"] = known_code(codes, data["code"])
        entries.append((len(answers), row, data))
        answers.append(None)
    if not entries:
        return answers
    noted: list = []  # (entry, before, after)
    lot = [data for _, _, data in entries]
    try:
        with jobs.savepoint(session):
            written = price_list.upsert_services_by_code(session, lot, noted)
    except IntegrityError:  # a code another transaction took meanwhile: row by row, as before
        noted = []
        written = [_upsert_service(session, data, noted, i) for i, data in enumerate(lot)]
    for i, before, after in noted:
        trail.at(entries[i][1].sheet, entries[i][1].number)
        trail.note("service", "services", before, after)
    active: dict[str, tuple] = {}
    for (at, row, data), outcome in zip(entries, written):
        if isinstance(outcome, DomainError):
            answers[at] = ("rejected", _refusal(session, row, outcome, active))
        else:
            answers[at] = (outcome, [])
            codes.setdefault(reads_as(data["code"]), set()).add(data["code"])
    return answers


def _upsert_service(session: Session, data: dict, noted: list, i: int) -> str | DomainError:
    written: list = []  # (before, after) of the entry ``i``, noted once it is written
    try:
        with jobs.savepoint(session):
            outcome = price_list.upsert_service_by_code(session, data, written)
    except DomainError as exc:
        return exc
    noted += [(i, *pair) for pair in written]
    return outcome


# A code or a ticket prefix refused for reading as another's (clinic.reference.file_codes,
# clinic.reference.directory): "К looks the same as K, used by department 3."
LOOKS_TAKEN = re.compile(r"(?P<value>.+) looks the same as (?P<other>.+), used by \w+ \d+\.")


def _refusal(
    session: Session, row: Row, exc: DomainError, active: dict[str, tuple] | None = None
) -> list[tuple[str | None, str]]:
    """The domain's refusal of a row as its problems, by the file's columns (``active``: the
    department each code typed names, its code on file and active flag, read once each for a
    batch's rows)."""
    active = {} if active is None else active
    found = [
        (COLUMN_OF_FIELD.get(field, field), _in_file_terms(session, row, field, message, active))
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return found or [(None, exc.detail)]


def _in_file_terms(
    session: Session, row: Row, field: str, message: str, active: dict[str, tuple]
) -> str:
    """The domain's message, with a department named by its code and a room by its number
    rather than by an id, which the file's author never sees (the department on file, also
    when the row typed its code in other letters: "card" for CARD, see
    the rows' :func:`~clinic.reference.price_rows.department_id_of`)."""
    code, number = row.values.get("department_code"), row.values.get("room_number")
    if field == "room_id" and number:  # the doctor's room, found by its number, is closed
        inactive = f"The room {number!r} is inactive."
        return Reason("inactive_room", inactive, number=number)
    if field == "department_id" and code:
        if code not in active:
            found = dict(session.execute(select(Department.code, Department.active)).all())
            named = code_on_file(found, code)
            active[code] = (named, found.get(named))
        named, on = active[code]
        if on is False:
            inactive = f"The department {named!r} is inactive."
            return Reason("inactive_department", inactive, code=named)
    taken = LOOKS_TAKEN.fullmatch(message)
    if taken:
        # Another department's or doctor's, named by what the file says, not by its id.
        said = f"{taken['value']} looks the same as {taken['other']}, which is taken."
        return Reason("looks_taken", said, value=taken["value"], other=taken["other"])
    # The column's own rule (a code without spaces, a name's length), which the page says
    # in its language for the sheet and the column.
    return worded(message, "invalid")
