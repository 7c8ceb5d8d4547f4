"""away: a member's pause of her DMs (``/away``)

Revision ID: 0130
Revises: 0080
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0130'
down_revision: str | None = '0080'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('away_note', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('member_profile', schema=None) as batch_op:
        batch_op.drop_column('away_note')
        batch_op.drop_column('away_until')
