"""agent desk: users, credentials, audit log, work-order fields

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("sip", sa.String(256), nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
    )
    with op.batch_alter_table("work_orders") as batch:
        batch.alter_column("number", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("agent_id", sa.String(64)))
        batch.add_column(sa.Column("topic", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("district", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("street", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("level", sa.String(8), nullable=False, server_default=""))
        batch.add_column(sa.Column("deadline", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("finalized_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("copy_to", sa.String(128), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        for col in ("agent_id", "topic", "district", "street", "level", "deadline", "finalized_at", "copy_to"):
            batch.drop_column(col)
    op.drop_table("audit_log")
    op.drop_table("credentials")
    op.drop_table("users")
