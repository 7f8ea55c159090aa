"""Mail is retried from the outbox: a state, attempts, next attempt, last error, link to remake

Revision ID: c4e8a1d07b52
Revises: b71f4c2d9e83
Create Date: 2026-12-06 11:15:00

"""

import sqlalchemy as sa
from alembic import op

import mentor_match.models.types

# revision identifiers, used by Alembic.
revision = "c4e8a1d07b52"
down_revision = "b71f4c2d9e83"
branch_labels = None
depends_on = None

STATE = sa.Enum(
    "pending",
    "sending",
    "sent",
    "logged",
    "refused",
    "gave_up",
    "unknown",
    name="mailstate",
    native_enum=False,
    length=20,
)
UTC_DATETIME = mentor_match.models.types.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", STATE, nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("claimed_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("sent_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("link_kind", sa.String(length=20), nullable=True))
    # What each old mail became: "smtp" was accepted, "outbox" went to the log, and "failed"
    # was never retried (its secret link is gone from the stored copy), so it stays given up.
    op.execute(
        "UPDATE outbox_messages SET state = 'sent', attempts = 1, sent_at = created_at,"
        " last_error = '' WHERE delivered_via = 'smtp'"
    )
    op.execute(
        "UPDATE outbox_messages SET state = 'logged', attempts = 1, sent_at = created_at,"
        " last_error = '' WHERE delivered_via = 'outbox'"
    )
    op.execute(
        "UPDATE outbox_messages SET state = 'gave_up', attempts = 1, last_error = 'It failed"
        " once, before the site retried mail; the reason is in the log of that day.'"
        " WHERE state IS NULL"
    )
    op.execute("UPDATE outbox_messages SET link_kind = ''")
    # A notification with no mail counts as mailed, so the delivery pass that runs every minute
    # finds, through the index on mailed_at, only notifications with mail still to queue.
    op.execute("UPDATE notifications SET mailed_at = created_at WHERE mail_subject = ''")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=STATE, nullable=False)
        batch_op.alter_column("attempts", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("last_error", existing_type=sa.String(length=500), nullable=False)
        batch_op.alter_column("link_kind", existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_column("delivered_via")
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_person_id_people"),
            "people",
            ["person_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index("ix_outbox_messages_due", ["state", "next_attempt_at"], unique=False)


def downgrade():
    op.execute("UPDATE notifications SET mailed_at = NULL WHERE mail_subject = ''")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_via", sa.String(length=10), nullable=True))
    # The old column knew only these three; a mail still waiting is reported failed (unsent).
    op.execute("UPDATE outbox_messages SET delivered_via = 'smtp' WHERE state = 'sent'")
    op.execute("UPDATE outbox_messages SET delivered_via = 'outbox' WHERE state = 'logged'")
    op.execute("UPDATE outbox_messages SET delivered_via = 'failed' WHERE delivered_via IS NULL")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("delivered_via", existing_type=sa.String(length=10), nullable=False)
        batch_op.drop_index("ix_outbox_messages_due")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_person_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_person_id_people"), type_="foreignkey"
        )
        batch_op.drop_column("link_kind")
        batch_op.drop_column("person_id")
        batch_op.drop_column("last_error")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("state")
