"""The simulated Discord's world: users, guilds, roles, members, channels, messages, interactions.

Plain data plus the payload builders that turn it into what Discord sends. Nothing here does I/O.
Payload shapes follow Discord's documentation and what discord.py's parsers read.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

JSON = dict[str, Any]


class Perm:
    """Permission bits the simulation computes with (Discord's values)."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    MUTE_MEMBERS = 1 << 22
    MOVE_MEMBERS = 1 << 24
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    MANAGE_EVENTS = 1 << 33
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 53) - 1
    # What Roundtable needs in a channel to host an event there (on top of Manage Events).
    VOICE_EVENT = VIEW_CHANNEL | CONNECT
    STAGE_EVENT = VIEW_CHANNEL | CONNECT | MANAGE_CHANNELS | MUTE_MEMBERS | MOVE_MEMBERS

    # What @everyone gets in a new server (roughly Discord's defaults, without voice).
    EVERYONE = (
        CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES
        | READ_MESSAGE_HISTORY | MENTION_EVERYONE | USE_EXTERNAL_EMOJIS | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS | CREATE_PUBLIC_THREADS | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS
    )
    # What the bot's invite asks for (README: 326417632320) plus what @everyone has.
    BOT = 326_417_632_320 | EVERYONE


class ChannelType:
    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_STAGE_VOICE = 13
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    THREADS = (11, 12)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


class Snowflakes:
    """Time-ordered ids: the timestamp comes from ``now()`` (the test's clock), never repeating."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._last = 0

    def next(self) -> int:
        ms = int(self._now().timestamp() * 1000) - DISCORD_EPOCH_MS
        candidate = max(ms, 0) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """The next id whose server would be on ``shard_id`` of ``shard_count`` (``(id >> 22) % count``):
        the timestamp moves on a millisecond or a few if needed."""
        candidate = self.next()
        while (candidate >> 22) % shard_count != shard_id:
            candidate = ((candidate >> 22) + 1) << 22
        self._last = candidate
        return candidate

    @staticmethod
    def created_at(snowflake: int) -> datetime:
        return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


@dataclass(eq=False)
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    def __repr__(self) -> str:
        return f"User({self.username!r}, id={self.id})"

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }


@dataclass(eq=False)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False

    def __repr__(self) -> str:
        return f"Role({self.name!r}, id={self.id})"

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass(eq=False)
class Member:
    """A user in one guild. Tests pass these to ``Sim.command`` and friends."""

    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))

    def __repr__(self) -> str:
        return f"Member({self.user.username!r}, id={self.id})"

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return self.user.mention

    @property
    def name(self) -> str:
        return self.user.username

    def payload(self, *, permissions: int | None = None, with_user: bool = True) -> JSON:
        data: JSON = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(role_id) for role_id in self.role_ids],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> JSON:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(eq=False)
class Channel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipients: list[User] = field(default_factory=list)  # DM
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    member_ids: set[int] = field(default_factory=set)
    created_at: datetime | None = None
    last_message_id: int | None = None
    message_count: int = 0

    def __repr__(self) -> str:
        return f"Channel(#{self.name or 'dm'}, id={self.id}, type={self.type})"

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREADS

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM

    def payload(self) -> JSON:
        if self.type == ChannelType.DM:
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": _opt_str(self.last_message_id),
                "recipients": [user.payload() for user in self.recipients],
                "flags": 0,
            }
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": _opt_str(self.parent_id),
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "flags": 0,
            "nsfw": False,
        }
        if self.is_thread:
            created = self.created_at or datetime(2025, 1, 1, tzinfo=UTC)
            data.update(
                owner_id=_opt_str(self.owner_id),
                message_count=self.message_count,
                total_message_sent=self.message_count,
                member_count=min(len(self.member_ids), 50),
                thread_metadata={
                    "archived": self.archived,
                    "locked": self.locked,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(created),
                    "create_timestamp": iso(created),
                    **({"invitable": True} if self.type == ChannelType.PRIVATE_THREAD else {}),
                },
                applied_tags=[],
            )
        else:
            data.update(
                position=self.position,
                topic=self.topic,
                permission_overwrites=[overwrite.payload() for overwrite in self.overwrites],
                default_auto_archive_duration=1440,
                default_thread_rate_limit_per_user=0,
            )
            if self.type in (ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE):
                data.update(bitrate=64000, user_limit=0, rtc_region=None)
        return data


@dataclass(eq=False)
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None

    def payload(self, base_url: str) -> JSON:
        url = f"{base_url}/attachments/{self.id}/{self.filename}"
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
            "description": self.description,
            "ephemeral": False,
            "flags": 0,
        }


def emoji_key(emoji: str) -> str:
    """``👍``, ``name:id`` and ``<:name:id>`` all name one reaction; custom emoji by ``name:id``."""
    emoji = emoji.strip()
    if emoji.startswith("<") and emoji.endswith(">"):
        emoji = emoji.strip("<>").removeprefix("a:").lstrip(":")
    return emoji


def emoji_payload(key: str) -> JSON:
    if ":" in key:
        name, _, emoji_id = key.partition(":")
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": key}


@dataclass(eq=False)
class Message:
    id: int
    channel_id: int
    author: User
    guild_id: int | None = None
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    edited_timestamp: datetime | None = None
    reactions: dict[str, list[int]] = field(default_factory=dict)  # emoji key → user ids, in order
    nonce: str | int | None = None
    interaction_metadata: JSON | None = None
    application_id: int | None = None
    webhook_id: int | None = None
    message_reference: JSON | None = None
    thread_id: int | None = None
    allowed_mentions: JSON | None = None
    deleted: bool = False

    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    COMPONENTS_V2 = 1 << 15

    @property
    def text(self) -> str:
        """Content, embed text and text displays (see :func:`message_text`)."""
        return message_text(self)

    @property
    def layout(self) -> bool:
        """A components-v2 (layout) message: its text is in text displays, not content or embeds."""
        return bool(self.flags & self.COMPONENTS_V2)

    def __repr__(self) -> str:
        text = self.content if len(self.content) <= 60 else self.content[:59] + "…"
        extra = f", {len(self.embeds)} embed(s)" if self.embeds else ""
        extra += ", ephemeral" if self.ephemeral else ""
        extra += ", deleted" if self.deleted else ""
        return f"Message(id={self.id}, channel={self.channel_id}, by {self.author.username!r}: {text!r}{extra})"

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & self.EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & self.LOADING)

    def payload(self, *, me_id: int, base_url: str, thread: Channel | None = None) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso(self.timestamp),
            "edited_timestamp": iso(self.edited_timestamp) if self.edited_timestamp else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [attachment.payload(base_url) for attachment in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.reactions:
            data["reactions"] = [
                {
                    "emoji": emoji_payload(key),
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "burst_colors": [],
                    "me": me_id in users,
                    "me_burst": False,
                    "burst_me": False,
                    "burst_count": 0,
                }
                for key, users in self.reactions.items()
                if users
            ]
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if thread is not None:
            data["thread"] = thread.payload()
        return data

    def iter_components(self) -> Iterator[JSON]:
        """Every component, depth first (action rows, sections, containers and their children)."""
        return walk_components(self.components)


def message_text(message: Message) -> str:
    """What a reader reads in a message: its content, its embeds' text, and the text displays of a
    layout (components v2) message, sections' and containers' included, in order."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for embed_field in embed.get("fields") or []:
            parts += [embed_field.get("name") or "", embed_field.get("value") or ""]
        parts.append((embed.get("footer") or {}).get("text") or "")
        parts.append((embed.get("author") or {}).get("name") or "")
    for component in walk_components(message.components):
        if component.get("type") == 10:  # text display
            parts.append(component.get("content") or "")
    return "\n".join(part for part in parts if part)


def walk_components(components: list[JSON]) -> Iterator[JSON]:
    for component in components:
        yield component
        for key in ("components", "items"):
            children = component.get(key)
            if isinstance(children, list):
                yield from walk_components(children)
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from walk_components([child])


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    available: bool = True
    scheduled_events: dict[int, ScheduledEvent] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Guild({self.name!r}, id={self.id})"

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass(eq=False)
class ScheduledEvent:
    """A guild scheduled event (the server's Events list); ``interested``: who marked it Interested."""

    id: int
    guild_id: int
    creator_id: int
    name: str
    scheduled_start_time: str
    scheduled_end_time: str | None
    entity_type: int
    privacy_level: int
    description: str | None = None
    location: str | None = None
    channel_id: int | None = None
    status: int = 1  # scheduled
    interested: set[int] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"ScheduledEvent({self.name!r}, id={self.id})"

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": _opt_str(self.channel_id),
            "creator_id": str(self.creator_id),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": self.scheduled_start_time,
            "scheduled_end_time": self.scheduled_end_time,
            "privacy_level": self.privacy_level,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": self.location} if self.location is not None else None,
            "user_count": len(self.interested),
            "image": None,
            "recurrence_rule": None,
        }


@dataclass(eq=False)
class Interaction:
    """One interaction the simulation created, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user: User
    channel_id: int
    guild_id: int | None
    data: JSON
    message: Message | None = None  # the message a component was clicked on
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    response_at: float | None = None
    callback_at: float | None = None  # monotonic: when the bot's first initial response arrived (even a late one)
    late: bool = False  # that response came after the deadline (answered 10062)
    original: Message | None = None
    ephemeral: bool = False
    followups: list[Message] = field(default_factory=list)
    modal: JSON | None = None
    choices: list[JSON] | None = None
    activity: asyncio.Event = field(default_factory=asyncio.Event)

    def __repr__(self) -> str:
        return f"Interaction(id={self.id}, type={self.type}, by {self.user.username!r}, response_type={self.response_type})"

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    def touch(self) -> None:
        self.activity.set()


def new_token() -> str:
    return "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


_counter = itertools.count(1)


def unique_name(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"
