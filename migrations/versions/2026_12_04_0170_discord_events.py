"""discord events: each planned meeting mirrored to a guild scheduled event (needs Manage Events)

Revision ID: 0170
Revises: 0190
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0170'
down_revision: str | None = '0190'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain default ('1': true on both databases): an expression would make SQLite's batch mode
    # rebuild peer_group, and dropping the old table would cascade to every group's rows.
    with op.batch_alter_table('peer_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discord_events', sa.Boolean(), server_default='1', nullable=False))

    op.create_table('discord_event',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('synced', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_discord_event_group_id_peer_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_discord_event_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_discord_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_discord_event_event_id'))
    )
    with op.batch_alter_table('discord_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discord_event_group_id'), ['group_id'], unique=False)

    op.create_table('discord_event_sync',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_discord_event_sync_group_id_peer_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_discord_event_sync'))
    )

    op.create_table('discord_event_guild',
    sa.Column('guild_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('can_manage', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('guild_id', name=op.f('pk_discord_event_guild'))
    )

    op.create_table('discord_event_interest',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_discord_event_interest_group_id_peer_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_discord_event_interest_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', 'user_id', name=op.f('pk_discord_event_interest'))
    )
    with op.batch_alter_table('discord_event_interest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discord_event_interest_group_id'), ['group_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('discord_event_interest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discord_event_interest_group_id'))
    op.drop_table('discord_event_interest')
    op.drop_table('discord_event_guild')
    op.drop_table('discord_event_sync')
    with op.batch_alter_table('discord_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discord_event_group_id'))
    op.drop_table('discord_event')
    # Not in batch mode: SQLite (3.35+) drops a column in place; a batch rebuild of peer_group would
    # cascade to every group's rows.
    op.drop_column('peer_group', 'discord_events')
