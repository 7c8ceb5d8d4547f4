"""The Discord client: a ``commands.Bot`` with the services injected, built by the composition root."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.metrics import Metrics
from bot.services import Services
from bot.ui.errors import is_expired, log_failure, render_error, unwrap, user_message
from bot.ui.notify import NotificationRegistry
from bot.ui.vanished import answer_vanished_click
from bot.warm import warm_caches

if TYPE_CHECKING:
    from bot.processes import IdentifyGate
    from bot.settings import Settings

log = logging.getLogger(__name__)

STARTED_EXTRA = "roundtable_started"  # interaction.extras key: time.monotonic() when the tree got it


def bot_intents() -> discord.Intents:
    """``Intents.default()`` minus what the bot doesn't use; no privileged intents at all.

    Slash commands, buttons and modals arrive as interactions (no intent needed); votes are raw
    reaction events (``guild_reactions``); channels and threads come with ``guilds``; a member
    marking a meeting's Discord event Interested comes with ``guild_scheduled_events``.
    """
    intents = discord.Intents.default()
    for unused in (
        "typing",
        "messages",
        "invites",
        "voice_states",
        "integrations",
        "webhooks",
        "emojis_and_stickers",
        "moderation",
        "auto_moderation",
        "polls",
        "dm_reactions",
    ):
        setattr(intents, unused, False)
    return intents


LATE = "late"  # metrics label: answered after Discord's 3 s (10062)


class RoundtableTree(app_commands.CommandTree["RoundtableBot"]):
    async def on_error(
        self, interaction: discord.Interaction[RoundtableBot], error: app_commands.AppCommandError
    ) -> None:
        await render_error(interaction, error)
        original = unwrap(error)
        if is_expired(original):
            kind, outcome = LATE, LATE
        elif user_message(original) is not None:
            kind, outcome = "user", "refused"
        else:
            kind, outcome = "unexpected", "error"
        observe_interaction(interaction, outcome)
        if interaction.client.metrics is not None:
            interaction.client.metrics.count_interaction_error(kind)

    async def interaction_check(self, interaction: discord.Interaction[RoundtableBot]) -> bool:
        interaction.extras[STARTED_EXTRA] = time.monotonic()
        # A member who uses the bot again may have reopened their DMs: let the outbox try again.
        try:
            await interaction.client.services.outbox.member_active(interaction.user.id)
        except Exception as error:  # never block a command over this
            log_failure("member_active", error)
        return True


def observe_interaction(interaction: discord.Interaction[RoundtableBot], outcome: str) -> None:
    """Record how long a slash command took, from the tree receiving it to the end of its handler."""
    metrics = interaction.client.metrics
    started = interaction.extras.get(STARTED_EXTRA)
    if metrics is None or started is None:
        return
    command = interaction.command.qualified_name if interaction.command is not None else "unknown"
    metrics.observe_interaction(command, outcome, time.monotonic() - started)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard whose connection receives a server's events (Discord's formula)."""
    return (guild_id >> 22) % shard_count


class RoundtableBot(commands.AutoShardedBot):
    """discord.py's ``AutoShardedBot``: one connection per shard this process holds (``SHARD_IDS``, default
    all of ``SHARD_COUNT``, default Discord's recommendation). Unsharded, that is one connection, shard 0 of 1.
    """

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        try:
            await answer_vanished_click(interaction)
        except Exception as error:  # a listener must never die silently
            log_failure("vanished click", error)

    def __init__(
        self,
        *,
        services: Services,
        clock: Clock,
        settings: Settings,
        extensions: Sequence[str],
        guild_ready_timeout: float = 2.0,
    ) -> None:
        sharding: dict[str, Any] = {"shard_count": settings.shard_count}
        if settings.shard_ids is not None:
            sharding["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,  # no text commands; slash commands only
            help_command=None,
            intents=bot_intents(),
            tree_cls=RoundtableTree,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            guild_ready_timeout=guild_ready_timeout,
            **sharding,
        )
        self.services = services
        self.clock = clock
        self.settings = settings
        self.notifications = NotificationRegistry()
        self._extensions = tuple(extensions)
        self._started_monotonic = time.monotonic()
        self.ready_ms: float | None = None
        self.metrics: Metrics | None = None  # set by the composition root
        self.warm_on_start = True  # bot.warm before ready (a benchmark turns it off to compare)
        self.warm_seconds: float | None = None
        # Several processes (SHARD_IDS a part of the shards): IDENTIFYs spaced across them (bot.processes).
        self.identify_gate: IdentifyGate | None = None  # set by the composition root
        self._max_concurrency: int | None = None
        self._forward_raw_scheduled_event_users()

    # --- shards ---------------------------------------------------------------------------------------

    def serves_guild(self, guild_id: int) -> bool:
        """This process holds the shard of ``guild_id``, so its per-server work (recounts, command sync)
        is this process's to do. Without SHARD_IDS the process holds every shard."""
        if self.shard_ids is None or self.shard_count is None:
            return True
        return shard_of(guild_id, self.shard_count) in self.shard_ids

    @property
    def serves_dms(self) -> bool:
        """Events without a server (DMs, buttons in DMs) reach shard 0: the process holding it serves them."""
        return self.shard_ids is None or 0 in self.shard_ids

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord takes ``max_concurrency`` IDENTIFYs per 5 s, one per bucket (``shard_id % max_concurrency``).
        One process: discord.py's own spacing. Several: the gate, shared through PostgreSQL."""
        if self.identify_gate is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        if self._max_concurrency is None:
            self._max_concurrency = max((await self.fetch_session_start_limits()).max_concurrency, 1)
        await self.identify_gate.wait_turn((shard_id or 0) % self._max_concurrency)


    def _forward_raw_scheduled_event_users(self) -> None:
        """Dispatch ``raw_scheduled_event_user_add`` / ``_remove`` with the gateway payload (a dict).

        discord.py dispatches ``scheduled_event_user_add`` only for a cached event and a cached user;
        without the members intent the user is never cached, so listeners get the raw ids instead.
        """
        parsers = self._connection.parsers
        for event in ("GUILD_SCHEDULED_EVENT_USER_ADD", "GUILD_SCHEDULED_EVENT_USER_REMOVE"):
            name = "raw_scheduled_event_user_" + event.rsplit("_", 1)[1].lower()
            parsers[event] = self._raw_forwarder(name, parsers[event])

    def _raw_forwarder(self, name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def forward(data: Any) -> None:
            self.dispatch(name, dict(data))
            parse(data)

        return forward

    # --- connection ------------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        api_base = self.settings.discord_api_base
        if api_base:
            # Every REST call (webhooks and interaction callbacks included) builds on Route.BASE.
            discord.http.Route.BASE = api_base
        await super().login(token)
        if api_base:
            # A plain Client connects to Discord's default gateway; ask the configured base instead.
            _shards, url, _limits = await self.http.get_bot_gateway()
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def close(self) -> None:
        """Close, also when the client never connected (``App.stop`` after a refused start, or with
        only the metrics server up): discord.py's AutoShardedClient makes its event queue on connect
        and its close puts a last item in it."""
        if not hasattr(self, "_AutoShardedClient__queue"):
            self._AutoShardedClient__queue: asyncio.PriorityQueue[Any] = asyncio.PriorityQueue()
        await super().close()

    async def setup_hook(self) -> None:
        for extension in self._extensions:
            await self.load_extension(extension)
        await self.sync_commands()
        if self.warm_on_start:
            # Before the gateway connects: the first command after a start is answered as fast as the rest.
            try:
                self.warm_seconds = await warm_caches(self.services)
            except Exception as error:  # a cold cache is slow, not broken: start anyway
                log_failure("warming caches", error)

    async def on_ready(self) -> None:
        if self.ready_ms is None:
            self.ready_ms = (time.monotonic() - self._started_monotonic) * 1000
            log.info("Roundtable ready in %.0f ms as %s in %d server(s)", self.ready_ms, self.user, len(self.guilds))

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[RoundtableBot],
        _command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        observe_interaction(interaction, "ok")

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        import sys

        log_failure(f"event {event_method}", sys.exc_info()[1] or RuntimeError(event_method))

    # --- command sync ------------------------------------------------------------------------------

    def command_payload(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    @staticmethod
    def payload_hash(payload: list[dict[str, Any]]) -> str:
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    async def sync_commands(self) -> list[str]:
        """Sync each scope whose command definitions changed since its last sync; return the scopes.

        Discord rate-limits command registration, so a restart with the same commands syncs nothing.
        Development servers (DEV_GUILD_IDS) get a copy of the commands at once.
        """
        synced: list[str] = []
        # The global commands are shard 0's process's to sync; a dev server's, its shard's process's.
        scopes: list[tuple[str, discord.Object | None]] = [("global", None)] if self.serves_dms else []
        for guild_id in self.settings.dev_guild_ids:
            if not self.serves_guild(guild_id):
                continue
            dev_guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=dev_guild)
            scopes.append((str(guild_id), dev_guild))
        for scope, guild in scopes:
            digest = self.payload_hash(self.command_payload(guild))
            if await self.services.guilds.command_hash(scope) == digest:
                continue
            await self.tree.sync(guild=guild)
            await self.services.guilds.record_command_hash(scope, digest)
            synced.append(scope)
        if synced:
            log.info("Synced application commands for %s", ", ".join(synced))
        return synced
