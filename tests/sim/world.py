"""The simulated Discord's state container: ids, lookups and permission arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from tests.sim.state import (
    JSON,
    Attachment,
    Channel,
    ChannelType,
    Guild,
    Interaction,
    Member,
    Message,
    Perm,
    Role,
    Snowflakes,
    User,
)


class World:
    """Everything the simulated Discord knows. The bot is one :class:`User`; so is each member."""

    def __init__(self, now: Callable[[], datetime], *, bot_name: str = "Roundtable") -> None:
        self.now = now
        self.ids = Snowflakes(now)
        self.bot = User(id=self.ids.next(), username=bot_name, bot=True)
        self.application_id = self.bot.id
        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self._by_channel: dict[int, list[Message]] = {}
        self.interactions: dict[int, Interaction] = {}
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.dm_by_user: dict[int, int] = {}
        self.attachments: dict[int, Attachment] = {}
        self.origin = ""  # http://127.0.0.1:PORT once the server listens (attachment URLs)

    # --- lookups -------------------------------------------------------------------------------

    def guild_of(self, channel: Channel) -> Guild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id is not None else None

    def member(self, guild: Guild, user_id: int) -> Member | None:
        return guild.members.get(user_id)

    def bot_member(self, guild: Guild) -> Member:
        return guild.members[self.bot.id]

    def add_message(self, message: Message) -> None:
        """Store a new message; ids grow with time, so each channel's list stays oldest first."""
        self.messages[message.id] = message
        in_channel = self._by_channel.setdefault(message.channel_id, [])
        if in_channel and in_channel[-1].id > message.id:
            in_channel.append(message)
            in_channel.sort(key=lambda m: m.id)
        else:
            in_channel.append(message)

    def channel_messages(self, channel_id: int, *, include_ephemeral: bool = False) -> list[Message]:
        """The channel's messages, oldest first (an index per channel: a send's nonce check doesn't
        walk every message in the world)."""
        return [
            message
            for message in self._by_channel.get(channel_id, ())
            if not message.deleted and (include_ephemeral or not message.ephemeral)
        ]

    def latest_messages(self, channel_id: int) -> Iterator[Message]:
        """The channel's messages, newest first, lazily (a send's nonce check reads only the last
        few minutes' worth: no copy of the channel's whole history per send)."""
        for message in reversed(self._by_channel.get(channel_id, ())):
            if not message.deleted and not message.ephemeral:
                yield message

    def threads_of(self, guild: Guild) -> list[Channel]:
        return [self.channels[cid] for cid in guild.channel_ids if self.channels[cid].is_thread]

    # --- permissions ---------------------------------------------------------------------------

    def base_permissions(self, guild: Guild, member: Member) -> int:
        if member.id == guild.owner_id:
            return Perm.ALL
        permissions = guild.everyone.permissions
        for role_id in member.role_ids:
            role = guild.roles.get(role_id)
            if role is not None:
                permissions |= role.permissions
        return Perm.ALL if permissions & Perm.ADMINISTRATOR else permissions

    def permissions(self, channel: Channel, user_id: int) -> int:
        """What ``user_id`` may do in ``channel`` (Discord's algorithm: base, then overwrites)."""
        if channel.is_dm:
            members = {self.bot.id, *(user.id for user in channel.recipients)}
            return Perm.EVERYONE if user_id in members else 0
        guild = self.guild_of(channel)
        member = guild.members.get(user_id) if guild else None
        if guild is None or member is None:
            return 0
        base = self.base_permissions(guild, member)
        if base & Perm.ADMINISTRATOR or base == Perm.ALL:
            return Perm.ALL
        source = self.channels[channel.parent_id] if channel.is_thread and channel.parent_id else channel
        permissions = _apply_overwrites(base, source, guild, member)
        if channel.is_thread:
            if not permissions & Perm.VIEW_CHANNEL:
                return 0
            if channel.type == ChannelType.PRIVATE_THREAD and not (
                user_id in channel.member_ids or permissions & Perm.MANAGE_THREADS
            ):
                return 0
            # In threads, "send messages" is "send messages in threads".
            permissions &= ~Perm.SEND_MESSAGES
            if permissions & Perm.SEND_MESSAGES_IN_THREADS:
                permissions |= Perm.SEND_MESSAGES
        if not permissions & Perm.VIEW_CHANNEL:
            return 0
        return permissions

    def can_view(self, channel: Channel, user_id: int) -> bool:
        return bool(self.permissions(channel, user_id) & Perm.VIEW_CHANNEL)

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        role = Role(id=self.ids.next(), guild_id=guild.id, name=name, permissions=permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role


def _apply_overwrites(base: int, channel: Channel, guild: Guild, member: Member) -> int:
    permissions = base
    by_id = {overwrite.id: overwrite for overwrite in channel.overwrites}
    everyone = by_id.get(guild.id)
    if everyone is not None:
        permissions = (permissions & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.role_ids:
        overwrite = by_id.get(role_id)
        if overwrite is not None and overwrite.type == 0:
            allow |= overwrite.allow
            deny |= overwrite.deny
    permissions = (permissions & ~deny) | allow
    own = by_id.get(member.id)
    if own is not None and own.type == 1:
        permissions = (permissions & ~own.deny) | own.allow
    return permissions
