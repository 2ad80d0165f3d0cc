"""clinic_refuse(): a refusal raised from inside a statement

Issuing a ticket sends the number, the ticket, its history and its events with the
transaction's COMMIT, as one message. When the queue's day closed after it was read, that
statement refuses by calling this function, which raises an error whose message is the
refusal's code: the server then runs nothing more of the message, the COMMIT included.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite issues in plain statements, which refuse in the program
    op.execute(
        "CREATE FUNCTION clinic_refuse(code TEXT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = code; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION clinic_refuse(TEXT)")
