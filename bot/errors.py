"""Errors meant for the member who caused them.

Services raise these; the one error renderer (``bot.ui.errors``) shows their message privately.
They subclass :class:`Exception`, not discord's ``AppCommandError``: the domain knows nothing of
Discord.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the member can fix. ``str(error)`` is shown to them as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(UserError):
    """The thing does not exist *for this member* (also used instead of revealing others' data)."""


class NotAllowed(UserError):
    """The member may not do this."""


class InvalidInput(UserError):
    """A value the member typed is not acceptable."""


class LimitReached(UserError):
    """A limit (group size, ideas per brainstorm, …) would be exceeded."""


class Conflict(UserError):
    """The request clashes with existing state (a duplicate name, a channel already bound, …)."""
