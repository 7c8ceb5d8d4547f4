"""Accountability buddies: ask, accept or decline, unpair — on both databases."""

from __future__ import annotations

import pytest

from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services import Services
from tests.unit.test_groups import ADMIN, ALICE, BOB, CAROL, DAVE, actor, make_group


async def _group(services: Services) -> int:
    gid = await make_group(services)
    for user in (ALICE, BOB, CAROL):
        await services.groups.join(actor(user), group_id=gid)
    return gid


async def test_pair_accept_and_unpair(services: Services) -> None:
    gid = await _group(services)
    request = await services.groups.buddy_request(actor(ALICE), partner_id=BOB)
    assert request.status == "pending" and await services.groups.buddy_of(gid, ALICE) is None
    with pytest.raises(NotAllowed):
        await services.groups.buddy_respond(user_id=ALICE, pair_id=request.pair_id, accept=True)
    with pytest.raises(NotFound):
        await services.groups.buddy_respond(user_id=CAROL, pair_id=request.pair_id, accept=True)
    accepted = await services.groups.buddy_respond(user_id=BOB, pair_id=request.pair_id, accept=True)
    assert accepted.status == "active"
    assert await services.groups.buddy_of(gid, ALICE) == BOB and await services.groups.buddy_of(gid, BOB) == ALICE
    with pytest.raises(Conflict, match="already answered"):
        await services.groups.buddy_respond(user_id=BOB, pair_id=request.pair_id, accept=False)
    with pytest.raises(Conflict, match="already has a buddy"):
        await services.groups.buddy_request(actor(CAROL), partner_id=BOB)
    await services.groups.buddy_unpair(actor(BOB))
    assert await services.groups.buddy_of(gid, ALICE) is None
    with pytest.raises(NotFound):
        await services.groups.buddy_unpair(actor(ALICE))


async def test_decline_leaves_both_free(services: Services) -> None:
    gid = await _group(services)
    request = await services.groups.buddy_request(actor(ALICE), partner_id=BOB)
    with pytest.raises(Conflict, match="waiting"):
        await services.groups.buddy_request(actor(BOB), partner_id=ALICE)
    declined = await services.groups.buddy_respond(user_id=BOB, pair_id=request.pair_id, accept=False)
    assert declined.status == "declined" and await services.groups.buddy_of(gid, BOB) is None
    again = await services.groups.buddy_request(actor(ALICE), partner_id=BOB)
    assert again.pair_id != request.pair_id


@pytest.mark.parametrize(("partner", "error"), [(ALICE, InvalidInput), (DAVE, NotFound)])
async def test_yourself_or_a_non_member_is_refused(services: Services, partner: int, error) -> None:
    await _group(services)
    with pytest.raises(error):
        await services.groups.buddy_request(actor(ALICE), partner_id=partner)


async def test_leaving_the_group_ends_the_pair(services: Services) -> None:
    gid = await _group(services)
    request = await services.groups.buddy_request(actor(ALICE), partner_id=BOB)
    await services.groups.buddy_respond(user_id=BOB, pair_id=request.pair_id, accept=True)
    await services.groups.leave(actor(BOB))
    assert await services.groups.buddy_of(gid, ALICE) is None
    await services.groups.remove_member(actor(ADMIN, manager=True), member_id=CAROL, group_id=gid)
    assert [m.user_id for m in await services.groups.group_members(gid)] == [ADMIN, ALICE]
