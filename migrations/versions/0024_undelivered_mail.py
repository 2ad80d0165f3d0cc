"""mail that can never be delivered: kept with why, and not tried again

``payment_effects.error``: the e-mail receipt's address refused for good by the mail server
(``550 user unknown``); the effect is done, with its refusal, instead of retried for days.
``visit_notices.error`` is why a notice's last try failed, and ``failed_at`` when it was
given up (refused for good, or unsent two days after it was written): no sender tries it
again until its visit's address is corrected. Nullable, no default: the rows already there
were sent, or are still to be tried.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

import clinic.base

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_effects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.String(length=500), nullable=True))
    with op.batch_alter_table("visit_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("failed_at", clinic.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_notices", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("error")
    with op.batch_alter_table("payment_effects", schema=None) as batch_op:
        batch_op.drop_column("error")
