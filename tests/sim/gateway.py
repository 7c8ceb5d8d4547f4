"""The simulated gateway: HELLO, heartbeats, IDENTIFY → READY → GUILD_CREATE, RESUME, dispatches.

Shards, as on Discord: an IDENTIFY with ``shard: [id, count]`` opens a session of that shard, which
receives the events of the servers with ``(guild_id >> 22) % count == id`` and, on shard 0, the
events without a server (DMs, buttons in DMs). An IDENTIFY without ``shard`` is shard 0 of 1 (every
event). A shard id outside its count is closed with 4010, as on Discord.

Frames are sent as text JSON even when the bot asks for ``compress=zlib-stream`` (discord.py
accepts both). Dispatches the bot did not subscribe to by intent are not sent, as on Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.sim.state import JSON, Guild, iso
from tests.sim.world import World

log = logging.getLogger(__name__)


class Op:
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent:
    GUILDS = 1 << 0
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16


# Events that need an intent; the guild/DM split is decided by the payload's guild_id.
_INTENTS: dict[str, tuple[int, int]] = {
    "MESSAGE_CREATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_DELETE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS),
    "GUILD_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "GUILD_DELETE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_DELETE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_DELETE": (Intent.GUILDS, Intent.GUILDS),
    "GUILD_ROLE_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    **{f"GUILD_SCHEDULED_EVENT_{what}": (Intent.GUILD_SCHEDULED_EVENTS, Intent.GUILD_SCHEDULED_EVENTS)
       for what in ("CREATE", "UPDATE", "DELETE", "USER_ADD", "USER_REMOVE")},
}

INVALID_TOKEN_CLOSE = 4004
INVALID_SHARD_CLOSE = 4010

# Events whose server is the payload's ``id`` rather than its ``guild_id``.
_GUILD_IS_ID = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def event_guild_id(event: str, data: JSON) -> int | None:
    """The server an event belongs to (None: a DM, or an event of no server)."""
    raw = data.get("id") if event in _GUILD_IS_ID else data.get("guild_id")
    return int(raw) if raw else None


@dataclass(eq=False)
class Session:
    id: str
    intents: int
    seq: int = 0
    log: list[JSON] = field(default_factory=list)  # every dispatch, for RESUME
    invalidated: bool = False
    shard: tuple[int, int] = (0, 1)  # (id, count) from the IDENTIFY

    def routes(self, event: str, data: JSON) -> bool:
        """This session's shard receives the event: its server's shard, or shard 0 for one without a server."""
        shard_id, count = self.shard
        guild_id = event_guild_id(event, data)
        return (shard_of(guild_id, count) if guild_id is not None else 0) == shard_id

    def received(self, event: str) -> list[JSON]:
        """The payloads of every ``event`` dispatched to this session, oldest first."""
        return [frame["d"] for frame in self.log if frame.get("t") == event]

    def frame(self, event: str, data: Any) -> JSON:
        self.seq += 1
        frame = {"op": Op.DISPATCH, "t": event, "s": self.seq, "d": data}
        self.log.append(frame)
        return frame


@dataclass(eq=False)
class Connection:
    """One websocket: its outgoing frames, and the session it IDENTIFYd or RESUMEd (if any)."""

    socket: web.WebSocketResponse
    outbox: asyncio.Queue[JSON] = field(default_factory=asyncio.Queue)
    writer: asyncio.Task[None] | None = None
    session: Session | None = None

    @property
    def open(self) -> bool:
        return not self.socket.closed


class Gateway:
    """Any number of bot connections at once, each with its own resumable session, as on Discord.

    Every session of a shard receives its shard's dispatches (two unsharded bot processes on one
    token both see everything, as they would on Discord), and keeps them for a RESUME while its
    connection is down, until the simulator invalidates it. ``recommended_shards`` and
    ``max_concurrency`` are what GET /gateway/bot answers. Sessions are never ended by a close: discord.py's
    ``Client.close`` reaches the wire as close code 4000 (its reader closes first), which Discord
    also treats as resumable.
    """

    def __init__(self, world: World, *, token: str, url: Callable[[], str]) -> None:
        self.world = world
        self.token = token
        self._url = url
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None  # the newest live session
        self._connections: list[Connection] = []
        self.connections = 0
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.ready = asyncio.Event()
        self.errors: list[str] = []
        self.recommended_shards = 1
        self.max_concurrency = 1

    # --- the test side -------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Frames queued but not yet written to a socket."""
        return sum(connection.outbox.qsize() for connection in self._connections if connection.open)

    @property
    def connected(self) -> bool:
        return any(connection.open for connection in self._connections)

    @property
    def live_sessions(self) -> list[Session]:
        return [session for session in self.sessions.values() if not session.invalidated]

    def sessions_of(self, shard_id: int) -> list[Session]:
        """The live sessions of a shard (of whatever count they IDENTIFYd with)."""
        return [session for session in self.live_sessions if session.shard[0] == shard_id]

    def dispatch(self, event: str, data: JSON) -> None:
        """Send an event to every live session of its shard now, or keep it for its RESUME if it is disconnected."""
        for session in self.live_sessions:
            if not session.routes(event, data) or not self._subscribed(session, event, data):
                continue
            frame = session.frame(event, self._redact(session, event, data))
            for connection in self._connections:
                if connection.session is session and connection.open:
                    connection.outbox.put_nowait(frame)

    async def drop(self, *, resumable: bool = True) -> None:
        """Cut every connection. The bot reconnects and RESUMEs (or IDENTIFYs again if not resumable)."""
        for connection in list(self._connections):
            if connection.session is not None and not resumable:
                connection.session.invalidated = True
            if connection.open:
                await connection.socket.close(code=4000 if resumable else 4009, message=b"simulated disconnect")

    async def close(self) -> None:
        for connection in list(self._connections):
            if connection.open:
                await connection.socket.close(code=1001, message=b"simulator shutting down")
            await self._stop_writer(connection)
        self._connections.clear()

    # --- the websocket -------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await socket.prepare(request)
        connection = Connection(socket)
        connection.writer = asyncio.create_task(self._write(connection), name="sim-gateway-writer")
        self._connections.append(connection)
        self.connections += 1
        connection.outbox.put_nowait({"op": Op.HELLO, "d": {"heartbeat_interval": 41_250, "_trace": ["sim"]}, "s": None, "t": None})
        try:
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue
                await self._receive(connection, json.loads(message.data))
        finally:
            self._connections.remove(connection)
            await self._stop_writer(connection)
            if not self.connected:
                self.ready.clear()
            self.session = next(reversed(self.live_sessions), None)
        return socket

    @staticmethod
    async def _write(connection: Connection) -> None:
        while True:
            frame = await connection.outbox.get()
            try:
                await connection.socket.send_str(json.dumps(frame))
            except ConnectionResetError:
                return
            finally:
                connection.outbox.task_done()

    @staticmethod
    async def _stop_writer(connection: Connection) -> None:
        if connection.writer is not None:
            connection.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connection.writer
            connection.writer = None

    async def _receive(self, connection: Connection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == Op.HEARTBEAT:
            self.heartbeats += 1
            connection.outbox.put_nowait({"op": Op.HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == Op.IDENTIFY:
            await self._identify(connection, data)
        elif op == Op.RESUME:
            self._resume(connection, data)
        elif op in (Op.PRESENCE_UPDATE, Op.REQUEST_GUILD_MEMBERS):
            pass
        else:
            self.errors.append(f"unexpected gateway op {op}: {payload!r}")

    async def _identify(self, connection: Connection, data: JSON) -> None:
        if data.get("token") != self.token:
            await connection.socket.close(code=INVALID_TOKEN_CLOSE, message=b"Authentication failed.")
            return
        shard = self._shard(data.get("shard"))
        if shard is None:
            self.errors.append(f"invalid shard in IDENTIFY: {data.get('shard')!r}")
            await connection.socket.close(code=INVALID_SHARD_CLOSE, message=b"Invalid shard.")
            return
        self.identifies += 1
        if connection.session is not None:
            connection.session.invalidated = True  # a second IDENTIFY on one socket replaces its session
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents", 0)), shard=shard)
        self.sessions[session.id] = session
        self.session = connection.session = session
        guilds = [guild for guild in self._bot_guilds() if shard_of(guild.id, shard[1]) == shard[0]]
        connection.outbox.put_nowait(session.frame("READY", self._ready_payload(session, guilds)))
        for guild in guilds:
            if guild.available:
                connection.outbox.put_nowait(session.frame("GUILD_CREATE", self.guild_create_payload(guild)))
        self.ready.set()

    @staticmethod
    def _shard(value: Any) -> tuple[int, int] | None:
        if value is None:
            return (0, 1)
        if not isinstance(value, list) or len(value) != 2 or not all(isinstance(part, int) for part in value):
            return None
        shard_id, count = value
        return (shard_id, count) if 0 <= shard_id < count else None

    def _resume(self, connection: Connection, data: JSON) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.invalidated or data.get("token") != self.token:
            connection.outbox.put_nowait({"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.resumes += 1
        self.session = connection.session = session
        seq = int(data.get("seq") or 0)
        for frame in session.log:
            if frame["s"] > seq:
                connection.outbox.put_nowait(frame)
        connection.outbox.put_nowait(session.frame("RESUMED", {"_trace": ["sim"]}))
        self.ready.set()

    # --- payloads ------------------------------------------------------------------------------

    def _bot_guilds(self) -> list[Guild]:
        return [guild for guild in self.world.guilds.values() if self.world.bot.id in guild.members]

    def _ready_payload(self, session: Session, guilds: list[Guild]) -> JSON:
        world = self.world
        return {
            "v": 10,
            "user": world.bot.payload() | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "shard": list(session.shard),
            "resume_gateway_url": self._url(),
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth_session_id_hash": "",
            "_trace": ["sim"],
        }

    def guild_create_payload(self, guild: Guild) -> JSON:
        world = self.world
        channels = [world.channels[cid] for cid in guild.channel_ids]
        bot_member = world.bot_member(guild)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "roles": [role.payload() for role in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "joined_at": iso(bot_member.joined_at),
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [bot_member.payload()],
            "channels": [channel.payload() for channel in channels if not channel.is_thread],
            "threads": [
                channel.payload()
                for channel in channels
                if channel.is_thread and not channel.archived and world.can_view(channel, world.bot.id)
            ],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [event.payload() for event in guild.scheduled_events.values()],
            "soundboard_sounds": [],
            "lazy": True,
            "application_command_counts": {},
        }

    # --- filtering -----------------------------------------------------------------------------

    @staticmethod
    def _subscribed(session: Session, event: str, data: JSON) -> bool:
        needed = _INTENTS.get(event)
        if needed is None:
            return True
        guild_intent, dm_intent = needed
        return bool(session.intents & (guild_intent if data.get("guild_id") else dm_intent))

    def _redact(self, session: Session, event: str, data: JSON) -> JSON:
        """Without the Message Content intent, others' guild messages arrive without their content."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & Intent.MESSAGE_CONTENT:
            return data
        author = (data.get("author") or {}).get("id")
        if not data.get("guild_id") or author == str(self.world.bot.id):
            return data
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}
