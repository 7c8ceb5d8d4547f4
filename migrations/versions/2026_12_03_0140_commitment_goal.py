"""commitment goal: a commitment may be linked to one of its member's goals

Revision ID: 0140
Revises: 0080
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0140'
down_revision: str | None = '0150'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('goal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_commitment_goal_id_goal'), 'goal',
                                    ['goal_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_commitment_goal', ['goal_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_index('ix_commitment_goal')
        batch_op.drop_constraint(batch_op.f('fk_commitment_goal_id_goal'), type_='foreignkey')
        batch_op.drop_column('goal_id')
