"""Roundtable: a Discord bot for peer accountability groups.

The package has three rings (see docs/ARCHITECTURE.md):

* the domain — ``bot.models``, ``bot.db``, ``bot.errors``, ``bot.clock``, ``bot.services`` — which
  never imports discord;
* the adapters — ``cogs/`` and ``bot.ui`` — which parse interactions, call one service method
  and render the result;
* the composition root — ``bot.app`` and ``bot.__main__`` — which builds and injects everything.
"""

__version__ = "0.1.0"
