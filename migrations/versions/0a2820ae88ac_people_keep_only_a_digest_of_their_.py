"""people keep only a digest of their calendar feed token

Revision ID: 0a2820ae88ac
Revises: 8d3b6c1e9f20
Create Date: 2026-12-06 01:46:05.434679

"""

import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0a2820ae88ac"
down_revision = "8d3b6c1e9f20"
branch_labels = None
depends_on = None

people = sa.table(
    "people",
    sa.column("id", sa.Integer),
    sa.column("calendar_token", sa.String),
    sa.column("calendar_token_digest", sa.String),
)


def _set(connection, column: str, values: list[dict]) -> None:
    if values:
        connection.execute(
            people.update()
            .where(people.c.id == sa.bindparam("person_id"))
            .values({column: sa.bindparam("value")}),
            values,
        )


def upgrade():
    # The digest of each stored token (SHA-256, as the app computes it), so every feed URL
    # already subscribed keeps working; then the token itself is dropped.
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_token_digest", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(people.c.id, people.c.calendar_token)).all()
    _set(
        connection,
        "calendar_token_digest",
        [
            {"person_id": person_id, "value": hashlib.sha256(token.encode("utf-8")).hexdigest()}
            for person_id, token in rows
        ],
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_people_calendar_token"), type_="unique")
        batch_op.drop_column("calendar_token")
        batch_op.create_unique_constraint(
            batch_op.f("uq_people_calendar_token_digest"), ["calendar_token_digest"]
        )


def downgrade():
    # A digest cannot give its token back: everyone gets a new feed URL, and old ones stop.
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    _set(
        connection,
        "calendar_token",
        [
            {"person_id": person_id, "value": secrets.token_urlsafe(32)}
            for (person_id,) in connection.execute(sa.select(people.c.id)).all()
        ],
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_people_calendar_token_digest"), type_="unique")
        batch_op.drop_column("calendar_token_digest")
        batch_op.alter_column("calendar_token", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_people_calendar_token"), ["calendar_token"]
        )
