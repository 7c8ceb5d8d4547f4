"""Discord adapters: one cog per feature, each a thin layer over a service in ``bot.services``."""

# Loaded in this order by the bot's setup_hook.
EXTENSIONS: tuple[str, ...] = (
    "cogs.server",
    "cogs.groups",
    "cogs.meetings",
    "cogs.agenda",
    "cogs.buddies",
    "cogs.help",
    "cogs.commitments",
    "cogs.goals",
    "cogs.review",
    "cogs.brainstorms",
    "cogs.modules",
    "cogs.admin",
    "cogs.privacy",
    "cogs.mydata",
)
