"""reports: subscriptions to report e-mails and their delivery log

One delivery row per subscription and period (unique): the e-mail of a period is sent once
however often beat asks.

The integrator re-chains ``down_revision`` after the other modules' migrations.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clinic.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("formats", JSON, nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unsubscribed_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "frequency IN ('daily', 'weekly', 'monthly')",
            name=op.f("ck_report_subscriptions_frequency_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_subscriptions")),
    )
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attachments", JSON, nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_report_deliveries_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["report_subscriptions.id"],
            name=op.f("fk_report_deliveries_subscription_id_report_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint(
            "subscription_id", "period_start", name="uq_report_deliveries_subscription_period"
        ),
    )
    op.create_index(
        "ix_report_deliveries_state_next",
        "report_deliveries",
        ["state", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_report_deliveries_state_next", table_name="report_deliveries")
    op.drop_table("report_deliveries")
    op.drop_table("report_subscriptions")
