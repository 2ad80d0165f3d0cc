"""the audit log refuses TRUNCATE too

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 21:40:00

Row triggers do not fire on TRUNCATE; a statement trigger does. (SQLite has no TRUNCATE;
its rule stays as 0003 made it.) A deployment whose application role does not own the
table (docs/security.md) cannot drop either trigger.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
