"""``/help`` covers the whole command tree: no command a member can run is left out of it."""

from __future__ import annotations

import re

from bot.app import App
from cogs.help import ADMIN, AFTER, AT, BEFORE, FACILITATOR, FIRST_STEPS, YOU
from tests.unit.test_structure import _walk, offline_app  # noqa: F401  (a fixture)


async def test_help_names_every_command_and_only_real_ones(offline_app: App) -> None:  # noqa: F811
    from discord import app_commands

    runnable = {
        f"/{command.qualified_name}"
        for command in _walk(offline_app.bot.tree.get_commands())
        if isinstance(command, app_commands.Command)
    }
    text = "\n".join((BEFORE, AT, AFTER, YOU, FACILITATOR, ADMIN, FIRST_STEPS))
    named = {match.rstrip() for match in re.findall(r"`(/[a-z]+(?: [a-z]+)?)", text)}
    assert runnable - named == set(), "commands missing from /help"
    assert named - runnable == set(), "/help names commands that don't exist"
