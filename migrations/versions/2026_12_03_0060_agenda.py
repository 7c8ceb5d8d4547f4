"""agenda: the issues members table for a meeting, in hot-seat order

Revision ID: 0060
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0060'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('issue', sa.String(length=200), nullable=False),
    sa.Column('brainstorm_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reordered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['brainstorm_id'], ['brainstorm.id'], name=op.f('fk_agenda_item_brainstorm_id_brainstorm'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_agenda_item_group_id_peer_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_item')),
    sa.UniqueConstraint('meeting_id', 'user_id', name=op.f('uq_agenda_item_meeting_id_user_id'))
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index('ix_agenda_item_group_user', ['group_id', 'user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_item_group_user')

    op.drop_table('agenda_item')
