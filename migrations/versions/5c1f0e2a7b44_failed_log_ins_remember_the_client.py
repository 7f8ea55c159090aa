"""Failed log-ins remember the client, so a lock-out holds only the client that guessed

Revision ID: 5c1f0e2a7b44
Revises: 486a946e476a
Create Date: 2026-12-06 02:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c1f0e2a7b44"
down_revision = "486a946e476a"
branch_labels = None
depends_on = None


def upgrade():
    # Earlier failures have no client: they keep counting against no one in particular
    # (client ''), and are an hour old soon anyway.
    with op.batch_alter_table("failed_logins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client", sa.String(length=45), server_default="", nullable=False)
        )
        batch_op.drop_index("ix_failed_logins_person_at")
        batch_op.create_index(
            "ix_failed_logins_person_client_at", ["person_id", "client", "at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("failed_logins", schema=None) as batch_op:
        batch_op.drop_index("ix_failed_logins_person_client_at")
        batch_op.create_index("ix_failed_logins_person_at", ["person_id", "at"], unique=False)
        batch_op.drop_column("client")
