"""patient search: Latin typed without the sign the Russian way (Roziev, Toraev)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:30:00

A name written in Uzbek Latin with its sign and "ye" (Roʻziyev, Toʻrayev) is often typed
without the sign and with "e", as a Russian passport writes it: Roziev, Toraev. Neither the
folding that drops the sign nor the one that writes "ye" as "e" makes the two alike alone;
a fourth folding of a name's words does both (``clinic.reference.name_match.BARE_YO_FOLDS``).
It has its own trigram index, written exactly as the query writes it (see 0019); SQLite has
no such index.
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NAME = "ix_patients_search_name_bare_yo_trgm"
# The folding, innermost first (clinic/text.py LOOSE_FOLDS without its "o'", then "yo", "ye"
# and "y" as in 0021).
BARE_YO = (("zh", "j"), ("dj", "j"), ("kh", "x"), ("'", ""), ("q", "k"), ("h", "x")) + (
    ("yo", "e"),
    ("ye", "e"),
    ("y", "i"),
)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def folded(column: str, folds) -> str:
    for old, new in folds:
        column = f"replace({column}, {_literal(old)}, {_literal(new)})"
    return column


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE INDEX {NAME} ON patients USING gin "
        f"(({folded('search_name', BARE_YO)}) gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {NAME}")
