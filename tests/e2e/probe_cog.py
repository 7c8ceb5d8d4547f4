"""A test-only extension loaded into the real bot to prove the simulator (``tests/e2e/test_sim_*.py``).

Each ``/probe`` sub-command exercises one thing a feature cog does: an ephemeral reply, a deferral
and follow-up, a button that opens a modal, autocomplete, a reaction listener, a DM, a burst of
channel messages, and an embed Discord would refuse.
"""

from __future__ import annotations

import asyncio
import io
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.ui.base import Modal, RendersErrors, View
from bot.ui.reply import defer, respond

FRUIT = ("apple", "apricot", "banana", "blackberry", "cherry")


class NoteModal(Modal, title="Probe form"):
    note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(label="Note", custom_id="probe:note", max_length=200)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await respond(interaction, f"Noted: {self.note.value}")


class FormView(View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Open form", custom_id="probe:open-form", style=discord.ButtonStyle.primary)
    async def open_form(self, interaction: discord.Interaction, _button: discord.ui.Button[FormView]) -> None:
        await interaction.response.send_modal(NoteModal())


class ChoiceView(View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.select(
        custom_id="probe:choice",
        options=[discord.SelectOption(label="Done", value="done"), discord.SelectOption(label="Partly", value="partly")],
    )
    async def choose(self, interaction: discord.Interaction, select: discord.ui.Select[ChoiceView]) -> None:
        await respond(interaction, f"Chose {select.values[0]}.")


class CountButton(RendersErrors, discord.ui.DynamicItem[discord.ui.Button], template=r"probe:count:(?P<n>[0-9]+)"):
    """A persistent button: works after a restart because its state is in the custom_id."""

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"Count {n}", custom_id=f"probe:count:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CountButton:
        return cls(int(match["n"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(CountButton(self.n + 1))
        await interaction.response.edit_message(content=f"Count is {self.n + 1}", view=view)


class ProbeCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self.reactions: list[tuple[str, int, int, str]] = []  # (event, user, message, emoji)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CountButton)

    probe = app_commands.Group(name="probe", description="Simulator probes", guild_only=True)

    @probe.command(name="echo", description="Echo privately")
    async def probe_echo(self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 100], times: int = 1) -> None:
        await respond(interaction, " ".join([f"echo: {text}"] * times))

    @probe.command(name="slow", description="Defer, then follow up")
    async def probe_slow(self, interaction: discord.Interaction) -> None:
        await defer(interaction, ephemeral=False)
        await asyncio.sleep(0.05)  # stands for slow work
        await respond(interaction, "Slow work done.", ephemeral=False)
        await respond(interaction, "And a second follow-up.")

    @probe.command(name="form", description="A button that opens a modal")
    async def probe_form(self, interaction: discord.Interaction) -> None:
        await respond(interaction, "Press the button.", view=FormView())

    @probe.command(name="pick", description="Autocomplete")
    async def probe_pick(self, interaction: discord.Interaction, fruit: str) -> None:
        await respond(interaction, f"Picked {fruit}.")

    @probe_pick.autocomplete("fruit")
    async def fruit_autocomplete(self, _interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name.title(), value=name) for name in FRUIT if name.startswith(current.lower())]

    @probe.command(name="post", description="Post a public message with a 👍 and a persistent button")
    async def probe_post(self, interaction: discord.Interaction) -> None:
        assert isinstance(interaction.channel, discord.abc.Messageable)
        view = discord.ui.View(timeout=None)
        view.add_item(CountButton(0))
        message = await interaction.channel.send("React here.", view=view)
        await message.add_reaction("👍")
        await respond(interaction, "Posted.")

    @probe.command(name="dm", description="DM me")
    async def probe_dm(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.user.send("Hello from the bot.")
        except discord.Forbidden:
            await respond(interaction, "Your DMs are closed.")
            return
        await respond(interaction, "Sent you a DM.")

    @probe.command(name="burst", description="Send several channel messages at once")
    async def probe_burst(self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 20]) -> None:
        await defer(interaction)
        assert isinstance(interaction.channel, discord.abc.Messageable)
        channel = interaction.channel
        await asyncio.gather(*(channel.send(f"burst {n}") for n in range(count)))
        await respond(interaction, f"Sent {count}.")

    @probe.command(name="bigembed", description="An embed over Discord's 6,000-character total")
    async def probe_bigembed(self, interaction: discord.Interaction) -> None:
        embeds = [discord.Embed(title=f"Part {n}", description="x" * 3500) for n in range(2)]
        await respond(interaction, embeds=embeds)

    @probe.command(name="thread", description="Post, open a thread on the post, write in it, then close it")
    async def probe_thread(self, interaction: discord.Interaction) -> None:
        await defer(interaction)
        assert isinstance(interaction.channel, discord.TextChannel)
        starter = await interaction.channel.send("Tabled: pricing")
        thread = await starter.create_thread(name="Pricing ideas")
        await thread.send("First idea")
        await thread.edit(archived=True, locked=True)
        await respond(interaction, f"Thread {thread.name} closed.")

    @probe.command(name="file", description="A file and a select menu")
    async def probe_file(self, interaction: discord.Interaction, upload: discord.Attachment) -> None:
        data = await upload.read()
        view = ChoiceView()
        file = discord.File(io.BytesIO(data.upper()), filename="shout.txt")
        await respond(interaction, f"Got {upload.filename} ({len(data)} bytes).", file=file, view=view)

    @probe.command(name="nonce", description="Send the same message twice with one nonce")
    async def probe_nonce(self, interaction: discord.Interaction) -> None:
        assert isinstance(interaction.channel, discord.abc.Messageable)
        first = await interaction.channel.send("Once only", nonce=424242)  # discord.py adds enforce_nonce
        second = await interaction.channel.send("Once only", nonce=424242)  # discord.py adds enforce_nonce
        await respond(interaction, "same" if first.id == second.id else "different")

    @probe.command(name="voters", description="Count the 👍 on a message (the paged reactor list)")
    async def probe_voters(self, interaction: discord.Interaction, message_id: str) -> None:
        assert isinstance(interaction.channel, discord.TextChannel)
        message = await interaction.channel.fetch_message(int(message_id))
        reaction = discord.utils.get(message.reactions, emoji="👍")
        users = [user.id async for user in reaction.users(limit=None)] if reaction else []
        await respond(interaction, f"{len(users)} voters")

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.reactions.append(("add", payload.user_id, payload.message_id, str(payload.emoji)))

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.reactions.append(("remove", payload.user_id, payload.message_id, str(payload.emoji)))


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(ProbeCog(bot))
