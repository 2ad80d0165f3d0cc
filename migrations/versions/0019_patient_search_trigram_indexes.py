"""patient search trigram indexes (PostgreSQL): a name, a phone or a document found by a part

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 10:15:00

A patient is searched by any part of his name, phone or document number (``LIKE
'%part%'``), which no b-tree serves: at 100,000 patients each search read the whole table
(bench/patient_search.py, docs/PERFORMANCE.md). pg_trgm's GIN indexes serve such patterns.
A name's words are compared in three foldings of the search name
(``clinic.reference.editing.loosely_contains``); each has its own expression index, written
exactly as the query writes it, or the planner would not match them. SQLite has no such
index: there the search reads the table as before.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The foldings as the search applies them, innermost first (clinic/text.py LOOSE_FOLDS, and
# BARE_FOLDS and YO_FOLDS of clinic/reference/editing.py, as of this revision).
LOOSE = (("zh", "j"), ("dj", "j"), ("kh", "x"), ("o'", "u"), ("'", ""), ("q", "k"), ("h", "x"))
BARE = tuple(fold for fold in LOOSE if fold[0] != "o'")
YO = LOOSE + (("yo", "e"), ("ye", "e"))
FOLDINGS = {"loose": LOOSE, "bare": BARE, "yo": YO}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def folded(column: str, folds) -> str:
    for old, new in folds:
        column = f"replace({column}, {_literal(old)}, {_literal(new)})"
    return column


INDEXES = {
    **{
        f"ix_patients_search_name_{name}_trgm": folded("search_name", folds)
        for name, folds in FOLDINGS.items()
    },
    "ix_patients_phone_trgm": "phone",
    "ix_patients_document_number_trgm": "document_number",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON patients USING gin (({expression}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
