"""electronic queue: queues, days, tickets, history, boards

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 01:13:18.583406
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clinic.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "boards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "queue_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("voice_languages", sa.String(length=20), nullable=False),
        sa.Column("chime", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("prefix", sa.String(length=3), nullable=False),
        sa.Column("start_number", sa.Integer(), nullable=False),
        sa.Column("online_from", sa.Time(), nullable=True),
        sa.Column("online_until", sa.Time(), nullable=True),
        sa.Column("online_daily_limit", sa.Integer(), nullable=False),
        sa.Column("pay_before_doctor", sa.Boolean(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
        sa.Column("close_action", sa.String(length=16), nullable=False),
        sa.Column("default_service_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "close_action IN ('no_show', 'cancel')", name=op.f("ck_queues_close_action_known")
        ),
        sa.CheckConstraint(
            "online_daily_limit >= 0", name=op.f("ck_queues_online_limit_not_negative")
        ),
        sa.CheckConstraint(
            "start_number >= 1 AND start_number <= 9000", name=op.f("ck_queues_start_number_range")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_queues_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name=op.f("fk_queues_doctor_id_doctors")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_queues_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("code", name=op.f("uq_queues_code")),
    )
    op.create_table(
        "queue_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("online_issued", sa.Integer(), nullable=False),
        sa.Column("closed_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_queue_days_queue_id_queues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_days")),
        sa.UniqueConstraint("queue_id", "day", name="uq_queue_days_queue_id_day"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_day_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=13), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("queued_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("called_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", clinic.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recalls", sa.Integer(), nullable=False),
        sa.Column("transferred_from_id", sa.Integer(), nullable=True),
        sa.Column("return_to_queue_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_tickets_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["queue_day_id"], ["queue_days.id"], name=op.f("fk_tickets_queue_day_id_queue_days")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_tickets_queue_id_queues")
        ),
        sa.ForeignKeyConstraint(
            ["return_to_queue_id"], ["queues.id"], name=op.f("fk_tickets_return_to_queue_id_queues")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_tickets_room_id_rooms")),
        sa.ForeignKeyConstraint(
            ["transferred_from_id"],
            ["tickets.id"],
            name=op.f("fk_tickets_transferred_from_id_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("queue_day_id", "number", name="uq_tickets_queue_day_id_number"),
        sa.UniqueConstraint("token", name=op.f("uq_tickets_token")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_waiting_order",
            ["queue_day_id", "status", "priority", "queued_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_tickets_active_online_phone",
            ["queue_day_id", "phone"],
            unique=True,
            sqlite_where=sa.text(
                "source = 'online' AND status IN ('waiting', 'called', 'in_service', 'postponed')"
            ),
            postgresql_where=sa.text(
                "source = 'online' AND status IN ('waiting', 'called', 'in_service', 'postponed')"
            ),
        )

    op.create_table(
        "ticket_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", clinic.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tickets_active_online_phone",
            sqlite_where=sa.text(
                "source = 'online' AND status IN ('waiting', 'called', 'in_service', 'postponed')"
            ),
            postgresql_where=sa.text(
                "source = 'online' AND status IN ('waiting', 'called', 'in_service', 'postponed')"
            ),
        )
        batch_op.drop_index("ix_tickets_waiting_order")

    op.drop_table("tickets")
    op.drop_table("queue_days")
    op.drop_table("queues")
    op.drop_table("boards")
