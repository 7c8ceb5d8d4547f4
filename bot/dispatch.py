"""The dispatcher: claim due outbox rows, render them with the feature's renderer, send, record.

One row, one message. Every send carries the row's nonce (discord.py 2.x adds
``enforce_nonce: true`` whenever a nonce is given), so a resend after a crash between the send and
the mark returns the first message instead of posting twice. Sends are paced under the configured
budget so scheduled traffic leaves room for interactions under Discord's global limit.

Requests go out concurrently: the :class:`Pacer` spaces their starts at the budget and does not
wait for Discord's answer, so several are in flight at Discord's round trip (tens to hundreds of
ms). At most one row is in flight per channel (a member's DM channel, or a group channel), so a
channel's messages, and a multi-message row's parts, arrive in order. The next claim (and its
rendering) is made while the previous batch's last rows are still in flight. A claimed batch is
rendered together where the kind's renderer has a batch form (``NotificationRegistry.register_batch``:
a few set-based queries for the whole batch), row by row otherwise. A row is marked sent only after
its send returned, and marks are written in batches (:class:`SentMarks`: one UPDATE transaction
every ~0.5 s or 50 rows); a crash before the write leaves the row pending under its lease, and the
resend carries the same nonce, which Discord answers with the first message.

Outcomes are recorded, never silent: a refused DM (403 / 50007) goes to the renderer's channel
fallback and the member is marked not DM-able; a deleted channel or lost permission marks the group's
channel broken, tells its facilitators by DM and stops the group's rows; transient errors retry with
backoff (``OutboxService.retry_later``); anything else fails the row with the reason. ``stopping``
(shutdown) starts no new row: the rows in flight finish, the claimed rows not started are released.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.services.outbox import Claimed, SentMark
from bot.ui.dm import send_dm
from bot.ui.errors import log_failure
from bot.ui.notify import Notification, OutgoingMessage, Rendered

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

CLAIM_BATCH = 100
CLAIM_SECONDS = 20.0  # a claim holds at most this many seconds of sends at the budget: well inside the lease
MAX_IN_FLIGHT = 64  # rows being sent at once (the pacer is the real bound: budget × round trip)
# A sent row waits at most this long for its batch of marks to be written (or until this many
# rows): at 25/s, a dozen rows per UPDATE transaction. A crash in between loses at most that much
# bookkeeping, never a message: the rows are resent after their lease with their nonces.
MARK_EVERY = 0.5
MARK_BATCH = 50

# Discord's JSON error codes the dispatcher acts on.
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
UNKNOWN_USER = 10013
TOO_MANY_REQUESTS = 429

TRANSIENT = (discord.DiscordServerError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)

Pace = Callable[[], Awaitable[None]]


class Pacer:
    """At most ``per_second`` request starts per second, spaced evenly (no bursts).

    Only starts are spaced: a caller does not wait for the previous request's answer, so many may
    be in flight. ``set_rate`` changes the budget at runtime (e.g. a share of a budget across
    processes); the next start is one new interval after the last one.
    """

    def __init__(self, per_second: float, *, hold: Pace | None = None) -> None:
        self.interval = 0.0
        self._next = 0.0
        self.hold = hold  # awaited before each start: e.g. while discord.py waits out a global 429
        self.set_rate(per_second)

    @property
    def per_second(self) -> float:
        return 1.0 / self.interval

    def set_rate(self, per_second: float) -> None:
        if not per_second > 0:
            raise ValueError(f"a send budget is a positive rate, not {per_second!r}")
        interval = 1.0 / per_second
        if self._next:
            self._next += interval - self.interval  # the next slot: last start + the new interval
        self.interval = interval

    def hold_for(self, seconds: float) -> None:
        """Start nothing for ``seconds`` from now (a process joining others: until they have counted it)."""
        self._next = max(self._next, asyncio.get_running_loop().time() + seconds)

    async def wait(self) -> None:
        if self.hold is not None:
            await self.hold()
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self.interval  # reserved before sleeping: concurrent callers queue in order
        if slot > now:
            await asyncio.sleep(slot - now)


def global_limit_of(http: Any) -> Pace:
    """Wait while discord.py waits out a global 429 (its ``_global_over`` event is cleared then):
    no new request starts into a limit that would answer it 429 too. discord.py retries the limited
    requests itself once the limit's ``retry_after`` has passed."""

    async def hold() -> None:
        over = getattr(http, "_global_over", None)
        if isinstance(over, asyncio.Event) and not over.is_set():
            await over.wait()

    return hold


class _FirstPaced:
    """A row's pace: its first request's slot was taken by the dispatcher before the row started;
    every further request (a DM channel to open, a long post's further messages) takes its own."""

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer
        self._taken = True

    async def __call__(self) -> None:
        if self._taken:
            self._taken = False
            return
        await self._pacer.wait()


BUCKET_SWEEP_EVERY = 30.0  # seconds between discord.py's sweeps of idle rate-limit buckets (see below)


def bound_bucket_sweep(http: Any) -> None:
    """Make discord.py's sweep of idle rate-limit buckets periodic instead of per new bucket.

    discord.py (2.7) keeps a bucket per route key, so one per DM channel, and once it holds 256 it
    walks all of them for idle ones (5 minutes unused) every time it creates another: quadratic in
    a fan-out (at 25 DMs/s, ~7,500 buckets walked per DM; at 1,000 DMs already the largest cost of
    a send). Walked at most every ``BUCKET_SWEEP_EVERY`` seconds, the same buckets go, a little
    later. Left alone if discord.py has no such method (another version).
    """
    sweep = getattr(http, "_try_clear_expired_ratelimits", None)
    if sweep is None:
        return
    last = -math.inf

    def periodic() -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= BUCKET_SWEEP_EVERY:
            last = now
            sweep()

    http._try_clear_expired_ratelimits = periodic


class ChannelBroken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SentMarks:
    """Rows whose send returned, written as sent in batches: after ``every`` seconds or ``size`` rows.

    A write that fails is logged; its rows stay pending under their lease, and the resend after it
    carries the same nonce (Discord returns the first message).
    """

    def __init__(self, outbox: Any, *, every: float = MARK_EVERY, size: int = MARK_BATCH) -> None:
        self._outbox = outbox
        self._every = every
        self._size = size
        self._pending: list[SentMark] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[None]] = set()

    def add(self, mark: SentMark) -> None:
        self._pending.append(mark)
        if len(self._pending) >= self._size:
            task = asyncio.create_task(self.flush(), name="outbox-marks")
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        elif self._timer is None:
            self._timer = asyncio.create_task(self._later(), name="outbox-marks-timer")

    async def _later(self) -> None:
        await asyncio.sleep(self._every)
        self._timer = None
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            marks, self._pending = self._pending, []
            if not marks:
                return
            try:
                await self._outbox.mark_sent_many(marks)
            except Exception as exc:  # the rows stay pending: resent after their lease, with their nonce
                log_failure(f"marking {len(marks)} outbox row(s) sent", exc)

    async def close(self) -> None:
        """Write everything added so far (end of a run)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        await self.flush()


def _channel_key(row: Claimed) -> tuple[str, int]:
    """The channel a row posts in: at most one row in flight per key."""
    if row.recipient_id == 0 or row.dms_closed:
        return "channel", row.group_channel_id
    return "dm", row.recipient_id


class Dispatcher:
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self.pacer = Pacer(bot.settings.send_budget_per_second, hold=global_limit_of(bot.http))
        bound_bucket_sweep(bot.http)
        self.stopping = False
        self._marks = SentMarks(self.outbox)

    @property
    def outbox(self) -> Any:
        return self.bot.services.outbox

    def _claim_size(self) -> int:
        return max(1, min(CLAIM_BATCH, int(self.pacer.per_second * CLAIM_SECONDS)))

    async def run_due(self) -> int:
        """Send every row due now (by the injected clock); return how many were sent."""
        marks = self._marks
        queue: list[tuple[Claimed, Rendered | None]] = []  # claimed, not started, in claim order
        busy: set[tuple[str, int]] = set()
        tasks: dict[asyncio.Task[bool], tuple[Claimed, tuple[str, int]]] = {}
        broken: set[int] = set()
        fetch: asyncio.Task[list[tuple[Claimed, Rendered | None]] | None] | None = None
        exhausted = False
        sent = 0
        try:
            while True:
                for task in [t for t in tasks if t.done()]:
                    row, key = tasks.pop(task)
                    busy.discard(key)
                    try:
                        sent += task.result()
                    except ChannelBroken as exc:
                        if row.group_id not in broken:
                            broken.add(row.group_id)
                            await marks.flush()
                            await self.channel_broken(row, exc.reason)
                if fetch is not None and fetch.done():
                    batch = fetch.result()
                    fetch = None
                    if batch is None:
                        exhausted = True
                    else:
                        queue.extend(batch)
                if self.stopping:
                    break
                if broken:
                    queue = [(r, out) for r, out in queue if r.group_id not in broken]  # cancelled with the group
                low = max(1, min(CLAIM_BATCH // 2, int(self.pacer.per_second)))
                if fetch is None and not exhausted and len(queue) <= low:
                    fetch = asyncio.create_task(self._claim(), name="outbox-claim")
                picked = self._pick(queue, busy) if len(tasks) < MAX_IN_FLIGHT else None
                if picked is None:
                    waiting: set[asyncio.Task[Any]] = set(tasks)
                    if fetch is not None:
                        waiting.add(fetch)
                    if not waiting:
                        break  # nothing queued, in flight or to claim: done
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    continue
                row, rendered = queue.pop(picked)
                will_send = rendered is None or rendered.message is not None
                if will_send:
                    await self.pacer.wait()  # the row's first request: its slot in the budget
                    if self.stopping:
                        queue.insert(0, (row, rendered))
                        break
                key = _channel_key(row)
                busy.add(key)
                pace: Pace = _FirstPaced(self.pacer) if will_send else self.pacer.wait
                task = asyncio.create_task(self._attempt(row, rendered, pace), name=f"outbox-row-{row.id}")
                tasks[task] = (row, key)
        finally:
            # Shutdown (or an error): the rows in flight finish; nothing else starts.
            if fetch is not None:
                [last] = await asyncio.gather(fetch, return_exceptions=True)
                if isinstance(last, list):
                    queue.extend(last)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await marks.close()
            for task, (row, _key) in tasks.items():
                if task.cancelled():
                    continue
                error = task.exception()
                if error is None:
                    sent += task.result()
                elif isinstance(error, ChannelBroken) and row.group_id not in broken:
                    broken.add(row.group_id)
                    await self.channel_broken(row, error.reason)
            unsent = [r.id for r, _ in queue if r.group_id not in broken]
            if unsent:
                await self.outbox.release(unsent)
        return sent

    @staticmethod
    def _pick(queue: Sequence[tuple[Claimed, Rendered | None]], busy: set[tuple[str, int]]) -> int | None:
        """The first queued row whose channel is free and that no earlier queued row of its channel precedes."""
        blocked: set[tuple[str, int]] = set()
        for index, (row, _) in enumerate(queue):
            key = _channel_key(row)
            if key not in busy and key not in blocked:
                return index
            blocked.add(key)
        return None

    async def _claim(self) -> list[tuple[Claimed, Rendered | None]] | None:
        """The next claimed batch, rendered where its kinds render in batches; None: nothing is due."""
        while True:
            result = await self.outbox.claim_due(limit=self._claim_size())
            if result.claimed:
                return await self.prepare(result.claimed)
            if not (result.expired or result.cancelled):
                return None
            # the batch was all stale: there may be more behind it

    async def prepare(self, rows: Sequence[Claimed]) -> list[tuple[Claimed, Rendered | None]]:
        """Render the rows whose kind has a batch renderer together (None: rendered one by one when sent).

        A kind with a ``before_render`` step, and a row to be expired, go row by row.
        """
        by_kind: dict[str, list[Claimed]] = {}
        for row in rows:
            kind = self.outbox.features.kind(row.kind)
            if (row.expire_reason is None and (kind is None or kind.before_render is None)
                    and self.bot.notifications.get_batch(row.kind) is not None):
                by_kind.setdefault(row.kind, []).append(row)
        rendered: dict[int, Rendered] = {}
        for kind_name, kind_rows in by_kind.items():
            batch = self.bot.notifications.get_batch(kind_name)
            assert batch is not None
            try:
                rendered.update(await batch([notification_of(r) for r in kind_rows]))
            except Exception as exc:  # the rows are rendered one by one instead (and fail there, with the reason)
                log_failure(f"rendering {len(kind_rows)} {kind_name} row(s) together", exc)
        return [(row, rendered.get(row.id)) for row in rows]

    async def _attempt(self, row: Claimed, rendered: Rendered | None, pace: Pace) -> bool:
        try:
            return await self.deliver(row, rendered, pace=pace)
        except ChannelBroken:
            raise
        except Exception as exc:  # a bug or an unexpected answer: retry, then fail, with the reason
            ref = log_failure(f"outbox row {row.id} ({row.kind})", exc)
            await self.outbox.retry_later(row.id, f"{exc.__class__.__name__} (ref {ref})")
            return False

    def _mark_sent(self, row: Claimed, message: discord.Message, note: str | None = None) -> None:
        """After the send returned: written with the run's next batch of marks."""
        self._marks.add(SentMark(row.id, message_id=message.id, channel_id=message.channel.id, note=note))

    # --- one row -------------------------------------------------------------------------------------

    async def deliver(self, row: Claimed, rendered: Rendered | None = None, *, pace: Pace | None = None) -> bool:
        """Render (unless ``rendered`` was made with its batch) and send one row; True if sent.

        ``pace`` is awaited before each request (default: the pacer's next slot).
        """
        pace = pace or self.pacer.wait
        if rendered is None:
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
                message = await self._send(channel, rendered.message, row.nonce, channel=True, pace=pace)
                for n, extra in enumerate(rendered.more, start=2):  # a retry re-sends none twice: the nonces
                    await self._send(channel, extra, f"{row.nonce}-{n}", channel=True, pace=pace)
                self._mark_sent(row, message)
                return True
            if not row.dms_closed:
                dm = await send_dm(
                    self.bot, row.recipient_id, rendered.message, channel_id=row.dm_channel_id, nonce=row.nonce,
                    pace=pace,
                )
                if dm is not None:
                    self._mark_sent(row, dm)
                    return True
            # DMs closed (known, or just refused): the renderer's fallback in the group channel.
            if rendered.fallback is None:
                await self.outbox.mark_failed(row.id, "member's DMs are closed and there is no channel fallback")
                return False
            message = await self._send(self._group_channel(row), rendered.fallback, row.nonce, channel=True, pace=pace)
            self._mark_sent(row, message, note="member's DMs are closed: posted in the group channel")
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
            if exc.status == TOO_MANY_REQUESTS:  # still limited after discord.py's own retries: later, not failed
                reason = f"rate limited by Discord after {exc.__class__.__name__} retries"
                if await self.outbox.retry_later(row.id, reason):
                    log.info("Outbox row %s will be retried: %s", row.id, reason)
                return False
            log.warning("Outbox row %s refused by Discord: %s", row.id, exc)
            await self.outbox.mark_failed(row.id, f"Discord refused it: {exc.status} {exc.code} {exc.text}")
            return False

    def _group_channel(self, row: Claimed) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(row.group_channel_id, guild_id=row.guild_id)

    async def _send(
        self, target: discord.abc.Messageable, out: OutgoingMessage, nonce: str, *, channel: bool, pace: Pace
    ) -> discord.Message:
        kwargs: dict[str, Any] = {"nonce": nonce, "allowed_mentions": out.allowed_mentions}
        if out.content is not None:
            kwargs["content"] = out.content
        if out.embeds:
            kwargs["embeds"] = out.embeds
        if out.view is not None:
            kwargs["view"] = out.view
        await pace()
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
