"""The restart-safe pages of the kit (``bot.ui.pages.PageButton``): ``/admin outbox`` turns its pages
in place, by buttons that still work after the bot restarted (the digest's: tests/e2e/test_modules.py)."""

from __future__ import annotations

from tests.e2e.conftest import Harness
from tests.e2e.seeding import buttons, seed_group
from tests.sim import Channel, Guild, Sim


async def test_admin_outbox_pages_turn_in_place_after_a_restart(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    assert harness.app is not None
    members = [sim.member(guild, f"Member {n}") for n in range(8)]
    fac = members[0]
    await seed_group(harness.app, guild, channel, members, facilitators=(fac,))  # 8 members: DMs for each

    listing = await sim.command(fac, channel, "admin outbox")
    assert listing.ephemeral and listing.embed["footer"]["text"].startswith("Page 1/")
    pages = int(listing.embed["footer"]["text"].split("/")[1].split(" ")[0])
    assert pages >= 2
    assert buttons(listing.message) == ["Previous", "Next"]  # type: ignore[arg-type]
    first = listing.embed["description"]

    await harness.restart()  # the buttons carry the group, the list and the page
    turned = await sim.click(fac, listing, label="Next")
    assert turned.embed["footer"]["text"].startswith(f"Page 2/{pages} ")
    assert turned.embed["description"] != first and turned.message.id == listing.message.id  # edited in place
    back = await sim.click(fac, turned, label="Previous")
    assert back.embed["footer"]["text"].startswith(f"Page 1/{pages} ") and back.embed["description"] == first
