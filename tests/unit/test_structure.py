"""Structural checks over the code base and the command tree (offline: the bot never connects)."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    RefTransformer,
    TimeTransformer,
    TimezoneTransformer,
)

ROOT = Path(__file__).resolve().parents[2]
# The adapters and the composition root: everything else under bot/ is the domain ring, so a new
# module is checked by the purity tests unless it is listed here.
ADAPTERS = {"bot/ui", "bot/__main__.py", "bot/app.py", "bot/client.py", "bot/dispatch.py", "bot/scheduler.py"}
DOMAIN = [
    path
    for path in sorted((ROOT / "bot").rglob("*.py"))
    if not any(path.relative_to(ROOT).as_posix().startswith((f"{name}/", name)) for name in ADAPTERS)
]
# Commands that make sense outside a server (in a DM with the bot).
DM_ALLOWED = {"help", "mydata"}


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
            assert len(children) <= 25, f"/{command.qualified_name} has more than Discord's 25 subcommands"
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


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


async def test_payload_hash_ignores_key_order_and_changes_with_the_commands(offline_app: App) -> None:
    bot = offline_app.bot
    payload = bot.command_payload()
    digest = bot.payload_hash(payload)
    assert len(digest) == 64 and int(digest, 16) >= 0  # fits command_sync_state.payload_hash
    reordered = _reversed_keys(payload)
    assert [list(command) for command in reordered] != [list(command) for command in payload]
    assert bot.payload_hash(reordered) == digest
    changed = copy.deepcopy(payload)
    changed[0]["description"] += "!"
    assert bot.payload_hash(changed) != digest
    assert bot.payload_hash(payload[1:]) != digest


def test_the_domain_ring_covers_every_domain_module() -> None:
    for name in ADAPTERS:
        assert (ROOT / name).exists(), f"{name} is listed as an adapter but doesn't exist"
    domain = {path.relative_to(ROOT).as_posix() for path in DOMAIN}
    for module in ("bot/dates.py", "bot/recurrence.py", "bot/curriculum.py", "bot/models/groups.py",
                   "bot/services/outbox.py", "bot/db.py"):
        assert module in domain
    assert not any(path.startswith(("bot/ui/", "bot/client.py", "bot/app.py")) for path in domain)


# Names whose value happens to spell a status but isn't one (a check-in's cycle key, stored as is).
NOT_A_STATUS = {"OPEN_CYCLE"}
# Files whose status literals move to the enums when a branch in flight is merged (issue 12): the
# entry must go once they have (the test fails while it is stale).
STATUS_LITERALS_PENDING: set[str] = set()  # files allowed a bare status literal for now: none


def _status_literals(source: str, statuses: set[str]) -> list[tuple[int, str]]:
    """The string constants in ``source`` that spell a stored status, outside docstrings and names."""
    tree = ast.parse(source)
    exempt: set[int] = set()
    for node in ast.walk(tree):
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        command_or_choice_name = isinstance(node, ast.keyword) and node.arg in ("name", "description")
        not_a_status = isinstance(node, ast.Assign) and all(
            isinstance(target, ast.Name) and target.id in NOT_A_STATUS for target in node.targets
        )
        if docstring or command_or_choice_name or not_a_status:
            exempt.add(id(node.value))
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in statuses and id(node) not in exempt
    )


def test_no_bare_status_literals_outside_the_models() -> None:
    from bot import models

    enums = [models.BrainstormStatus, models.BuddyStatus, models.CommitmentStatus, models.MeetingStatus,
             models.OutboxStatus, models.SeriesStatus, models.GoalStatus]
    statuses = {status.value for enum in enums for status in enum}
    assert {"scheduled", "ended", "cancelled", "active", "open", "done", "pending", "sent"} <= statuses
    found: dict[str, list[tuple[int, str]]] = {}
    for path in _python_files([ROOT / "bot", ROOT / "cogs"]):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("bot/models/"):
            continue
        if literals := _status_literals(path.read_text(), statuses):
            found[relative] = literals
    for relative in STATUS_LITERALS_PENDING:
        assert found.pop(relative, None), f"{relative} has no status literal left: drop it from STATUS_LITERALS_PENDING"
    assert found == {}


def test_the_status_literal_check_sees_comparisons_and_arguments() -> None:
    source = (
        '"""A docstring that says open."""\n'
        'OPEN_CYCLE = "open"\n'
        'choice = Choice(name="done", value="done")\n'
        'if meeting.status == "scheduled":\n'
        '    rows = select(Meeting).where(Meeting.status.in_(("open", "closed")))\n'
    )
    assert _status_literals(source, {"open", "done", "scheduled"}) == [(3, "done"), (4, "scheduled"), (5, "open")]


# Options that name a row (an id typed or picked), a time of day or a timezone, by their name.
ID_OPTIONS = {"commitment": IdTransformer, "meeting": IdTransformer, "brainstorm": IdTransformer, "group": GroupTransformer}
NAMED_OPTIONS = {**ID_OPTIONS, "time": TimeTransformer, "from": TimeTransformer, "to": TimeTransformer,
                 "timezone": TimezoneTransformer, "tz": TimezoneTransformer, "goal": RefTransformer, "kpi": RefTransformer}
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
        for parameter in command._params.values():
            where = f"/{command.qualified_name} {parameter.display_name}"
            transformer = parameter._annotation
            if parameter.type not in TYPED:
                continue
            checked += 1
            expected = NAMED_OPTIONS.get(parameter.display_name)
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


def _renderer_literals(source: str) -> list[tuple[int, str]]:
    """Renderers registered under a string literal instead of the kind's declared name: the kind in
    ``notifications.register(KIND, …)`` / ``unregister(KIND)``, or a key of a cog's ``_renderers()``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"register", "unregister"}
            and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "notifications"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
        if isinstance(node, ast.FunctionDef) and node.name == "_renderers":
            for inner in ast.walk(node):
                if isinstance(inner, ast.Dict):
                    found.extend((key.lineno, key.value) for key in inner.keys
                                 if isinstance(key, ast.Constant) and isinstance(key.value, str))
    return sorted(found)


def test_renderers_are_registered_under_the_kinds_declared_names() -> None:
    found = {
        path.relative_to(ROOT).as_posix(): literals
        for path in _python_files([ROOT / "cogs", ROOT / "bot"])
        if (literals := _renderer_literals(path.read_text()))
    }
    assert found == {}


def test_the_renderer_literal_check_sees_register_calls_and_renderer_maps() -> None:
    source = (
        'self.bot.notifications.register("meeting_pack", self.render)\n'
        'self.bot.notifications.register(MEETING_PACK, self.render)\n'
        'bot.notifications.unregister("post_meeting")\n'
        'def _renderers(self):\n'
        '    return {"reportback_dm": self.a, REPORTBACK_BOARD: self.b}\n'
        'registry.register("not a renderer", 1)\n'
    )
    assert _renderer_literals(source) == [(1, "meeting_pack"), (3, "post_meeting"), (5, "reportback_dm")]


async def test_the_agenda_commands_are_under_meeting(offline_app: App) -> None:
    tree = offline_app.bot.tree
    assert tree.get_command("agenda") is None
    meeting = tree.get_command("meeting")
    assert isinstance(meeting, app_commands.Group)
    assert {"table", "agenda", "withdraw", "reorder", "substitute"} <= {c.name for c in meeting.commands}
