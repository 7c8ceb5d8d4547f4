"""places: a meeting's and a series' place is typed (in person / online, address, link)

The free-text ``location`` stays, as the venue; rows that had one are in person.

Revision ID: 0160
Revises: 0140
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0160'
down_revision: str | None = '0140'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('meeting', 'meeting_series')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('place_link', sa.String(length=500), nullable=True))
            batch_op.add_column(sa.Column('place_kind', sa.String(length=16), nullable=True))
    # A series' meetings copied its location: they now inherit the series' place instead.
    op.execute("UPDATE meeting SET location = NULL WHERE series_id IS NOT NULL AND location = "
               "(SELECT s.location FROM meeting_series s WHERE s.id = meeting.series_id)")
    for table in TABLES:
        op.execute(f"UPDATE {table} SET place_kind = 'in_person' WHERE location IS NOT NULL AND location <> ''")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('place_kind')
            batch_op.drop_column('place_link')
            batch_op.drop_column('address')
