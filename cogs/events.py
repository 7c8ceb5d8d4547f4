"""Discord's own Events: the ``discord_events`` sync (REST calls), the Manage Events permission, and
Interested → Going.

The sync row's renderer (``bot/services/events_feature.py`` plans it) creates, updates and deletes
the group's guild scheduled events from the state the service reads now, records each event id as
soon as Discord returns it, and reports the row synced (``Rendered.done``). A create retried after a
crash adopts the event it made the first time (same creator, name and start), so none is doubled.
Without Manage Events nothing is planned; a 403 turns the feature off for the server until the
permission is seen again (role changes, joining, any interaction), when every group syncs.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands, tasks

from bot.services.discord_events import EventSpec, EventsService, SyncPlan
from bot.services.events_feature import DISCORD_EVENTS
from bot.ui.errors import log_failure
from bot.ui.notify import Notification, Rendered, Renderer

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

PRIVACY_GUILD_ONLY = 2
STAGE_INSTANCE = 1
VOICE = 2
EXTERNAL = 3
UNKNOWN_SCHEDULED_EVENT = 10070
SWEEP_MINUTES = 30


def event_payload(spec: EventSpec, *, started: bool = False) -> dict[str, Any]:
    """The guild scheduled event for a meeting: an external event at the meeting's place, or one in
    the group's voice or stage channel. Both name the channel (null for an external event) and the
    metadata (null in a channel), as Discord requires when an edit switches between them."""
    payload: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "privacy_level": PRIVACY_GUILD_ONLY,
        "scheduled_end_time": spec.ends_at.isoformat(),
    }
    if spec.channel_id is not None:
        payload.update(entity_type=STAGE_INSTANCE if spec.stage else VOICE, channel_id=str(spec.channel_id),
                       entity_metadata=None)
    else:
        payload.update(entity_type=EXTERNAL, channel_id=None, entity_metadata={"location": spec.location})
    if not started:  # an event under way keeps its start
        payload["scheduled_start_time"] = spec.starts_at.isoformat()
    return payload


class EventsCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self._seen: dict[int, bool] = {}  # guild id → Manage Events, as last recorded
        self._refreshed_at: datetime | None = None  # the last housekeeping's re-plan (the first: every group)

    @property
    def service(self) -> EventsService:
        return self.bot.services.get(EventsService)

    def _renderers(self) -> dict[str, Renderer]:
        return {DISCORD_EVENTS: self.render_sync}

    async def cog_load(self) -> None:
        self.bot.notifications.register_all(self._renderers())
        self.sweep_loop.start()

    async def cog_unload(self) -> None:
        self.sweep_loop.cancel()
        self.bot.notifications.unregister_all(self._renderers())

    # --- the sync ---------------------------------------------------------------------------------

    async def render_sync(self, notification: Notification) -> Rendered:
        plan = await self.service.sync_plan(notification.group_id)
        if plan is None:
            return Rendered.done("nothing to sync: Roundtable has no Manage Events permission in the server")
        try:
            created, updated, removed = await self._sync(plan)
        except discord.Forbidden as exc:
            channels = {spec.channel_id for spec in (*plan.create, *(s for s, _ in plan.update)) if spec.channel_id}
            if channels and self._may_manage_events(plan.guild_id):
                # Manage Events is still there: what was refused is the event channel (Connect, or a
                # stage's rights, taken away since it was set). Its groups go back to the meetings'
                # places, rather than the whole server's events being switched off and retried.
                for channel_id in channels:
                    await self.service.channel_gone(plan.guild_id, channel_id)
                log.warning("Discord refused an event in channel(s) %s of server %s (%s): event channel cleared",
                            sorted(channels), plan.guild_id, exc.code)
                return Rendered.done(f"not synced: Discord refused the event channel ({exc.code}); it was cleared")
            await self.service.permission_lost(plan.guild_id)
            self._seen[plan.guild_id] = False
            return Rendered.done(f"not synced: Discord refused it (Manage Events missing, {exc.code})")
        return Rendered.done(f"Discord Events synced: {created} created, {updated} updated, {removed} removed")

    def _may_manage_events(self, guild_id: int) -> bool:
        guild = self.bot.get_guild(guild_id)
        me = guild.me if guild is not None else None
        return me is not None and me.guild_permissions.manage_events

    async def _sync(self, plan: SyncPlan) -> tuple[int, int, int]:
        http = self.bot.http
        now = self.bot.clock.now()
        created = updated = removed = 0
        listing: list[Any] | None = None
        for spec in plan.create:
            if spec.starts_at <= now:
                continue  # Discord lists only events still to start
            if listing is None:
                listing = list(await http.get_scheduled_events(plan.guild_id, False))
            event_id = self._adopt(listing, spec, plan.known_event_ids)
            if event_id is None:
                data = await http.create_guild_scheduled_event(plan.guild_id, **event_payload(spec))
                event_id = int(data["id"])
            await self.service.record_event(group_id=plan.group_id, spec=spec, event_id=event_id)
            created += 1
        for spec, event_id in plan.update:
            try:
                await http.edit_scheduled_event(plan.guild_id, event_id, **event_payload(spec, started=spec.starts_at <= now))
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_SCHEDULED_EVENT:
                    raise
                if spec.starts_at <= now:
                    await self.service.forget_event(spec.meeting_id)
                    continue
                data = await http.create_guild_scheduled_event(plan.guild_id, **event_payload(spec))  # deleted by hand
                event_id = int(data["id"])
            await self.service.record_event(group_id=plan.group_id, spec=spec, event_id=event_id)
            updated += 1
        for meeting_id, event_id in plan.delete:
            await self._delete(plan.guild_id, meeting_id, event_id)
            removed += 1
        return created, updated, removed

    def _adopt(self, listing: list[Any], spec: EventSpec, known: frozenset[int]) -> int | None:
        """The event a first attempt created before a crash (by us, same name and start), if any."""
        me = self.bot.user.id if self.bot.user is not None else None
        for event in listing:
            event_id = int(event["id"])
            if event_id in known or event.get("creator_id") is None or int(event["creator_id"]) != me:
                continue
            if event.get("name") == spec.name and _parse(event.get("scheduled_start_time")) == spec.starts_at:
                return event_id
        return None

    async def _delete(self, guild_id: int, meeting_id: int, event_id: int) -> None:
        with contextlib.suppress(discord.NotFound):  # already gone (deleted by hand, or ended)
            await self.bot.http.delete_scheduled_event(guild_id, event_id)
        await self.service.forget_event(meeting_id)

    # --- housekeeping: archived and deleted groups' events, meetings coming within the window --------

    async def housekeeping(self) -> None:
        await self.sweep()
        await self.sweep_orphans()
        # The first sweep after a start looks at every group (meetings may have come within the window
        # while the bot was down); later ones only at the groups whose meeting came within it since
        # the last (with a sweep's margin), rather than re-planning every group every half hour.
        now = self.service.now()
        last, self._refreshed_at = self._refreshed_at, now
        since = None if last is None else now - last + timedelta(minutes=SWEEP_MINUTES)
        await self.service.refresh(since=since)

    async def sweep_orphans(self) -> int:
        """Delete the events Roundtable created that no meeting keeps (their group was deleted)."""
        me = self.bot.user.id if self.bot.user is not None else None
        done = 0
        for guild_id, known in (await self.service.tracked_events()).items():
            try:
                listing: list[Any] = list(await self.bot.http.get_scheduled_events(guild_id, False))
                for event in listing:
                    event_id = int(event["id"])
                    creator = event.get("creator_id")
                    if creator is None or int(creator) != me or event_id in known:
                        continue
                    with contextlib.suppress(discord.NotFound):
                        await self.bot.http.delete_scheduled_event(guild_id, event_id)
                    done += 1
            except discord.Forbidden:
                await self.service.permission_lost(guild_id)
                self._seen[guild_id] = False
        return done

    async def sweep(self) -> int:
        """Delete the events of archived groups (an archive stops the group's outbox rows)."""
        done = 0
        for guild_id, meeting_id, event_id in await self.service.leftovers():
            try:
                await self._delete(guild_id, meeting_id, event_id)
                done += 1
            except discord.Forbidden:
                await self.service.forget_event(meeting_id)  # not ours to remove any more
        return done

    @tasks.loop(minutes=SWEEP_MINUTES)
    async def sweep_loop(self) -> None:
        try:
            await self.housekeeping()
        except Exception as exc:  # the loop must go on
            log_failure("Discord Events housekeeping", exc)

    @sweep_loop.before_loop
    async def _before_sweep(self) -> None:
        await self.bot.wait_until_ready()

    # --- the permission -----------------------------------------------------------------------------

    async def _note(self, guild_id: int, allowed: bool) -> None:
        if self._seen.get(guild_id) == allowed:
            return
        try:
            await self.service.set_permission(guild_id, allowed)
            self._seen[guild_id] = allowed
        except Exception as exc:  # a listener must never die silently
            log_failure(f"Manage Events in server {guild_id}", exc)

    async def _check(self, guild: discord.Guild) -> None:
        me = guild.me
        if me is not None:
            await self._note(guild.id, me.guild_permissions.manage_events)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        for guild in self.bot.guilds:
            await self._check(guild)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._check(guild)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self._check(guild)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        await self._check(after.guild)

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        await self._check(role.guild)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is not None:
            await self._note(interaction.guild_id, interaction.app_permissions.manage_events)

    # --- the event channel ---------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            return
        try:
            await self.service.channel_gone(channel.guild.id, channel.id)
        except Exception as exc:  # a listener must never die silently
            log_failure("a deleted event channel", exc)

    # --- Interested → Going -----------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_scheduled_event_user_add(self, payload: dict[str, Any]) -> None:
        try:
            await self.service.interested(**_ids(payload))
        except Exception as exc:
            log_failure("Interested in a meeting's event", exc)

    @commands.Cog.listener()
    async def on_raw_scheduled_event_user_remove(self, payload: dict[str, Any]) -> None:
        try:
            await self.service.not_interested(**_ids(payload))
        except Exception as exc:
            log_failure("no longer Interested in a meeting's event", exc)


def _ids(payload: dict[str, Any]) -> dict[str, int]:
    return {"guild_id": int(payload["guild_id"]), "event_id": int(payload["guild_scheduled_event_id"]),
            "user_id": int(payload["user_id"])}


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(EventsCog(bot))
