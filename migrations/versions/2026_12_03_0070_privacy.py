"""privacy: report-back notes private unless shared; a group's board-notes setting

Existing groups keep their ``announce_commitments``; notes written before this migration become
private (``note_shared`` false) until their member shows them on the board again.

Revision ID: 0070
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0070'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('peer_group', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('board_notes', sa.String(length=16), nullable=False, server_default='member_chooses')
        )
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_shared', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_column('note_shared')
    with op.batch_alter_table('peer_group', schema=None) as batch_op:
        batch_op.drop_column('board_notes')
