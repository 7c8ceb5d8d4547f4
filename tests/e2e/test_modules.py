"""Modules and check-ins end to end: the real bot against the Discord simulator.

The group, its members and its meeting are written to the database directly (the groups feature's
commands are tested in their own files); everything a member does goes through Discord, and the
prompt, nudges and digest come from the outbox as the clock moves.
"""

from __future__ import annotations

from datetime import timedelta

import yaml
from sqlalchemy import select

from bot.app import App
from bot.models import CheckIn, Group
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim

MARKDOWN = b"""# Our own year

## 1. Pricing for profit
Charge what the work is worth.

### Activities
- Cost your three best sellers.

### Resources
- [Pricing strategies](https://en.wikipedia.org/wiki/Pricing_strategies) (read)

## 2. Sales conversations
Follow up every quote.
"""


def label_texts(components: list[dict]) -> list[str]:
    """The labels a member sees above a modal's fields (Label components)."""
    return [c["label"] for c in components if c.get("type") == 18]


async def test_module_commands_import_and_export(sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App) -> None:
    ana, fac = sim.member(guild, "Ana"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, fac], facilitators=(fac,), meeting=False)

    current = await sim.command(ana, channel, "module current")
    assert current.ephemeral
    assert current.embed["title"] == "Module 1 of 12: Vision and goals"
    resources = next(f for f in current.embed["fields"] if f["name"] == "Resources")["value"]
    assert "[SMART criteria for goals](https://en.wikipedia.org/wiki/SMART_criteria)" in resources

    listing = await sim.command(ana, channel, "module list")
    assert "**12.** Review the year and plan the next" in listing.embed["description"]

    await sim.command(sim.member(guild, "Bea"), channel, "group join", group="Makers")  # three: not a pair
    refused = await sim.command(ana, channel, "module import", file=("year.md", MARKDOWN))
    assert refused.ephemeral and "Only a facilitator" in refused.content
    wrong_type = await sim.command(fac, channel, "module import", file=("year.pdf", b"%PDF"))
    assert "isn't a curriculum file" in wrong_type.content
    too_big = await sim.command(fac, channel, "module import", file=("year.md", b"#" * (256 * 1024 + 1)))
    assert "larger than 256 KB" in too_big.content
    broken = await sim.command(
        fac, channel, "module import",
        file=("year.yaml", b"modules:\n  - number: 1\n    summary: No title here.\n"),
    )
    assert broken.ephemeral and "line 2, module 1, title: missing" in broken.content
    bad_url = await sim.command(
        fac, channel, "module import", file=("year.md", MARKDOWN.replace(b"https://en.wikipedia.org", b"en.wikipedia.org"))
    )
    assert "line 10, module 1, resource 1, url" in bad_url.content
    assert (await sim.command(ana, channel, "module current")).embed["title"] == "Module 1 of 12: Vision and goals"

    imported = await sim.command(fac, channel, "module import", file=("year.md", MARKDOWN))
    assert "Replaced the curriculum with 2 modules" in imported.content
    appended = await sim.command(fac, channel, "module import", file=("more.md", MARKDOWN), mode="append")
    assert "numbered 3–4" in appended.content

    missing = await sim.command(fac, channel, "module set", number=9)
    assert "no module 9" in missing.content
    moved = await sim.command(fac, channel, "module set", number=2)
    assert "**2. Sales conversations**" in moved.content

    exported = await sim.command(ana, channel, "module export")
    [attachment] = exported.files
    assert attachment.filename == "makers-curriculum.yaml"
    data = yaml.safe_load(attachment.data)
    assert [m["title"] for m in data["modules"]] == [
        "Pricing for profit", "Sales conversations", "Pricing for profit", "Sales conversations",
    ]


async def test_a_cycle_prompt_checkin_nudge_digest_and_advance(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob, cat, fac = (sim.member(guild, name) for name in ("Ana", "Bob", "Cat", "Fac"))
    group_id, meeting_id = await seed_group(app, guild, channel, [ana, bob, cat, fac], facilitators=(fac,))

    # The cycle starts: the module prompt with a Check in button.
    await sim.advance(minutes=1)
    prompt = next(m for m in sim.messages(channel) if m.embeds and m.embeds[0]["title"].startswith("Module 1"))
    assert prompt.embeds[0]["title"] == "Module 1 of 12: Vision and goals"
    meeting_field = next(f for f in prompt.embeds[0]["fields"] if f["name"] == "Next meeting")
    assert f"<t:{int(MEETING_AT.timestamp())}:F>" in meeting_field["value"]
    assert buttons(prompt) == ["Check in"]

    # Ana checks in from the button, shared with the group; the channel gets her check-in.
    modal = await sim.click(ana, prompt, label="Check in")
    assert modal.modal is not None and label_texts(modal.modal.components) == [
        "What I read, watched or listened to", "What I did of the activities", "My key learning",
        "How I'll apply it", "Share with",
    ]
    empty = await sim.submit_modal(ana, modal, {})
    assert empty.ephemeral and "empty" in empty.content
    modal = await sim.click(ana, prompt, label="Check in")
    saved = await sim.submit_modal(ana, modal, {"checkin:learning": "Goals need dates @everyone"})
    assert saved.ephemeral and "is saved" in saved.content and "posted in the group channel" in saved.content
    posted = sim.last_message(channel)
    assert posted.embeds[0]["fields"][0]["value"] == "Goals need dates @everyone"
    assert posted.allowed_mentions is not None and posted.allowed_mentions.get("parse") == []

    # She edits it: the same channel message changes; the modal showed her earlier answer.
    modal = await sim.click(ana, prompt, label="Check in")
    learning = next(c for c in modal.modal.inputs if c["custom_id"] == "checkin:learning")
    assert learning["value"] == "Goals need dates @everyone"
    await sim.submit_modal(ana, modal, {"checkin:learning": "Goals need dates", "checkin:application": "Monthly review"})
    assert sim.last_message(channel).id == posted.id
    assert [f["value"] for f in sim.last_message(channel).embeds[0]["fields"]] == ["Goals need dates", "Monthly review"]

    # Fac checks in with /checkin, for the facilitators only: nothing is posted.
    before = len(sim.messages(channel))
    modal = await sim.command(fac, channel, "checkin")
    done = await sim.submit_modal(fac, modal, {"checkin:activities": "Wrote my vision",
                                               "checkin:visibility": "facilitator"})
    assert "Only the facilitators" in done.content
    assert len(sim.messages(channel)) == before

    # Three days before: only Bob and Cat are nudged; Cat's DMs are closed, so the channel mentions her.
    sim.close_dms(cat)
    await sim.advance(MEETING_AT - timedelta(hours=72) - app.clock.now())
    assert sim.dms(ana) == [] and sim.dms(fac) == []
    [bob_dm] = sim.dms(bob)
    assert "Vision and goals" in bob_dm.content and buttons(bob_dm) == ["Check in", "Remind me later"]
    fallback = sim.last_message(channel)
    assert fallback.content.startswith(f"<@{cat.id}>,")
    assert [int(u) for u in fallback.allowed_mentions.get("users", [])] == [cat.id]

    # Bob checks in from the DM.
    modal = await sim.click(bob, bob_dm, label="Check in")
    await sim.submit_modal(bob, modal, {"checkin:consumed": "The SBA guide"})

    progress = await sim.command(fac, channel, "module progress")
    assert "**3 of 4** members have checked in" in progress.embeds[0]["description"]
    assert buttons(progress.message) == ["Previous", "Next"]
    checkins = await sim.click(fac, progress, label="Next")
    assert "Wrote my vision" in str(checkins.embeds)  # facilitators see the private check-in
    assert "Goals need dates" in str(checkins.embeds)
    bob_view = await sim.click(bob, await sim.command(bob, channel, "module progress"), label="Next")
    assert "Goals need dates" in str(bob_view.embeds) and "Wrote my vision" not in str(bob_view.embeds)

    # At the meeting: the digest of what the group shared (not Fac's private check-in).
    await sim.advance(MEETING_AT - app.clock.now())
    digest = next(m for m in reversed(sim.messages(channel)) if m.content.startswith("🧠"))
    text = str(digest.embeds)
    assert "Goals need dates" in text and "The SBA guide" in text and "Wrote my vision" not in text
    assert "1 more check-in shared with the facilitators only" in digest.embeds[0]["footer"]["text"]
    fields = digest.embeds[0]["fields"]
    # Each member's answers under their name, each under its question; the name isn't inside an answer.
    assert fields[0]["name"] == "Check-in by" and fields[0]["value"].startswith("<@")
    assert all(not f["value"].startswith("<@") for f in fields if f["name"] != "Check-in by")

    # After the meeting the current module moves on.
    await sim.advance(hours=3, minutes=5)
    async with app.sessions.begin() as session:
        assert (await session.get(Group, group_id)).current_module_number == 2
        rows = list(await session.scalars(select(CheckIn).order_by(CheckIn.id)))
        assert {row.cycle_key for row in rows} == {f"meeting:{meeting_id}"}
    current = await sim.command(ana, channel, "module current")
    assert current.embed["title"].startswith("Module 2 of 12")


async def test_buttons_survive_a_restart_and_a_long_digest_pages(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    members = [sim.member(guild, name) for name in ("Ana", "Bob", "Cat")]
    await seed_group(app, guild, channel, members)
    await sim.advance(minutes=1)
    prompt = next(m for m in sim.messages(channel) if buttons(m) == ["Check in"])

    app = await harness.restart()
    for index, member in enumerate(members):
        modal = await sim.click(member, prompt, label="Check in")
        answers = {f"checkin:{name}": f"{index}{name[0]}" * 500 for name in ("consumed", "activities", "learning", "application")}
        saved = await sim.submit_modal(member, modal, answers)
        assert "is saved" in saved.content

    await sim.advance(MEETING_AT - app.clock.now())
    digest = next(m for m in reversed(sim.messages(channel)) if m.content.startswith("🧠"))
    assert "3 check-ins shared" in digest.content
    # Each full check-in (4 × 1,000 characters) takes a page: the channel shows the first, the
    # button shows the others privately, and nothing is cut.
    assert buttons(digest) == ["More (2 more pages)"]
    assert "0l" * 500 in str(digest.embeds)
    page_two = await sim.click(members[1], digest, label="More (2 more pages)")
    assert page_two.ephemeral and "1l" * 500 in str(page_two.embeds)
    assert buttons(page_two.message) == ["Page 1", "Page 3"]
    page_three = await sim.click(members[1], page_two, label="Page 3")
    assert "2l" * 500 in str(page_three.embeds)
