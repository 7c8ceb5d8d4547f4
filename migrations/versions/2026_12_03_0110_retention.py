"""retention: servers the bot was removed from, kept DATA_RETENTION_DAYS before their data is purged

Revision ID: 0110
Revises: 0080
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0110'
down_revision: str | None = '0130'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'guild_removal',
        sa.Column('guild_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('guild_id', name=op.f('pk_guild_removal')),
    )


def downgrade() -> None:
    op.drop_table('guild_removal')
