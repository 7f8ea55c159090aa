"""booking: seats with times, cancellations, calendar tokens, settings

Revision ID: 3accf5f159f5
Revises: 9081530cb5d8
Create Date: 2026-11-25 09:27:53.140891

"""

import secrets

import sqlalchemy as sa
from alembic import op

import mentor_match.models.types

# revision identifiers, used by Alembic.
revision = "3accf5f159f5"
down_revision = "9081530cb5d8"
branch_labels = None
depends_on = None

# One apprentice never holds two live seats at overlapping times (PostgreSQL only:
# btree_gist lets the apprentice's id and the time range share one GiST index).
NO_OVERLAPPING_SEATS = (
    "ALTER TABLE session_observers ADD CONSTRAINT no_overlapping_seats "
    "EXCLUDE USING gist (apprentice_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
    "WHERE (cancelled_at IS NULL)"
)


def upgrade():
    op.create_table(
        "booking_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_hours", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "notice_hours >= 0", name=op.f("ck_booking_settings_non_negative_notice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_settings")),
    )
    connection = op.get_bind()

    # People who exist get their own calendar secret before the column becomes required.
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_token", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("open_to_bookings", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    people = sa.table("people", sa.column("id", sa.Integer), sa.column("calendar_token", sa.String))
    for (person_id,) in connection.execute(sa.select(people.c.id)).all():
        connection.execute(
            people.update()
            .where(people.c.id == person_id)
            .values(calendar_token=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("calendar_token", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("open_to_bookings", server_default=None)
        batch_op.create_unique_constraint(
            batch_op.f("uq_people_calendar_token"), ["calendar_token"]
        )

    with op.batch_alter_table("shadowing_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("micro_skill_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("opened_by_master", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("video_room", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column(
                "cancelled_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "reminded_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_shadowing_sessions_micro_skill_id_micro_skills"),
            "micro_skills",
            ["micro_skill_id"],
            ["id"],
            ondelete="SET NULL",
        )
    sessions = sa.table(
        "shadowing_sessions", sa.column("id", sa.Integer), sa.column("video_room", sa.String)
    )
    for (session_id,) in connection.execute(sa.select(sessions.c.id)).all():
        connection.execute(
            sessions.update()
            .where(sessions.c.id == session_id)
            .values(video_room=f"mentor-match-{secrets.token_urlsafe(12)}")
        )
    with op.batch_alter_table("shadowing_sessions", schema=None) as batch_op:
        batch_op.alter_column("note", server_default=None)
        batch_op.alter_column("opened_by_master", server_default=None)
        batch_op.alter_column("video_room", existing_type=sa.String(length=80), nullable=False)

    # Seats copy their session's times, so the database can compare them.
    with op.batch_alter_table("session_observers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "starts_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "ends_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "cancelled_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
    connection.execute(
        sa.text(
            "UPDATE session_observers SET "
            "starts_at = (SELECT starts_at FROM shadowing_sessions s WHERE s.id = session_id), "
            "ends_at = (SELECT ends_at FROM shadowing_sessions s WHERE s.id = session_id)"
        )
    )
    with op.batch_alter_table("session_observers", schema=None) as batch_op:
        batch_op.alter_column(
            "starts_at",
            existing_type=mentor_match.models.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.alter_column(
            "ends_at",
            existing_type=mentor_match.models.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.create_check_constraint(
            op.f("ck_session_observers_ends_after_start"), "ends_at > starts_at"
        )
        batch_op.create_index(
            "ix_session_observers_apprentice_time", ["apprentice_id", "starts_at"], unique=False
        )
    if connection.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(NO_OVERLAPPING_SEATS)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE session_observers DROP CONSTRAINT no_overlapping_seats")
    with op.batch_alter_table("shadowing_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_shadowing_sessions_micro_skill_id_micro_skills"), type_="foreignkey"
        )
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("video_room")
        batch_op.drop_column("opened_by_master")
        batch_op.drop_column("note")
        batch_op.drop_column("micro_skill_id")

    with op.batch_alter_table("session_observers", schema=None) as batch_op:
        batch_op.drop_index("ix_session_observers_apprentice_time")
        batch_op.drop_constraint(op.f("ck_session_observers_ends_after_start"), type_="check")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("ends_at")
        batch_op.drop_column("starts_at")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_people_calendar_token"), type_="unique")
        batch_op.drop_column("open_to_bookings")
        batch_op.drop_column("calendar_token")

    op.drop_table("booking_settings")
