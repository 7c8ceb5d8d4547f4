"""Two monthly cycles of one group, as its members live them, written to a transcript.

A facilitator in London, a member in Sydney and one in New York set the group up through the
commands, commit, report back from their DMs, check in and end each meeting. The clock moves from
one scheduled send to the next, so every message goes out at the time the bot chose for it.

Every message a member sees (channel posts, DMs, private replies), with the time it reached them in
their own zone and with Discord timestamps shown as that member's client would show them, is written
to ``test-artifacts/month-transcript.md`` (or ``$ROUNDTABLE_ARTIFACTS``): a reader judges the month
from that file. The assertions hold what the month must get right.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from discord.utils import snowflake_time

from bot.app import App
from bot.clock import ManualClock
from bot.waking import DEFAULT_WINDOW, Window, inside
from tests.e2e.conftest import Harness
from tests.e2e.seeding import buttons
from tests.sim import Channel, Guild, Sim
from tests.sim.api import Reply, message_text
from tests.sim.state import Member, Message

ARTIFACTS = Path(os.environ.get("ROUNDTABLE_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
FIRST_MEETING = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # first Tuesday of December, 18:00 London
SECOND_MEETING = datetime(2027, 1, 5, 18, 0, tzinfo=UTC)
END = SECOND_MEETING + timedelta(days=1)
_STAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")


@dataclass
class Seen:
    at: datetime
    where: str  # "#channel", "DM", "private reply"
    text: str
    buttons: list[str]


@dataclass(eq=False)
class Person:
    member: Member
    zone: ZoneInfo
    window: Window = DEFAULT_WINDOW  # the hours the member's DMs may reach them (/timezone set from/to)
    seen: list[Seen] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.member.user.global_name or self.member.user.username.capitalize()

    def local(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%a %d %b %Y %H:%M")


class Transcript:
    """What each person has seen, message by message (an edited message is seen again)."""

    def __init__(self, sim: Sim, channel: Channel, people: list[Person]) -> None:
        self.sim, self.channel, self.people = sim, channel, people
        self._known: dict[tuple[str, int], str] = {}
        self.names = {p.member.id: p.name for p in people}

    def render(self, person: Person, text: str) -> str:
        def stamp(match: re.Match[str]) -> str:
            when = datetime.fromtimestamp(int(match.group(1)), UTC)
            return f"[{person.local(when)}]" if match.group(2) != "R" else "[relative]"

        text = _STAMP.sub(stamp, text)
        return re.sub(r"<@!?(\d+)>", lambda m: "@" + self.names.get(int(m.group(1)), m.group(1)), text)

    def _note(self, person: Person, where: str, message: Message, at: datetime) -> None:
        text = message_text(message)
        key = (person.name, message.id)
        if self._known.get(key) == text:
            return
        edited = key in self._known
        self._known[key] = text
        label = f"{where} (edited)" if edited else where
        person.seen.append(Seen(at, label, self.render(person, text), buttons(message)))

    def collect(self) -> None:
        for person in self.people:
            for message in self.sim.messages(self.channel, as_member=person.member):
                self._note(person, "#" + self.channel.name, message, snowflake_time(message.id))
            for message in self.sim.dms(person.member):
                self._note(person, "DM", message, snowflake_time(message.id))

    def reply(self, person: Person, reply: Reply) -> Reply:
        for message in reply.messages:
            if message.ephemeral:
                self._note(person, "private reply", message, self.sim.now())
        self.collect()
        return reply

    def write(self, path: Path) -> None:
        lines = ["# A month of Founders Circle, as each member saw it", ""]
        for person in self.people:
            lines += [f"## {person.name} ({person.zone.key}, DMs {person.window.label()})", ""]
            for seen in sorted(person.seen, key=lambda s: s.at):
                lines.append(f"### {person.local(seen.at)} · {seen.where}")
                lines += ["", *(f"> {line}" if line else ">" for line in seen.text.splitlines())]
                if seen.buttons:
                    lines.append("> buttons: " + " · ".join(f"[{label}]" for label in seen.buttons))
                lines.append("")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")


def dms_with(sim: Sim, person: Person, label_prefix: str, label_suffix: str = "") -> list[Message]:
    return [
        m for m in sim.dms(person.member)
        if any(label.startswith(label_prefix) and label.endswith(label_suffix) for label in buttons(m))
    ]


def reportback_dms(sim: Sim, person: Person) -> list[Message]:
    """The report-back DMs (``#1 Done`` …), not the carry-over ones (``#1 Carry over`` …)."""
    return dms_with(sim, person, "#", " Partly")


async def step_to_next_send(
    app: App, clock: ManualClock, sim: Sim, until: datetime, checkpoints: Iterable[datetime] = ()
) -> bool:
    """Move the clock to the next scheduled send, checkpoint or ``until``, and let the bot send."""
    due = await app.services.outbox.next_due()
    later = [t for t in checkpoints if t > clock.now()]
    target = min([until, *later, *([due] if due is not None else [])])
    if target > clock.now():
        clock.advance(target - clock.now())
    await app.run_due()
    await sim.settle()
    return clock.now() < until


async def test_two_cycles_in_three_time_zones(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App, clock: ManualClock
) -> None:
    fran = Person(sim.member(guild, "Fran", manage_guild=True), ZoneInfo("Europe/London"))
    sia = Person(sim.member(guild, "Sia"), ZoneInfo("Australia/Sydney"))
    # Ned keeps his afternoons free: DMs only until noon, his time.
    ned = Person(sim.member(guild, "Ned"), ZoneInfo("America/New_York"), Window(time(7), time(12)))
    people = [fran, sia, ned]
    log = Transcript(sim, channel, people)

    acted: dict[str, list[datetime]] = {}  # when each member ran a command (a DM answering it is expected)

    async def run(person: Person, command: str, /, **options: object) -> Reply:
        acted.setdefault(person.name, []).append(app.clock.now())
        return log.reply(person, await sim.command(person.member, channel, command, **options))

    # Setting up: the facilitator creates the group and its series; the others join.
    await run(fran, "server setup", timezone="Europe/London")
    await run(fran, "group create", name="Founders Circle")
    for person in people:
        if person is not fran:
            await run(person, "group join", group="Founders Circle")
        window = {} if person.window == DEFAULT_WINDOW else {"from": f"{person.window.start:%H:%M}",
                                                            "to": f"{person.window.end:%H:%M}"}
        reply = await run(person, "timezone set", tz=person.zone.key, **window)
        assert person.window.label() in reply.content
    # A refused window stores nothing: Ned's stays 07:00–12:00.
    refused = await run(ned, "timezone set", **{"from": "09:00", "to": "09:00"})
    assert "no length" in refused.content
    series = await run(fran, "meeting recurring", rule="first tuesday", time="18:00")
    assert "first Tuesday" in series.content
    # The facilitator sees the series in each member's zone: 05:00 on Wednesday is flagged for Sia.
    local_lines = {line.split(":")[0]: line for line in series.content.splitlines() if line.startswith("• <@")}
    assert "outside 07:00–22:00" in local_lines[f"• <@{sia.member.id}>"]
    assert "outside" not in local_lines[f"• <@{ned.member.id}>"]

    commitments = {fran: "Send the Q1 price list", sia: "Call three lapsed clients", ned: "Draft the hiring ad"}
    for person, text in commitments.items():
        await run(person, "commit add", text=text)

    reported: set[tuple[str, int]] = set()
    nudged: set[tuple[str, int]] = set()
    checkins = 0
    ended: set[datetime] = set()
    second_cycle_added = False
    meeting_ends = [start + timedelta(hours=2) for start in (FIRST_MEETING, SECOND_MEETING)]
    while await step_to_next_send(app, clock, sim, END, meeting_ends):
        log.collect()
        now = clock.now()
        # Each member answers their report-back DM the first time they see it: Sia "partly", the others "done".
        for person in people:
            for dm in reportback_dms(sim, person):
                if (person.name, dm.id) in reported:
                    continue
                reported.add((person.name, dm.id))
                first = next(label for label in buttons(dm) if label.startswith("#"))
                number = first.split()[0]
                answer = "Partly" if person is sia else "Done"
                log.reply(person, await sim.click(person.member, dm, label=f"{number} {answer}"))
        # Fran and Ned check in when a check-in nudge reaches them.
        for person in (fran, ned):
            nudges = [m for m in sim.dms(person.member) if "Check in" in buttons(m)]
            fresh = [m for m in nudges if (person.name, m.id) not in nudged]
            if not fresh:
                continue
            nudged.update((person.name, m.id) for m in fresh)
            form = await sim.command(person.member, channel, "checkin")
            if form.modal is not None:
                fields: dict[str, object] = {
                    c["custom_id"]: ["group"] if c.get("type") == 3 else "Priced by value, not hours."
                    for c in form.modal.inputs
                }
                log.reply(person, await sim.submit_modal(person.member, form, fields))
                checkins += 1
        # The facilitator ends each meeting after two hours; then everyone commits for the next cycle.
        for start in (FIRST_MEETING, SECOND_MEETING):
            if start not in ended and now >= start + timedelta(hours=2):
                ended.add(start)
                await run(fran, "meeting end")
                if start == FIRST_MEETING and not second_cycle_added:
                    second_cycle_added = True
                    for person, text in commitments.items():
                        await run(person, "commit add", text=f"Follow up: {text.lower()}")
    log.collect()
    log.write(ARTIFACTS / "month-transcript.md")

    # What the month must get right.
    for person in people:
        reportbacks = reportback_dms(sim, person)
        assert len(reportbacks) == 2, f"{person.name} got {len(reportbacks)} report-back DMs, not one per meeting"
    # Sia's "partly" each cycle is offered for carry-over once per meeting; the others finished.
    assert len(dms_with(sim, sia, "#", " Carry over")) == 2
    assert dms_with(sim, fran, "#", " Carry over") == dms_with(sim, ned, "#", " Carry over") == []
    boards = [m for m in sim.messages(channel) if "report-back" in message_text(m).lower()]
    assert boards, "the report-back board was never posted"
    assert ended == {FIRST_MEETING, SECOND_MEETING}
    assert checkins == 4, "Fran and Ned each check in once a cycle, when nudged"
    assert all(person.seen for person in people)
    # Every DM reached its member inside her waking window, in her own zone — except one that
    # answers what she did that minute (the welcome after her /group join).
    for person in people:
        dms = sim.dms(person.member)
        assert dms, f"{person.name} got no DM"
        for dm in dms:
            sent = snowflake_time(dm.id)
            if any(timedelta(0) <= sent - at < timedelta(minutes=1) for at in acted.get(person.name, [])):
                continue
            assert inside(sent, person.zone, person.window.start, person.window.end), (
                f"{person.name} got a DM at {person.local(sent)} ({person.zone.key}), outside "
                f"{person.window.label()}: {message_text(dm)[:80]!r}"
            )
    # Sia's report-back comes the evening before (Sun 21:00 Sydney), not at 05:00 on the Monday.
    assert [person_local(sia, m) for m in reportback_dms(sim, sia)] == ["Sun 29 Nov 2026 21:00", "Sun 03 Jan 2027 21:00"]
    assert [person_local(ned, m) for m in reportback_dms(sim, ned)] == [
        "Sun 29 Nov 2026 12:00", "Sun 03 Jan 2027 12:00"
    ]


def person_local(person: Person, message: Message) -> str:
    return person.local(snowflake_time(message.id))


async def test_the_facilitator_sees_a_meeting_and_its_move_in_each_members_zone(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    fran = sim.member(guild, "Fran", manage_guild=True)
    sia, ned, ana = sim.member(guild, "Sia"), sim.member(guild, "Ned"), sim.member(guild, "Ana")
    await sim.command(fran, channel, "server setup", timezone="Europe/London")
    await sim.command(fran, channel, "group create", name="Founders Circle")
    for member in (sia, ned, ana):
        await sim.command(member, channel, "group join", group="Founders Circle")
    await sim.command(sia, channel, "timezone set", tz="Australia/Sydney")
    await sim.command(ned, channel, "timezone set", tz="America/New_York")

    # In the group's channel the meeting is posted for all; the members' zones go to the facilitator alone.
    scheduled = await sim.command(fran, channel, "meeting schedule", when="2026-12-01 18:00")
    public, private = scheduled.messages
    assert not public.ephemeral and "Australia/Sydney" not in message_text(public)
    assert private.ephemeral
    lines = {line.split(":")[0]: line for line in private.content.splitlines() if line.startswith("• <@")}
    assert set(lines) == {f"• <@{sia.id}>", f"• <@{ned.id}>"}  # Ana set no zone
    assert "Wed 02 Dec 05:00 (Australia/Sydney) ⚠️ outside 07:00–22:00" in lines[f"• <@{sia.id}>"]
    assert "Tue 01 Dec 13:00 (America/New_York)" in lines[f"• <@{ned.id}>"]
    assert "outside" not in lines[f"• <@{ned.id}>"]

    # Moved to the London morning: now New York is asleep and Sydney isn't.
    choices = await sim.autocomplete(fran, channel, "meeting move", option="meeting", value="")
    moved = await sim.command(fran, channel, "meeting move", meeting=choices[0]["value"], when="2026-12-01 09:00")
    assert moved.ephemeral
    lines = {line.split(":")[0]: line for line in moved.content.splitlines() if line.startswith("• <@")}
    assert "Tue 01 Dec 20:00 (Australia/Sydney)" in lines[f"• <@{sia.id}>"]
    assert "outside" not in lines[f"• <@{sia.id}>"]
    assert "Tue 01 Dec 04:00 (America/New_York) ⚠️ outside 07:00–22:00" in lines[f"• <@{ned.id}>"]
