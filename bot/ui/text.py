"""Member text inside the bot's own formatting: :func:`inert` makes Discord show it as typed.

Like ``discord.utils.escape_markdown(text)`` (every ``\\ * _ ~ | ` `` escaped, links left whole so a
``_`` in a URL still works), and stricter where that one leaves gaps:

- every ``[`` is escaped, so no masked link ``[text](url)`` survives — not even one nested inside
  another pair of brackets (``escape_markdown`` escapes only the first bracket of its match);
- at the start of every line: block quotes ``>``/``>>>``, headings ``#``, subtext ``-#``, lists
  ``-`` and ``1.``;
- a backtick is never part of a "link", so a code fence can't hide inside a URL.

Mentions (``<@…>``, ``@everyone``) are left as they are: the bot sends with
``AllowedMentions.none()``, so they never ping. Shorten with ``inert(text, limit)``, never by cutting
an escaped text (a cut through ``\\*`` would leave a backslash that escapes the bot's own ``**``).
"""

from __future__ import annotations

import re

_URL = r"<[^: >`]+:/[^ >`]+>|(?:https?|steam)://[^\s<`]+[^<.,:;\"'\]\s`]"
_PATTERN = re.compile(
    rf"(?P<url>{_URL})"
    r"|(?P<char>[\\*_~|`\[])"
    r"|^(?P<lead>[ \t]*)(?:(?P<number>\d+)\.(?=[ \t])|(?P<block>[>#-]))",
    re.MULTILINE,
)


def _escape(match: re.Match[str]) -> str:
    if match["url"]:
        return match["url"]
    if match["char"]:
        return "\\" + match["char"]
    if match["number"]:
        return f"{match['lead']}{match['number']}\\."
    return f"{match['lead']}\\{match['block']}"


def inert(text: str, limit: int | None = None) -> str:
    """``text`` with Discord markdown escaped: shown exactly as the member typed it.

    With ``limit``, the escaped text is at most ``limit`` characters: the text is shortened (ending
    in "…") *before* it is escaped, so no cut falls inside an escape.
    """
    escaped = _PATTERN.sub(_escape, text)
    if limit is None or len(escaped) <= limit:
        return escaped
    best, low, high = "…", 1, min(len(text), limit) - 1
    while low <= high:  # the longest start of the text whose escaped form, with "…", fits
        keep = (low + high) // 2
        candidate = _PATTERN.sub(_escape, text[:keep].rstrip()) + "…"
        if len(candidate) <= limit:
            best, low = candidate, keep + 1
        else:
            high = keep - 1
    return best
