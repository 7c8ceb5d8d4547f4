"""Private by default, end to end: the channel-visibility warning, what a server admin outside the
group sees, and report-back notes shown on the board only when their member chooses."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Member, Message, Overwrite, Perm

WARNING = "can be read by"


def warnings(sim: Sim, member: Member) -> list[Message]:
    return [m for m in sim.dms(member) if WARNING in m.content]


async def test_create_in_a_public_channel_warns_the_facilitator_privately(sim: Sim, guild: Guild, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    public = sim.channel(guild, "makers")
    created = await sim.command(admin, public, "group create", name="Makers")
    [announcement, *private] = created.messages
    assert not announcement.ephemeral and WARNING not in announcement.content
    [warning] = [m for m in private if WARNING in m.content]
    assert warning.ephemeral  # only the facilitator sees it
    assert "@everyone" in warning.content and "View Channel" in warning.content
    assert not any(WARNING in m.content for m in sim.messages(public))


async def test_create_in_a_private_channel_does_not_warn(sim: Sim, guild: Guild, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    private = sim.channel(guild, "makers", private=True, members=[admin])
    created = await sim.command(admin, private, "group create", name="Makers")
    assert created.messages and WARNING not in created.text
    assert warnings(sim, admin) == []


async def test_opening_the_channel_up_warns_the_facilitators_once(sim: Sim, guild: Guild, app: App) -> None:
    fran, ana, bob = sim.member(guild, "Fran"), sim.member(guild, "Ana"), sim.member(guild, "Bob")
    private = sim.channel(guild, "makers", private=True, members=[fran, ana, bob])
    await seed_group(app, guild, private, [fran, ana, bob], facilitators=(fran,), meeting=False)

    # Someone lets @everyone in: the facilitator (not the members) is told, by DM.
    private.overwrites[:] = [o for o in private.overwrites if o.id != guild.id]
    sim.gateway.dispatch("CHANNEL_UPDATE", private.payload())
    await sim.settle()
    [warning] = warnings(sim, fran)
    assert f"<#{private.id}>" in warning.content and "**Makers**" in warning.content
    assert "Channel settings → Permissions → @everyone" in warning.content
    assert warnings(sim, ana) == [] and warnings(sim, bob) == []
    assert not any(WARNING in m.content for m in sim.messages(private))

    # A later change that leaves it as open (a rename) doesn't repeat it.
    private.name = "makers-2026"
    sim.gateway.dispatch("CHANNEL_UPDATE", private.payload())
    await sim.settle()
    assert len(warnings(sim, fran)) == 1

    # Closed again, nothing to say; opened again, one more warning.
    private.overwrites.append(Overwrite(id=guild.id, type=0, deny=Perm.VIEW_CHANNEL))
    sim.gateway.dispatch("CHANNEL_UPDATE", private.payload())
    await sim.settle()
    assert len(warnings(sim, fran)) == 1
    private.overwrites[:] = [o for o in private.overwrites if o.id != guild.id]
    sim.gateway.dispatch("CHANNEL_UPDATE", private.payload())
    await sim.settle()
    assert len(warnings(sim, fran)) == 2


async def test_a_server_admin_outside_the_group_sees_no_members_data(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    fran, ana = sim.member(guild, "Fran"), sim.member(guild, "Ana")
    await seed_group(app, guild, channel, [fran, ana], facilitators=(fran,))
    await sim.command(ana, channel, "commit add", text="Raise prices by 40%")

    info = await sim.command(admin, channel, "group info")
    assert info.ephemeral
    fields = {f["name"]: f["value"] for f in info.embed["fields"]}
    assert fields["Channel"] == f"<#{channel.id}>" and fields["Size"].startswith("2 of")
    assert fields["Facilitators"] == f"<@{fran.id}>"
    assert str(ana.id) not in info.text and "Open commitments" not in fields and "Next meeting" not in fields

    listed = await sim.command(admin, channel, "commit list")
    assert listed.ephemeral and "stays in the group" in listed.content and "Raise prices" not in listed.text

    # A member sees the whole group.
    member_view = await sim.command(ana, channel, "group info")
    assert f"<@{ana.id}>" in member_view.text and "Open commitments" in member_view.text


async def test_a_note_reaches_the_board_only_when_shown(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.command(bob, channel, "commit add", text="Call the bank")
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())

    def reportback(member: Member) -> Message:
        [dm] = [m for m in sim.dms(member) if any(label.startswith("#") for label in buttons(m))]
        return dm

    for member, number, note in ((ana, 1, "Revenue fell to 3k"), (bob, 2, "Bank called back")):
        opened = await sim.click(member, reportback(member), label=f"#{number} Add a note")
        await sim.submit_modal(member, opened, {"How did it go?": note})
        assert "only you can see this note" in reportback(member).embeds[0]["description"]
    # Bob shows his on the board; Ana keeps hers.
    await sim.click(bob, reportback(bob), label="#2 Show note on the board")
    assert "#2 Keep note private" in buttons(reportback(bob))
    assert "on the board" in reportback(bob).embeds[0]["description"]
    assert "#1 Show note on the board" in buttons(reportback(ana))

    await sim.advance(MEETING_AT - app.clock.now())
    board = sim.last_message(channel).text
    assert "Call the bank" in board and "Bank called back" in board
    assert "Send 10 invoices" in board and "Revenue fell to 3k" not in board
