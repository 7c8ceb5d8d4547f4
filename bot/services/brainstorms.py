"""Brainstorms (Peer-to-Peer Action Learning): a member tables an issue, the group posts ideas,
votes on them by reacting 👍, and the owner turns the best ideas into commitments.

Discord is the record of who reacted; the database is the tally the bot keeps as reactions come
in, and recounts from Discord's reactions on close and at start (``recount`` / ``close`` take the
reactors the adapter fetched, keyed by idea id).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound
from bot.models import (
    Brainstorm,
    BrainstormIdea,
    BrainstormStatus,
    BrainstormVote,
    Group,
    GroupMember,
)
from bot.services import agenda
from bot.services.base import (
    Actor,
    Service,
    groups_of_member,
    may_facilitate,
    membership,
    require_active,
    require_id,
    require_member,
    require_reader,
    resolve_group,
)
from bot.services.commitments import add_commitment_row
from bot.services.meetings import next_meeting_of
from bot.text import clean

ISSUE_MAX = 200
DETAILS_MAX = 1500
IDEA_MAX = 300
MAX_IDEAS = 25  # one select menu's worth
MAX_VOTES_LIMIT = MAX_IDEAS
OPEN = BrainstormStatus.OPEN
CLOSED = BrainstormStatus.CLOSED
STATUSES = (OPEN, CLOSED)


# --- plain data returned to adapters --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdeaInfo:
    id: int
    number: int
    author_id: int
    text: str
    votes: int
    message_id: int | None
    commitment_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BrainstormInfo:
    id: int
    number: int  # per group: "Brainstorm #3"
    guild_id: int
    group_id: int
    group_name: str
    group_channel_id: int
    owner_id: int
    issue: str
    details: str | None
    anonymous: bool
    max_votes: int | None
    status: str
    thread_id: int | None
    message_id: int | None
    created_at: datetime
    closed_at: datetime | None
    # Ranked: most votes first, ties by the time posted.
    ideas: tuple[IdeaInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class VoteResult:
    """What a 👍 on an idea message amounted to.

    ``status``: ``counted``, ``already`` (one vote per member per idea), ``not_member`` (ignored),
    ``closed`` (ignored) or ``over_limit`` (dot-voting: not counted; ``voted`` lists the ideas the
    member backs).
    """

    status: str
    brainstorm_id: int
    idea_number: int
    max_votes: int | None
    voted: tuple[IdeaInfo, ...] = ()
    thread_id: int | None = None
    brainstorm_number: int = 0  # per group: "Brainstorm #3"


@dataclass(frozen=True, slots=True)
class AdoptResult:
    brainstorm_id: int
    # (idea number, commitment number, text) for each idea that became a commitment now.
    adopted: tuple[tuple[int, int, str], ...]
    # Idea numbers that had already become commitments (left as they were).
    already: tuple[int, ...]
    due_at: datetime
    meeting_id: int


@dataclass(frozen=True, slots=True)
class BrainstormChoice:
    id: int
    name: str


# --- in-session helpers -----------------------------------------------------------------------------


def _ranked(ideas: Collection[BrainstormIdea]) -> list[BrainstormIdea]:
    return sorted(ideas, key=lambda idea: (-idea.votes, idea.created_at, idea.number))


def _idea_info(idea: BrainstormIdea) -> IdeaInfo:
    return IdeaInfo(
        id=idea.id,
        number=idea.number,
        author_id=idea.author_id,
        text=idea.text,
        votes=idea.votes,
        message_id=idea.message_id,
        commitment_id=idea.commitment_id,
        created_at=idea.created_at,
    )


async def _ideas(session: AsyncSession, brainstorm_id: int) -> list[BrainstormIdea]:
    return list(
        await session.scalars(
            select(BrainstormIdea).where(BrainstormIdea.brainstorm_id == brainstorm_id).order_by(BrainstormIdea.number)
        )
    )


async def _infos(session: AsyncSession, brainstorms: Sequence[Brainstorm]) -> list[BrainstormInfo]:
    """Several brainstorms with their ideas: two statements, however many brainstorms."""
    ideas: dict[int, list[BrainstormIdea]] = {b.id: [] for b in brainstorms}
    if ideas:
        for idea in await session.scalars(
            select(BrainstormIdea).where(BrainstormIdea.brainstorm_id.in_(ideas)).order_by(BrainstormIdea.number)
        ):
            ideas[idea.brainstorm_id].append(idea)
    wanted = {b.group_id for b in brainstorms}
    groups = {g.id: g for g in await session.scalars(select(Group).where(Group.id.in_(wanted)))} if wanted else {}
    return [await _info(session, b, ideas=ideas[b.id], group=groups[b.group_id]) for b in brainstorms]


async def _info(
    session: AsyncSession, brainstorm: Brainstorm, *, with_ideas: bool = True,
    ideas: Sequence[BrainstormIdea] | None = None, group: Group | None = None,
) -> BrainstormInfo:
    if group is None:
        group = await session.get(Group, brainstorm.group_id)
    assert group is not None  # a brainstorm's group is deleted with it (ON DELETE CASCADE)
    if ideas is None:
        ideas = await _ideas(session, brainstorm.id) if with_ideas else []
    ranked = _ranked(ideas)
    return BrainstormInfo(
        id=brainstorm.id,
        number=brainstorm.number,
        guild_id=brainstorm.guild_id,
        group_id=group.id,
        group_name=group.name,
        group_channel_id=group.channel_id,
        owner_id=brainstorm.owner_id,
        issue=brainstorm.issue,
        details=brainstorm.details,
        anonymous=brainstorm.anonymous,
        max_votes=brainstorm.max_votes,
        status=brainstorm.status,
        thread_id=brainstorm.thread_id,
        message_id=brainstorm.message_id,
        created_at=brainstorm.created_at,
        closed_at=brainstorm.closed_at,
        ideas=tuple(_idea_info(idea) for idea in ranked),
    )


def _clean(text: str | None, *, what: str, maximum: int, required: bool = True, multiline: bool = True) -> str | None:
    text = clean(text, multiline=multiline)
    if not text:
        if required:
            raise InvalidInput(f"The {what} can't be empty.")
        return None
    if len(text) > maximum:
        raise InvalidInput(f"The {what} is {len(text)} characters long; the limit is {maximum:,}.")
    return text


async def _visible_brainstorm(
    session: AsyncSession, actor: Actor, brainstorm_id: int | None, *, lock: bool = False
) -> tuple[Brainstorm, Group]:
    """A brainstorm the member may see: by id (their group's, in this server), else the thread's.

    Another group's or server's brainstorm is "not found", never "not allowed".
    """
    if brainstorm_id is None:
        if actor.channel_id is None:
            raise InvalidInput("Pick a brainstorm with the `brainstorm` option, or use this inside its thread.")
        query = select(Brainstorm).where(Brainstorm.guild_id == actor.guild_id, Brainstorm.thread_id == actor.channel_id)
        if lock:
            query = query.with_for_update()
        brainstorm = await session.scalar(query)
        if brainstorm is None:
            raise InvalidInput("Pick a brainstorm with the `brainstorm` option, or use this inside its thread.")
    else:
        query = select(Brainstorm).where(Brainstorm.id == require_id(brainstorm_id, "brainstorm"))
        if lock:
            query = query.with_for_update()
        brainstorm = await session.scalar(query)
        if brainstorm is None or brainstorm.guild_id != actor.guild_id:
            raise NotFound("That brainstorm doesn't exist in this server.")
    group = await session.get(Group, brainstorm.group_id)
    assert group is not None
    if not actor.can_manage_server and await membership(session, group.id, actor.user_id) is None:
        raise NotFound("That brainstorm doesn't exist in your groups.")
    return brainstorm, group


async def _apply_reactors(
    session: AsyncSession,
    brainstorm: Brainstorm,
    reactors: Mapping[int, Collection[int]],
    now: datetime,
) -> None:
    """Make the votes of the ideas in ``reactors`` match who reacted 👍 on Discord.

    Only members of the group count. With ``max_votes``, a member's votes already recorded are
    kept first, then new ones in idea order, up to the limit. Ideas missing from ``reactors``
    (their message unreachable) keep their votes.
    """
    ideas = {idea.id: idea for idea in await _ideas(session, brainstorm.id)}
    members = set(
        await session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == brainstorm.group_id))
    )
    existing = list(await session.scalars(select(BrainstormVote).where(BrainstormVote.brainstorm_id == brainstorm.id)))
    reacting = {
        (idea_id, user_id)
        for idea_id, users in reactors.items()
        if idea_id in ideas
        for user_id in users
        if user_id in members
    }
    kept: dict[int, int] = {}  # user → votes kept
    for vote in sorted(existing, key=lambda v: ideas[v.idea_id].number if v.idea_id in ideas else 0):
        recounted = vote.idea_id in reactors
        if recounted and (vote.idea_id, vote.user_id) not in reacting:
            await session.delete(vote)
            continue
        if vote.user_id not in members or (
            brainstorm.max_votes is not None and kept.get(vote.user_id, 0) >= brainstorm.max_votes
        ):
            await session.delete(vote)
            continue
        kept[vote.user_id] = kept.get(vote.user_id, 0) + 1
        reacting.discard((vote.idea_id, vote.user_id))
    for idea_id, user_id in sorted(reacting, key=lambda pair: (ideas[pair[0]].number, pair[1])):
        if brainstorm.max_votes is not None and kept.get(user_id, 0) >= brainstorm.max_votes:
            continue
        kept[user_id] = kept.get(user_id, 0) + 1
        session.add(
            BrainstormVote(
                idea_id=idea_id, user_id=user_id, brainstorm_id=brainstorm.id, guild_id=brainstorm.guild_id, created_at=now
            )
        )
    await session.flush()
    rows = await session.execute(
        select(BrainstormVote.idea_id, func.count())
        .where(BrainstormVote.brainstorm_id == brainstorm.id)
        .group_by(BrainstormVote.idea_id)
    )
    counts = {idea_id: votes for idea_id, votes in rows.tuples()}
    for idea in ideas.values():
        idea.votes = counts.get(idea.id, 0)


# --- the service ------------------------------------------------------------------------------------


class BrainstormService(Service):
    # --- opening -------------------------------------------------------------------------------------

    async def open(
        self,
        actor: Actor,
        *,
        issue: str,
        details: str | None = None,
        anonymous: bool = False,
        max_votes: int | None = None,
        group_id: int | None = None,
    ) -> BrainstormInfo:
        """Table an issue. The adapter then opens its thread and calls :meth:`attach_thread`."""
        issue_text = _clean(issue, what="issue", maximum=ISSUE_MAX, multiline=False)
        details_text = _clean(details, what="details", maximum=DETAILS_MAX, required=False)
        if max_votes is not None and not 1 <= max_votes <= MAX_VOTES_LIMIT:
            raise InvalidInput(f"`max_votes` must be between 1 and {MAX_VOTES_LIMIT}.")
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_member(session, group, actor)
            await session.scalar(select(Group).where(Group.id == group.id).with_for_update())  # numbering lock
            number = (
                await session.scalar(select(func.max(Brainstorm.number)).where(Brainstorm.group_id == group.id)) or 0
            ) + 1
            brainstorm = Brainstorm(
                guild_id=group.guild_id,
                group_id=group.id,
                number=number,
                owner_id=actor.user_id,
                issue=issue_text,
                details=details_text,
                anonymous=anonymous,
                max_votes=max_votes,
                status=OPEN,
                created_at=self.now(),
            )
            session.add(brainstorm)
            await session.flush()
            await agenda.table_brainstorm(session, group=group, user_id=actor.user_id, issue=issue_text or "",
                                          brainstorm_id=brainstorm.id, anonymous=anonymous, now=self.now())
            return await _info(session, brainstorm)

    async def attach_thread(self, *, brainstorm_id: int, thread_id: int, message_id: int) -> None:
        async with self.begin() as session:
            brainstorm = await session.get(Brainstorm, brainstorm_id)
            if brainstorm is None:
                raise NotFound("That brainstorm no longer exists.")
            brainstorm.thread_id = thread_id
            brainstorm.message_id = message_id

    async def abandon(self, *, brainstorm_id: int) -> None:
        """Forget a brainstorm whose thread could not be opened (nothing was posted)."""
        async with self.begin() as session:
            abandoned = await session.scalar(
                select(Brainstorm.id).where(Brainstorm.id == brainstorm_id, Brainstorm.thread_id.is_(None))
            )
            if abandoned is not None:
                await agenda.untable_brainstorm(session, abandoned)
            await session.execute(
                delete(Brainstorm).where(Brainstorm.id == brainstorm_id, Brainstorm.thread_id.is_(None))
            )

    # --- ideas ---------------------------------------------------------------------------------------

    async def add_idea(self, actor: Actor, *, text: str, brainstorm_id: int | None = None) -> tuple[BrainstormInfo, IdeaInfo]:
        """A member's idea, numbered next. The adapter posts it, then calls :meth:`attach_idea_message`."""
        idea_text = _clean(text, what="idea", maximum=IDEA_MAX)
        async with self.begin() as session:
            brainstorm, group = await _visible_brainstorm(session, actor, brainstorm_id, lock=True)
            await require_member(session, group, actor)
            if brainstorm.status != OPEN:
                raise InvalidInput(f"Brainstorm #{brainstorm.number} is closed: it takes no more ideas.")
            count = await session.scalar(
                select(func.count()).select_from(BrainstormIdea).where(BrainstormIdea.brainstorm_id == brainstorm.id)
            )
            if (count or 0) >= MAX_IDEAS:
                raise LimitReached(f"Brainstorm #{brainstorm.number} already has {MAX_IDEAS} ideas, the most it can take.")
            number = (
                await session.scalar(
                    select(func.max(BrainstormIdea.number)).where(BrainstormIdea.brainstorm_id == brainstorm.id)
                )
                or 0
            ) + 1
            idea = BrainstormIdea(
                guild_id=brainstorm.guild_id,
                brainstorm_id=brainstorm.id,
                number=number,
                author_id=actor.user_id,
                text=idea_text,
                votes=0,
                created_at=self.now(),
            )
            session.add(idea)
            await session.flush()
            return await _info(session, brainstorm, with_ideas=False), _idea_info(idea)

    async def attach_idea_message(self, *, idea_id: int, message_id: int) -> None:
        async with self.begin() as session:
            idea = await session.get(BrainstormIdea, idea_id)
            if idea is not None:
                idea.message_id = message_id

    async def discard_idea(self, *, idea_id: int) -> None:
        """Forget an idea whose message could not be posted."""
        async with self.begin() as session:
            await session.execute(
                delete(BrainstormIdea).where(BrainstormIdea.id == idea_id, BrainstormIdea.message_id.is_(None))
            )

    # --- votes (raw reaction events) -------------------------------------------------------------------

    async def vote(self, *, guild_id: int, message_id: int, user_id: int) -> VoteResult | None:
        """A 👍 added on ``message_id``. None when it isn't an idea message of this server."""
        async with self.begin() as session:
            found = await _reacted_idea(session, guild_id=guild_id, message_id=message_id)
            if found is None:
                return None
            idea, brainstorm = found

            def result(status: str, voted: tuple[IdeaInfo, ...] = ()) -> VoteResult:
                return VoteResult(status, brainstorm.id, idea.number, brainstorm.max_votes, voted, brainstorm.thread_id,
                                  brainstorm.number)

            if brainstorm.status != OPEN:
                return result(CLOSED)
            if await membership(session, brainstorm.group_id, user_id) is None:
                return result("not_member")
            if await session.get(BrainstormVote, (idea.id, user_id)) is not None:
                return result("already")
            if brainstorm.max_votes is not None:
                voted = list(
                    await session.scalars(
                        select(BrainstormIdea)
                        .join(BrainstormVote, BrainstormVote.idea_id == BrainstormIdea.id)
                        .where(BrainstormVote.brainstorm_id == brainstorm.id, BrainstormVote.user_id == user_id)
                        .order_by(BrainstormIdea.number)
                    )
                )
                if len(voted) >= brainstorm.max_votes:
                    return result("over_limit", tuple(_idea_info(i) for i in voted))
            session.add(
                BrainstormVote(
                    idea_id=idea.id, user_id=user_id, brainstorm_id=brainstorm.id, guild_id=guild_id, created_at=self.now()
                )
            )
            idea.votes += 1
            return result("counted")

    async def unvote(self, *, guild_id: int, message_id: int, user_id: int) -> bool:
        """A 👍 removed from ``message_id``: True when a counted vote went with it."""
        async with self.begin() as session:
            found = await _reacted_idea(session, guild_id=guild_id, message_id=message_id)
            if found is None:
                return False
            idea, brainstorm = found
            if brainstorm.status != OPEN:
                return False
            vote = await session.get(BrainstormVote, (idea.id, user_id))
            if vote is None:
                return False
            await session.delete(vote)
            idea.votes = max(0, idea.votes - 1)
            return True

    # --- recount and close ---------------------------------------------------------------------------

    async def open_brainstorms(self) -> list[BrainstormInfo]:
        """Every open brainstorm with a thread (for the recount at start), oldest first."""
        async with self.read() as session:
            brainstorms = list(
                await session.scalars(
                    select(Brainstorm)
                    .where(Brainstorm.status == OPEN, Brainstorm.thread_id.is_not(None))
                    .order_by(Brainstorm.id)
                )
            )
            return await _infos(session, brainstorms)

    async def recount(self, *, brainstorm_id: int, reactors: Mapping[int, Collection[int]]) -> BrainstormInfo | None:
        """Votes made to match Discord's 👍 reactors (idea id → user ids). None if no longer open."""
        async with self.begin() as session:
            brainstorm = await session.scalar(select(Brainstorm).where(Brainstorm.id == brainstorm_id).with_for_update())
            if brainstorm is None or brainstorm.status != OPEN:
                return None
            await _apply_reactors(session, brainstorm, reactors, self.now())
            return await _info(session, brainstorm)

    async def to_close(self, actor: Actor, *, brainstorm_id: int | None = None) -> BrainstormInfo:
        """The brainstorm ``actor`` may close (its owner, or a facilitator), checked before the recount."""
        async with self.begin() as session:
            brainstorm, group = await _visible_brainstorm(session, actor, brainstorm_id)
            await self._check_may_close(session, actor, brainstorm, group)
            return await _info(session, brainstorm)

    async def close(
        self, actor: Actor, *, brainstorm_id: int, reactors: Mapping[int, Collection[int]]
    ) -> BrainstormInfo:
        """Recount from Discord's reactors, close, and return the ideas ranked."""
        async with self.begin() as session:
            brainstorm, group = await _visible_brainstorm(session, actor, brainstorm_id, lock=True)
            await self._check_may_close(session, actor, brainstorm, group)
            await _apply_reactors(session, brainstorm, reactors, self.now())
            brainstorm.status = CLOSED
            brainstorm.closed_at = self.now()
            await session.flush()
            return await _info(session, brainstorm)

    @staticmethod
    async def _check_may_close(session: AsyncSession, actor: Actor, brainstorm: Brainstorm, group: Group) -> None:
        if brainstorm.status != OPEN:
            raise InvalidInput(f"Brainstorm #{brainstorm.number} is already closed.")
        if brainstorm.owner_id == actor.user_id or actor.can_manage_server:
            return
        if not await may_facilitate(session, group, await membership(session, group.id, actor.user_id)):
            raise NotAllowed("Only the member who tabled this issue, or a facilitator, can close it.")

    # --- ideas → commitments -------------------------------------------------------------------------

    async def adopt(self, actor: Actor, *, brainstorm_id: int, idea_ids: Collection[int]) -> AdoptResult:
        """The owner's chosen ideas become their commitments, due at the group's next meeting."""
        if not idea_ids:
            raise InvalidInput("Choose at least one idea.")
        idea_ids = [require_id(idea_id, "idea") for idea_id in idea_ids]
        for attempt in range(3):
            try:
                return await self._adopt(actor, brainstorm_id=brainstorm_id, idea_ids=idea_ids)
            except IntegrityError:  # another commitment took the same number at the same moment
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _adopt(self, actor: Actor, *, brainstorm_id: int, idea_ids: Collection[int]) -> AdoptResult:
        async with self.begin() as session:
            brainstorm, group = await _visible_brainstorm(session, actor, brainstorm_id, lock=True)
            if brainstorm.owner_id != actor.user_id:
                raise NotAllowed(f"Only <@{brainstorm.owner_id}>, who tabled this issue, can choose its ideas.")
            if brainstorm.status != CLOSED:
                raise InvalidInput("Close the brainstorm first, then choose the ideas you'll commit to.")
            await require_member(session, group, actor)
            require_active(group)
            await session.scalar(select(Group).where(Group.id == group.id).with_for_update())  # numbering lock
            ideas = {idea.id: idea for idea in await _ideas(session, brainstorm.id)}
            unknown = set(idea_ids) - set(ideas)
            if unknown:
                raise NotFound("That idea isn't part of this brainstorm.")
            meeting = await next_meeting_of(session, group.id, self.now())
            if meeting is None:
                raise InvalidInput(
                    f"**{group.name}** has no meeting scheduled yet, so there's no date to commit to. "
                    "Once the next meeting is scheduled, choose again."
                )
            chosen = sorted((ideas[i] for i in set(idea_ids)), key=lambda idea: idea.number)
            adopted: list[tuple[int, int, str]] = []
            already: list[int] = []
            for idea in chosen:
                if idea.commitment_id is not None:
                    already.append(idea.number)
                    continue
                commitment = await add_commitment_row(
                    session, group=group, user_id=actor.user_id, text=idea.text, due_at=meeting.starts_at,
                    meeting_id=meeting.id, now=self.now(),
                )
                idea.commitment_id = commitment.id
                adopted.append((idea.number, commitment.number, idea.text))
            return AdoptResult(
                brainstorm_id=brainstorm.id,
                adopted=tuple(adopted),
                already=tuple(already),
                due_at=meeting.starts_at,
                meeting_id=meeting.id,
            )

    # --- reading -------------------------------------------------------------------------------------

    async def show(self, actor: Actor, *, brainstorm_id: int | None = None) -> BrainstormInfo:
        async with self.read() as session:
            brainstorm, group = await _visible_brainstorm(session, actor, brainstorm_id)
            await require_reader(session, group, actor)
            return await _info(session, brainstorm)

    async def list_group(
        self, actor: Actor, *, status: str | None = None, group_id: int | None = None
    ) -> tuple[str, list[BrainstormInfo]]:
        """The group's brainstorms, newest first (without their ideas); and the group's name."""
        if status is not None and status not in STATUSES:
            raise InvalidInput("`status` is open or closed.")
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            await require_reader(session, group, actor)
            query = select(Brainstorm).where(Brainstorm.group_id == group.id, Brainstorm.thread_id.is_not(None))
            if status is not None:
                query = query.where(Brainstorm.status == status)
            brainstorms = list(await session.scalars(query.order_by(Brainstorm.created_at.desc(), Brainstorm.id.desc())))
            return group.name, [await _info(session, b, with_ideas=False, group=group) for b in brainstorms]

    async def id_of_number(self, actor: Actor, number: int) -> int:
        """A typed ``#3``: the id of the group's brainstorm number 3 (the channel's group, or the member's only one)."""
        async with self.read() as session:
            return await brainstorm_id_of_number(session, actor, number)

    async def choices(self, actor: Actor, query: str) -> list[BrainstormChoice]:
        """Autocomplete: brainstorms of the member's groups in this server, open ones first."""
        needle = query.strip().casefold()
        async with self.read() as session:
            groups = {g.id: g for g in await groups_of_member(session, actor.guild_id, actor.user_id)}
            if not groups:
                return []
            brainstorms = await session.scalars(
                select(Brainstorm)
                .where(
                    Brainstorm.guild_id == actor.guild_id,
                    Brainstorm.group_id.in_(groups),
                    Brainstorm.thread_id.is_not(None),
                )
                .order_by(Brainstorm.status.desc(), Brainstorm.created_at.desc())  # "open" > "closed"
                .limit(200)
            )
            choices = []
            for b in brainstorms:
                label = f"#{b.number} {b.issue}"
                if needle and needle not in label.casefold():
                    continue
                suffix = f" — {groups[b.group_id].name}" + (" (closed)" if b.status == CLOSED else "")
                name = label[: 100 - len(suffix) - 1] + "…" if len(label) + len(suffix) > 100 else label
                choices.append(BrainstormChoice(b.id, f"{name}{suffix}"[:100]))
                if len(choices) == 25:
                    break
            return choices


async def brainstorm_id_of_number(session: AsyncSession, actor: Actor, number: int) -> int:
    """The id of brainstorm ``#number`` of the channel's group (or the member's only group)."""
    group = await resolve_group(session, actor, None)
    found = await session.scalar(
        select(Brainstorm.id).where(Brainstorm.group_id == group.id, Brainstorm.number == number)
    )
    if found is None:
        raise NotFound(f"**{group.name}** has no brainstorm #{number}: pick one from the list.")
    return found


async def _reacted_idea(
    session: AsyncSession, *, guild_id: int, message_id: int
) -> tuple[BrainstormIdea, Brainstorm] | None:
    """The idea posted as ``message_id`` in this server, and its brainstorm locked for the vote count."""
    idea = await session.scalar(
        select(BrainstormIdea).where(BrainstormIdea.message_id == message_id, BrainstormIdea.guild_id == guild_id)
    )
    if idea is None:
        return None
    brainstorm = await session.scalar(select(Brainstorm).where(Brainstorm.id == idea.brainstorm_id).with_for_update())
    assert brainstorm is not None
    return idea, brainstorm
