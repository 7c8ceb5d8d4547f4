"""waking window: a member's hours for DMs

Revision ID: 0030
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waking_start', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('waking_end', sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('member_profile', schema=None) as batch_op:
        batch_op.drop_column('waking_end')
        batch_op.drop_column('waking_start')
