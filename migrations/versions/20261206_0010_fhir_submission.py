"""fhir_submission: per local FHIR resource, the SATUSEHAT server id and the hash of what was sent

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fhir_submission",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("local_id", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("server_id", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending','sent','failed')", name=op.f("ck_fhir_submission_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_submission")),
        sa.UniqueConstraint("resource_type", "local_id", name=op.f("uq_fhir_submission_resource_type_local_id")),
    )
    with op.batch_alter_table("fhir_submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fhir_submission_source_id"), ["source_id"], unique=False)


def downgrade():
    with op.batch_alter_table("fhir_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fhir_submission_source_id"))
    op.drop_table("fhir_submission")
