"""working hours for one date: a doctor's hours on a single day, in place of his week's

A row with a ``day`` replaces, on that date only, the rows of his week for its weekday; the
week's rows have none.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))


def downgrade() -> None:
    # The dates' own hours go with the column: each date follows the week again.
    op.execute("DELETE FROM working_hours WHERE day IS NOT NULL")
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_column("day")
