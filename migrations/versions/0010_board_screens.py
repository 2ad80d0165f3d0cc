"""board screens: paired display devices, a board's language and its names

A screen paired with a board proves itself with a device secret (kept as a SHA-256), which
does not end with anyone's session; an administrator revokes it. Each board gets the language
of its own texts and optional names in other languages.

The integrator re-chains ``down_revision`` after the other modules' migrations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clinic.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("boards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=2), server_default="ru", nullable=False)
        )
        batch_op.add_column(sa.Column("titles", JSON, nullable=True))
    op.create_table(
        "board_screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", clinic.base.UTCDateTime(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", clinic.base.UTCDateTime(), nullable=False),
        sa.Column("paired_at", clinic.base.UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", clinic.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", clinic.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_screens_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_screens")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_board_screens_code_hash")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_board_screens_secret_hash")),
    )
    with op.batch_alter_table("board_screens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_board_screens_board_id"), ["board_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("board_screens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_screens_board_id"))
    op.drop_table("board_screens")
    with op.batch_alter_table("boards", schema=None) as batch_op:
        batch_op.drop_column("titles")
        batch_op.drop_column("language")
