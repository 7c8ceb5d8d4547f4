"""brainstorms: brainstorms, ideas and votes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('brainstorm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('issue', sa.String(length=200), nullable=False),
    sa.Column('details', sa.String(length=1500), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('max_votes', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('thread_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_brainstorm_group_id_peer_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brainstorm')),
    sa.UniqueConstraint('thread_id', name=op.f('uq_brainstorm_thread_id'))
    )
    with op.batch_alter_table('brainstorm', schema=None) as batch_op:
        batch_op.create_index('ix_brainstorm_group_status', ['group_id', 'status'], unique=False)

    op.create_table('brainstorm_idea',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('brainstorm_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brainstorm_id'], ['brainstorm.id'], name=op.f('fk_brainstorm_idea_brainstorm_id_brainstorm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], name=op.f('fk_brainstorm_idea_commitment_id_commitment'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brainstorm_idea')),
    sa.UniqueConstraint('brainstorm_id', 'number', name=op.f('uq_brainstorm_idea_brainstorm_id_number')),
    sa.UniqueConstraint('message_id', name=op.f('uq_brainstorm_idea_message_id'))
    )
    op.create_table('brainstorm_vote',
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('brainstorm_id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brainstorm_id'], ['brainstorm.id'], name=op.f('fk_brainstorm_vote_brainstorm_id_brainstorm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['brainstorm_idea.id'], name=op.f('fk_brainstorm_vote_idea_id_brainstorm_idea'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('idea_id', 'user_id', name=op.f('pk_brainstorm_vote'))
    )
    with op.batch_alter_table('brainstorm_vote', schema=None) as batch_op:
        batch_op.create_index('ix_brainstorm_vote_brainstorm_user', ['brainstorm_id', 'user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('brainstorm_vote', schema=None) as batch_op:
        batch_op.drop_index('ix_brainstorm_vote_brainstorm_user')

    op.drop_table('brainstorm_vote')
    op.drop_table('brainstorm_idea')
    with op.batch_alter_table('brainstorm', schema=None) as batch_op:
        batch_op.drop_index('ix_brainstorm_group_status')

    op.drop_table('brainstorm')

