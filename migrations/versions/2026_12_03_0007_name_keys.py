"""name keys: group names re-keyed with bot.text.name_key (NFKC, case-folded, invisible characters removed)

Data only: ``peer_group.name_key`` and its unique index per server are already there (0002). Until
now the key was ``name.casefold()``, so "Alpha" with a zero-width space inside, or "Café" with a
decomposed accent, got keys of their own, and a member typing the name could not find the group.
Existing rows get the new key — except where two groups of a server now share one: the oldest group
takes it and the others keep their old key (both groups exist; their channels tell them apart).
Names themselves are left as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_group = sa.table('peer_group', sa.column('id', sa.Integer), sa.column('guild_id', sa.BigInteger),
                  sa.column('name', sa.String), sa.column('name_key', sa.String))


def _new_keys(rows: Sequence[sa.Row]) -> dict[int, str]:
    """{group id: new key} for the rows whose key changes, keeping keys unique within each server."""
    # The key function the code compares names by; imported (not copied) so the two cannot differ.
    from bot.text import name_key

    by_guild: dict[int, list[sa.Row]] = defaultdict(list)
    for row in rows:
        by_guild[row.guild_id].append(row)
    changes: dict[int, str] = {}
    for guild_rows in by_guild.values():
        final = {row.id: row.name_key for row in guild_rows}
        moved = True
        while moved:  # again while a move frees a key another group wants
            moved = False
            for row in sorted(guild_rows, key=lambda r: r.id):  # the oldest group first
                wanted = name_key(row.name)[:80]
                if wanted and wanted != final[row.id] and wanted not in final.values():
                    final[row.id] = changes[row.id] = wanted
                    moved = True
    return changes


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_group.c.id, _group.c.guild_id, _group.c.name, _group.c.name_key)).all()
    changes = _new_keys(rows)
    # Two steps, so no update meets a key another row is about to give up.
    for group_id in changes:
        bind.execute(_group.update().where(_group.c.id == group_id).values(name_key=f"~rekey~{group_id}"))
    for group_id, key in changes.items():
        bind.execute(_group.update().where(_group.c.id == group_id).values(name_key=key))


def downgrade() -> None:
    # The new keys are valid keys for the old code too (it only compares them); nothing to undo.
    pass
