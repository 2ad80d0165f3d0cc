"""board screens paired by an account: which account, and its credentials' version then

A display account that opens its board pairs the screen by itself. Such a screen works while
that account's credentials hold as they were at pairing: a disable, a new password or other
roles end it. A screen paired with a one-time code has neither column and lives until it is
revoked.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("board_screens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paired_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("paired_by_version", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_board_screens_paired_by_user_id_users"),
            "users",
            ["paired_by_user_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_board_screens_paired_by_user_id"), ["paired_by_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("board_screens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_screens_paired_by_user_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_board_screens_paired_by_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("paired_by_version")
        batch_op.drop_column("paired_by_user_id")
