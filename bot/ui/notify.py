"""How a feature turns an outbox row into a Discord message.

The scheduler's dispatcher claims due outbox rows and, for each, calls the renderer registered
for the row's ``kind``. Features register their renderers in their cog's ``cog_load``::

    bot.notifications.register(REPORTBACK_DM, self.render_reportback_dm)  # the name its feature declares

Every kind a renderer is registered for is declared, with its planner and label, by its feature
(``bot.features.NotificationKind``); at start ``App.check_features`` requires one renderer per
planned kind and no renderer for a kind no feature plans.

A renderer reads what it needs through the services and returns a :class:`Rendered`. It never
sends a message itself (a kind whose work is a REST call, the Discord Events sync, makes it and
returns ``Rendered.done(note)``): the dispatcher sends (to the group channel, or a DM for a row with a
recipient), records the message id, and handles closed DMs, lost channels and retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import discord


@dataclass(frozen=True, slots=True)
class Notification:
    """An outbox row as the renderer sees it (plain data)."""

    id: int
    kind: str
    guild_id: int
    group_id: int
    meeting_id: int | None
    occurrence: str
    recipient_id: int  # 0: the group channel; else the user to DM
    due_at: datetime
    payload: dict[str, Any]


@dataclass(slots=True)
class OutgoingMessage:
    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    # A LayoutView (components v2) carries the whole message: no content, no embeds (bot.ui.layout).
    view: discord.ui.View | discord.ui.LayoutView | None = None
    # Nobody is mentioned unless the renderer means to (e.g. the DM-closed fallback mentions the member).
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)


@dataclass(slots=True)
class Rendered:
    """What to send. ``message`` None means nothing to send now; ``skip_reason`` says why."""

    message: OutgoingMessage | None
    # For a DM: what the group channel gets instead when the member's DMs are closed.
    fallback: OutgoingMessage | None = None
    skip_reason: str | None = None
    # For a channel post too long for one message: the further messages, sent right after it in
    # order (each with its own nonce). The row records the first message.
    more: list[OutgoingMessage] = field(default_factory=list)
    # The renderer did the row's work itself (a REST sync, not a message): the row is marked sent,
    # with this note, and nothing is posted.
    done_note: str | None = None

    @classmethod
    def skip(cls, reason: str) -> Rendered:
        return cls(message=None, skip_reason=reason)

    @classmethod
    def done(cls, note: str) -> Rendered:
        return cls(message=None, done_note=note)


Renderer = Callable[[Notification], Awaitable[Rendered]]
# Renders many rows of one kind at once (the dispatcher's claimed batch), with a few set-based
# queries instead of a renderer's queries per row; by row id. A row it leaves out is rendered by
# the kind's renderer, one by one.
BatchRenderer = Callable[[Sequence[Notification]], Awaitable[Mapping[int, Rendered]]]


class NotificationRegistry:
    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._batches: dict[str, BatchRenderer] = {}

    def register(self, kind: str, renderer: Renderer) -> None:
        if kind in self._renderers and self._renderers[kind] is not renderer:
            raise ValueError(f"a renderer for {kind!r} is already registered")
        self._renderers[kind] = renderer

    def unregister(self, kind: str) -> None:
        self._renderers.pop(kind, None)
        self._batches.pop(kind, None)

    def register_batch(self, kind: str, renderer: BatchRenderer) -> None:
        """A batch form of ``kind``'s renderer (the kind keeps its one-row renderer too)."""
        if kind in self._batches and self._batches[kind] is not renderer:
            raise ValueError(f"a batch renderer for {kind!r} is already registered")
        self._batches[kind] = renderer

    def get_batch(self, kind: str) -> BatchRenderer | None:
        return self._batches.get(kind) if kind in self._renderers else None

    def register_all(self, renderers: Mapping[str, Renderer]) -> None:
        """A cog's renderers, by kind (``cog_load``); ``unregister_all`` takes the same mapping back."""
        for kind, renderer in renderers.items():
            self.register(kind, renderer)

    def unregister_all(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.unregister(kind)

    def get(self, kind: str) -> Renderer | None:
        return self._renderers.get(kind)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._renderers)
