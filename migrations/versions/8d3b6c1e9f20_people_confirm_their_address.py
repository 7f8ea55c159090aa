"""People confirm their address: a self sign-up waits for its mailed link

Revision ID: 8d3b6c1e9f20
Revises: 5c1f0e2a7b44
Create Date: 2026-12-06 02:10:00

"""

import sqlalchemy as sa
from alembic import op

import mentor_match.models.types

# revision identifiers, used by Alembic.
revision = "8d3b6c1e9f20"
down_revision = "5c1f0e2a7b44"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_confirmed_at",
                mentor_match.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    # Everyone already here has been using the site: their address stands as confirmed.
    op.execute("UPDATE people SET email_confirmed_at = created_at")


def downgrade():
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
