"""Structural checks over the code base and the command tree (offline: the bot never connects)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.app import App
from bot.settings import Settings
from bot.ui.options import (
    BoundedInt,
    EdgeTransformer,
    GroupTransformer,
    IdTransformer,
    TimeTransformer,
    TimezoneTransformer,
)

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = [ROOT / "bot" / "models", ROOT / "bot" / "services", ROOT / "bot" / "db.py", ROOT / "bot" / "errors.py",
          ROOT / "bot" / "clock.py", ROOT / "bot" / "timezones.py", ROOT / "bot" / "settings.py"]
# Commands that make sense outside a server (in a DM with the bot).
DM_ALLOWED = {"help"}


def _python_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        yield from (sorted(path.rglob("*.py")) if path.is_dir() else [path])


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_domain_ring_imports_no_discord() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports(path) if name.split(".")[0] == "discord")
        for path in _python_files(DOMAIN)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_domain_ring_imports_no_adapter() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imports(path) if name.startswith(("bot.ui", "bot.client", "bot.app", "cogs"))
        )
        for path in _python_files(DOMAIN)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_clock_reads_the_wall_clock() -> None:
    offenders = []
    for path in _python_files([ROOT / "bot", ROOT / "cogs"]):
        if path.name == "clock.py":
            continue
        source = path.read_text()
        for needle in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time("):
            if needle in source:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


@pytest.fixture
async def offline_app(tmp_path: Path) -> App:
    settings = Settings(discord_token="offline", database_url=f"sqlite:///{tmp_path / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    app = App(settings)
    await app.migrate()
    for extension in app.bot._extensions:
        await app.bot.load_extension(extension)
    yield app
    await app.engine.dispose()


def _walk(commands: list[app_commands.Command | app_commands.Group]) -> Iterator[app_commands.Command | app_commands.Group]:
    for command in commands:
        yield command
        if isinstance(command, app_commands.Group):
            yield from _walk(command.commands)


async def test_every_cog_loads_and_names_are_unique(offline_app: App) -> None:
    tree = offline_app.bot.tree
    top = tree.get_commands()
    assert top, "no commands registered"
    names = [command.name for command in top]
    assert len(names) == len(set(names)), names
    for command in _walk(top):
        if isinstance(command, app_commands.Group):
            children = [child.name for child in command.commands]
            assert len(children) == len(set(children)), command.qualified_name
    assert len(top) <= 100  # Discord's limit of global slash commands


async def test_every_command_is_described_and_fits_discord_limits(offline_app: App) -> None:
    for command in _walk(offline_app.bot.tree.get_commands()):
        assert command.description and len(command.description) <= 100, command.qualified_name
        if isinstance(command, app_commands.Command):
            assert len(command.parameters) <= 25
            for parameter in command.parameters:
                assert parameter.description and len(parameter.description) <= 100, (
                    command.qualified_name,
                    parameter.name,
                )


async def test_commands_that_need_a_server_are_guild_only(offline_app: App) -> None:
    for command in offline_app.bot.tree.get_commands():
        if command.name in DM_ALLOWED:
            continue
        assert command.guild_only, f"/{command.name} should be guild-only"


async def test_payload_hash_is_stable(offline_app: App) -> None:
    bot = offline_app.bot
    first = bot.payload_hash(bot.command_payload())
    assert first == bot.payload_hash(bot.command_payload())


# Options that name a row (an id typed or picked), a time of day or a timezone, by their name.
ID_OPTIONS = {"commitment": IdTransformer, "meeting": IdTransformer, "brainstorm": IdTransformer, "group": GroupTransformer}
NAMED_OPTIONS = {**ID_OPTIONS, "time": TimeTransformer, "timezone": TimezoneTransformer, "tz": TimezoneTransformer}
TYPED = (discord.AppCommandOptionType.string, discord.AppCommandOptionType.integer, discord.AppCommandOptionType.number)


async def test_every_typed_option_is_checked_at_the_edge(offline_app: App) -> None:
    """Issue 19: a cog never passes an unchecked value to a service. Every string, integer or number
    option is declared with a transformer of bot.ui.options (or offers fixed choices, which Discord
    enforces); ids, times and zones with theirs; integers with their bounds; text with a max length."""
    offenders: list[str] = []
    checked = 0
    for command in offline_app.bot.tree.walk_commands():
        if not isinstance(command, app_commands.Command):
            continue
        for parameter in command.parameters:
            where = f"/{command.qualified_name} {parameter.name}"
            transformer = command._params[parameter.name]._annotation
            if parameter.type not in TYPED:
                continue
            checked += 1
            expected = NAMED_OPTIONS.get(parameter.name)
            if parameter.choices:
                if expected is not None:
                    offenders.append(f"{where}: fixed choices where a {expected.__name__} belongs")
                continue
            if not isinstance(transformer, EdgeTransformer):
                offenders.append(f"{where}: {type(transformer).__name__}, not a bot.ui.options transformer")
                continue
            if expected is not None and not isinstance(transformer, expected):
                offenders.append(f"{where}: {type(transformer).__name__}, not a {expected.__name__}")
            if parameter.type is discord.AppCommandOptionType.integer and not isinstance(transformer, BoundedInt):
                offenders.append(f"{where}: an integer without BoundedInt")
            if parameter.type is discord.AppCommandOptionType.string and not (
                parameter.max_value is not None and 1 <= parameter.max_value <= 6000
            ):
                offenders.append(f"{where}: a string option without a max length")
    assert checked > 30
    assert offenders == []
