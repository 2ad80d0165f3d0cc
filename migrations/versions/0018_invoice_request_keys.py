"""invoice request keys: who asked for an invoice and his idempotency key, unique

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 06:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(length=170), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_invoices_request_key"), ["request_key"])


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_invoices_request_key"), type_="unique")
        batch_op.drop_column("request_key")
