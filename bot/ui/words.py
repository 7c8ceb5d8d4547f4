"""Words that depend on a count: "1 check-in", "3 check-ins" — never "check-in(s)"."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``count`` and the noun in the right number: ``plural(1, "page")`` → "1 page"."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"
