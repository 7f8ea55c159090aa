"""Calendar feeds people keep, the busy times they give, and the private-network switch

Revision ID: a9d3f6b2c1e4
Revises: d5a7c3e9f1b6
Create Date: 2026-12-06 12:00:00

"""

import sqlalchemy as sa
from alembic import op

import mentor_match.models.types

# revision identifiers, used by Alembic.
revision = "a9d3f6b2c1e4"
down_revision = "d5a7c3e9f1b6"
branch_labels = None
depends_on = None

UTC_DATETIME = mentor_match.models.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sealed_address", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("saved_at", UTC_DATETIME, nullable=False),
        sa.Column("fetched_at", UTC_DATETIME, nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("refreshed_at", UTC_DATETIME, nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("covers_until", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_calendar_feeds_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("person_id", name=op.f("uq_calendar_feeds_person_id")),
    )
    op.create_table(
        "busy_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTC_DATETIME, nullable=False),
        sa.Column("ends_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_busy_intervals_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_busy_intervals_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_busy_intervals")),
    )
    op.create_index("ix_busy_intervals_person_starts", "busy_intervals", ["person_id", "starts_at"])
    with op.batch_alter_table("organisation_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "allow_private_calendar_addresses",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade():
    with op.batch_alter_table("organisation_settings", schema=None) as batch_op:
        batch_op.drop_column("allow_private_calendar_addresses")
    op.drop_index("ix_busy_intervals_person_starts", table_name="busy_intervals")
    op.drop_table("busy_intervals")
    op.drop_table("calendar_feeds")
