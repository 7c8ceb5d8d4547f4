"""The simulator's side of ``bench.interactions``, run in a child process (see ``bench/_harness.py``).

It builds the world (as ``bench/_sim.py``), posts the messages members click on as the bot would
have (a meeting card with the RSVP buttons in each group's channel, a report-back DM with Done
buttons for each member), then, told to by the parent, sends interactions as Discord would —
INTERACTION_CREATE over the gateway — at a steady rate, without waiting for the answers, and
times each from its dispatch to the bot's first callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench._harness import (
    BUCKET_LIMIT,
    BUCKET_WINDOW,
    COMMITMENTS_PER_MEMBER,
    GLOBAL_LIMIT,
    SimGroup,
    SimWorld,
)
from bench._sim import _build_world, _report
from tests.sim import Sim
from tests.sim.state import Channel, Member, Message

KINDS = ("commit add", "commit list", "group info", "rsvp", "done")
SETTLE_SECONDS = 4.0  # after the last dispatch: Discord's 3 s and a margin


@dataclass(frozen=True)
class Timed:
    """One interaction: what it was, when it was dispatched, when the bot's callback arrived."""

    kind: str
    dispatched: float  # monotonic
    callback: float | None  # None: no callback at all (unanswered)
    late: bool  # the callback came after Discord's 3 s (expired: 10062)


@dataclass
class _Place:
    channel: Channel
    card: Message  # the meeting card with the RSVP buttons
    members: list[tuple[Member, Message]]  # each member and their report-back DM


def _button_row(buttons: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"type": 1, "components": [{"type": 2, "style": 2, "label": label, "custom_id": custom_id}
                                       for label, custom_id in buttons]}]


def _bot_message(sim: Sim, channel: Channel, content: str, components: list[dict[str, Any]]) -> Message:
    world = sim.world
    message = Message(id=world.ids.next(), channel_id=channel.id, guild_id=channel.guild_id, author=world.bot,
                      content=content, components=components, application_id=world.application_id)
    world.add_message(message)
    channel.last_message_id = message.id
    return message


def _places(sim: Sim, groups: tuple[SimGroup, ...]) -> list[_Place]:
    """What the bot would have posted, for the world ``_build_world`` made: ids as ``bench._harness.seed``
    gives them (group n's meeting is n; member m's commitments are m·2+1 and m·2+2)."""
    world = sim.world
    places: list[_Place] = []
    member_index = 0
    for group_id, group in enumerate(groups, start=1):
        channel = world.channels[group.channel_id]
        card = _bot_message(sim, channel, f"Meeting {group_id}",
                            _button_row([("Going", f"rsvp:{group_id}:going"), ("Maybe", f"rsvp:{group_id}:maybe"),
                                         ("Can't make it", f"rsvp:{group_id}:no")]))
        people: list[tuple[Member, Message]] = []
        for user_id, dm_id in group.members:
            assert dm_id is not None
            first = member_index * COMMITMENTS_PER_MEMBER + 1
            buttons = [(f"#{n + 1} Done", f"commit:report:{first + n}:done") for n in range(COMMITMENTS_PER_MEMBER)]
            dm = _bot_message(sim, world.channels[dm_id], "Report back", _button_row(buttons))
            people.append((world.guilds[group.guild_id].members[user_id], dm))
            member_index += 1
        places.append(_Place(channel, card, people))
    return places


def _dispatch(sim: Sim, kind: str, place: _Place, who: int, serial: int) -> Any:
    member, dm = place.members[who % len(place.members)]
    if kind == "commit add":
        return sim.dispatch_command(member, place.channel, "commit add", text=f"Bench commitment {serial}")
    if kind == "commit list":
        return sim.dispatch_command(member, place.channel, "commit list")
    if kind == "group info":
        return sim.dispatch_command(member, place.channel, "group info")
    if kind == "rsvp":
        return sim.dispatch_click(member, place.card, label=("Going", "Maybe", "Can't make it")[serial % 3])
    # Done on one of the member's commitments; a redrawn DM keeps its buttons (their custom_ids).
    buttons = [c["custom_id"] for c in dm.iter_components() if str(c.get("custom_id", "")).endswith(":done")]
    return sim.dispatch_click(member, dm, custom_id=buttons[serial % len(buttons)])


async def _wait_answered(interactions: list[Any], deadline: float) -> None:
    for interaction in interactions:
        while interaction.callback_at is None and (remaining := deadline - time.monotonic()) > 0:
            interaction.activity.clear()
            with contextlib.suppress(TimeoutError):  # a late callback sets callback_at without a touch
                await asyncio.wait_for(interaction.activity.wait(), min(remaining, 0.1))


async def _load(sim: Sim, places: list[_Place], *, rate: float, seconds: float, seed: int,
                kinds: tuple[str, ...] = KINDS) -> list[Timed]:
    rng = random.Random(seed)
    count = int(rate * seconds)
    sent: list[tuple[str, Any]] = []
    start = time.monotonic()
    for serial in range(count):
        delay = start + serial / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        kind = kinds[serial % len(kinds)]
        place = places[rng.randrange(len(places))]
        sent.append((kind, _dispatch(sim, kind, place, rng.randrange(64), serial)))
    await _wait_answered([i for _k, i in sent], time.monotonic() + SETTLE_SECONDS)
    return [Timed(kind, i.created, i.callback_at, i.late) for kind, i in sent]


async def _serve(conn: Connection, members: int, rate_limits: bool) -> None:
    sim = Sim()  # real time: no clock
    if rate_limits:
        sim.rate_limits.enable(bucket_limit=BUCKET_LIMIT, bucket_window=BUCKET_WINDOW, global_limit=GLOBAL_LIMIT)
    await sim.start()
    groups = _build_world(sim, members, True)
    places = _places(sim, groups)
    conn.send(SimWorld(sim.token, sim.api_base, groups))
    loop = asyncio.get_running_loop()
    try:
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            name, args = (command, {}) if isinstance(command, str) else command
            if name == "first":  # one interaction of each kind, one after the other: the cold start
                timed: list[Timed] = []
                for serial, kind in enumerate(args["kinds"]):
                    interaction = _dispatch(sim, kind, places[serial], 0, serial)
                    await _wait_answered([interaction], time.monotonic() + SETTLE_SECONDS)
                    timed.append(Timed(kind, interaction.created, interaction.callback_at, interaction.late))
                conn.send(timed)
            elif name == "load":
                conn.send(await _load(sim, places, **args))
            elif name == "messages":
                conn.send(len(sim.world.messages))
            else:
                conn.send(_report(sim))
    finally:
        await sim.stop()


def serve(conn: Connection, members: int, rate_limits: bool) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(conn, members, rate_limits))
