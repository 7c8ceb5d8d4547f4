"""``/help`` and the getting-started message when the bot joins a server, as members see them."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, seed_group
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Perm, User


def _fields(shown: object) -> dict[str, str]:
    return {f["name"]: f["value"] for f in shown.embed["fields"]}  # type: ignore[attr-defined]


def _next(shown: object) -> str:
    description: str = shown.embed["description"]  # type: ignore[attr-defined]
    first = description.split("\n", 1)[0]
    assert first.startswith("**Next:** ")
    return first


async def test_help_for_a_newcomer_a_member_and_an_admin(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana = sim.member(guild, "Ana")
    shown = await sim.command(ana, channel, "help")
    assert shown.ephemeral
    assert sim.messages(channel) == []  # private: nothing in the channel
    fields = _fields(shown)
    assert list(fields) == [
        "Start a group", "Before the meeting", "At the meeting", "After the meeting", "You and your groups",
    ]
    assert "/group join" in _next(shown)
    assert "/server setup" in fields["Start a group"] and "/group create" in fields["Start a group"]
    # Every command a member uses in a cycle, by its moment.
    for command in ("/commit report", "/module current", "/checkin", "/meeting next"):
        assert command in fields["Before the meeting"]
    for command in ("/brainstorm idea", "/brainstorm close", "/commit add", "/win"):
        assert command in fields["At the meeting"]
    for command in ("/commit done", "/commit stats", "/module progress"):
        assert command in fields["After the meeting"]

    admin = sim.member(guild, "Admin", manage_guild=True)
    shown = await sim.command(admin, channel, "help")
    fields = _fields(shown)
    assert "Facilitators" in fields and "/meeting end" in fields["Facilitators"]
    assert "/admin outbox" in fields["Server admins (Manage Server)"]
    assert "/group create" in _next(shown)


async def test_help_says_what_next_from_the_members_place_in_the_cycle(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana, fac = sim.member(guild, "Ana"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, fac, sim.member(guild, "Bea")], facilitators=(fac,))  # not a pair

    shown = await sim.command(ana, channel, "help")
    assert "Start a group" not in _fields(shown) and "Facilitators" not in _fields(shown)
    assert "/timezone set" in _next(shown)
    assert "Facilitators" in _fields(await sim.command(fac, channel, "help"))

    await sim.command(ana, channel, "timezone set", tz="Australia/Sydney")
    shown = await sim.command(ana, channel, "help")
    assert "coming to the next meeting" in _next(shown) and "/meeting next" in _next(shown)
    assert f"<t:{int(MEETING_AT.timestamp())}:F>" in _next(shown)

    await sim.click(ana, await sim.command(ana, channel, "meeting next"), label="Going")
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    assert "all set" in _next(await sim.command(ana, channel, "help"))

    # Inside the check-in window (3 days before), then the report-back window (2 days before).
    await sim.advance(MEETING_AT - app.clock.now() - timedelta(hours=60))
    assert "/checkin" in _next(await sim.command(ana, channel, "help"))
    await sim.advance(hours=13)
    shown = await sim.command(ana, channel, "help")
    assert "Report back on your 1 commitment " in _next(shown) and "/commit report" in _next(shown)
    await sim.command(ana, channel, "commit report", commitment="#1", status="done")
    assert "/checkin" in _next(await sim.command(ana, channel, "help"))


def _owner(sim: Sim, guild: Guild) -> User:
    return sim.world.users[guild.owner_id]


async def _join(sim: Sim, name: str, *, system_channel: bool, dms_open: bool = True, can_post: bool = True) -> Guild:
    """The bot is added to a new server: GUILD_CREATE as Discord sends it for a join.

    Workaround for the simulator: ``sim.guild`` after READY sends ``"unavailable": false``, which
    discord.py reads as an outage ending (``on_guild_available``), not a join; and its payload has
    no system channel. So the same payload is sent again without ``unavailable`` (a join, as on
    Discord) and, if asked, with ``#general`` as the system channel.
    """
    guild = sim.guild(name)
    await sim.settle()
    general = sim.text_channel(guild, "general")
    if not dms_open:
        sim.close_dms(_owner(sim, guild))
    if not can_post:
        sim.revoke_permissions(general, Perm.SEND_MESSAGES)
        await sim.settle()
    payload = sim.gateway.guild_create_payload(guild)
    del payload["unavailable"]
    if system_channel:
        payload["system_channel_id"] = str(general.id)
    sim.gateway.dispatch("GUILD_CREATE", payload)
    await sim.settle()
    return guild


async def test_joining_a_server_posts_in_its_system_channel_once(sim: Sim, harness: Harness, app: App) -> None:
    joined = await _join(sim, "New Server", system_channel=True)
    posted = sim.messages(sim.text_channel(joined, "general"))
    assert len(posted) == 1
    assert "Thanks for adding Roundtable" in posted[0].content and "/server setup" in posted[0].content
    assert "/help" in posted[0].content
    assert posted[0].allowed_mentions is not None and not posted[0].allowed_mentions.get("parse")
    assert sim.dms(_owner(sim, joined)) == []

    # A restart (every guild arrives again in GUILD_CREATE) doesn't welcome anyone twice.
    await harness.restart()
    assert len(sim.messages(sim.text_channel(joined, "general"))) == 1


async def test_without_a_system_channel_the_owner_gets_a_dm(sim: Sim, app: App) -> None:
    joined = await _join(sim, "New Server", system_channel=False)
    dms = sim.dms(_owner(sim, joined))
    assert len(dms) == 1 and "Thanks for adding Roundtable" in dms[0].content
    assert sim.messages(sim.text_channel(joined, "general")) == []


async def test_a_system_channel_the_bot_may_not_post_in_falls_back_to_the_owner(sim: Sim, app: App) -> None:
    joined = await _join(sim, "Locked Server", system_channel=True, can_post=False)
    assert sim.messages(sim.text_channel(joined, "general")) == []
    assert "Thanks for adding Roundtable" in sim.dms(_owner(sim, joined))[0].content


async def test_an_owner_with_closed_dms_gets_nothing_and_the_bot_carries_on(sim: Sim, app: App) -> None:
    joined = await _join(sim, "Quiet Server", system_channel=False, dms_open=False)
    owner = _owner(sim, joined)
    assert sim.dms(owner) == []
    assert any(r.status == 403 and r.template == "/channels/{channel_id}/messages" for r in sim.requests)
    general = sim.text_channel(joined, "general")
    fran = sim.member(joined, "Fran")
    assert (await sim.command(fran, general, "help")).ephemeral


async def test_a_facilitators_first_run_checklist_ticks_itself_off(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    from tests.e2e.test_groups import create, run

    fac, ana = sim.member(guild, "Fac", manage_guild=True), sim.member(guild, "Ana")
    created = await create(sim, fac, channel, "Makers", timezone="Europe/London")
    announced, checklist = created.messages
    assert not announced.ephemeral and "Makers" in announced.content
    assert checklist.ephemeral and "Setting up Makers" in checklist.content
    assert "✅ Group created" in checklist.content and "⬜ Set the monthly meeting" in checklist.content
    assert "⬜ Invite members" in checklist.content

    def field(shown: object) -> str:
        return _fields(shown).get("Setting up Makers", "")

    assert "⬜ Set the monthly meeting" in field(await sim.command(fac, channel, "help"))
    await run(sim, fac, channel, "meeting recurring", rule="first tuesday", time="18:00")
    shown = field(await sim.command(fac, channel, "help"))
    assert "✅ Set the monthly meeting" in shown and "⬜ Invite members" in shown
    await run(sim, ana, channel, "group join", group="Makers")
    assert "Setting up Makers" not in _fields(await sim.command(fac, channel, "help"))  # done: gone
    assert "Setting up Makers" not in _fields(await sim.command(ana, channel, "help"))  # never a member's


async def test_in_a_pair_both_members_see_the_facilitators_commands(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])  # a pair: no facilitator needed
    for member in (ana, bob):
        fields = _fields(await sim.command(member, channel, "help"))
        assert "Facilitators" in fields and "/meeting end" in fields["Facilitators"]
    # A third member: the pair's longest-standing member facilitates, the others are members again.
    cat = sim.member(guild, "Cat")
    await sim.command(cat, channel, "group join", group="Makers")
    assert "Facilitators" in _fields(await sim.command(ana, channel, "help"))
    for member in (bob, cat):
        assert "Facilitators" not in _fields(await sim.command(member, channel, "help"))
