"""The test-facing simulator: build a server, act as its members, see what they see.

See ``tests/sim/README.md`` for a tour. Everything runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from tests.sim.contract import Contract, Violation
from tests.sim.gateway import Gateway
from tests.sim.options import UsageError, build_data, find_command
from tests.sim.ratelimit import RateLimits
from tests.sim.rest import Rest, interaction_label
from tests.sim.server import Recorded, Server
from tests.sim.state import (
    JSON,
    Attachment,
    Channel,
    ChannelType,
    Guild,
    Interaction,
    Member,
    Message,
    Overwrite,
    Perm,
    Role,
    ScheduledEvent,
    User,
    emoji_key,
    message_text,
    new_token,
    walk_components,
)
from tests.sim.world import World

__all__ = ["Modal", "NoResponse", "Reply", "SettleTimeout", "Sim", "UsageError"]

# asyncio task names discord.py gives the work it does for an event (client.py, tree.py, ui/).
_BUSY_TASKS = (
    "discord.py: ",
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
    "roundtable-outbox-run",  # bot.scheduler.RUN_TASK_NAME: a scheduled outbox run sending
)
FOLLOW_UP_TIMEOUT = 10.0


class Clock(Protocol):
    def now(self) -> datetime: ...


class NoResponse(AssertionError):
    """The bot did not acknowledge an interaction in time."""


class SettleTimeout(AssertionError):
    """The bot kept working (or a handler kept waiting) past the settle timeout."""


@dataclass
class Modal:
    """A modal the bot opened (interaction response type 9)."""

    interaction: Interaction
    custom_id: str
    title: str
    components: list[JSON]

    def __repr__(self) -> str:
        return f"Modal({self.title!r}, custom_id={self.custom_id!r}, fields={list(self.labels().values())})"

    @property
    def inputs(self) -> list[JSON]:
        """The text inputs and selects a member can fill in, in order."""
        return [c for c in walk_components(self.components) if c.get("type") in (3, 4, 5, 6, 7, 8) and "custom_id" in c]

    def labels(self) -> dict[str, str]:
        """custom_id → the label the member sees (a Label component's, or a legacy text input's)."""
        labels: dict[str, str] = {}
        for component in walk_components(self.components):
            inner = component.get("component")
            if component.get("type") == 18 and isinstance(inner, dict) and "custom_id" in inner:
                labels[inner["custom_id"]] = component.get("label", "")
            elif component.get("type") == 4 and "label" in component:
                labels[component["custom_id"]] = component["label"]
        return labels


@dataclass
class Reply:
    """What a member sees after an interaction: the response and every follow-up, in order."""

    interaction: Interaction
    messages: list[Message] = field(default_factory=list)
    modal: Modal | None = None
    choices: list[JSON] | None = None

    @property
    def message(self) -> Message | None:
        return self.messages[0] if self.messages else None

    def _first(self) -> Message:
        if not self.messages:
            raise AssertionError(f"the bot answered {interaction_label(self.interaction)!r} without a message ({self._kind()})")
        return self.messages[0]

    def _kind(self) -> str:
        return {6: "a deferred update", 7: "an updated message", 8: "autocomplete", 9: "a modal"}.get(
            self.interaction.response_type or 0, "nothing"
        )

    @property
    def content(self) -> str:
        return self._first().content

    @property
    def embeds(self) -> list[JSON]:
        return self._first().embeds

    @property
    def embed(self) -> JSON:
        embeds = self.embeds
        assert embeds, "the reply has no embed"
        return embeds[0]

    @property
    def components(self) -> list[JSON]:
        return self._first().components

    @property
    def files(self) -> list[Attachment]:
        return [attachment for message in self.messages for attachment in message.attachments]

    @property
    def ephemeral(self) -> bool:
        return self._first().ephemeral

    @property
    def text(self) -> str:
        """Every message's content and embed text, joined: what to search with ``in``."""
        return "\n".join(message_text(message) for message in self.messages)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        shown = ", ".join(repr(message) for message in self.messages)
        extra = f", modal={self.modal.title!r}" if self.modal else ""
        extra += f", {len(self.choices)} choice(s)" if self.choices is not None else ""
        return f"Reply(to {interaction_label(self.interaction)!r}: [{shown}]{extra})"


class Sim:
    """A Discord on loopback. ``await sim.start()``; point the bot at ``sim.api_base``."""

    def __init__(self, *, clock: Clock | None = None, token: str = "sim-bot-token") -> None:
        self.clock = clock
        self.token = token
        self.world = World(self.now)
        self.contract = Contract()
        self.rate_limits = RateLimits()
        self.gateway = Gateway(self.world, token=token, url=lambda: self.gateway_url)
        self.rest = Rest(self.world, self.gateway, gateway_url=lambda: self.gateway_url)
        self.server = Server(self.rest, self.gateway, self.contract, self.rate_limits, token=token)
        self.run_due: Callable[[], Awaitable[Any]] | None = None  # set by the harness: App.run_due

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.contract.load()  # a missing description fails here, not as a 500 on every request
        await self.server.start()
        self.world.origin = self.server.origin

    async def stop(self) -> None:
        await self.server.stop()

    def set_latency(self, fixed: float, jitter: float = 0.0) -> None:
        """Hold every REST answer ``fixed`` seconds, plus or minus up to ``jitter`` (uniform), as a
        real round trip to Discord takes: e.g. ``set_latency(0.100, 0.050)`` answers in 50–150 ms.
        The request counts (rate limits, records) when it arrives; only the answer waits."""
        if fixed < 0 or jitter < 0:
            raise ValueError("latency and jitter are durations: zero or more")
        self.server.latency = (fixed, jitter)

    def sample_contract(self, *, first: int = 100, every: int = 10) -> None:
        """For benchmarks only: check each route's first ``first`` request bodies against Discord's
        API description, then one in ``every`` (a check costs 5–13 ms: at 45 requests/s it would
        take most of a core). Tests check every body (the default)."""
        if first < 0 or every < 1:
            raise ValueError("first ≥ 0 and every ≥ 1")
        self.server.contract_first, self.server.contract_every = first, every

    @property
    def api_base(self) -> str:
        """The bot's ``DISCORD_API_BASE``."""
        return f"{self.server.origin}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/gateway"

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    @property
    def bot(self) -> User:
        return self.world.bot

    # --- building the world --------------------------------------------------------------------

    def guild(
        self, name: str = "Test Server", *, owner: User | None = None, channel: str | None = "general",
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A server with the bot in it (and a text channel, unless ``channel=None``); ``shard=(id, count)``:
        one whose events go to that shard."""
        world = self.world
        owner = owner or self._user(f"{name} owner")
        guild_id = world.ids.next_on_shard(*shard) if shard is not None else world.ids.next()
        guild = Guild(id=guild_id, name=name, owner_id=owner.id)
        world.guilds[guild.id] = guild
        guild.roles[guild.id] = Role(id=guild.id, guild_id=guild.id, name="@everyone", permissions=Perm.EVERYONE)
        bot_role = world.add_role(guild, world.bot.username, Perm.BOT)
        bot_role.managed = True
        guild.members[world.bot.id] = Member(user=world.bot, guild_id=guild.id, role_ids=[bot_role.id], joined_at=self.now())
        guild.members[owner.id] = Member(user=owner, guild_id=guild.id)
        if channel:
            self._add_channel(guild, channel, announce=False)  # it arrives inside GUILD_CREATE
        if self.gateway.session is not None:
            self.gateway.dispatch("GUILD_CREATE", self.gateway.guild_create_payload(guild))
        return guild

    def role(self, guild: Guild, name: str, *, permissions: int = 0) -> Role:
        return self.world.add_role(guild, name, permissions)

    def member(
        self,
        guild: Guild,
        name: str,
        *,
        manage_guild: bool = False,
        roles: Iterable[Role] = (),
        dms_open: bool = True,
    ) -> Member:
        """A member of ``guild``; ``manage_guild=True`` gives them a role with Manage Server."""
        user = self._user(name)
        user.dms_open = dms_open
        member = Member(user=user, guild_id=guild.id, role_ids=[role.id for role in roles], joined_at=self.now())
        if manage_guild:
            manager = next((r for r in guild.roles.values() if r.name == "Server Manager"), None)
            manager = manager or self.world.add_role(guild, "Server Manager", Perm.MANAGE_GUILD)
            member.role_ids.append(manager.id)
        guild.members[user.id] = member
        return member

    def _user(self, name: str) -> User:
        user = User(id=self.world.ids.next(), username=name.lower().replace(" ", "_"), global_name=name)
        self.world.users[user.id] = user
        return user

    def channel(self, guild: Guild, name: str, *, private: bool = False, members: Iterable[Member] = ()) -> Channel:
        """A text channel; ``private=True`` hides it from everyone but ``members`` (and the bot)."""
        return self._add_channel(guild, name, private=private, members=members)

    def voice_channel(self, guild: Guild, name: str, *, stage: bool = False, bot_may: bool = True) -> Channel:
        """A voice channel (a stage channel with ``stage=True``) everyone may see; ``bot_may``: the bot
        has what it needs to host an event there (voice: View Channel and Connect; stage: those and
        Manage Channels, Mute Members, Move Members), by a member overwrite."""
        channel = self._add_channel(guild, name, kind=ChannelType.GUILD_STAGE_VOICE if stage else ChannelType.GUILD_VOICE,
                                    announce=False)
        if bot_may:
            channel.overwrites.append(Overwrite(id=self.world.bot.id, type=1,
                                                allow=Perm.STAGE_EVENT if stage else Perm.VOICE_EVENT))
        self.gateway.dispatch("CHANNEL_CREATE", channel.payload())
        return channel

    def _add_channel(
        self, guild: Guild, name: str, *, private: bool = False, members: Iterable[Member] = (), announce: bool = True,
        kind: int = ChannelType.GUILD_TEXT,
    ) -> Channel:
        world = self.world
        channel = Channel(id=world.ids.next(), type=kind, name=name, guild_id=guild.id, position=len(guild.channel_ids))
        if private:
            channel.overwrites.append(Overwrite(id=guild.id, type=0, deny=Perm.VIEW_CHANNEL))
            for user_id in {world.bot.id, *(member.id for member in members)}:
                channel.overwrites.append(Overwrite(id=user_id, type=1, allow=Perm.VIEW_CHANNEL))
        world.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        if announce:
            self.gateway.dispatch("CHANNEL_CREATE", channel.payload())
        return channel

    def dm_channel(self, member: Member | User) -> Channel:
        """The member's DM channel with the bot (to run a command in DMs, or read it)."""
        return self.rest.dm_channel(member.id)

    def text_channel(self, guild: Guild, name: str = "general") -> Channel:
        """The guild's text channel called ``name``."""
        for channel_id in guild.channel_ids:
            channel = self.world.channels[channel_id]
            if channel.name == name and not channel.is_thread:
                return channel
        raise KeyError(f"{guild.name} has no channel #{name}")

    def thread(self, channel: Channel, name: str, *, by: Member, private: bool = False, members: Iterable[Member] = ()) -> Channel:
        """A thread a member starts (without a message); the bot sees it if it may."""
        world = self.world
        thread = Channel(
            id=world.ids.next(),
            type=ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
            name=name,
            guild_id=channel.guild_id,
            parent_id=channel.id,
            owner_id=by.id,
            member_ids={by.id, *(m.id for m in members)},
            created_at=self.now(),
        )
        world.channels[thread.id] = thread
        guild = world.guild_of(channel)
        assert guild is not None
        guild.channel_ids.append(thread.id)
        if world.can_view(thread, world.bot.id):
            self.gateway.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
        return thread

    def post(self, member: Member | User, channel: Channel, content: str) -> Message:
        """A member writes a message (dispatched as MESSAGE_CREATE, content subject to intents)."""
        user = member.user if isinstance(member, Member) else member
        self._require_view(user, channel)
        message = Message(
            id=self.world.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=user,
            content=content,
            timestamp=self.now(),
        )
        self.world.add_message(message)
        channel.last_message_id = message.id
        self.gateway.dispatch("MESSAGE_CREATE", self.rest.message_event(message))
        return message

    def delete_message(self, message: Message) -> None:
        """A moderator deletes ``message``."""
        self.rest._delete(message)

    def delete_channel(self, channel: Channel) -> None:
        """The channel (or thread) is deleted: the bot gets CHANNEL_DELETE / THREAD_DELETE; REST answers 404."""
        world = self.world
        world.channels.pop(channel.id, None)
        guild = world.guild_of(channel)
        if guild is not None and channel.id in guild.channel_ids:
            guild.channel_ids.remove(channel.id)
        if guild is not None:  # Discord deletes the events in a deleted voice or stage channel
            for event in [e for e in guild.scheduled_events.values() if e.channel_id == channel.id]:
                del guild.scheduled_events[event.id]
                self.gateway.dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload())
        if channel.is_thread:
            self.gateway.dispatch(
                "THREAD_DELETE",
                {"id": str(channel.id), "guild_id": str(channel.guild_id), "parent_id": str(channel.parent_id), "type": channel.type},
            )
        else:
            self.gateway.dispatch("CHANNEL_DELETE", channel.payload())

    def revoke_permissions(self, channel: Channel, *permissions: int, who: Member | User | None = None) -> None:
        """Deny ``permissions`` (``Perm.*`` bits) in ``channel`` to ``who`` (default: the bot)."""
        user_id = (who.id if who is not None else self.world.bot.id)
        deny = 0
        for permission in permissions:
            deny |= permission
        existing = next((o for o in channel.overwrites if o.id == user_id and o.type == 1), None)
        if existing is None:
            channel.overwrites.append(Overwrite(id=user_id, type=1, deny=deny))
        else:
            existing.deny |= deny
            existing.allow &= ~deny
        self.gateway.dispatch("CHANNEL_UPDATE", channel.payload())

    def remove_guild(self, guild: Guild) -> None:
        """The bot is removed from the server (GUILD_DELETE without ``unavailable``)."""
        guild.members.pop(self.world.bot.id, None)
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    def readd_guild(self, guild: Guild) -> None:
        """The bot is added back to a server it was removed from: GUILD_CREATE (``on_guild_join``)."""
        bot_role = next(role for role in guild.roles.values() if role.managed and role.name == self.world.bot.username)
        guild.members[self.world.bot.id] = Member(user=self.world.bot, guild_id=guild.id, role_ids=[bot_role.id],
                                                  joined_at=self.now())
        payload = self.gateway.guild_create_payload(guild)
        del payload["unavailable"]  # a join: discord.py reads ``unavailable: false`` as an outage ending
        self.gateway.dispatch("GUILD_CREATE", payload)

    def guild_outage(self, guild: Guild) -> None:
        """Discord loses the server for a while: GUILD_DELETE with ``unavailable`` (``on_guild_unavailable``);
        the bot is still in it. :meth:`guild_back` ends the outage."""
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id), "unavailable": True})

    def guild_back(self, guild: Guild) -> None:
        """The outage is over: GUILD_CREATE for a server the bot knew (``on_guild_available``)."""
        self.gateway.dispatch("GUILD_CREATE", self.gateway.guild_create_payload(guild))

    def close_dms(self, member: Member | User) -> None:
        """The member closes DMs from server members: creating the DM works, sending to it is 403/50007."""
        (member.user if isinstance(member, Member) else member).dms_open = False

    def open_dms(self, member: Member | User) -> None:
        (member.user if isinstance(member, Member) else member).dms_open = True

    # --- what members do -------------------------------------------------------------------------

    async def command(self, member: Member | User, channel: Channel, name: str, /, **options: Any) -> Reply:
        """Run ``/name`` with ``options`` as ``member`` in ``channel``; return what they see.

        The first three are positional-only, so a command's own ``member``, ``channel`` or
        ``name`` option is passed as a keyword like any other.
        """
        return await self._answer(self.dispatch_command(member, channel, name, **options))

    def dispatch_command(self, member: Member | User, channel: Channel, name: str, /, **options: Any) -> Interaction:
        """Send ``/name`` as :meth:`command` does, without waiting: the interaction, to watch
        (``acknowledged``, ``response_at``; a benchmark's many at once)."""
        command = self._command_for(member, channel, name)
        data = build_data(self.world, command, name, options, guild_id=channel.guild_id)
        if "resolved" in data and "members" in data["resolved"]:
            for user_id, payload in data["resolved"]["members"].items():
                payload["permissions"] = str(self.world.permissions(channel, int(user_id)))
        return self._interaction(2, member, channel, data)

    async def autocomplete(
        self,
        member: Member | User,
        channel: Channel,
        name: str,
        /,
        *,
        option: str,
        value: Any = "",
        filled: Mapping[str, Any] | None = None,
        **others: Any,
    ) -> list[JSON]:
        """The choices the member is offered for ``option`` after typing ``value``.

        Options already filled in go as keywords (or in ``filled``, for options called
        ``option``, ``value`` or ``filled``).
        """
        command = self._command_for(member, channel, name)
        values = {**(filled or {}), **others, option: value}
        data = build_data(self.world, command, name, values, guild_id=channel.guild_id, focused=option)
        interaction = self._interaction(4, member, channel, data)
        await self._wait_ack(interaction)
        await self.settle()
        if interaction.response_type != 8:
            raise AssertionError(f"autocomplete for {name} {option} was answered with type {interaction.response_type}")
        return interaction.choices or []

    async def click(
        self, member: Member | User, message: Message | Reply, *, label: str | None = None, custom_id: str | None = None
    ) -> Reply:
        """Click a button on ``message`` (by its label or custom_id)."""
        return await self._answer(self.dispatch_click(member, message, label=label, custom_id=custom_id))

    def dispatch_click(
        self, member: Member | User, message: Message | Reply, *, label: str | None = None, custom_id: str | None = None
    ) -> Interaction:
        """Click as :meth:`click` does, without waiting: the interaction, to watch."""
        message = self._message_of(message)
        button = self._component(message, lambda c: c.get("type") == 2 and _matches(c, label, custom_id), label or custom_id)
        if button.get("disabled"):
            raise UsageError(f"the button {label or custom_id!r} is disabled")
        if "custom_id" not in button:
            raise UsageError(f"the button {label or custom_id!r} is a link or premium button, not clickable here")
        data = {"custom_id": button["custom_id"], "component_type": 2}
        return self._interaction(3, member, self._channel_of(message), data, message=message)

    async def click_vanished(self, member: Member | User, message: Message | Reply, custom_id: str) -> Reply:
        """Click a button the member's screen still shows but ``message`` no longer has (it was
        redrawn between the two): Discord sends the click with the message as it is now."""
        message = self._message_of(message)
        if any(c.get("custom_id") == custom_id for c in message.iter_components()):
            raise UsageError(f"{custom_id!r} is still on the message: use click()")
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._answer(self._interaction(3, member, self._channel_of(message), data, message=message))

    async def select(
        self, member: Member | User, message: Message | Reply, values: list[Any], *, custom_id: str | None = None
    ) -> Reply:
        """Pick ``values`` in a select menu on ``message`` (the only one, or the one with ``custom_id``)."""
        message = self._message_of(message)
        menu = self._component(message, lambda c: c.get("type") in (3, 5, 6, 7, 8) and _matches(c, None, custom_id), custom_id or "select")
        if menu.get("disabled"):
            raise UsageError(f"the select {menu['custom_id']!r} is disabled")
        low, high = menu.get("min_values", 1), menu.get("max_values", 1)
        if not low <= len(values) <= high:
            raise UsageError(f"the select {menu['custom_id']!r} takes {low}–{high} values, not {len(values)}")
        data: JSON = {"custom_id": menu["custom_id"], "component_type": menu["type"]}
        if menu["type"] == 3:
            offered = [option["value"] for option in menu.get("options", [])]
            chosen = [self._option_value(menu, value) for value in values]
            missing = [value for value in chosen if value not in offered]
            if missing:
                raise UsageError(f"the select {menu['custom_id']!r} offers {offered}, not {missing}")
            data["values"] = chosen
        else:
            data["values"] = [str(value.id) for value in values]
            data["resolved"] = self._resolved(values, message.guild_id)
        return await self._answer(self._interaction(3, member, self._channel_of(message), data, message=message))

    async def submit_modal(self, member: Member | User, modal: Modal | Reply, values: Mapping[str, Any]) -> Reply:
        """Fill in and submit a modal the bot opened; ``values`` by custom_id or label."""
        if isinstance(modal, Reply):
            if modal.modal is None:
                raise UsageError(f"the bot answered with {modal._kind()}, not a modal")
            modal = modal.modal
        labels = modal.labels()
        by_key = {custom_id: custom_id for custom_id in labels} | {label: custom_id for custom_id, label in labels.items()}
        given: dict[str, Any] = {}
        for key, value in values.items():
            custom_id = by_key.get(key, key)
            if not any(c["custom_id"] == custom_id for c in modal.inputs):
                raise UsageError(f"the modal {modal.title!r} has no field {key!r}; it has {list(labels.values()) or [c['custom_id'] for c in modal.inputs]}")
            given[custom_id] = value
        components = [self._submitted(component, given) for component in modal.components]
        origin = modal.interaction
        data = {"custom_id": modal.custom_id, "components": [c for c in components if c is not None]}
        channel = self.world.channels[origin.channel_id]
        return await self._answer(self._interaction(5, member, channel, data, message=origin.message))

    def react(self, member: Member | User, message: Message, emoji: str = "👍") -> None:
        """Add ``member``'s reaction (MESSAGE_REACTION_ADD with the member, as Discord sends it)."""
        user = member.user if isinstance(member, Member) else member
        self._require_view(user, self._channel_of(message))
        self.rest.react(message, user.id, emoji_key(emoji))

    def unreact(self, member: Member | User, message: Message, emoji: str = "👍") -> None:
        user = member.user if isinstance(member, Member) else member
        self.rest.unreact(message, user.id, emoji_key(emoji))

    # --- the server's Events --------------------------------------------------------------------

    async def allow_events(self, guild: Guild, allowed: bool = True) -> None:
        """Give (or take) the bot's role Manage Events: GUILD_ROLE_UPDATE, and the bot settles."""
        role = next(r for r in guild.roles.values() if r.managed and r.name == self.world.bot.username)
        role.permissions = role.permissions | Perm.MANAGE_EVENTS if allowed else role.permissions & ~Perm.MANAGE_EVENTS
        self.gateway.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()})
        await self.settle()

    def scheduled_events(self, guild: Guild) -> list[ScheduledEvent]:
        """The server's Events list, by start time."""
        return sorted(guild.scheduled_events.values(), key=lambda e: (e.scheduled_start_time, e.id))

    async def mark_interested(self, member: Member, event: ScheduledEvent, interested: bool = True) -> None:
        """``member`` marks the event Interested (or takes it back): GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE."""
        (event.interested.add if interested else event.interested.discard)(member.id)
        what = "USER_ADD" if interested else "USER_REMOVE"
        self.gateway.dispatch(f"GUILD_SCHEDULED_EVENT_{what}", {
            "guild_scheduled_event_id": str(event.id), "user_id": str(member.id), "guild_id": str(event.guild_id)})
        await self.settle()

    # --- what members see ------------------------------------------------------------------------

    def messages(self, channel: Channel, *, as_member: Member | None = None) -> list[Message]:
        """The channel's messages, oldest first (ephemeral ones excluded; hidden if ``as_member`` can't see it)."""
        if as_member is not None and not self.world.can_view(channel, as_member.id):
            return []
        return self.world.channel_messages(channel.id)

    def last_message(self, channel: Channel) -> Message:
        messages = self.messages(channel)
        assert messages, f"#{channel.name} has no messages"
        return messages[-1]

    def dms(self, member: Member | User) -> list[Message]:
        """The DMs the bot sent to ``member``, oldest first."""
        channel_id = self.world.dm_by_user.get(member.id)
        return self.world.channel_messages(channel_id) if channel_id else []

    def threads(self, channel: Channel) -> list[Channel]:
        return [c for c in self.world.channels.values() if c.is_thread and c.parent_id == channel.id]

    def reactors(self, message: Message, emoji: str = "👍") -> list[int]:
        return list(message.reactions.get(emoji_key(emoji), []))

    def registered_commands(self, guild: Guild | None = None) -> list[JSON]:
        return self.world.guild_commands.get(guild.id, []) if guild else self.world.global_commands

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    # --- time and waiting ------------------------------------------------------------------------

    async def settle(self, *, quiet: float = 0.02, within: float = 10.0) -> None:
        """Wait until the bot has finished with everything sent to it: no request in flight, no
        frame unsent, no discord.py handler task running, and ``quiet`` seconds of calm."""
        deadline = time.monotonic() + within
        while True:
            await asyncio.sleep(0)
            if not self._busy():
                mark = len(self.server.requests)
                await asyncio.sleep(quiet)
                if not self._busy() and mark == len(self.server.requests):
                    return
            elif time.monotonic() > deadline:
                raise SettleTimeout(f"the bot is still busy after {within:.0f} s: {self._busy()}")
            else:
                await asyncio.sleep(0.002)

    def _busy(self) -> list[str]:
        busy = []
        if self.server.in_flight:
            busy.append(f"{self.server.in_flight} request(s) in flight")
        if self.gateway.pending:
            busy.append(f"{self.gateway.pending} gateway frame(s) unsent")
        current = asyncio.current_task()
        for task in asyncio.all_tasks():
            if task is not current and not task.done() and task.get_name().startswith(_BUSY_TASKS):
                busy.append(task.get_name())
        return busy

    async def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> None:
        """Move the bot's clock, run every scheduled job now due, and settle."""
        if self.clock is None or not hasattr(self.clock, "advance"):
            raise UsageError("the simulator was built without a ManualClock")
        self.clock.advance(delta if delta is not None else timedelta(**kwargs))  # type: ignore[attr-defined]
        if self.run_due is not None:
            await self.run_due()
        await self.settle()

    async def drop_connection(self, *, resumable: bool = True) -> None:
        """Cut the gateway connection; wait until the bot is back (RESUMEd, or IDENTIFYd again)."""
        before = (self.gateway.resumes, self.gateway.identifies)
        await self.gateway.drop(resumable=resumable)
        deadline = time.monotonic() + 10
        while (self.gateway.resumes, self.gateway.identifies) == before:
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not reconnect within 10 s")
            await asyncio.sleep(0.01)
        await self.settle()

    # --- checks ----------------------------------------------------------------------------------

    @property
    def violations(self) -> list[Violation]:
        return self.server.violations

    def problems(self) -> list[str]:
        """Everything Discord would have refused or the simulator could not answer."""
        found = [f"contract: {v}" for v in self.server.violations]
        found += [f"runtime: {v}" for v in self.rest.runtime_violations]
        found += [f"unknown route: {route}" for route in self.server.unknown_routes]
        found += [f"gateway: {error}" for error in self.gateway.errors]
        return found

    def assert_clean(self) -> None:
        problems = self.problems()
        if problems:
            raise AssertionError("The bot did what Discord would refuse:\n  " + "\n  ".join(problems))

    def forget_problems(self) -> list[str]:
        """Return and clear the recorded problems (for tests that provoke one on purpose)."""
        problems = self.problems()
        self.server.violations.clear()
        self.rest.runtime_violations.clear()
        self.server.unknown_routes.clear()
        self.gateway.errors.clear()
        return problems

    # --- interaction machinery -------------------------------------------------------------------

    def _command_for(self, member: Member | User, channel: Channel, name: str) -> JSON:
        guild = self.world.guild_of(channel)
        pools = ([self.world.guild_commands.get(guild.id, [])] if guild else []) + [self.world.global_commands]
        command = next((c for pool in pools if (c := find_command(pool, name)) is not None), None)
        if command is None:
            known = sorted({c["name"] for pool in pools for c in pool})
            raise UsageError(f"/{name.split()[0]} is not registered here (registered: {', '.join(known) or 'none'})")
        user = member.user if isinstance(member, Member) else member
        self._require_view(user, channel)
        if guild is None and command.get("contexts") is not None and 1 not in command["contexts"]:
            raise UsageError(f"/{name} is not available in DMs")
        if guild is None and command.get("dm_permission") is False:
            raise UsageError(f"/{name} is not available in DMs")
        required = command.get("default_member_permissions")
        if guild is not None and required is not None:
            have = self.world.permissions(channel, user.id)
            if have & int(required) != int(required):
                raise UsageError(f"/{name} is hidden from {user.username}: it needs permissions {required}")
        return command

    def _require_view(self, user: User, channel: Channel) -> None:
        if channel.id not in self.world.channels:
            raise UsageError(f"#{channel.name} was deleted")
        if not self.world.can_view(channel, user.id):
            raise UsageError(f"{user.username} cannot see #{channel.name}")

    def _interaction(self, kind: int, member: Member | User, channel: Channel, data: JSON, *, message: Message | None = None) -> Interaction:
        world = self.world
        user = member.user if isinstance(member, Member) else member
        guild = world.guild_of(channel)
        interaction = Interaction(
            id=world.ids.next(),
            token=new_token(),
            type=kind,
            user=user,
            channel_id=channel.id,
            guild_id=guild.id if guild else None,
            data=data,
            message=message,
        )
        world.interactions[interaction.id] = interaction
        payload: JSON = {
            "id": str(interaction.id),
            "application_id": str(world.application_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.payload() | {"permissions": str(world.permissions(channel, user.id))},
            "token": interaction.token,
            "version": 1,
            "app_permissions": str(world.permissions(channel, world.bot.id)),
            "locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10_485_760,
        }
        if guild is not None:
            guild_member = guild.members.get(user.id)
            if guild_member is None:
                raise UsageError(f"{user.username} is not a member of {guild.name}")
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=guild_member.payload(permissions=world.permissions(channel, user.id)),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(user=user.payload(), authorizing_integration_owners={"1": str(user.id)}, context=1)
        if message is not None:
            payload["message"] = self.rest.message_payload(message)
        interaction.created = time.monotonic()
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def _wait_ack(self, interaction: Interaction) -> None:
        deadline = interaction.created + self.rest.ack_deadline + 1.0
        await self._wait(interaction, lambda: interaction.acknowledged, deadline)
        if not interaction.acknowledged:
            raise NoResponse(
                f"the bot did not answer {interaction_label(interaction)!r} within {self.rest.ack_deadline:.0f} s"
                + (f"; problems so far: {self.problems()}" if self.problems() else "")
            )

    async def _wait(self, interaction: Interaction, done: Callable[[], bool], deadline: float) -> None:
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            interaction.activity.clear()
            try:
                await asyncio.wait_for(interaction.activity.wait(), timeout=remaining)
            except TimeoutError:
                return

    async def _answer(self, interaction: Interaction) -> Reply:
        await self._wait_ack(interaction)
        if interaction.response_type == 5:
            await self._wait(
                interaction,
                lambda: interaction.original is None or not interaction.original.loading or interaction.original.deleted,
                time.monotonic() + FOLLOW_UP_TIMEOUT,
            )
        await self.settle()
        return self._reply(interaction)

    def _reply(self, interaction: Interaction) -> Reply:
        messages = [m for m in [interaction.original, *interaction.followups] if m is not None and not m.deleted]
        if interaction.response_type in (6, 7) and interaction.message is not None:
            messages.insert(0, interaction.message)
        modal = None
        if interaction.modal is not None:
            modal = Modal(
                interaction=interaction,
                custom_id=interaction.modal["custom_id"],
                title=interaction.modal.get("title", ""),
                components=interaction.modal.get("components", []),
            )
        return Reply(interaction=interaction, messages=messages, modal=modal, choices=interaction.choices)

    def _message_of(self, message: Message | Reply) -> Message:
        if isinstance(message, Reply):
            return message._first()
        return message

    def _channel_of(self, message: Message) -> Channel:
        channel = self.world.channels.get(message.channel_id)
        if channel is None:
            raise UsageError("the message's channel was deleted")
        return channel

    @staticmethod
    def _component(message: Message, predicate: Callable[[JSON], bool], what: str | None) -> JSON:
        found = [component for component in message.iter_components() if predicate(component)]
        if not found:
            offered = [c.get("label") or c.get("custom_id") for c in message.iter_components() if c.get("type") in (2, 3, 5, 6, 7, 8)]
            raise UsageError(f"no component {what!r} on the message; it has {offered}")
        if len(found) > 1 and what is None:
            raise UsageError("several matching components; name one by custom_id")
        return found[0]

    @staticmethod
    def _option_value(menu: JSON, value: Any) -> Any:
        for option in menu.get("options", []):
            if value in (option["value"], option["label"]):
                return option["value"]
        return value

    def _resolved(self, values: list[Any], guild_id: int | None) -> JSON:
        resolved: dict[str, dict[str, JSON]] = {}
        for value in values:
            if isinstance(value, Member):
                resolved.setdefault("users", {})[str(value.id)] = value.user.payload()
                resolved.setdefault("members", {})[str(value.id)] = value.payload(with_user=False, permissions=0)
            elif isinstance(value, User):
                resolved.setdefault("users", {})[str(value.id)] = value.payload()
            elif isinstance(value, Role):
                resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            elif isinstance(value, Channel):
                resolved.setdefault("channels", {})[str(value.id)] = value.payload() | {"permissions": "0"}
        return resolved

    def _submitted(self, component: JSON, given: dict[str, Any]) -> JSON | None:
        kind = component.get("type")
        if kind == 1:
            children = [self._submitted(child, given) for child in component.get("components", [])]
            return {"type": 1, "components": [c for c in children if c is not None]}
        if kind == 18:
            inner = self._submitted(component["component"], given)
            return {"type": 18, "id": component.get("id", 0), "component": inner} if inner else None
        if kind == 10:
            return {"type": 10, "id": component.get("id", 0)}
        custom_id = component.get("custom_id")
        if custom_id is None:
            return None
        if kind == 4:
            value = str(given.get(custom_id, component.get("value") or ""))
            if component.get("required", True) and not value:
                raise UsageError(f"the modal field {custom_id!r} is required")
            low, high = component.get("min_length", 0), component.get("max_length", 4000)
            if value and not low <= len(value) <= high:
                raise UsageError(f"the modal field {custom_id!r} takes {low}–{high} characters, not {len(value)}")
            return {"type": 4, "id": component.get("id", 0), "custom_id": custom_id, "value": value}
        if kind in (3, 5, 6, 7, 8):
            chosen = given.get(custom_id, [])
            chosen = chosen if isinstance(chosen, list) else [chosen]
            values = [self._option_value(component, v) if kind == 3 else str(v.id) for v in chosen]
            return {"type": kind, "id": component.get("id", 0), "custom_id": custom_id, "values": values}
        return None


def _matches(component: JSON, label: str | None, custom_id: str | None) -> bool:
    if custom_id is not None and component.get("custom_id") != custom_id:
        return False
    return not (label is not None and component.get("label") != label)
