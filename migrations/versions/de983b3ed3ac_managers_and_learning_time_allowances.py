"""Managers, the learning time they grant (allowances), and requests for more

No allowance is set on an existing site (both organisation figures NULL), so plans keep
needing no one's approval until an admin sets one: an upgrade cuts no one's next round.

Revision ID: de983b3ed3ac
Revises: a9d3f6b2c1e4
Create Date: 2026-12-06 14:04:39.841018

"""

import sqlalchemy as sa
from alembic import op

import mentor_match.models.types

# revision identifiers, used by Alembic.
revision = "de983b3ed3ac"
down_revision = "a9d3f6b2c1e4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "allowance_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("observing", "hosting", name="allowancekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("allowance_hours", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "approved",
                "declined",
                "withdrawn",
                name="requeststate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "decided_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "allowance_hours >= 0", name=op.f("ck_allowance_requests_allowance_non_negative")
        ),
        sa.CheckConstraint(
            "hours > allowance_hours AND hours <= 744",
            name=op.f("ck_allowance_requests_asks_above_allowance"),
        ),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["people.id"],
            name=op.f("fk_allowance_requests_approver_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["people.id"],
            name=op.f("fk_allowance_requests_decided_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_allowance_requests_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_requests")),
    )
    with op.batch_alter_table("allowance_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_allowance_requests_approver_state", ["approver_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_allowance_requests_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "uq_allowance_requests_one_waiting",
            ["person_id", "month", "kind"],
            unique=True,
            sqlite_where=sa.text("state = 'waiting'"),
            postgresql_where=sa.text("state = 'waiting'"),
        )

    op.create_table(
        "learning_allowances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("observing_hours", sa.Integer(), nullable=True),
        sa.Column("hosting_hours", sa.Integer(), nullable=True),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", mentor_match.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(observing_hours IS NULL OR observing_hours BETWEEN 0 AND 744)"
            " AND (hosting_hours IS NULL OR hosting_hours BETWEEN 0 AND 744)",
            name=op.f("ck_learning_allowances_hours_in_a_month"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_learning_allowances_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["people.id"],
            name=op.f("fk_learning_allowances_set_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_allowances")),
        sa.UniqueConstraint("person_id", name=op.f("uq_learning_allowances_person_id")),
    )
    with op.batch_alter_table("organisation_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("observing_allowance_hours", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hosting_allowance_hours", sa.Integer(), nullable=True))

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manager_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_people_manager_id"), ["manager_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_people_manager_id_people"),
            "people",
            ["manager_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            op.f("ck_people_not_own_manager"), "manager_id IS NULL OR manager_id <> id"
        )


def downgrade():
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_people_not_own_manager"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_people_manager_id_people"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_people_manager_id"))
        batch_op.drop_column("manager_id")

    with op.batch_alter_table("organisation_settings", schema=None) as batch_op:
        batch_op.drop_column("hosting_allowance_hours")
        batch_op.drop_column("observing_allowance_hours")

    op.drop_table("learning_allowances")
    with op.batch_alter_table("allowance_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_allowance_requests_one_waiting",
            sqlite_where=sa.text("state = 'waiting'"),
            postgresql_where=sa.text("state = 'waiting'"),
        )
        batch_op.drop_index(batch_op.f("ix_allowance_requests_person_id"))
        batch_op.drop_index("ix_allowance_requests_approver_state")

    op.drop_table("allowance_requests")
