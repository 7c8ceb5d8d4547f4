"""IANA timezone names: validation and search (for autocomplete)."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import InvalidInput


@cache
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() - {"localtime", "Factory"}))


@cache
def _by_key() -> dict[str, str]:
    return {name.casefold(): name for name in _all_zones()}


def validate_timezone(name: str) -> str:
    """The canonical IANA name for ``name`` (case-insensitive), or a clear InvalidInput."""
    cleaned = name.strip().replace(" ", "_")
    canonical = _by_key().get(cleaned.casefold())
    if canonical is None:
        raise InvalidInput(
            f"`{name[:64]}` isn't a timezone I know. Use an IANA name like `Europe/London` or "
            "`America/New_York` — start typing and pick one from the list."
        )
    return canonical


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - names are validated on input
        raise InvalidInput(f"Unknown timezone `{name}`.") from exc


def search_timezones(query: str, limit: int = 25) -> list[str]:
    """Zones matching ``query``: prefix matches of any path part first, then substring matches."""
    q = query.strip().casefold().replace(" ", "_")
    if not q:
        popular = ["UTC", "Europe/London", "America/New_York", "America/Chicago", "America/Los_Angeles",
                   "Europe/Berlin", "Europe/Paris", "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney",
                   "Pacific/Auckland", "Africa/Johannesburg"]
        return popular[:limit]
    prefix = [z for z in _all_zones() if any(part.casefold().startswith(q) for part in z.split("/"))
              or z.casefold().startswith(q)]
    rest = [z for z in _all_zones() if q in z.casefold() and z not in prefix]
    return (prefix + rest)[:limit]
