"""patient search: passport spellings of Russian names (Iusupov, Tsoi, Evgenii)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:40:00

Russian passports write "ю", "я" and "й" as "iu", "ia" and "i" (Iusupov for Юсупов, Tsoi for
Цой, Evgenii for Евгений), where the search key of the Cyrillic name has "yu", "ya" and "y".
The third folding of a name's words (``clinic.reference.editing.YO_FOLDS``), which already
writes "ё" and "е" as "e", now also writes every "y" as "i", so either spelling finds the
other. Its trigram index is made again with the new expression, written exactly as the query
writes it (see 0019); SQLite has no such index.
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

NAME = "ix_patients_search_name_yo_trgm"
# The folding on each side of this revision, innermost first.
LOOSE = (("zh", "j"), ("dj", "j"), ("kh", "x"), ("o'", "u"), ("'", ""), ("q", "k"), ("h", "x"))
BEFORE = LOOSE + (("yo", "e"), ("ye", "e"))
AFTER = BEFORE + (("y", "i"),)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def folded(column: str, folds) -> str:
    for old, new in folds:
        column = f"replace({column}, {_literal(old)}, {_literal(new)})"
    return column


def _index(folds) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {NAME}")
    op.execute(
        f"CREATE INDEX {NAME} ON patients USING gin (({folded('search_name', folds)}) gin_trgm_ops)"
    )


def upgrade() -> None:
    _index(AFTER)


def downgrade() -> None:
    _index(BEFORE)
