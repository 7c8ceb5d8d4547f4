"""pack: the group's meeting-pack lead time (hours before the meeting; 0 = no pack)

Revision ID: 0090
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0090'
down_revision: str | None = '0100'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('peer_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pack_lead_hours', sa.Integer(), nullable=False, server_default='24'))


def downgrade() -> None:
    with op.batch_alter_table('peer_group', schema=None) as batch_op:
        batch_op.drop_column('pack_lead_hours')
