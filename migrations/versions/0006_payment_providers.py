"""payment providers: Payme and Click transactions, webhook events, the provider log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:50:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clinic.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = clinic.base.UTCDateTime(timezone=True)

APPEND_ONLY_PG = """
CREATE FUNCTION payment_provider_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the provider log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payment_provider_log_no_update BEFORE UPDATE OR DELETE ON payment_provider_log
    FOR EACH ROW EXECUTE FUNCTION payment_provider_log_append_only();
"""

# As for the audit log: SQLite refuses updates only (test databases are emptied with DELETE).
APPEND_ONLY_SQLITE = """
CREATE TRIGGER payment_provider_log_no_update BEFORE UPDATE ON payment_provider_log
BEGIN
    SELECT RAISE(ABORT, 'the provider log is append-only');
END;
"""


def upgrade() -> None:
    op.create_table(
        "payme_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payme_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("account", JSON, nullable=False),
        sa.Column("payme_time", sa.BigInteger(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("perform_time", sa.BigInteger(), nullable=False),
        sa.Column("cancel_time", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("fiscal_perform", JSON, nullable=True),
        sa.Column("fiscal_cancel", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payme_transactions_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payme_transactions_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payme_transactions")),
        sa.UniqueConstraint("payme_id", name=op.f("uq_payme_transactions_payme_id")),
    )
    op.create_index(op.f("ix_payme_transactions_invoice_id"), "payme_transactions", ["invoice_id"])
    op.create_index("ix_payme_transactions_payme_time", "payme_transactions", ["payme_time"])
    op.create_index(
        "uq_payme_transactions_live_invoice",
        "payme_transactions",
        ["invoice_id"],
        unique=True,
        sqlite_where=sa.text("state IN (1, 2)"),
        postgresql_where=sa.text("state IN (1, 2)"),
    )

    op.create_table(
        "click_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("click_trans_id", sa.BigInteger(), nullable=False),
        sa.Column("click_paydoc_id", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("click_error", sa.Integer(), nullable=True),
        sa.Column("confirm_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("completed_at", TIME, nullable=True),
        sa.Column("cancelled_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_click_transactions_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_click_transactions_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_transactions")),
        sa.UniqueConstraint("click_trans_id", name=op.f("uq_click_transactions_click_trans_id")),
    )
    op.create_index(op.f("ix_click_transactions_invoice_id"), "click_transactions", ["invoice_id"])

    op.create_table(
        "payment_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("applied_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_webhook_events")),
        sa.UniqueConstraint("provider", "webhook_id", name="uq_payment_webhook_events_provider_id"),
    )
    op.create_index(
        op.f("ix_payment_webhook_events_invoice_id"), "payment_webhook_events", ["invoice_id"]
    )
    op.create_index(
        op.f("ix_payment_webhook_events_reference"), "payment_webhook_events", ["reference"]
    )

    op.create_table(
        "payment_provider_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", TIME, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_provider_log")),
    )
    op.create_index(op.f("ix_payment_provider_log_at"), "payment_provider_log", ["at"])
    op.create_index(
        op.f("ix_payment_provider_log_invoice_id"), "payment_provider_log", ["invoice_id"]
    )
    op.create_index(
        op.f("ix_payment_provider_log_provider_ref"), "payment_provider_log", ["provider_ref"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_PG)
    else:
        op.execute(APPEND_ONLY_SQLITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payment_provider_log_no_update ON payment_provider_log")
        op.execute("DROP FUNCTION IF EXISTS payment_provider_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS payment_provider_log_no_update")
    op.drop_index(op.f("ix_payment_provider_log_provider_ref"), table_name="payment_provider_log")
    op.drop_index(op.f("ix_payment_provider_log_invoice_id"), table_name="payment_provider_log")
    op.drop_index(op.f("ix_payment_provider_log_at"), table_name="payment_provider_log")
    op.drop_table("payment_provider_log")
    op.drop_index(op.f("ix_payment_webhook_events_reference"), table_name="payment_webhook_events")
    op.drop_index(op.f("ix_payment_webhook_events_invoice_id"), table_name="payment_webhook_events")
    op.drop_table("payment_webhook_events")
    op.drop_index(op.f("ix_click_transactions_invoice_id"), table_name="click_transactions")
    op.drop_table("click_transactions")
    op.drop_index(
        "uq_payme_transactions_live_invoice",
        table_name="payme_transactions",
        sqlite_where=sa.text("state IN (1, 2)"),
        postgresql_where=sa.text("state IN (1, 2)"),
    )
    op.drop_index("ix_payme_transactions_payme_time", table_name="payme_transactions")
    op.drop_index(op.f("ix_payme_transactions_invoice_id"), table_name="payme_transactions")
    op.drop_table("payme_transactions")
