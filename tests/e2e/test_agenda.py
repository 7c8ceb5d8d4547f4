"""The meeting as a whole, end to end: Add to calendar under ``/meeting next``, and the agenda (``/meeting table``, ``/meeting agenda``…)."""

from __future__ import annotations

import itertools
from datetime import UTC, timedelta

import icalendar
from dateutil import rrule as du
from sqlalchemy import func, select

from bot import recurrence
from bot.app import App
from bot.models import AgendaItem, MeetingSeries
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim
from tests.sim.api import Reply


def _hot_seats(reply: Reply) -> list[str]:
    description: str = reply.embed["description"]
    return [line for line in description.split("\n") if line.startswith("**") and "** <@" in line]


def _fields(reply: Reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embed["fields"]}


async def _stored(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AgendaItem)) or 0)


async def test_add_to_calendar_gives_the_meeting_and_the_series_as_ics_files(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, outsider = sim.member(guild, "Ana"), sim.member(guild, "Outsider")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, admin, channel, "meeting recurring", rule="first tuesday", time="18:00", venue="The Hub")

    nxt = await run(sim, ana, channel, "meeting next")
    assert "Add to calendar" in buttons(nxt.message)
    before = len(sim.messages(channel))
    added = await sim.click(ana, nxt, label="Add to calendar")
    assert added.ephemeral and len(sim.messages(channel)) == before  # private, nothing in the channel
    assert [f.filename for f in added.files] == ["makers-2026-12-01.ics", "makers-series.ics"]
    assert "<t:1796148000:F>" in added.content  # the meeting by its date, in the reader's own time

    one = icalendar.Calendar.from_ical(added.files[0].data)
    [event] = one.events
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.decoded("DTSTART").astimezone(UTC).timestamp() == 1796148000  # Tue 1 Dec 2026 18:00 GMT
    assert str(event["UID"]).startswith("meeting-") and str(event["UID"]).endswith("@roundtable")
    assert "Makers" in str(event["SUMMARY"]) and str(event["LOCATION"]) == "The Hub"
    assert [str(tz["TZID"]) for tz in one.walk("VTIMEZONE")] == ["Europe/London"]

    series = icalendar.Calendar.from_ical(added.files[1].data)
    [recurring] = series.events
    start = recurring.decoded("DTSTART")
    walls = itertools.islice(du.rrulestr(recurring["RRULE"].to_ical().decode(), dtstart=start.replace(tzinfo=None)), 12)
    from_file = [recurrence.local_instant(wall, "Europe/London") for wall in walls]
    async with app.sessions() as session:
        stored = await session.scalar(select(MeetingSeries.rrule))
    assert stored is not None
    rule, anchor = recurrence.load(stored)
    assert from_file == recurrence.occurrences(rule, anchor, "Europe/London", after=app.clock.now(), count=12)
    # Summer meetings are at 18:00 BST (17:00 UTC), winter ones at 18:00 GMT.
    assert {d.astimezone(UTC).hour for d in from_file} == {17, 18}

    refused = await sim.click(outsider, nxt, label="Add to calendar")
    assert refused.ephemeral and "not a member" in refused.content and refused.files == []

    await harness.restart()  # the button works after a restart (its custom_id carries the meeting)
    again = await sim.click(ana, nxt, label="Add to calendar")
    assert [f.filename for f in again.files] == ["makers-2026-12-01.ics", "makers-series.ics"]
    assert str(icalendar.Calendar.from_ical(again.files[0].data).events[0]["UID"]) == str(event["UID"])


async def test_table_show_and_reorder_the_agenda(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    _, meeting_id = await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))
    before = len(sim.messages(channel))

    tabled = await run(sim, ana, channel, "meeting table", issue="Hiring **now** @everyone")
    assert tabled.ephemeral and "**1st** in the hot-seat order" in tabled.content
    assert f"<t:{int(MEETING_AT.timestamp())}:F>" in tabled.content
    assert _hot_seats(tabled) == [f"**1.** <@{ana.id}> — Hiring \\*\\*now\\*\\* @everyone"]  # shown as typed, inert
    assert tabled.message is not None and tabled.message.allowed_mentions == {"parse": []}  # mentions nobody
    await sim.click(ana, await run(sim, ana, channel, "meeting next"), label="Going")

    opened = await run(sim, bob, channel, "brainstorm open", issue="Which CRM?")  # tabled with the brainstorm
    assert not opened.content.startswith("Only")
    shown = await run(sim, fac, channel, "meeting agenda")
    assert shown.ephemeral
    seats = _hot_seats(shown)
    assert seats[0] == f"**1.** <@{ana.id}> — Hiring \\*\\*now\\*\\* @everyone"
    assert seats[1].startswith(f"**2.** <@{bob.id}> — Which CRM? · brainstorm <#")
    fields = _fields(shown)
    assert fields["Going (1)"] == f"<@{ana.id}>" and fields["Apologies (0)"] == "—"
    assert fields["No answer yet (2)"] == f"<@{bob.id}>, <@{fac.id}>"
    assert "1st meeting of Makers" in shown.embed["footer"]["text"]

    # Bad input: a clear private message, nothing stored.
    twice = await run(sim, ana, channel, "meeting table", issue="Something else")
    assert twice.ephemeral and "already tabled `Hiring **now** @everyone`" in twice.content
    too_long = await run(sim, fac, channel, "meeting table", issue="x" * 201)
    assert too_long.ephemeral and "201 characters" in too_long.content and "at most 200" in too_long.content
    not_fac = await run(sim, ana, channel, "meeting reorder", member=bob, position=1)
    assert not_fac.ephemeral and "Only a facilitator" in not_fac.content
    assert _hot_seats(await run(sim, ana, channel, "meeting agenda"))[0].startswith(f"**1.** <@{ana.id}>")
    assert await _stored(app) == 2

    moved = await run(sim, fac, channel, "meeting reorder", member=bob, position=1)
    assert moved.ephemeral and f"<@{bob.id}>'s issue is now **1st**" in moved.content
    assert [seat.split(" — ")[0] for seat in _hot_seats(moved)] == [f"**1.** <@{bob.id}>", f"**2.** <@{ana.id}>"]
    assert "order set by a facilitator" in moved.embed["footer"]["text"]
    assert len(sim.messages(channel)) == before  # the agenda is private: nothing in the channel

    # Ana takes hers off; Bob's is then the only one.
    withdrawn = await run(sim, ana, channel, "meeting withdraw")
    assert withdrawn.ephemeral and "off the agenda" in withdrawn.content
    assert [seat.split(" — ")[0] for seat in _hot_seats(withdrawn)] == [f"**1.** <@{bob.id}>"]
    assert await _stored(app) == 1

    # Once the meeting has started, tabling for it is refused.
    await sim.advance(MEETING_AT - app.clock.now() + timedelta(minutes=5))
    late = await run(sim, fac, channel, "meeting table", issue="Too late", meeting=str(meeting_id))
    assert late.ephemeral and "already started" in late.content
    assert await _stored(app) == 1
