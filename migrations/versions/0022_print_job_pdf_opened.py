"""print jobs: when a job's PDF was first opened before it printed

A ticket or a receipt whose thermal printer failed is printed from its PDF at the desk; a
retry of that job afterwards prints the same paper again. ``print_jobs.pdf_opened_at``
notes the first time a job that had not printed was opened as a PDF, and its retry is then
marked as a copy ("КОПИЯ / COPY"): one paper of a document is never there twice unmarked.
Nullable, no default: the rows already there were opened or not, as nobody noted.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 16:40:00
"""

import sqlalchemy as sa
from alembic import op

import clinic.base

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pdf_opened_at", clinic.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_column("pdf_opened_at")
