"""The dispatcher: claim due outbox rows, render them with the feature's renderer, send, record.

One row, one message. Every send carries the row's nonce (discord.py 2.x adds
``enforce_nonce: true`` whenever a nonce is given), so a resend after a crash between the send and
the mark returns the first message instead of posting twice. Sends are paced under the configured
budget so scheduled traffic leaves room for interactions under Discord's global limit.

Outcomes are recorded, never silent: a refused DM (403 / 50007) goes to the renderer's channel
fallback and the member is marked not DM-able; a deleted channel or lost permission marks the group's
channel broken, tells its facilitators by DM and stops the group's rows; transient errors retry with
backoff (``OutboxService.retry_later``); anything else fails the row with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.services.outbox import Claimed
from bot.ui.dm import send_dm
from bot.ui.errors import log_failure
from bot.ui.notify import Notification, OutgoingMessage

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

CLAIM_BATCH = 100

# Discord's JSON error codes the dispatcher acts on.
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
UNKNOWN_USER = 10013

TRANSIENT = (discord.DiscordServerError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


class Pacer:
    """At most ``per_second`` requests per second, spaced evenly (no bursts)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0

    def set_rate(self, per_second: float) -> None:
        """Pace at ``per_second`` from the next request on (this process's share of the budget changed)."""
        self.interval = 1.0 / per_second

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._next > now:
            await asyncio.sleep(self._next - now)
            now = self._next
        self._next = max(now, self._next) + self.interval


class ChannelBroken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Dispatcher:
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self.pacer = Pacer(bot.settings.send_budget_per_second)
        self.stopping = False

    @property
    def outbox(self) -> Any:
        return self.bot.services.outbox

    async def run_due(self) -> int:
        """Send every row due now (by the injected clock); return how many were sent."""
        sent = 0
        while not self.stopping:
            result = await self.outbox.claim_due(limit=CLAIM_BATCH)
            if not result.claimed:
                if result.expired or result.cancelled:
                    continue  # the batch was all stale: there may be more behind it
                break
            broken: set[int] = set()
            for index, row in enumerate(result.claimed):
                if self.stopping:
                    await self.outbox.release([r.id for r in result.claimed[index:]])
                    break
                if row.group_id in broken:
                    continue  # already cancelled with the group's other rows
                try:
                    if await self.deliver(row):
                        sent += 1
                except ChannelBroken as exc:
                    broken.add(row.group_id)
                    await self.channel_broken(row, exc.reason)
                except Exception as exc:  # a bug or an unexpected answer: retry, then fail, with the reason
                    ref = log_failure(f"outbox row {row.id} ({row.kind})", exc)
                    await self.outbox.retry_later(row.id, f"{exc.__class__.__name__} (ref {ref})")
        return sent

    # --- one row -------------------------------------------------------------------------------------

    async def deliver(self, row: Claimed) -> bool:
        kind = self.outbox.features.kind(row.kind)
        if kind is not None and kind.before_render is not None:
            await kind.before_render(self.bot.services, row)  # e.g. post_meeting ends the meeting first
        if row.expire_reason is not None:  # superseded by a later row: its close-out ran, nothing to send
            await self.outbox.mark_expired(row.id, row.expire_reason)
            return False
        renderer = self.bot.notifications.get(row.kind)
        if renderer is None:
            log.error("No renderer registered for outbox kind %r (row %s): failing it", row.kind, row.id)
            await self.outbox.mark_failed(row.id, "no renderer")
            return False
        rendered = await renderer(notification_of(row))
        if rendered.done_note is not None:  # the renderer did the work (a sync): nothing to post
            await self.outbox.mark_sent(row.id, message_id=None, channel_id=None, note=rendered.done_note)
            return False
        if rendered.message is None:
            await self.outbox.mark_cancelled(row.id, f"skipped: {rendered.skip_reason or 'nothing to send'}")
            return False
        try:
            if row.recipient_id == 0:
                channel = self._group_channel(row)
                message = await self._send(channel, rendered.message, row.nonce, channel=True)
                for n, extra in enumerate(rendered.more, start=2):  # a retry re-sends none twice: the nonces
                    await self._send(channel, extra, f"{row.nonce}-{n}", channel=True)
                await self.outbox.mark_sent(row.id, message_id=message.id, channel_id=message.channel.id)
                return True
            if not row.dms_closed:
                dm = await self._send_dm(row, rendered.message)
                if dm is not None:
                    await self.outbox.mark_sent(row.id, message_id=dm.id, channel_id=dm.channel.id)
                    return True
            # DMs closed (known, or just refused): the renderer's fallback in the group channel.
            if rendered.fallback is None:
                await self.outbox.mark_failed(row.id, "member's DMs are closed and there is no channel fallback")
                return False
            message = await self._send(self._group_channel(row), rendered.fallback, row.nonce, channel=True)
            await self.outbox.mark_sent(
                row.id, message_id=message.id, channel_id=message.channel.id,
                note="member's DMs are closed: posted in the group channel",
            )
            return True
        except TRANSIENT as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            if await self.outbox.retry_later(row.id, reason):
                log.info("Outbox row %s will be retried: %s", row.id, reason)
            else:
                log.warning("Outbox row %s failed: %s", row.id, reason)
            return False
        except discord.HTTPException as exc:
            if isinstance(exc, discord.NotFound | discord.Forbidden) and row.recipient_id == 0:
                raise
            log.warning("Outbox row %s refused by Discord: %s", row.id, exc)
            await self.outbox.mark_failed(row.id, f"Discord refused it: {exc.status} {exc.code} {exc.text}")
            return False

    def _group_channel(self, row: Claimed) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(row.group_channel_id, guild_id=row.guild_id)

    async def _send(
        self, target: discord.abc.Messageable, out: OutgoingMessage, nonce: str, *, channel: bool
    ) -> discord.Message:
        kwargs: dict[str, Any] = {"nonce": nonce, "allowed_mentions": out.allowed_mentions}
        if out.content is not None:
            kwargs["content"] = out.content
        if out.embeds:
            kwargs["embeds"] = out.embeds
        if out.view is not None:
            kwargs["view"] = out.view
        await self.pacer.wait()
        try:
            return await target.send(**kwargs)
        except discord.NotFound as exc:
            if channel and exc.code == UNKNOWN_CHANNEL:
                raise ChannelBroken("the channel was deleted") from exc
            raise
        except discord.Forbidden as exc:
            if channel:
                raise ChannelBroken(f"the bot may not post there (Discord {exc.code})") from exc
            raise

    async def _send_dm(self, row: Claimed, out: OutgoingMessage) -> discord.Message | None:
        """Send a DM; None if the member's DMs are closed (they are then marked so)."""
        return await send_dm(
            self.bot, row.recipient_id, out, channel_id=row.dm_channel_id, nonce=row.nonce, pace=self.pacer.wait
        )

    async def channel_broken(self, row: Claimed, reason: str) -> None:
        log.warning("Group %s's channel %s is unusable: %s", row.group_id, row.group_channel_id, reason)
        broken = await self.outbox.mark_channel_broken(row.group_id, reason)
        if broken is None:
            return
        text = (
            f"Roundtable can no longer post in <#{broken.channel_id}> for your group **{broken.group_name}**: "
            f"{broken.reason}. Scheduled reminders and prompts for the group are stopped until the "
            "channel is fixed (give the bot View Channel and Send Messages there, or bind the group "
            "to another channel). `/admin outbox` lists what was stopped."
        )
        for user_id in broken.facilitator_ids:
            try:
                await send_dm(self.bot, user_id, OutgoingMessage(content=text), pace=self.pacer.wait)
            except discord.HTTPException as exc:
                log.info("Could not tell facilitator %s about group %s: %s", user_id, broken.group_id, exc)


def notification_of(row: Claimed) -> Notification:
    return Notification(
        id=row.id,
        kind=row.kind,
        guild_id=row.guild_id,
        group_id=row.group_id,
        meeting_id=row.meeting_id,
        occurrence=row.occurrence,
        recipient_id=row.recipient_id,
        due_at=row.due_at,
        payload=row.payload,
    )
