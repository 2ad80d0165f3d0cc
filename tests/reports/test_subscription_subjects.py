"""Report e-mails of one report filtered otherwise (each department's revenue to the head of
the clinic) are told apart in the inbox: the subject names the filter, as the report's own
heading does, and not only the report and its grouping."""

from __future__ import annotations

from datetime import timedelta

from tests.reports.fixtures import NEXT, local, make_reference
from tests.reports.test_subscriptions import beat, subscribe
from tests.visits.conftest import mailbox, settings, smtp_port  # noqa: F401 - fixtures


def test_the_same_report_of_two_departments_has_two_subjects_naming_them(
    runtime, mailbox  # noqa: F811 - the fixture
):
    data = make_reference(runtime)
    for key in ("A", "B"):
        subscribe(runtime, by="day", department_id=data.departments[key], formats=["csv"])
    subscribe(runtime, by="day", doctor_id=data.doctors["D2"], formats=["csv"], language="uz")
    assert beat(runtime, local(NEXT, 6) + timedelta(minutes=1)) == 3
    subjects = sorted(m["subject"] for m in mailbox.wait_for(3))
    assert subjects == [
        "Hisobot: Tushum, kunlar bo'yicha — Shifokor: Доктор D2 (2026-03-10)",
        "Отчёт: Выручка, по дням — Отделение: Терапия (2026-03-10)",
        "Отчёт: Выручка, по дням — Отделение: Хирургия (2026-03-10)",
    ], subjects


def test_the_files_of_one_report_for_two_departments_have_names_of_their_own(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """Saved side by side from the two e-mails (or downloaded from the report page), one
    department's file does not replace the other's."""
    data = make_reference(runtime)
    for key in ("A", "B"):
        subscribe(runtime, by="day", department_id=data.departments[key], formats=["csv"])
    assert beat(runtime, local(NEXT, 6) + timedelta(minutes=1)) == 2
    names = sorted(
        attachment.get_filename()
        for message in mailbox.wait_for(2)
        for attachment in message["raw"].iter_attachments()
    )
    assert len(set(names)) == 2, names
    for key in ("A", "B"):
        assert any(f"department{data.departments[key]}" in name for name in names), names
