"""printing: printers, what each prints for, print jobs with their bytes, request cursors

The integrator re-chains ``down_revision`` after the other modules' migrations.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:59:41.417230
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clinic.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_cursors",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_print_cursors")),
    )
    op.create_table(
        "printers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("code_page", sa.String(length=16), nullable=False),
        sa.Column("paper_mm", sa.Integer(), nullable=False),
        sa.Column("languages", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failing_since", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_printed_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('network', 'pdf')", name=op.f("ck_printers_kind_known")),
        sa.CheckConstraint("paper_mm IN (58, 80)", name=op.f("ck_printers_paper_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printers")),
        sa.UniqueConstraint("name", name=op.f("uq_printers_name")),
    )
    op.create_table(
        "print_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("copy", sa.Boolean(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("source_channel", sa.String(length=200), nullable=True),
        sa.Column("source_seq", sa.BigInteger(), nullable=True),
        sa.Column(
            "retry_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_failed_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("printed_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'printed', 'failed', 'pdf_only')",
            name=op.f("ck_print_jobs_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_print_jobs_printer_id_printers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["retry_of_id"],
            ["print_jobs.id"],
            name=op.f("fk_print_jobs_retry_of_id_print_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
        sa.UniqueConstraint("source_channel", "source_seq", name="one_job_per_request"),
    )
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_print_jobs_printer_pending", ["printer_id", "state", "id"], unique=False
        )
        batch_op.create_index("ix_print_jobs_subject", ["kind", "subject_id"], unique=False)

    op.create_table(
        "printer_assignments",
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_printer_assignments_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_printer_assignments")),
    )
    with op.batch_alter_table("printer_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_printer_assignments_printer_id"), ["printer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("printer_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_printer_assignments_printer_id"))

    op.drop_table("printer_assignments")
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_print_jobs_subject")
        batch_op.drop_index("ix_print_jobs_printer_pending")

    op.drop_table("print_jobs")
    op.drop_table("printers")
    op.drop_table("print_cursors")
