"""A month's reports over generated visits and payments on PostgreSQL: time and peak memory.

``--rows`` visits, each with a paid invoice (one line) and its payment, spread over February
2026 among 50 doctors in 5 departments and 10,000 patients, are generated in the database
(``INSERT ... SELECT generate_series``). Then each report of the month is built, in every
format (CSV, XLSX, PDF with its chart), by a fresh process as a worker would: the wall time
of the build and the process's peak resident memory, before and after the build.

    python bench/reports.py --postgres --rows 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess  # nosec B404 - our own measuring process
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402

from bench.support.harness import Stack, add_common_arguments, write_result  # noqa: E402

NAME = "reports"
DOCTORS, DEPARTMENTS, SERVICES, PATIENTS, SEATS = 50, 5, 20, 10_000, 20
MONTH = ("2026-02-01", "2026-02-28")
MONTH_START_UTC = "2026-01-31 19:00:00+00"  # 00:00 on 1 February in Tashkent
MONTH_MINUTES = 28 * 24 * 60
# Up to this many visits a doctor's seat's visits stay at least 20 minutes apart.
MAX_ROWS = MONTH_MINUTES * DOCTORS * SEATS // 20
REPORTS = (
    ("revenue", "day"),
    ("revenue", "doctor"),
    ("revenue", "service"),
    ("revenue", "method"),
    ("visits", "day"),
    ("visits", "doctor"),
)


class DatabaseOnly(Stack):
    """The harness's migrated scratch database and runtime, without a web server."""

    def start_server(self) -> None:
        self.server = None


def generate(stack: Stack, rows: int) -> dict:
    """Reference rows through SQL too (the benches' own data), then ``rows`` visits,
    invoices, lines and payments, each by one INSERT ... SELECT."""
    runtime = stack.runtime
    started = time.perf_counter()
    statements = [
        f"""INSERT INTO departments (code, ticket_prefix, name_ru, name_uz, name_en, search_text,
                active, created_at, updated_at)
            SELECT 'bd' || d, 'B' || chr(65 + d), 'Отделение ' || d, 'Bo''lim ' || d,
                   'Department ' || d, '', true, now(), now()
            FROM generate_series(0, {DEPARTMENTS - 1}) d""",
        f"""INSERT INTO doctors (full_name, search_name, department_id, specialty, active,
                created_at, updated_at)
            SELECT 'Доктор ' || d, 'doktor ' || d,
                   (SELECT min(id) FROM departments) + d % {DEPARTMENTS}, '', true, now(), now()
            FROM generate_series(0, {DOCTORS - 1}) d""",
        f"""INSERT INTO services (code, name_ru, name_uz, name_en, price, duration_minutes,
                ikpu_code, package_code, vat_percent, search_text, active, created_at, updated_at)
            SELECT 'BS-' || s, 'Услуга ' || s, 'Xizmat ' || s, 'Service ' || s, 5000000, 20,
                   '', '', 0, '', true, now(), now()
            FROM generate_series(0, {SERVICES - 1}) s""",
        f"""INSERT INTO patients (full_name, search_name, sex, notes, active, created_at,
                updated_at)
            SELECT 'Пациент ' || p, 'patsient ' || p, 'F', '', true, now(), now()
            FROM generate_series(0, {PATIENTS - 1}) p""",
        # Visit i starts i/rows of the month in: a doctor's seat (i mod 1000) comes back
        # every 1000 visits and a patient every 10,000, far enough apart up to MAX_ROWS that
        # neither is ever booked twice at once (the exclusion constraints hold).
        f"""INSERT INTO visits (patient_id, doctor_id, department_id, starts_at, ends_at, seat,
                kind, status, moves, comment, late_cancellation, created_by, created_at,
                updated_at)
            SELECT (SELECT min(id) FROM patients) + i % {PATIENTS},
                   (SELECT min(id) FROM doctors) + i % {DOCTORS},
                   (SELECT min(id) FROM departments) + (i % {DOCTORS}) % {DEPARTMENTS},
                   t, t + interval '20 minutes', (i / {DOCTORS}) % {SEATS}, 'scheduled',
                   CASE i % 10 WHEN 0 THEN 'no_show' WHEN 1 THEN 'cancelled'
                        ELSE 'completed' END,
                   0, '', i % 20 = 1, 'bench', t, t
            FROM generate_series(0, {rows - 1}) i,
                 LATERAL (SELECT timestamptz '{MONTH_START_UTC}'
                          + (i::bigint * {MONTH_MINUTES} / {rows}) * interval '1 minute'
                         ) AS s(t)""",
        """INSERT INTO invoices (patient_id, visit_id, status, subtotal, discount, discount_reason,
                total, paid_amount, refunded_amount, created_at, created_by, paid_at)
            SELECT patient_id, id, 'paid', 5000000 + (id % 7) * 1000000, 0, '',
                   5000000 + (id % 7) * 1000000, 5000000 + (id % 7) * 1000000, 0,
                   starts_at, 'bench', starts_at + interval '5 minutes'
            FROM visits WHERE created_by = 'bench'""",
        f"""INSERT INTO invoice_lines (invoice_id, position, service_id, title, quantity,
                unit_price, amount, ikpu_code, package_code, vat_percent)
            SELECT id, 1, (SELECT min(id) FROM services) + id % {SERVICES}, 'Услуга', 1, total,
                   total, '', '', 0
            FROM invoices WHERE created_by = 'bench'""",
        """INSERT INTO payments (invoice_id, method, amount, refunded_amount, provider,
                provider_ref, actor, created_at)
            SELECT id, (ARRAY['cash', 'card', 'payme', 'click'])[1 + id % 4], total, 0,
                   CASE id % 4 WHEN 2 THEN 'payme' WHEN 3 THEN 'click' END,
                   CASE WHEN id % 4 >= 2 THEN 'bench-' || id END,
                   'kassir' || id % 10, paid_at
            FROM invoices WHERE created_by = 'bench'""",
        "ANALYZE",
    ]
    with runtime.db.engine.begin() as conn:
        for statement in statements[:-1]:
            conn.execute(text(statement))
    with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statements[-1]))
    with runtime.db.engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # nosec B608
            for table in ("visits", "payments")
        }
    return {**counts, "generate_seconds": round(time.perf_counter() - started, 1)}


def measure_one(database_url: str, report: str, by: str) -> dict:
    """Build one report in every format in this (fresh) process; its time and memory."""
    from zoneinfo import ZoneInfo

    import matplotlib  # noqa: F401 - loaded before the baseline, as a worker has it loaded
    import openpyxl  # noqa: F401

    from clinic.db import Database
    from clinic.reports.building import render
    from clinic.reports.params import ReportParams

    database = Database(database_url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    params = ReportParams.from_dict({"report": report, "by": by, "start": MONTH[0],
                                     "end": MONTH[1], "language": "ru"})  # fmt: skip
    started = time.perf_counter()
    with database.session() as session:
        rendered = render(session, params, ["csv", "xlsx", "pdf"], ZoneInfo("Asia/Tashkent"))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    database.dispose()
    return {
        "report": f"{report}/{by}",
        "rows": rendered.rows,
        "seconds": round(seconds, 3),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "bytes": {fmt: len(data) for fmt, (_name, data) in rendered.files.items()},
        "totals": [str(v) for v in rendered.totals],
    }


def measure(database_url: str, report: str, by: str) -> dict:
    done = subprocess.run(  # nosec B603 - this script, a fixed command line
        [sys.executable, __file__, "--measure-one", database_url, report, by],
        cwd=REPO, capture_output=True, text=True, timeout=1800, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--measure-one"]:
        print(json.dumps(measure_one(*argv[1:4])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--rows", type=int, default=100_000, help="visits and payments each")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated reports to build, as report/grouping (default: "
        + ", ".join(f"{r}/{b}" for r, b in REPORTS)
        + ")",
    )
    args = parser.parse_args(argv)
    if not args.postgres and not (args.database_url or "").startswith("postgresql"):
        parser.error("this bench generates its data with PostgreSQL: give --postgres")
    if not 1 <= args.rows <= MAX_ROWS:
        parser.error(f"--rows must be between 1 and {MAX_ROWS}")

    with DatabaseOnly(args) as stack:
        generated = generate(stack, args.rows)
        chosen = [tuple(x.split("/", 1)) for x in args.only.split(",") if x] or REPORTS
        builds = [measure(stack.database_url, report, by) for report, by in chosen]
        result = {
            "database": stack.database_kind,
            "rows": args.rows,
            **generated,
            "month": list(MONTH),
            "builds": builds,
            "slowest_seconds": max(b["seconds"] for b in builds),
            "largest_peak_mib": max(b["rss_peak_mib"] for b in builds),
        }
    path = write_result(args, NAME, result)
    print(f"{NAME}: {args.rows} rows; slowest build {result['slowest_seconds']} s, "
          f"peak {result['largest_peak_mib']} MiB -> {path}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
