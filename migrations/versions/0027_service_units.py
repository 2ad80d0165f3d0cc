"""a service's unit of measure code, copied onto the invoice lines made of it

``services.units``: the numeric code of the unit of measure a fiscal receipt names for the
service (Payme's ``units``, such as 241092), 1 to 9 digits. ``invoice_lines.units``: the
service's code when the line was made, as its IKPU and package codes are, so a later change
of the price list does not change an issued invoice's receipt. Both nullable, no default:
the services and lines already there have no code until the price list gives one.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("units", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_services_units_range"), "units >= 1 AND units <= 999999999"
        )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("units", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_column("units")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_services_units_range"), type_="check")
        batch_op.drop_column("units")
