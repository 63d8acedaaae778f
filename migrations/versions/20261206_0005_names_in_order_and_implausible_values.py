"""child list in name order; implausible weights and lengths kept out of statuses

* ``child.name_sort``: the name as written, case- and accent-insensitive, compared byte-wise
  (collation "C" on PostgreSQL) so the child list orders and pages identically on SQLite and
  PostgreSQL; filled here from ``name`` with the same function the application uses.
* ``measurement.confirm_implausible`` (entered: the cadre weighed/measured again and the value
  stands) and ``measurement.weight_implausible`` / ``length_implausible`` (computed). The
  computed ones stay NULL here: the growth rule set's version changed with this rule, so
  ``flask growth recompute --only-outdated`` fills them (and withholds the statuses and
  categories such values decided) after the upgrade.

Revision ID: 0005
Revises: 0010 (chained after main's fhir_submission when merging main; written against 0003)
Create Date: 2026-12-06
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0010"
branch_labels = None
depends_on = None

_NAME_SORT = sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")


def _name_sort_key(name):
    # a copy of posyandu.children.names.name_sort_key as of this revision (migrations must not
    # change meaning when the application code does)
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def upgrade():
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_sort", _NAME_SORT, nullable=True))
    child = sa.table("child", sa.column("id", sa.Uuid), sa.column("name", sa.String),
                     sa.column("name_sort", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(child.c.id, child.c.name)).all()
    if rows:
        connection.execute(child.update().where(child.c.id == sa.bindparam("b_id"))
                           .values(name_sort=sa.bindparam("b_name_sort")),
                           [{"b_id": row.id, "b_name_sort": _name_sort_key(row.name)} for row in rows])
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.alter_column("name_sort", existing_type=_NAME_SORT, nullable=False)
        batch_op.create_index("ix_child_posyandu_name_sort", ["posyandu_id", "name_sort", "id"], unique=False)

    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_implausible", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column("weight_implausible", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("length_implausible", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_column("length_implausible")
        batch_op.drop_column("weight_implausible")
        batch_op.drop_column("confirm_implausible")
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_index("ix_child_posyandu_name_sort")
        batch_op.drop_column("name_sort")
