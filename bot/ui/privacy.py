"""Whether a group's channel can be read beyond the group, and what to tell its facilitators.

Adapter ring: it reads discord.py's channel and role objects (the permission overwrites, the
@everyone role's base permissions). The services never see a channel.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import discord

# What to change in Discord, in the words of Discord's own settings screens.
HOW_TO_FIX = (
    "To keep it to the group: **Channel settings → Permissions → @everyone**: turn off **View Channel**, "
    "then add the members (or a role only they have) with View Channel on."
)


@dataclass(frozen=True, slots=True)
class Exposure:
    """Who beyond the group can read a channel: @everyone, and roles that reach non-members."""

    everyone: bool = False
    role_ids: tuple[int, ...] = ()

    @property
    def exposed(self) -> bool:
        return self.everyone or bool(self.role_ids)


def channel_exposure(channel: discord.abc.GuildChannel, member_ids: Collection[int]) -> Exposure:
    """Who beyond ``member_ids`` can read ``channel``.

    @everyone counts when its base permissions and the channel's overwrites let it view the
    channel. A role counts when it can view the channel (its overwrite, or its own permissions
    once @everyone may view) and someone the bot knows to have it isn't in the group. Roles the
    bot can't see the members of (the bot asks for no member list) aren't counted, nor
    integration roles (bots), nor roles with Administrator (they read every channel, whatever
    the channel says).
    """
    guild = channel.guild
    everyone = channel.permissions_for(guild.default_role).view_channel
    roles: list[int] = []
    for role in guild.roles:
        if role.is_default() or role.managed or role.permissions.administrator:
            continue
        if not channel.permissions_for(role).view_channel:
            continue
        if any(member.id not in member_ids and not member.bot for member in role.members):
            roles.append(role.id)
    return Exposure(everyone=everyone, role_ids=tuple(roles))


def exposure_warning(exposure: Exposure, *, group_name: str, channel_id: int) -> str:
    """The private note to a facilitator: who can read the channel, and what to change."""
    readers = []
    if exposure.everyone:
        readers.append("everyone in the server (@everyone)")
    if exposure.role_ids:
        readers.append("members of " + ", ".join(f"<@&{role_id}>" for role_id in exposure.role_ids)
                       + " who aren't in the group")
    return (
        f"🔒 <#{channel_id}>, the channel of **{group_name}**, can be read by {' and '.join(readers)}. "
        f"What members share there (commitments, check-ins, the report-back board) is then public. {HOW_TO_FIX}"
    )
