"""Building a report: its rows read once and written to every requested format, as a job
(202, progress on the job's channel, files kept with the job) or for an e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic import jobs
from clinic.base import utcnow
from clinic.errors import NotFound, ValidationFailed
from clinic.jobs.models import Job, JobFile
from clinic.money import currency_unit
from clinic.reference.models import Department, Doctor
from clinic.reports import output
from clinic.reports import refusals as R
from clinic.reports.definitions import build, period_text
from clinic.reports.labels import label
from clinic.reports.params import FORMATS, ReportParams

JOB_KIND = "report"
TASK_NAME = "reports.build"
QUEUE = "reports"
# Someone else's report holds the whole clinic's figures: for report readers only.
jobs.followed_with(JOB_KIND, "reports.read")
CHART_NAME = "chart.png"
# A job's progress is saved (and heard on its channel) every this many rows.
PROGRESS_EVERY = 1000


@dataclass
class Rendered:
    files: dict[str, tuple[str, bytes]]  # format -> (file name, content)
    chart: bytes | None
    rows: int
    totals: tuple
    preview: list[list[str]]
    headings: list[str]
    columns: tuple


def format_reasons(value) -> dict[str, list[tuple[str, str]]]:
    """Why ``formats`` is refused (its reasons by field, as :func:`parse_params` takes them),
    empty when it is not."""
    formats = value if isinstance(value, list) else ["csv", "xlsx", "pdf"]
    if not formats or any(f not in FORMATS for f in formats):
        return {"formats": [(R.UNKNOWN_FORMAT, f"Some of: {', '.join(FORMATS)}.")]}
    return {}


def parse_formats(value) -> list[str]:
    reasons = format_reasons(value)
    if reasons:
        raise R.refusal(ValidationFailed, "The formats are not valid.", reasons)
    return list(dict.fromkeys(value if isinstance(value, list) else ["csv", "xlsx", "pdf"]))


def file_stem(params: ReportParams) -> str:
    """The files' name: the report, its grouping, its filters (one department's file saved
    beside another's does not replace it) and its period."""
    filters = "".join(
        f"-{name}{value}"
        for name, value in (("department", params.department_id), ("doctor", params.doctor_id))
        if value is not None
    )
    return (
        f"{params.report}-{params.by}{filters}-{params.start.isoformat()}-{params.end.isoformat()}"
    )


def heading_lines(session: Session, params: ReportParams) -> list[str]:
    lang = params.language
    lines = [
        label(f"title.{params.report}", lang),
        f"{label('period', lang)}: {period_text(params)}",
    ]
    if params.department_id is not None:
        department = session.get(Department, params.department_id)
        name = getattr(department, f"name_{lang}") if department else params.department_id
        lines.append(f"{label('filter.department', lang)}: {name}")
    if params.doctor_id is not None:
        doctor = session.get(Doctor, params.doctor_id)
        lines.append(f"{label('filter.doctor', lang)}: {doctor.full_name if doctor else ''}")
    return lines


def render(
    session: Session,
    params: ReportParams,
    formats: list[str],
    tz: ZoneInfo,
    *,
    on_rows: Callable[[int], None] | None = None,
    every: int = 1000,
    chart: bool = True,
) -> Rendered:
    """Read the report's rows once, writing each format as they come; ``on_rows`` hears
    how many rows were written so far, every ``every`` rows. The chart is drawn when
    ``chart`` (the page shows it) or a PDF is asked for."""
    lang = params.language
    built = build(session, params, tz)
    headings = [label(c.key, lang) for c in built.columns]
    lines = heading_lines(session, params)
    writers = {}
    if "csv" in formats:
        writers["csv"] = output.CsvWriter(built, headings)
    if "xlsx" in formats:
        writers["xlsx"] = output.XlsxWriter(built, headings, lines[0])
    if "pdf" in formats:
        writers["pdf"] = output.PdfWriter(built, headings, lines)
    totals = output.Totals(built.columns)
    # The chart's figure: the first amount of money, else the first count (every report
    # has one or the other).
    figure = min(
        (i for i, c in enumerate(built.columns) if c.summed),
        key=lambda i: (built.columns[i].kind != "money", i),
    )
    points: list[tuple[str, float]] = []
    preview: list[list[str]] = []
    for row in built.rows:
        totals.add(row)
        for writer in writers.values():
            writer.add(row)
        if len(points) < output.CHART_ROWS:
            value = row[figure] or 0
            points.append(
                (str(row[0]), value / 100 if built.columns[figure].kind == "money" else value)
            )
        if len(preview) < output.PREVIEW_ROWS:
            preview.append([output.display(c, v, lang) for c, v in zip(built.columns, row)])
        if on_rows and totals.rows % every == 0:
            on_rows(totals.rows)
    total_row = totals.row(lang)
    drawn = None
    if chart or "pdf" in formats:
        # Money is charted in sums: the title says so, as the scale does not.
        unit = f", {currency_unit(lang)}" if built.columns[figure].kind == "money" else ""
        drawn = output.chart_png(points, f"{lines[0]} — {headings[figure]}{unit}", lang)
    stem = file_stem(params)
    files = {}
    for name, writer in writers.items():
        data = writer.finish(total_row, drawn) if name == "pdf" else writer.finish(total_row)
        files[name] = (f"{stem}.{name}", data)
    return Rendered(
        files=files,
        chart=drawn,
        rows=totals.rows,
        totals=total_row,
        preview=preview,
        headings=headings,
        columns=built.columns,
    )


# --- as a job ------------------------------------------------------------------------------


def start_report(
    session: Session, params: ReportParams, formats: list[str], *, created_by: str | None
) -> Job:
    """A queued report job, in the caller's transaction (dispatch it after commit)."""
    job = jobs.create_job(
        session, kind=JOB_KIND, task_name=TASK_NAME, queue=QUEUE, created_by=created_by
    )
    job.state = {"params": params.as_dict(), "formats": formats}
    session.flush()
    return job


def build_report(sessionmaker, job_id: str, tz: ZoneInfo) -> dict:
    """Build the job's report and keep its files with the job. Re-running a job that died
    midway starts again: the files are written in the last transaction only."""
    with sessionmaker() as session:
        job = jobs.get_job(session, job_id)
        state = dict(job.state or {})
    params = ReportParams.from_dict(state["params"])
    formats = state["formats"]

    def progress(done: int) -> None:
        with sessionmaker() as s, s.begin():
            jobs.save_progress(s, s.get(Job, job_id), done=done, total=None, state=state)

    with sessionmaker() as session:
        # SQLite begins every transaction IMMEDIATE (one writer at a time): the reading
        # transaction holds the write lock, so there progress is saved at the end only.
        sqlite = session.get_bind().dialect.name == "sqlite"
        on_rows = None if sqlite else progress
        rendered = render(session, params, formats, tz, on_rows=on_rows, every=PROGRESS_EVERY)
    with sessionmaker() as session, session.begin():
        session.query(JobFile).filter(JobFile.job_id == job_id).delete()
        for fmt, (name, data) in rendered.files.items():
            session.add(
                JobFile(
                    job_id=job_id,
                    filename=name,
                    content_type=output.CONTENT_TYPES[fmt],
                    size=len(data),
                    data=data,
                )
            )
        if rendered.chart:
            session.add(
                JobFile(
                    job_id=job_id,
                    filename=CHART_NAME,
                    content_type="image/png",
                    size=len(rendered.chart),
                    data=rendered.chart,
                )
            )
        jobs.save_progress(
            session, session.get(Job, job_id), done=rendered.rows, total=rendered.rows, state=state
        )
    return {
        "report": params.as_dict(),
        "rows": rendered.rows,
        "headings": rendered.headings,
        "preview": rendered.preview,
        "totals": [
            output.display(c, v, params.language) for c, v in zip(rendered.columns, rendered.totals)
        ],
        "total_figures": {
            c.key: v for c, v in zip(rendered.columns, rendered.totals) if c.kind != "text"
        },
        "files": {fmt: name for fmt, (name, _data) in rendered.files.items()},
        "chart": CHART_NAME if rendered.chart else None,
        "built_at": utcnow().isoformat(),
    }


def report_job(session: Session, job_id: str) -> Job:
    job = jobs.get_job(session, job_id)
    if job.kind != JOB_KIND:
        raise NotFound(f"report {job_id} does not exist")
    return job


def report_file(session: Session, job_id: str, name: str) -> JobFile:
    """One file of a finished report job (``csv``, ``xlsx``, ``pdf`` or the chart)."""
    report_job(session, job_id)
    found = session.scalar(
        select(JobFile)
        .where(
            JobFile.job_id == job_id,
            JobFile.filename.like(f"%.{name}") if name in FORMATS else JobFile.filename == name,
        )
        .order_by(JobFile.id.desc())
        .limit(1)
    )
    if found is None:
        raise NotFound(f"report {job_id} has no {name} file")
    return found
