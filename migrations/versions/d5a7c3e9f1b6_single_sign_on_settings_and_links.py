"""Single sign-on: the OpenID Connect provider's settings, and people's links to it

Revision ID: d5a7c3e9f1b6
Revises: d7a3f19c6e20
Create Date: 2026-12-06 12:00:00

"""

import sqlalchemy as sa
from alembic import op

import mentor_match.models.types

# revision identifiers, used by Alembic.
revision = "d5a7c3e9f1b6"
down_revision = "d7a3f19c6e20"
branch_labels = None
depends_on = None

UTC_DATETIME = mentor_match.models.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "sso_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("sso_only", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_settings")),
    )
    op.create_table(
        "sso_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_sso_links_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_links")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sso_links_issuer_subject")),
        sa.UniqueConstraint("person_id", "issuer", name=op.f("uq_sso_links_person_id_issuer")),
    )


def downgrade():
    op.drop_table("sso_links")
    op.drop_table("sso_settings")
