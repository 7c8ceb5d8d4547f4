"""brainstorm numbers: each group's brainstorms numbered #1, #2, … (never the global id)

Revision ID: 0100
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0100'
down_revision: str | None = '0070'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('brainstorm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
    # Existing brainstorms: numbered per group in the order they were tabled.
    bind = op.get_bind()
    brainstorm = sa.table('brainstorm', sa.column('id', sa.Integer), sa.column('group_id', sa.Integer),
                          sa.column('created_at', sa.DateTime), sa.column('number', sa.Integer))
    rows = bind.execute(
        sa.select(brainstorm.c.id, brainstorm.c.group_id).order_by(brainstorm.c.group_id, brainstorm.c.created_at,
                                                                  brainstorm.c.id)
    ).all()
    counts: dict[int, int] = {}
    for row_id, group_id in rows:
        counts[group_id] = counts.get(group_id, 0) + 1
        bind.execute(sa.update(brainstorm).where(brainstorm.c.id == row_id).values(number=counts[group_id]))
    with op.batch_alter_table('brainstorm', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_brainstorm_group_number', ['group_id', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('brainstorm', schema=None) as batch_op:
        batch_op.drop_constraint('uq_brainstorm_group_number', type_='unique')
        batch_op.drop_column('number')
