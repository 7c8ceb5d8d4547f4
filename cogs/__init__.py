"""Discord adapters: one cog per feature, each a thin layer over a service in ``bot.services``."""

# The core's cogs, loaded in this order by the bot's setup_hook; then each feature's cog (its
# ``Feature.extension``, in catalog order: ``bot.app.App``).
EXTENSIONS: tuple[str, ...] = (
    "cogs.server",
    "cogs.groups",
    "cogs.help",
    "cogs.admin",
    "cogs.privacy",
    "cogs.mydata",
)
