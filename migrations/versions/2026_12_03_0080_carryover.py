"""carryover: a commitment carried over from an unfinished one

Revision ID: 0080
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0080'
down_revision: str | None = '0090'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carried_from_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_commitment_carried_from_id_commitment'), 'commitment',
                                    ['carried_from_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_commitment_carried_from', ['carried_from_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_index('ix_commitment_carried_from')
        batch_op.drop_constraint(batch_op.f('fk_commitment_carried_from_id_commitment'), type_='foreignkey')
        batch_op.drop_column('carried_from_id')
