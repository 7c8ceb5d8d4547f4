"""How a member is named in a message: a mention, or "a former member" for rows a forget kept (user id 0)."""

from __future__ import annotations

FORMER_MEMBER = "a former member"  # bot.services.mydata.FORMER_MEMBER_ID (0) in the row


def who(user_id: int) -> str:
    return f"<@{user_id}>" if user_id else FORMER_MEMBER
