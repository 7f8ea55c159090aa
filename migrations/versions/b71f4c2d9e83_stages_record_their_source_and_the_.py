"""stages record their source, and the organisation's settings for hosts and sign-up

Revision ID: b71f4c2d9e83
Revises: 0a2820ae88ac
Create Date: 2026-12-06 04:55:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b71f4c2d9e83"
down_revision = "0a2820ae88ac"
branch_labels = None
depends_on = None

person_skills = sa.table(
    "person_skills",
    sa.column("person_id", sa.Integer),
    sa.column("micro_skill_id", sa.Integer),
    sa.column("stage", sa.String),
    sa.column("hosts", sa.Boolean),
    sa.column("stage_source", sa.String),
    sa.column("stage_set_by_id", sa.Integer),
    sa.column("stage_set_at", sa.DateTime(timezone=True)),
    sa.column("stage_note", sa.Text),
)
endorsements = sa.table(
    "endorsements",
    sa.column("person_id", sa.Integer),
    sa.column("micro_skill_id", sa.Integer),
    sa.column("to_stage", sa.String),
    sa.column("endorsed_by_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("note", sa.Text),
)
settings = sa.table(
    "organisation_settings",
    sa.column("id", sa.Integer),
    sa.column("only_verified_hosts", sa.Boolean),
    sa.column("sign_up_policy", sa.String),
    sa.column("sign_up_domains", sa.Text),
)


def upgrade():
    op.create_table(
        "organisation_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("only_verified_hosts", sa.Boolean(), nullable=False),
        sa.Column(
            "sign_up_policy",
            sa.Enum(
                "open", "domains", "invitation", name="signuppolicy", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("sign_up_domains", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_settings")),
    )
    with op.batch_alter_table("person_skills", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stage_source",
                sa.Enum(
                    "self_declared",
                    "endorsed",
                    "admin",
                    "imported",
                    name="stagesource",
                    native_enum=False,
                    length=20,
                ),
                server_default="self_declared",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("stage_set_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stage_set_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("stage_note", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("decline_reason", sa.Text(), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_person_skills_stage_set_by_id_people"),
            "people",
            ["stage_set_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    connection = op.get_bind()
    # A stage a master endorsed, and nobody has changed since, keeps that endorsement as its
    # source; every other stage held so far was the person's own word.
    for person_id, skill_id, to_stage, by, at, note in connection.execute(
        sa.select(
            endorsements.c.person_id,
            endorsements.c.micro_skill_id,
            endorsements.c.to_stage,
            endorsements.c.endorsed_by_id,
            endorsements.c.created_at,
            endorsements.c.note,
        )
    ).all():
        connection.execute(
            person_skills.update()
            .where(
                person_skills.c.person_id == person_id,
                person_skills.c.micro_skill_id == skill_id,
                person_skills.c.stage == to_stage,
            )
            .values(stage_source="endorsed", stage_set_by_id=by, stage_set_at=at, stage_note=note)
        )
    connection.execute(
        person_skills.update()
        .where(person_skills.c.stage_set_at.is_(None))
        .values(stage_set_at=sa.func.current_timestamp())
    )
    with op.batch_alter_table("person_skills", schema=None) as batch_op:
        batch_op.alter_column(
            "stage_set_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )

    # A fresh site hosts only verified masters. A site already running with self-declared
    # hosts keeps them hosting until an admin has verified them and turns the rule on
    # (Admin > Organisation), so upgrading does not empty the next round.
    self_declared_hosts = connection.execute(
        sa.select(sa.func.count())
        .select_from(person_skills)
        .where(
            person_skills.c.hosts.is_(True),
            person_skills.c.stage != "apprentice",
            person_skills.c.stage_source == "self_declared",
        )
    ).scalar_one()
    connection.execute(
        settings.insert().values(
            id=1,
            only_verified_hosts=self_declared_hosts == 0,
            sign_up_policy="open",
            sign_up_domains="",
        )
    )


def downgrade():
    with op.batch_alter_table("person_skills", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_person_skills_stage_set_by_id_people"), type_="foreignkey"
        )
        batch_op.drop_column("decline_reason")
        batch_op.drop_column("declined_at")
        batch_op.drop_column("stage_note")
        batch_op.drop_column("stage_set_at")
        batch_op.drop_column("stage_set_by_id")
        batch_op.drop_column("stage_source")
    op.drop_table("organisation_settings")
