"""The bot's own process never loads matplotlib: charts are drawn in the chart worker process
(bot/ui/charts.py), and importing matplotlib where they aren't drawn would cost the bot ~30 MiB."""

import subprocess
import sys


def test_the_bot_and_every_cog_load_without_matplotlib() -> None:
    code = (
        "import importlib, sys\n"
        "import bot.app\n"
        "from bot.services import FEATURES\n"
        "import cogs\n"
        "for name in [*cogs.EXTENSIONS, *(f.extension for f in FEATURES.features if f.extension)]:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
