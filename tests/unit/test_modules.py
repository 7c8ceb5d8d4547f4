"""ModuleService on SQLite and PostgreSQL: each group's own curriculum, import/export, the current
module and its advance at a meeting, check-ins and their cycles, progress, and what the prompt,
nudge and digest renderers read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.curriculum import CurriculumError, parse_yaml
from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound
from bot.models import CheckIn, Group, Meeting, Module
from bot.services import Services
from bot.services.base import Actor
from bot.services.modules import advance_module
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

OTHER_CHANNEL = 2_000_000_000_000_000_002
ANA, BOB, CAT, FAC, OUTSIDER = (4_000_000_000_000_000_000 + n for n in range(1, 6))


def actor(user_id: int, *, channel_id: int | None = CHANNEL) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=channel_id)


MARKDOWN = b"""## 1. Pricing
Charge what you're worth.

### Activities
- Cost your time.

### Resources
- [Pricing strategies](https://en.wikipedia.org/wiki/Pricing_strategies) (read)

## 2. Sales
Follow up.
"""


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    return await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[FAC, ANA, BOB],
                            facilitators=(FAC,))


async def module_count(sessions: async_sessionmaker[AsyncSession], group_id: int) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(Module).where(Module.group_id == group_id)) or 0


async def end_meeting(sessions: async_sessionmaker[AsyncSession], meeting_id: int, clock: ManualClock) -> None:
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        group = await session.get(Group, meeting.group_id)
        meeting.status = "ended"
        await advance_module(session, group, meeting, clock.now())


async def test_each_group_gets_its_own_copy_of_the_default_year(services: Services, sessions, clock, group_id) -> None:
    other = await make_group(sessions, clock, name="Bakers", channel_id=OTHER_CHANNEL, members=[CAT], facilitators=(CAT,))
    assert await module_count(sessions, group_id) == 0
    current = await services.modules.current(actor(ANA))
    assert (current.module.number, current.module.title, current.total) == (1, "Vision and goals", 12)
    assert current.next_meeting_at is None
    assert await module_count(sessions, group_id) == 12

    result = await services.modules.import_curriculum(actor(FAC), data=MARKDOWN, filename="year.md")
    assert (result.total, result.current_number) == (2, 1)
    mine = await services.modules.list_modules(actor(ANA))
    theirs = await services.modules.list_modules(actor(CAT, channel_id=OTHER_CHANNEL))
    assert [m.title for m in mine.modules] == ["Pricing", "Sales"]
    assert len(theirs.modules) == 12 and theirs.modules[0].title == "Vision and goals"
    assert await module_count(sessions, other) == 12


async def test_import_append_numbers_after_the_last_module(services: Services, group_id) -> None:
    result = await services.modules.import_curriculum(actor(FAC), data=MARKDOWN, filename="extra.md", mode="append")
    assert [m.number for m in result.imported] == [13, 14]
    listed = await services.modules.list_modules(actor(ANA))
    assert [m.number for m in listed.modules][-3:] == [12, 13, 14]
    assert listed.modules[-2].title == "Pricing"
    with pytest.raises(LimitReached):
        big = "".join(f"## {n}. M{n}\nS.\n" for n in range(1, 12)).encode()
        await services.modules.import_curriculum(actor(FAC), data=big, filename="big.md", mode="append")
    assert len((await services.modules.list_modules(actor(ANA))).modules) == 14


async def test_bad_imports_store_nothing(services: Services, sessions, group_id) -> None:
    await services.modules.list_modules(actor(ANA))  # the default copy exists
    broken = MARKDOWN.replace(b"https://en.wikipedia.org/wiki/Pricing_strategies", b"nope")
    with pytest.raises(CurriculumError, match="line 8"):
        await services.modules.import_curriculum(actor(FAC), data=broken, filename="year.md")
    with pytest.raises(InvalidInput, match="YAML"):
        await services.modules.import_curriculum(actor(FAC), data=MARKDOWN, filename="year.pdf")
    with pytest.raises(NotAllowed):
        await services.modules.import_curriculum(actor(ANA), data=MARKDOWN, filename="year.md")
    listed = await services.modules.list_modules(actor(ANA))
    assert len(listed.modules) == 12 and listed.modules[0].title == "Vision and goals"


async def test_export_round_trips(services: Services, group_id) -> None:
    await services.modules.import_curriculum(actor(FAC), data=MARKDOWN, filename="year.md")
    exported = await services.modules.export(actor(ANA))
    assert exported.filename == "makers-curriculum.yaml"
    assert [m.title for m in parse_yaml(exported.text).modules] == ["Pricing", "Sales"]
    result = await services.modules.import_curriculum(actor(FAC), data=exported.text.encode(), filename="x.yaml")
    assert result.total == 2


async def test_set_current_and_replace_keeps_a_valid_current(services: Services, group_id) -> None:
    current = await services.modules.set_current(actor(FAC), number=5)
    assert current.module.title.startswith("Marketing")
    with pytest.raises(NotFound, match="no module 13"):
        await services.modules.set_current(actor(FAC), number=13)
    with pytest.raises(NotAllowed):
        await services.modules.set_current(actor(ANA), number=2)
    # Module 5 is gone after a two-module import: the group starts again at the first.
    result = await services.modules.import_curriculum(actor(FAC), data=MARKDOWN, filename="year.md")
    assert result.current_number == 1


async def test_outsiders_see_nothing(services: Services, sessions, clock, group_id) -> None:
    with pytest.raises(NotFound):
        await services.modules.current(actor(OUTSIDER, channel_id=None))
    with pytest.raises(NotFound):
        await services.modules.current(actor(OUTSIDER, channel_id=None), group_id=group_id)
    with pytest.raises(NotFound):
        await services.modules.checkin_form_for(group_id=group_id, user_id=OUTSIDER)
    with pytest.raises(NotFound):
        await services.modules.save_checkin(group_id=group_id, user_id=OUTSIDER, learning="x")


async def test_module_advances_at_each_meeting_and_wraps(services: Services, sessions, clock, group_id) -> None:
    first = await add_meeting(sessions, group_id, clock.now() + timedelta(days=10))
    await services.modules.set_current(actor(FAC), number=11)
    clock.advance(days=10, hours=3)
    await end_meeting(sessions, first, clock)
    assert (await services.modules.current(actor(ANA))).module.number == 12
    second = await add_meeting(sessions, group_id, clock.now() + timedelta(days=30))
    clock.advance(days=30, hours=3)
    await end_meeting(sessions, second, clock)
    assert (await services.modules.current(actor(ANA))).module.number == 1


async def test_checkin_belongs_to_the_next_meetings_cycle(services: Services, sessions, clock, group_id) -> None:
    meeting = await add_meeting(sessions, group_id, clock.now() + timedelta(days=20))
    form = await services.modules.checkin_form(actor(ANA))
    assert (form.cycle_key, form.existing, form.module.number) == (f"meeting:{meeting}", None, 1)

    saved = await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning="  Goals need dates. ")
    assert saved.created and saved.entry.learning == "Goals need dates." and saved.entry.consumed is None
    clock.advance(days=1)
    again = await services.modules.save_checkin(
        group_id=group_id, user_id=ANA, consumed="The SBA guide", visibility="facilitator"
    )
    assert not again.created and again.entry.id == saved.entry.id
    assert again.entry.learning is None and again.entry.visibility == "facilitator"
    form = await services.modules.checkin_form_for(group_id=group_id, user_id=ANA)
    assert form.existing is not None and form.existing.consumed == "The SBA guide"

    async with sessions.begin() as session:
        row = await session.scalar(select(CheckIn))
        assert (row.cycle_key, row.meeting_id, row.module_title) == (f"meeting:{meeting}", meeting, "Vision and goals")

    # During the meeting, nobody checks in; after it, a new cycle starts with the next module.
    clock.advance(days=19, minutes=5)
    with pytest.raises(InvalidInput, match="under way"):
        await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning="late")
    await end_meeting(sessions, meeting, clock)
    nxt = await add_meeting(sessions, group_id, clock.now() + timedelta(days=28))
    form = await services.modules.checkin_form(actor(ANA))
    assert (form.cycle_key, form.existing, form.module.number) == (f"meeting:{nxt}", None, 2)


async def test_open_checkin_joins_the_meeting_when_one_is_scheduled(services: Services, sessions, clock, group_id) -> None:
    saved = await services.modules.save_checkin(group_id=group_id, user_id=BOB, activities="Wrote my vision")
    meeting = await add_meeting(sessions, group_id, clock.now() + timedelta(days=5))
    nudge = await services.modules.nudge(group_id=group_id, meeting_id=meeting, user_id=BOB)
    assert nudge is not None and nudge.checked_in
    updated = await services.modules.save_checkin(group_id=group_id, user_id=BOB, activities="Wrote it twice")
    assert updated.entry.id == saved.entry.id
    async with sessions.begin() as session:
        assert (await session.scalar(select(CheckIn.cycle_key))) == f"meeting:{meeting}"


async def test_empty_and_overlong_checkins_are_refused(services: Services, sessions, group_id) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning="   ")
    with pytest.raises(InvalidInput, match="1000"):
        await services.modules.save_checkin(group_id=group_id, user_id=ANA, application="x" * 1001)
    async with sessions.begin() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0


async def test_nudge_progress_and_digest(services: Services, sessions, clock, group_id) -> None:
    meeting = await add_meeting(sessions, group_id, clock.now() + timedelta(days=20))
    await services.modules.save_checkin(group_id=group_id, user_id=ANA, learning="Ana learned", visibility="group")
    await services.modules.save_checkin(group_id=group_id, user_id=FAC, learning="Private", visibility="facilitator")

    nudges = {user: await services.modules.nudge(group_id=group_id, meeting_id=meeting, user_id=user)
              for user in (FAC, ANA, BOB)}
    assert {user: n.checked_in for user, n in nudges.items()} == {FAC: True, ANA: True, BOB: False}
    assert await services.modules.nudge(group_id=group_id, meeting_id=meeting, user_id=OUTSIDER) is None

    seen_by_bob = await services.modules.progress(actor(BOB))
    assert [(m.user_id, m.checked_in) for m in seen_by_bob.members] == [(FAC, True), (ANA, True), (BOB, False)]
    assert [e.learning for e in seen_by_bob.visible] == ["Ana learned"]
    seen_by_fac = await services.modules.progress(actor(FAC))
    assert [e.learning for e in seen_by_fac.visible] == ["Ana learned", "Private"]
    assert seen_by_fac.members[1].modules_checked_in == [1]

    digest = await services.modules.digest(group_id=group_id, meeting_id=meeting)
    assert [e.learning for e in digest.shared] == ["Ana learned"]
    assert (digest.private_count, digest.module_number, digest.module_title) == (1, 1, "Vision and goals")

    prompt = await services.modules.prompt(group_id=group_id, meeting_id=meeting)
    assert prompt.module.number == 1 and prompt.meeting_at == clock.now() + timedelta(days=20)


async def test_group_info_line_names_the_current_module(services: Services, sessions, group_id) -> None:
    from bot.services.modules import current_module_title

    async with sessions.begin() as session:
        group = await session.get(Group, group_id)
        assert await current_module_title(session, group) == "1. Vision and goals"
    assert await module_count(sessions, group_id) == 0  # reading it copies nothing
    await services.modules.set_current(actor(FAC), number=3)
    async with sessions.begin() as session:
        assert await current_module_title(session, await session.get(Group, group_id)) == "3. Money and cash flow"
