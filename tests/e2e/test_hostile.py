"""Hostile and malformed input end to end (issue 19): the real bot against the Discord simulator.

Every option of every command, as the bot registered it, gets the hostile values of its kind
(``tests/hostile.py``, chosen by the option's transformer): the member must get a clear private
refusal — never "Something went wrong" — and nothing in the database may change. What Discord
itself would refuse (a value outside an option's declared type, bounds, length or choices) the
simulator raises as ``UsageError``, and that counts as refused too.

The first command with a given kind of option gets every value of the table; the others get a
sample (one value of each kind, or of every other kind where there are many, a different one per
command), to keep the run short.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from discord import app_commands
from sqlalchemy import select

from bot.app import App
from bot.db import Base
from bot.models import BotProcess, Brainstorm, Commitment, Group
from bot.ui.options import (
    BoundedInt,
    BrainstormTransformer,
    CommitmentTransformer,
    EdgeTransformer,
    GroupTransformer,
    MeetingTransformer,
    NumberListTransformer,
    RefTransformer,
    RuleTransformer,
    TextTransformer,
    TimeTransformer,
    TimezoneTransformer,
    WhenTransformer,
)
from tests.e2e.seeding import seed_group
from tests.hostile import (
    FOR_NAMED_OPTION,
    INERT_TEXT,
    Hostile,
    bound_check,
    hostile_for,
)
from tests.sim import Channel, Guild, NoResponse, Sim, UsageError
from tests.sim.state import Member


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """Both databases: an overflowing id fails differently on SQLite and on PostgreSQL (asyncpg)."""
    return backend


@dataclass
class World:
    sim: Sim
    app: App
    guild: Guild
    channel: Channel
    fac: Member  # a facilitator of the group, with Manage Server: no permission check comes first
    ana: Member
    group_id: int
    meeting_id: int
    brainstorm_id: int

    def valid(self, option: str) -> Any:
        """A valid value for a required option, so that only the hostile one can be refused."""
        values: dict[str, Any] = {
            "text": "A fine plan", "status": "done", "commitment": "#1", "meeting": str(self.meeting_id),
            "when": "next friday 18:00", "rule": "first tuesday", "brainstorm": str(self.brainstorm_id),
            "issue": "Pricing", "name": "Another group", "group": str(self.group_id), "member": self.ana,
            "tz": "Europe/London", "number": 1, "file": ("year.yaml", b"modules: []\n"),
            "goal": "#1", "kpi": "Revenue", "unit": "EUR", "position": 1, "until": "next friday",
        }
        return values[option]


async def make_world(sim: Sim, guild: Guild, channel: Channel, app: App) -> World:
    fac = sim.member(guild, "Fac", manage_guild=True)
    ana = sim.member(guild, "Ana")
    group_id, meeting_id = await seed_group(app, guild, channel, [fac, ana], facilitators=(fac,))
    assert meeting_id is not None
    added = await sim.command(fac, channel, "commit add", text="Send ten invoices")
    assert "`#1`" in added.content
    opened = await sim.command(fac, channel, "brainstorm open", issue="Pricing")
    assert "Something went wrong" not in opened.text
    other = sim.channel(guild, "cafe")
    created = await sim.command(fac, channel, "group create", name="Café Club", channel=other)
    assert "Created **Café Club**" in created.text
    async with app.sessions.begin() as session:
        brainstorm_id = await session.scalar(select(Brainstorm.id))
    assert brainstorm_id is not None
    return World(sim, app, guild, channel, fac, ana, group_id, meeting_id, brainstorm_id)


async def snapshot(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the database is small): a refusal must leave all of it as it was.
    Not the process heartbeats (bot_processes: the bot's own liveness, refreshed every few seconds)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with app.sessions.begin() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == BotProcess.__tablename__:
                continue
            rows = (await session.execute(select(table))).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def changes(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- walking the command tree --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    family: type
    command: str
    option: str
    value: Any
    label: str


def leaf_commands(app: App) -> Iterator[app_commands.Command[Any, ..., Any]]:
    for command in app.bot.tree.walk_commands():
        if isinstance(command, app_commands.Command):
            yield command


def cases_for(app: App, family: type) -> list[Case]:
    """Every (command, option, hostile value) for options whose transformer is a ``family``."""
    cases: list[Case] = []
    seen = 0
    for command in sorted(leaf_commands(app), key=lambda c: c.qualified_name):
        for parameter in command._params.values():
            name, transformer = parameter.display_name, parameter._annotation  # as Discord knows the option
            if type(transformer) is not family:
                continue
            if isinstance(transformer, BoundedInt):
                values: list[Hostile] | list[int] = bound_check(transformer)
                cases += [Case(family, command.qualified_name, name, v, f"int {v}") for v in values]
                continue
            table = hostile_for(transformer)
            if seen:  # a sample: one value of each kind, a different one for each command
                kinds: dict[str, list[Hostile]] = {}
                for hostile in table:
                    kinds.setdefault(hostile.kind, []).append(hostile)
                table = [
                    values[seen % len(values)]
                    for index, values in enumerate(kinds.values())
                    if len(kinds) < 4 or index % 2 == seen % 2  # many kinds: every other one, alternating
                ]
            seen += 1
            table = [*table, *FOR_NAMED_OPTION.get((command.qualified_name, name), [])]
            cases += [Case(family, command.qualified_name, name, h.value, str(h)) for h in table]
    return cases


def required_options(world: World, command: app_commands.Command[Any, ..., Any], hostile_option: str) -> dict[str, Any]:
    options = {
        parameter.display_name: world.valid(parameter.display_name)
        for parameter in command.parameters
        if parameter.required and parameter.display_name != hostile_option
    }
    if "brainstorm" in command._params and hostile_option != "brainstorm":
        options["brainstorm"] = world.valid("brainstorm")  # not "this thread's": #general is no thread
    return options


async def outcome(world: World, case: Case) -> str:
    """``refused`` (a clear private answer, nothing stored), ``discord`` (refused before the bot), or what went wrong."""
    command = next(c for c in leaf_commands(world.app) if c.qualified_name == case.command)
    options = required_options(world, command, case.option) | {case.option: case.value}
    if case.command == "group create" and case.option != "channel":
        # a channel with no group yet: only the hostile value may stand in the way
        options["channel"] = world.sim.channel(world.guild, f"free-{len(world.sim.world.channels)}")
    before = await snapshot(world.app)
    try:
        reply = await world.sim.command(world.fac, world.channel, case.command, **options)
    except UsageError:
        return "discord"
    except NoResponse:
        await world.sim.settle(within=30)
        world.sim.forget_problems()  # the late answer, recorded as a problem: reported here instead
        return "no answer within Discord's 3 s"
    after = await snapshot(world.app)
    answer = reply.text
    if "Something went wrong" in answer:
        return f"internal error: {answer[:120]!r}"
    if not reply.ephemeral:
        return f"public answer: {answer[:120]!r}"
    if changes(before, after):
        return f"stored a change in {', '.join(changes(before, after))}: {answer[:120]!r}"
    if not answer.strip():
        return "no message"
    mentions = reply.message.allowed_mentions if reply.message is not None else None
    if mentions is not None and (mentions.get("parse") or mentions.get("roles") or mentions.get("users")):
        return f"a refusal that can mention someone: {mentions}"
    return "refused"


FAMILIES = [
    CommitmentTransformer, MeetingTransformer, BrainstormTransformer, GroupTransformer, BoundedInt,
    NumberListTransformer, TimeTransformer, TimezoneTransformer, WhenTransformer, RuleTransformer, TextTransformer,
    RefTransformer,
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
async def test_every_option_refuses_hostile_values_privately_and_stores_nothing(
    sim: Sim, guild: Guild, channel: Channel, app: App, family: type
) -> None:
    world = await make_world(sim, guild, channel, app)
    cases = cases_for(app, family)
    assert cases, f"no command has a {family.__name__} option"
    failures = []
    for case in cases:
        result = await outcome(world, case)
        if result not in ("refused", "discord"):
            failures.append(f"/{case.command} {case.option}={case.label}: {result}")
    assert not failures, "\n".join(failures)


# --- accepted text stays inert -------------------------------------------------------------------


async def test_mentions_and_markdown_in_text_are_accepted_but_ping_nobody(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    world = await make_world(sim, guild, channel, app)
    async with app.sessions.begin() as session:
        group = await session.get(Group, world.group_id)
        assert group is not None
        group.announce_commitments = True
    for hostile in INERT_TEXT:
        reply = await sim.command(world.fac, channel, "commit add", text=hostile.value)
        assert reply.ephemeral and "Something went wrong" not in reply.text, hostile
        posted = sim.last_message(channel)
        assert posted.allowed_mentions is not None and posted.allowed_mentions.get("parse") == [], hostile
        assert not posted.allowed_mentions.get("roles") and not posted.allowed_mentions.get("users"), hostile
        shown = posted.content.split("committed to: ", 1)[1].rsplit(" (`#", 1)[0]  # the member's text
        bare = [i for i, ch in enumerate(shown) if ch in "[`*_~|" and (i == 0 or shown[i - 1] != "\\")]
        assert bare == [], (hostile, shown)  # markdown shown as typed: no live link, fence or bold
    async with app.sessions.begin() as session:
        stored = list(await session.scalars(select(Commitment.text).order_by(Commitment.number)))
    assert len(stored) == 1 + len(INERT_TEXT)
    async with app.sessions.begin() as session:
        assert await session.scalar(select(Group.name).where(Group.id == world.group_id)) == "Makers"


def test_every_family_is_thrown_at_some_option() -> None:
    """Each transformer of bot.ui.options has a family in this test (and values in tests/hostile.py)."""
    import bot.ui.options as options

    declared = {
        value for value in vars(options).values()
        if isinstance(value, type) and issubclass(value, EdgeTransformer) and value is not EdgeTransformer
        and value.__module__ == options.__name__
    }
    abstract = {options.IdTransformer}
    assert declared - abstract == set(FAMILIES)


async def test_what_autocomplete_offers_passes_the_checks(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    """The transformers that carry their own autocomplete (zones, meetings, brainstorms) still offer
    choices, and a picked choice is accepted."""
    world = await make_world(sim, guild, channel, app)
    for command, option in (("timezone set", "tz"), ("server setup", "timezone"), ("group settings", "timezone")):
        choices = await sim.autocomplete(world.fac, channel, command, option=option, value="lond")
        assert "Europe/London" in [choice["value"] for choice in choices], command
    picked = await sim.command(world.fac, channel, "timezone set", tz="europe/london")
    assert "**Europe/London**" in picked.text
    [meeting] = await sim.autocomplete(world.fac, channel, "meeting cancel", option="meeting", value="")
    assert meeting["value"] == str(world.meeting_id)
    [brainstorm] = await sim.autocomplete(world.fac, channel, "brainstorm show", option="brainstorm", value="")
    shown = await sim.command(world.fac, channel, "brainstorm show", brainstorm=brainstorm["value"])
    assert "Pricing" in shown.text
    [commitment] = await sim.autocomplete(world.fac, channel, "commit done", option="commitment", value="")
    done = await sim.command(world.fac, channel, "commit done", commitment=commitment["value"])
    assert "Recorded" in done.text
