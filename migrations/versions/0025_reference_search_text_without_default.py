"""reference search text without a database default

0002 gave ``search_text`` of departments, rooms and services an empty server default so
the rows already there could take the column; the models write it with every row and
declare none. A row inserted beside the application (a script, a restore of a table) took
the empty text and could never be found by a search; now the database refuses it instead.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

TABLES = ("departments", "rooms", "services")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "search_text", existing_type=sa.Text(), existing_nullable=False, server_default=None
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "search_text", existing_type=sa.Text(), existing_nullable=False, server_default=""
            )
