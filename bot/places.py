"""Where a meeting happens: in person (venue, address, optional map link) or online (a link).

Discord-free. A meeting without a place of its own has its series' place (:func:`place_of`).
The stored columns: ``location`` (the venue: older rows' free text reads as one), ``address``,
``place_link`` and ``place_kind``, on both ``meeting`` and ``meeting_series``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

from bot.errors import InvalidInput
from bot.text import clean

MAX_VENUE = 100
MAX_ADDRESS = 200
MAX_LINK = 500


class PlaceKind(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"


@dataclass(frozen=True, slots=True)
class Place:
    kind: PlaceKind
    venue: str | None = None
    address: str | None = None
    link: str | None = None  # the map link (in person) or the meeting link (online)

    @property
    def text(self) -> str:
        """The place in plain words (the ``.ics`` LOCATION): "The Hub, 1 High St" / "Online"."""
        words = ", ".join(part for part in (self.venue, self.address) if part)
        return words or ("Online" if self.kind == PlaceKind.ONLINE else "In person")


class HasPlace(Protocol):
    location: str | None
    address: str | None
    place_link: str | None
    place_kind: str | None


def stored(row: HasPlace) -> Place | None:
    """The row's own place; a row from before places (free-text ``location`` only) is in person."""
    if not (row.place_kind or row.location or row.address or row.place_link):
        return None
    kind = PlaceKind(row.place_kind) if row.place_kind else PlaceKind.IN_PERSON
    return Place(kind, row.location, row.address, row.place_link)


def place_of(meeting: HasPlace, series: HasPlace | None) -> Place | None:
    """The meeting's own place, else its series' place."""
    return stored(meeting) or (stored(series) if series is not None else None)


def store(row: HasPlace, place: Place | None) -> None:
    row.place_kind = place.kind if place else None
    row.location = place.venue if place else None
    row.address = place.address if place else None
    row.place_link = place.link if place else None


def _text(value: str | None, what: str, limit: int) -> str | None:
    cleaned = clean(value) if value is not None else ""
    if len(cleaned) > limit:
        raise InvalidInput(f"The {what} is {len(cleaned)} characters long; at most {limit}.")
    return cleaned or None


def _link(value: str | None) -> str | None:
    link = _text(value, "link", MAX_LINK)
    if link is None:
        return None
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in link:
        raise InvalidInput("The link must be a web address starting with `https://` (or `http://`).")
    return link


def make_place(*, venue: str | None = None, address: str | None = None, link: str | None = None,
               online: bool | None = None) -> Place | None:
    """A checked place from a command's options; ``None`` when none was given.

    ``online`` unset: online when only a link is given, else in person.
    """
    venue_text = _text(venue, "venue", MAX_VENUE)
    address_text = _text(address, "address", MAX_ADDRESS)
    link_text = _link(link)
    if online is None:
        if not (venue_text or address_text or link_text):
            return None
        online = link_text is not None and not (venue_text or address_text)
    if online:
        if link_text is None:
            raise InvalidInput("An online meeting needs its link: add `link:` (starting with `https://`).")
        return Place(PlaceKind.ONLINE, venue_text, None if address_text is None else address_text, link_text)
    if not (venue_text or address_text):
        raise InvalidInput("A meeting in person needs a `venue:` or an `address:`.")
    return Place(PlaceKind.IN_PERSON, venue_text, address_text, link_text)
