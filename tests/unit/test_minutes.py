"""The meeting pack and the minutes, from seeded data (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import NotFound
from bot.models import AgendaItem, Brainstorm, BrainstormIdea, Commitment, Meeting, Rsvp, Win
from bot.services import Services
from bot.services.base import Actor
from cogs.meetings import minutes_embeds, minutes_markdown, pack_message
from tests.conftest import START
from tests.seeding import insert_group, insert_meeting

GUILD, CHANNEL = 1, 10
ANA, BOB, CAT, DAN = 101, 102, 103, 104


async def seed(services: Services) -> tuple[int, int, int]:
    """A group of four; a meeting 3 days ahead with RSVPs, two tabled issues and due commitments."""
    sessions = services.groups._sessions
    async with sessions.begin() as session:
        group = await insert_group(session, guild_id=GUILD, channel_id=CHANNEL, name="Makers",
                                   members=[ANA, BOB, CAT, DAN], facilitators=[ANA], created_at=START)
        meeting = await insert_meeting(session, guild_id=GUILD, group_id=group.id, starts_at=START + timedelta(days=3),
                                       created_at=START)
        following = await insert_meeting(session, guild_id=GUILD, group_id=group.id,
                                         starts_at=START + timedelta(days=31), created_at=START)
        meeting.location = "Café @everyone"
        session.add_all([
            Rsvp(meeting_id=meeting.id, user_id=ANA, guild_id=GUILD, answer="going", updated_at=START),
            Rsvp(meeting_id=meeting.id, user_id=BOB, guild_id=GUILD, answer="no", updated_at=START),
            AgendaItem(guild_id=GUILD, group_id=group.id, meeting_id=meeting.id, user_id=CAT, issue="Pricing",
                       position=1, created_at=START),
            AgendaItem(guild_id=GUILD, group_id=group.id, meeting_id=meeting.id, user_id=ANA, issue="Hiring",
                       position=2, created_at=START),
        ])
        for number, (user, status) in enumerate([(ANA, "done"), (BOB, "done"), (CAT, "not_done"), (DAN, "open")], 1):
            session.add(Commitment(guild_id=GUILD, group_id=group.id, number=number, user_id=user, text=f"Old {number}",
                                   due_at=meeting.starts_at, meeting_id=meeting.id, status=status,
                                   created_at=START, updated_at=START))
        await session.flush()
        return group.id, meeting.id, following.id


async def test_the_pack_gathers_the_meeting_and_pings_only_who_has_not_answered(services: Services) -> None:
    _, meeting_id, _ = await seed(services)
    pack = await services.minutes.pack(meeting_id=meeting_id)
    assert pack is not None
    assert pack.agenda.going == (ANA,) and pack.agenda.apologies == (BOB,) and pack.agenda.no_answer == (CAT, DAN)
    assert [(e.user_id, e.issue) for e in pack.agenda.entries] == [(CAT, "Pricing"), (ANA, "Hiring")]
    assert pack.tally.total == 4 and pack.tally.counts["done"] == 2 and pack.tally.completion == 50
    assert pack.checked_in == 0 and pack.members == 4 and pack.module_number == 1

    message = pack_message(pack)
    assert [u.id for u in message.allowed_mentions.users] == [CAT, DAN]  # type: ignore[union-attr]
    assert message.allowed_mentions.everyone is False and message.allowed_mentions.roles is False
    assert f"<@{CAT}>" in (message.content or "") and f"<@{ANA}>" not in (message.content or "")
    embed = message.embeds[0]
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Hot seats"].splitlines()[0].startswith(f"1. <@{CAT}> — Pricing")
    assert "2 done" in fields["Report-back so far"] and "completion 50%" in fields["Report-back so far"]
    assert "<t:" in (embed.description or "")  # a Discord timestamp: each viewer's own time
    assert len(embed) <= 6000


async def test_minutes_from_seeded_data(services: Services, clock) -> None:
    group_id, meeting_id, following_id = await seed(services)
    sessions = services.groups._sessions
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        storm = Brainstorm(guild_id=GUILD, group_id=group_id, number=1, owner_id=CAT, issue="Pricing", status="closed",
                           created_at=START + timedelta(days=1))
        session.add(storm)
        await session.flush()
        adopted = Commitment(guild_id=GUILD, group_id=group_id, number=10, user_id=CAT, text="Raise prices 10%",
                             due_at=START + timedelta(days=31), status="open",
                             created_at=meeting.starts_at + timedelta(minutes=30),
                             updated_at=meeting.starts_at + timedelta(minutes=30))
        session.add(adopted)
        await session.flush()
        session.add_all([
            BrainstormIdea(guild_id=GUILD, brainstorm_id=storm.id, number=1, author_id=ANA, text="Raise prices",
                           votes=3, commitment_id=adopted.id, created_at=START + timedelta(days=1)),
            BrainstormIdea(guild_id=GUILD, brainstorm_id=storm.id, number=2, author_id=BOB, text="Bundle", votes=1,
                           created_at=START + timedelta(days=1)),
            Win(guild_id=GUILD, group_id=group_id, user_id=BOB, text="Shipped v2", created_at=START + timedelta(days=2)),
            Commitment(guild_id=GUILD, group_id=group_id, number=11, user_id=ANA, text="Post twice a week",
                       due_at=START + timedelta(days=31), status="open",
                       created_at=meeting.starts_at + timedelta(hours=1), updated_at=meeting.starts_at),
        ])
    clock.advance(timedelta(days=3, hours=2))
    await services.groups.end_meeting(meeting_id=meeting_id, actor=None)
    minutes = await services.minutes.minutes(meeting_id=meeting_id)
    assert minutes is not None
    assert minutes.tally.counts.get("done") == 2 and minutes.tally.counts.get("not_reported") == 1
    assert minutes.tally.completion == 50
    (outcome,) = minutes.brainstorms
    assert outcome.issue == "Pricing" and outcome.adopted == 1 and [i.text for i in outcome.top] == ["Raise prices", "Bundle"]
    assert minutes.new_commitments == ((ANA, ("Post twice a week",)), (CAT, ("Raise prices 10%",)))
    assert minutes.wins == ((BOB, "Shipped v2"),)
    assert minutes.next_starts_at == START + timedelta(days=31)

    text = "\n".join(e.description or "" for e in minutes_embeds(minutes, with_commit_line=True))
    assert "completion 50%" in text and "Raise prices — 3 votes ✅ adopted" in text and "Shipped v2" in text
    assert text.rstrip().endswith("`/commit add`")
    markdown = minutes_markdown(minutes)
    assert markdown.startswith("# Minutes") and "## Wins" in markdown and "Post twice a week" in markdown

    # Shown again to a member; refused to someone outside the group and before a meeting ends.
    shown = await services.minutes.show(Actor(guild_id=GUILD, user_id=BOB, channel_id=CHANNEL))
    assert shown.meeting_id == meeting_id
    with pytest.raises(NotFound):
        await services.minutes.show(Actor(guild_id=GUILD, user_id=999, channel_id=99), meeting_id=meeting_id)
    with pytest.raises(NotFound, match="hasn't ended"):
        await services.minutes.show(Actor(guild_id=GUILD, user_id=BOB, channel_id=CHANNEL), meeting_id=following_id)


async def test_past_minutes_name_the_module_of_their_time_and_the_markdown_names_members(services: Services, clock) -> None:
    _group_id, meeting_id, following_id = await seed(services)
    clock.advance(timedelta(days=3, hours=4))
    await services.groups.end_meeting(meeting_id=meeting_id, actor=None)
    first = await services.minutes.minutes(meeting_id=meeting_id)
    assert first is not None and first.module_number == 2  # the meeting's end moved the group on to module 2
    clock.set(START + timedelta(days=31, hours=4))
    await services.groups.end_meeting(meeting_id=following_id, actor=None)
    again = await services.minutes.minutes(meeting_id=meeting_id)
    later = await services.minutes.minutes(meeting_id=following_id)
    assert again is not None and later is not None
    assert again.module_number == 2 and later.module_number == 3  # not the group's current module

    sessions = services.groups._sessions
    async with sessions.begin() as session:
        session.add(Win(guild_id=GUILD, group_id=_group_id, user_id=BOB, text="Shipped v3",
                        created_at=START + timedelta(days=31, hours=1)))
    shown = await services.minutes.minutes(meeting_id=following_id)
    assert shown is not None
    markdown = minutes_markdown(shown, {BOB: "Bob B."})
    assert "• Bob B.: Shipped v3" in markdown and str(BOB) not in markdown
    assert str(BOB) not in minutes_markdown(shown)  # a name not found: "a member", never the id
