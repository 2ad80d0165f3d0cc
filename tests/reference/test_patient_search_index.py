"""Searching patients by a part of a name, phone or document on PostgreSQL goes through the
trigram indexes of migration 0019, not through the whole table (how much faster that is at
100,000 patients is bench/patient_search.py's to measure, in docs/PERFORMANCE.md). On
SQLite the search reads the table, and finds the same."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from clinic.migrate import DATABASE_ONLY_INDEXES
from clinic.reference import patients


def search_plan(db, q: str) -> str:
    """The plan of the page's statement ``list_patients`` sends for ``q``, the table read
    only where an index cannot serve (as with many rows)."""
    sent = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement:
            sent.append((statement, parameters))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        patients.list_patients(db, q=q)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    [(statement, parameters)] = sent
    db.execute(text("SET LOCAL enable_seqscan = off"))
    rows = db.connection().exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(row[0] for row in rows)


@pytest.fixture
def on_file(db):
    for name, phone, document in (
        ("Oʻralov Sherzod", "+998901234567", "AA1234567"),
        ("Каримов Анвар", "+998911112233", "AB7654321"),
    ):
        patients.create_patient(
            db, {"full_name": name, "sex": "M", "phone": phone, "document_number": document}
        )
    db.flush()
    return db


def test_a_patient_is_found_by_a_part_of_his_name_in_any_spelling(on_file):
    for q in ("O‘ralov", "Ўралов", "uralov", "Sherz", "карим", "12345", "AA12"):
        found = [p.full_name for p in patients.list_patients(on_file, q=q)[0]]
        assert len(found) == 1, (q, found)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has no trigram index
@pytest.mark.parametrize("q", ["O‘ralov", "Каримов Анвар", "sherz", "45 67", "AA123"])
def test_a_search_by_a_part_goes_through_the_trigram_indexes(on_file, q):
    plan = search_plan(on_file, q)
    assert "Seq Scan on patients" not in plan, plan
    used = {name for name in DATABASE_ONLY_INDEXES if name in plan}
    assert used, plan


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_trigram_indexes_are_the_ones_comparisons_leave_alone(db):
    made = db.scalars(
        text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'patients' "
            "AND indexdef LIKE '%gin_trgm_ops%'"
        )
    ).all()
    assert set(made) == DATABASE_ONLY_INDEXES
