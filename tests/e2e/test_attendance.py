"""Attendance, the minutes for who missed the meeting and the feedback question, end to end in the simulator."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.models.attendance import Attendance, MeetingFeedback
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Message


def minutes_posts(sim: Sim, channel: Channel) -> list[Message]:
    return [m for m in sim.messages(channel) if m.embeds and m.embeds[0].get("title", "").startswith("Minutes")]


def minutes_dms(sim: Sim, member) -> list[Message]:  # type: ignore[no-untyped-def]
    return [m for m in sim.dms(member) if m.content.startswith("You missed")]


def feedback_dms(sim: Sim, member) -> list[Message]:  # type: ignore[no-untyped-def]
    return [m for m in sim.dms(member) if m.embeds and m.embeds[0].get("title", "").startswith("How was the meeting?")]


async def test_attendance_minutes_for_who_missed_it_and_feedback(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    fac, ana, bob = sim.member(guild, "Fac"), sim.member(guild, "Ana"), sim.member(guild, "Bob")
    cat, dan = sim.member(guild, "Cat"), sim.member(guild, "Dan")
    _group_id, meeting_id = await seed_group(app, guild, channel, [fac, ana, bob, cat, dan], facilitators=(fac,))
    card = await sim.command(ana, channel, "meeting next")
    await sim.click(ana, card, label="Going")
    await sim.click(bob, card, label="Can't make it")
    await sim.click(fac, card, label="Going")
    await sim.click(dan, card, label="Going")

    # Before the meeting: no attendance yet.
    early = await sim.command(fac, channel, "meeting attendance")
    assert early.ephemeral and "started" in early.content

    await sim.advance(MEETING_AT - app.clock.now())
    [prompt] = [m for m in sim.messages(channel) if "Take attendance" in buttons(m)]
    assert "Facilitators" in prompt.content
    # A member who isn't a facilitator can't use it: told privately, nothing stored.
    refused = await sim.click(bob, prompt, label="Take attendance")
    assert refused.ephemeral and "Only a facilitator" in refused.content

    sheet = await sim.click(fac, prompt, label="Take attendance")
    assert sheet.ephemeral and sheet.embed["title"] == "Attendance — 1st meeting of Makers"
    text = sheet.embed["description"]
    assert f"<@{ana.id}> — Present" in text and f"<@{bob.id}> — Apologies" in text and f"<@{cat.id}> — Absent" in text
    assert "Pre-filled from the RSVPs" in text
    # Five members: four selects on the first page, the fifth behind Next.
    selects = [c for c in sheet.message.iter_components() if c.get("type") == 3]  # type: ignore[union-attr]
    assert len(selects) == 4 and buttons(sheet.message) == ["Previous", "Save as shown", "Next"]  # type: ignore[arg-type]
    assert [o["label"] for o in selects[1]["options"] if o.get("default")] == ["Ana: Present"]
    following = await sim.click(fac, sheet, label="Next")
    assert next(c for c in following.message.iter_components() if c.get("type") == 3)["options"][0]["label"] == "Dan: Present"  # type: ignore[union-attr]
    async with app.sessions.begin() as session:
        assert list(await session.scalars(select(Attendance))) == []  # looking stores nothing

    # Dan said Going but didn't come.
    marked = await sim.select(fac, following, ["absent"], custom_id=f"attend:set:{meeting_id}:{dan.id}:1")
    assert marked.interaction.response_type == 7
    assert f"<@{dan.id}> — Absent" in marked.embed["description"] and "Taken" in marked.embed["description"]
    async with app.sessions.begin() as session:
        taken = {r.user_id: r.status for r in await session.scalars(select(Attendance))}
    assert taken == {fac.id: "present", ana.id: "present", bob.id: "apologies", cat.id: "absent", dan.id: "absent"}

    ended = await sim.command(fac, channel, "meeting end")
    assert "ended" in ended.content
    await sim.advance(minutes=1)
    [minutes] = minutes_posts(sim, channel)
    body = minutes.embeds[0]["description"]
    assert f"Present (2): <@{fac.id}>, <@{ana.id}>" in body and f"Apologies (1): <@{bob.id}>" in body
    assert f"Absent (2): <@{cat.id}>, <@{dan.id}>" in body

    # Half an hour after the end: who missed it gets the minutes, who came the feedback question.
    await sim.advance(minutes=30)
    for member in (bob, cat, dan):
        [dm] = minutes_dms(sim, member)
        assert dm.embeds[0]["title"].startswith("Minutes") and f"Absent (2): <@{cat.id}>" in dm.embeds[0]["description"]
        assert feedback_dms(sim, member) == []
    for member in (fac, ana):
        assert minutes_dms(sim, member) == []
    [question] = feedback_dms(sim, ana)
    assert buttons(question) == ["1", "2", "3", "4", "5", "Add a line"]

    noted = await sim.click(ana, question, label="4")
    assert noted.ephemeral and "noted **4**" in noted.content
    opened = await sim.click(ana, question, label="Add a line")
    bad = await sim.submit_modal(ana, opened, {"Score, 1 to 5": "9", "What would make next month better?": "x"})
    assert bad.ephemeral and "1 to 5" in bad.content
    opened = await sim.click(ana, question, label="Add a line")
    again = await sim.submit_modal(ana, opened, {"Score, 1 to 5": "5",
                                                 "What would make next month better?": "More time for @everyone"})
    assert again.ephemeral and "Replaced your earlier answer (**4**) with **5**" in again.content
    [fac_question] = feedback_dms(sim, fac)
    await sim.click(fac, fac_question, label="3")
    async with app.sessions.begin() as session:
        scores = {r.user_id: (r.score, r.line) for r in await session.scalars(select(MeetingFeedback))}
    assert scores == {ana.id: (5, "More time for @everyone"), fac.id: (3, None)}

    trend = await sim.command(fac, channel, "meeting feedback")
    assert trend.ephemeral
    shown = trend.embed["description"]
    assert "1st meeting" in shown and "average **4.0** of 5 from 2 answers" in shown
    assert "More time for" in shown and "Ana" not in shown and f"<@{ana.id}>" not in shown
    hidden = await sim.command(ana, channel, "meeting feedback")
    assert hidden.ephemeral and "Only a facilitator" in hidden.content

    # Exactly once: a day later nobody got a second copy.
    await sim.advance(days=1)
    assert all(len(minutes_dms(sim, m)) == 1 for m in (bob, cat, dan))
    assert len(feedback_dms(sim, ana)) == 1 and len(minutes_posts(sim, channel)) == 1
    # /meeting minutes shows the attendance too.
    again_minutes = await sim.command(cat, channel, "meeting minutes")
    assert f"Absent (2): <@{cat.id}>, <@{dan.id}>" in again_minutes.embed["description"]
    [export] = again_minutes.files
    text = export.data.decode()
    assert "## Attendance" in text and "Absent (2): " in text
    assert str(cat.id) not in text and str(dan.id) not in text  # members by name in the file, never by id
    assert "a member" not in text and "a former member" not in text


async def test_attendance_rates_for_the_facilitators_and_a_members_own(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    fac, ana, bob = sim.member(guild, "Fac"), sim.member(guild, "Ana"), sim.member(guild, "Bob")
    _group_id, meeting_id = await seed_group(app, guild, channel, [fac, ana, bob], facilitators=(fac,))
    none_yet = await sim.command(fac, channel, "meeting attendance", rates=True)
    assert none_yet.ephemeral and "No attendance taken yet" in none_yet.embed["description"]

    card = await sim.command(ana, channel, "meeting next")
    await sim.click(ana, card, label="Going")
    await sim.click(bob, card, label="Can't make it")
    await sim.advance(MEETING_AT - app.clock.now())
    sheet = await sim.command(fac, channel, "meeting attendance")
    await sim.click(fac, sheet, label="Save as shown")  # Fac absent (no answer), Ana present, Bob apologies

    shown = await sim.command(fac, channel, "meeting attendance", rates=True)
    text = shown.embed["description"]
    assert shown.ephemeral and shown.embed["title"] == "Attendance rates — Makers"
    assert "**Group: 33%** over 1 meeting with attendance taken" in text
    assert f"<@{ana.id}> — **100%**: present 1 of 1" in text
    assert f"<@{bob.id}> — **0%**: present 0 of 1, 1 apology" in text
    assert f"<@{fac.id}> — **0%**" in text

    own = await sim.command(bob, channel, "meeting attendance", rates=True)
    text = own.embed["description"]
    assert own.ephemeral and "**Group: 33%**" in text and f"<@{bob.id}> — **0%**" in text
    assert f"<@{ana.id}>" not in text and "for the facilitators" in text

    refused = await sim.command(fac, channel, "meeting attendance", rates=True, meeting=str(meeting_id))
    assert refused.ephemeral and "leave out `meeting`" in refused.content
