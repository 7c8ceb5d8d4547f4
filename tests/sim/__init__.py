"""A Discord simulator on loopback for end-to-end tests (test-only; no production code imports it).

See ``tests/sim/README.md``.
"""

from tests.sim.api import Modal, NoResponse, Reply, SettleTimeout, Sim
from tests.sim.options import UsageError
from tests.sim.state import Channel, Guild, Member, Message, Perm, Role, User

__all__ = [
    "Channel",
    "Guild",
    "Member",
    "Message",
    "Modal",
    "NoResponse",
    "Perm",
    "Reply",
    "Role",
    "SettleTimeout",
    "Sim",
    "UsageError",
    "User",
]
