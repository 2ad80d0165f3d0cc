"""payme keys: the cashbox key set by Payme's ChangePassword, as its digest

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:10:00
"""

import sqlalchemy as sa
from alembic import op

import clinic.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payme_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("replaces", sa.String(length=64), nullable=False),
        sa.Column("changed_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payme_keys")),
    )


def downgrade() -> None:
    # Payme signs with the settings' key again: put the changed key in PAYME_KEY first.
    op.drop_table("payme_keys")
