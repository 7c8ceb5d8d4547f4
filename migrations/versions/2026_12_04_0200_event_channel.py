"""event channel: a group's voice or stage channel for the Discord Events of its online meetings

Revision ID: 0200
Revises: 0170
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0200'
down_revision: str | None = '0170'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not in batch mode, and only plain defaults: SQLite adds a column in place, while a batch
    # rebuild of peer_group would cascade to every group's rows.
    op.add_column('peer_group', sa.Column('event_channel_id', sa.BigInteger(), nullable=True))
    op.add_column('peer_group', sa.Column('event_channel_stage', sa.Boolean(), server_default='0', nullable=False))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; no batch rebuild (it would cascade).
    op.drop_column('peer_group', 'event_channel_stage')
    op.drop_column('peer_group', 'event_channel_id')
