"""payments: invoices, lines, payments, refunds, cashier shifts, paid effects;
patients' e-mail, tickets' paid time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:29:25.184679
"""

import sqlalchemy as sa
from alembic import op

import clinic.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cashier_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cashier_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opening_cash", sa.BigInteger(), nullable=False),
        sa.Column("expected_cash", sa.BigInteger(), nullable=True),
        sa.Column("counted_cash", sa.BigInteger(), nullable=True),
        sa.Column("discrepancy", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "counted_cash IS NULL OR counted_cash >= 0",
            name=op.f("ck_cashier_shifts_counted_not_negative"),
        ),
        sa.CheckConstraint(
            "opening_cash >= 0", name=op.f("ck_cashier_shifts_opening_cash_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["cashier_id"], ["users.id"], name=op.f("fk_cashier_shifts_cashier_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cashier_shifts")),
    )
    op.create_index(
        op.f("ix_cashier_shifts_cashier_id"), "cashier_shifts", ["cashier_id"], unique=False
    )
    op.create_index(
        "uq_cashier_shifts_open_per_cashier",
        "cashier_shifts",
        ["cashier_id"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("discount_reason", sa.Text(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("held_by", sa.String(length=120), nullable=True),
        sa.Column("held_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("paid_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=64), nullable=True),
        sa.Column("cancelled_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'paid', 'partly_refunded', 'refunded', 'cancelled')",
            name=op.f("ck_invoices_status_known"),
        ),
        sa.CheckConstraint(
            "discount >= 0 AND discount <= subtotal", name=op.f("ck_invoices_discount_range")
        ),
        sa.CheckConstraint(
            "paid_amount >= 0 AND paid_amount <= total", name=op.f("ck_invoices_paid_range")
        ),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= paid_amount",
            name=op.f("ck_invoices_refunded_range"),
        ),
        sa.CheckConstraint("subtotal >= 0", name=op.f("ck_invoices_subtotal_not_negative")),
        sa.CheckConstraint(
            "total = subtotal - discount", name=op.f("ck_invoices_total_is_subtotal_less_discount")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_invoices_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_invoices_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    op.create_index("ix_invoices_created_at", "invoices", ["created_at"], unique=False)
    op.create_index(op.f("ix_invoices_patient_id"), "invoices", ["patient_id"], unique=False)
    op.create_index(op.f("ix_invoices_ticket_id"), "invoices", ["ticket_id"], unique=False)
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ikpu_code", sa.String(length=17), nullable=False),
        sa.Column("package_code", sa.String(length=20), nullable=False),
        sa.Column("vat_percent", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "amount = quantity * unit_price",
            name=op.f("ck_invoice_lines_amount_is_quantity_times_price"),
        ),
        sa.CheckConstraint(
            "quantity >= 1 AND quantity <= 1000", name=op.f("ck_invoice_lines_quantity_range")
        ),
        sa.CheckConstraint(
            "unit_price >= 0", name=op.f("ck_invoice_lines_unit_price_not_negative")
        ),
        sa.CheckConstraint(
            "vat_percent >= 0 AND vat_percent <= 100", name=op.f("ck_invoice_lines_vat_range")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_invoice_lines_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_invoice_id_position"),
    )
    op.create_index(
        op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"], unique=False
    )
    op.create_table(
        "payment_effects",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("done_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payment_effects_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_effects")),
        sa.UniqueConstraint("invoice_id", "kind", name="uq_payment_effects_invoice_kind"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("tendered", sa.BigInteger(), nullable=True),
        sa.Column("change", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount",
            name=op.f("ck_payments_refunded_range"),
        ),
        sa.CheckConstraint(
            "tendered IS NULL OR tendered >= amount",
            name=op.f("ck_payments_tendered_covers_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["cashier_shifts.id"], name=op.f("fk_payments_shift_id_cashier_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_provider_ref"),
    )
    op.create_index("ix_payments_created_at", "payments", ["created_at"], unique=False)
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_payments_shift_id"), "payments", ["shift_id"], unique=False)
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_refunds_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["cashier_shifts.id"], name=op.f("fk_refunds_shift_id_cashier_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "payment_id", "provider_ref", name="uq_refunds_payment_id_provider_ref"
        ),
    )
    op.create_index(op.f("ix_refunds_invoice_id"), "refunds", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_refunds_payment_id"), "refunds", ["payment_id"], unique=False)
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid_at", clinic.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("paid_at")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("email")
    op.drop_index(op.f("ix_refunds_payment_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_invoice_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_payments_shift_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_invoice_id"), table_name="payments")
    op.drop_index("ix_payments_created_at", table_name="payments")
    op.drop_table("payments")
    op.drop_table("payment_effects")
    op.drop_index(op.f("ix_invoice_lines_invoice_id"), table_name="invoice_lines")
    op.drop_table("invoice_lines")
    op.drop_index(op.f("ix_invoices_ticket_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_patient_id"), table_name="invoices")
    op.drop_index("ix_invoices_created_at", table_name="invoices")
    op.drop_table("invoices")
    op.drop_index(
        "uq_cashier_shifts_open_per_cashier",
        table_name="cashier_shifts",
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.drop_index(op.f("ix_cashier_shifts_cashier_id"), table_name="cashier_shifts")
    op.drop_table("cashier_shifts")
