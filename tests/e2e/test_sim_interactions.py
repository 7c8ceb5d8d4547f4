"""The simulator proves itself: slash commands, deferrals, buttons, modals and autocomplete."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.e2e.conftest import Harness
from tests.sim import Channel, Guild, Sim, UsageError


@pytest.fixture
def extensions() -> Sequence[str]:
    return ["tests.e2e.probe_cog"]


async def test_a_command_gets_a_private_reply(sim: Sim, guild: Guild, channel: Channel, harness: Harness) -> None:
    alice = sim.member(guild, "Alice")
    reply = await sim.command(alice, channel, "probe echo", text="hello", times=2)  # (inside Discord's 3 s)

    assert reply.content == "echo: hello echo: hello"
    assert reply.ephemeral
    assert sim.messages(channel) == []  # nobody else sees it


async def test_options_are_typed_from_the_registered_schema(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")
    with pytest.raises(UsageError, match="expected a number"):
        await sim.command(alice, channel, "probe echo", text="x", times="2")
    with pytest.raises(UsageError, match="required"):
        await sim.command(alice, channel, "probe echo")
    with pytest.raises(UsageError, match="outside 1–100"):
        await sim.command(alice, channel, "probe echo", text="x" * 101)
    with pytest.raises(UsageError, match="no sub-command"):
        await sim.command(alice, channel, "probe nope")


async def test_a_command_that_needs_manage_server_is_hidden_from_other_members(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    member = sim.member(guild, "Member")
    admin = sim.member(guild, "Admin", manage_guild=True)

    with pytest.raises(UsageError, match="hidden"):
        await sim.command(member, channel, "server setup", timezone="Europe/London")
    reply = await sim.command(admin, channel, "server setup", timezone="Europe/London")

    assert "Europe/London" in reply.content


async def test_a_deferred_reply_is_followed_up(sim: Sim, guild: Guild, channel: Channel, harness: Harness) -> None:
    alice = sim.member(guild, "Alice")

    reply = await sim.command(alice, channel, "probe slow")

    assert reply.interaction.response_type == 5
    assert [m.content for m in reply.messages] == ["Slow work done.", "And a second follow-up."]
    assert not reply.messages[0].ephemeral and reply.messages[1].ephemeral
    # The first follow-up replaced the "thinking…" message; it is public in the channel.
    assert [m.content for m in sim.messages(channel)] == ["Slow work done."]


async def test_a_button_opens_a_modal_whose_submission_is_answered(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")

    prompt = await sim.command(alice, channel, "probe form")
    opened = await sim.click(alice, prompt, label="Open form")
    assert opened.modal is not None and opened.modal.title == "Probe form"
    with pytest.raises(UsageError, match="required"):
        await sim.submit_modal(alice, opened, {})
    submitted = await sim.submit_modal(alice, opened, {"Note": "bring the numbers"})

    assert prompt.ephemeral
    assert submitted.content == "Noted: bring the numbers"
    assert submitted.ephemeral


async def test_autocomplete_offers_matching_choices(sim: Sim, guild: Guild, channel: Channel, harness: Harness) -> None:
    alice = sim.member(guild, "Alice")

    choices = await sim.autocomplete(alice, channel, "probe pick", option="fruit", value="ap")
    reply = await sim.command(alice, channel, "probe pick", fruit=choices[1]["value"])

    assert choices == [{"name": "Apple", "value": "apple"}, {"name": "Apricot", "value": "apricot"}]
    assert reply.content == "Picked apricot."


async def test_a_private_channel_is_hidden_from_non_members(
    sim: Sim, guild: Guild, harness: Harness
) -> None:
    alice, bob = sim.member(guild, "Alice"), sim.member(guild, "Bob")
    secret = sim.channel(guild, "facilitators", private=True, members=[alice])
    await sim.settle()

    with pytest.raises(UsageError, match="cannot see"):
        await sim.command(bob, secret, "probe echo", text="x")
    reply = await sim.command(alice, secret, "probe echo", text="x")

    assert reply.content == "echo: x"
    assert sim.messages(secret, as_member=bob) == []
