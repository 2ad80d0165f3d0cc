"""reference search text and unique ticket prefix

Departments, rooms and services get ``search_text``: the lower-case Latin spelling of their
code, number and names, so a search typed in either script (and in any letter case, which
SQLite's ``lower()`` cannot do for Cyrillic) finds them on both databases. Ticket prefixes
become unique: a ticket number must name one department.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:07:09.984351
"""

import sqlalchemy as sa
from alembic import op

from clinic.text import search_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCHED = {
    "departments": ("code", "name_ru", "name_uz", "name_en"),
    "rooms": ("number", "name"),
    "services": ("code", "name_ru", "name_uz", "name_en"),
}


def upgrade() -> None:
    for table in SEARCHED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("search_text", sa.Text(), nullable=False, server_default="")
            )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_departments_ticket_prefix"), ["ticket_prefix"]
        )

    bind = op.get_bind()
    for table, columns in SEARCHED.items():
        rows = sa.table(table, sa.column("id"), sa.column("search_text"), *map(sa.column, columns))
        for row in bind.execute(sa.select(rows)).mappings().all():
            text = search_key(" ".join(row[c] or "" for c in columns))
            bind.execute(sa.update(rows).where(rows.c.id == row["id"]).values(search_text=text))


def downgrade() -> None:
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_departments_ticket_prefix"), type_="unique")
    for table in reversed(list(SEARCHED)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_text")
