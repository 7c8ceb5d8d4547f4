"""The simulator's side of the scheduler benchmarks, run in a child process (see ``bench/_harness.py``).

Only the child imports this module (and with it ``tests.sim``), so the bot's process holds none of
the simulator's code or data.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
from collections import Counter
from multiprocessing.connection import Connection

from bench._harness import (
    BUCKET_LIMIT,
    BUCKET_WINDOW,
    GLOBAL_LIMIT,
    GROUP_SIZE,
    GROUPS_PER_SERVER,
    SEND_ROUTES,
    SimGroup,
    SimReport,
    SimWorld,
)
from tests.sim import Sim


def _build_world(
    sim: Sim, members: int, open_dms: bool, shape: tuple[int, int] = (GROUP_SIZE, GROUPS_PER_SERVER)
) -> tuple[SimGroup, ...]:
    group_size, per_server = shape
    groups: list[SimGroup] = []
    for index in range(math.ceil(members / group_size)):
        if index % per_server == 0:
            guild = sim.guild(f"Server {index // per_server + 1}", channel=None)
        channel = sim.channel(guild, f"group-{index + 1}")
        first = index * group_size
        people = [sim.member(guild, f"Member {n + 1}") for n in range(first, min(first + group_size, members))]
        dm_ids = [sim.dm_channel(person).id if open_dms else None for person in people]
        groups.append(SimGroup(guild.id, channel.id, tuple(zip((p.id for p in people), dm_ids, strict=True))))
    return tuple(groups)


def _report(sim: Sim) -> SimReport:
    requests: Counter[str] = Counter()
    sends: list[float] = []
    for record in sim.requests:
        route = f"{record.method} {record.template}"
        requests[f"{route} {record.status}"] += 1
        if record.status == 200 and route in SEND_ROUTES:
            sends.append(record.started)
    usage = os.times()
    return SimReport(
        sends=sends,
        requests=requests,
        limited_global=Counter(sim.rate_limits.limited_global),
        limited_route=Counter(sim.rate_limits.limited) - Counter(sim.rate_limits.limited_global),
        messages=[(m.id, m.channel_id, None if m.nonce is None else str(m.nonce)) for m in sim.world.messages.values()],
        problems=sim.problems(),
        cpu_seconds=usage.user + usage.system,
    )


async def _serve(
    conn: Connection, members: int, rate_limits: bool, open_dms: bool, shape: tuple[int, int],
    latency: tuple[float, float],
) -> None:
    sim = Sim()  # real time: no clock
    sim.set_latency(*latency)
    sim.sample_contract(first=100, every=10)  # the simulator's schema checks must not dominate its CPU
    if rate_limits:
        sim.rate_limits.enable(bucket_limit=BUCKET_LIMIT, bucket_window=BUCKET_WINDOW, global_limit=GLOBAL_LIMIT)
    await sim.start()
    world = _build_world(sim, members, open_dms, shape)
    # The world is built once and kept: out of the collector's reach, so the simulator's own full
    # collections (which stall its answers and bunch the requests it counts against the global
    # limit) walk only what the run adds.
    gc.collect()
    gc.freeze()
    conn.send(SimWorld(sim.token, sim.api_base, world))
    loop = asyncio.get_running_loop()
    try:
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            # Only the bot creates messages in this world.
            conn.send(len(sim.world.messages) if command == "messages" else _report(sim))
    finally:
        await sim.stop()


def serve(
    conn: Connection, members: int, rate_limits: bool, open_dms: bool, shape: tuple[int, int],
    latency: tuple[float, float] = (0.0, 0.0),
) -> None:
    """The child process: build the world, send it, answer the parent until it says "stop"."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(conn, members, rate_limits, open_dms, shape, latency))
