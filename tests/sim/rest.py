"""The REST routes the bot uses, answered from the :class:`World`.

Each handler takes a parsed :class:`Call` and returns the JSON to answer (``None`` → 204), or
raises :class:`ApiError` with Discord's status, code and message. Routing is by the template
from Discord's own API description (see ``contract.py``), so a route's key here is exactly the
spec's path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.sim.gateway import Gateway
from tests.sim.state import (
    JSON,
    Attachment,
    Channel,
    ChannelType,
    Interaction,
    Message,
    Perm,
    ScheduledEvent,
    emoji_key,
    emoji_payload,
)
from tests.sim.world import World

ACK_DEADLINE_SECONDS = 3.0
TOKEN_LIFETIME_SECONDS = 15 * 60
NONCE_WINDOW_SECONDS = 120
ALLOWED_MESSAGE_FLAGS = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 15)  # suppress embeds, ephemeral, silent, v2
COMPONENTS_V2 = 1 << 15


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message

    def body(self) -> JSON:
        return {"message": self.message, "code": self.code}


def unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


MISSING_ACCESS = ApiError(403, 50001, "Missing Access")
MISSING_PERMISSIONS = ApiError(403, 50013, "Missing Permissions")


@dataclass
class UploadedFile:
    index: int
    filename: str
    data: bytes
    content_type: str | None


@dataclass
class Call:
    method: str
    path: str
    template: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any = None
    files: list[UploadedFile] = field(default_factory=list)

    def id(self, name: str) -> int:
        try:
            return int(self.params[name])
        except (KeyError, ValueError):
            raise ApiError(404, 0, "404: Not Found") from None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


Handler = Callable[[Call], Awaitable[Any]]


class Rest:
    """Route table and handlers. ``violations`` collects the rules Discord enforces at runtime."""

    def __init__(self, world: World, gateway: Gateway, *, gateway_url: Callable[[], str]) -> None:
        self.world = world
        self.gateway = gateway
        self._gateway_url = gateway_url
        self.ack_deadline = ACK_DEADLINE_SECONDS
        self.runtime_violations: list[str] = []
        p = "/channels/{channel_id}/messages/{message_id}"
        wh = "/webhooks/{webhook_id}/{webhook_token}"
        ev = "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}"
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/users/@me"): self.get_me,
            ("GET", "/oauth2/applications/@me"): self.get_application,
            ("GET", "/applications/@me"): self.get_application,
            ("GET", "/gateway/bot"): self.get_gateway_bot,
            ("GET", "/gateway"): self.get_gateway,
            ("GET", "/users/{user_id}"): self.get_user,
            ("POST", "/users/@me/channels"): self.create_dm,
            ("GET", "/applications/{application_id}/commands"): self.get_global_commands,
            ("PUT", "/applications/{application_id}/commands"): self.put_global_commands,
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands"): self.get_guild_commands,
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"): self.put_guild_commands,
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback"): self.interaction_callback,
            ("POST", wh): self.create_followup,
            ("GET", wh + "/messages/@original"): self.get_original,
            ("PATCH", wh + "/messages/@original"): self.edit_original,
            ("DELETE", wh + "/messages/@original"): self.delete_original,
            ("GET", wh + "/messages/{message_id}"): self.get_followup,
            ("PATCH", wh + "/messages/{message_id}"): self.edit_followup,
            ("DELETE", wh + "/messages/{message_id}"): self.delete_followup,
            ("GET", "/channels/{channel_id}"): self.get_channel,
            ("PATCH", "/channels/{channel_id}"): self.edit_channel,
            ("GET", "/channels/{channel_id}/messages"): self.list_messages,
            ("POST", "/channels/{channel_id}/messages"): self.create_message,
            ("GET", p): self.get_message,
            ("PATCH", p): self.edit_message,
            ("DELETE", p): self.delete_message,
            ("POST", p + "/threads"): self.create_thread_from_message,
            ("POST", "/channels/{channel_id}/threads"): self.create_thread,
            ("PUT", "/channels/{channel_id}/thread-members/@me"): self.join_thread,
            ("PUT", "/channels/{channel_id}/thread-members/{user_id}"): self.add_thread_member,
            ("DELETE", "/channels/{channel_id}/thread-members/{user_id}"): self.remove_thread_member,
            ("PUT", p + "/reactions/{emoji_name}/@me"): self.add_own_reaction,
            ("DELETE", p + "/reactions/{emoji_name}/@me"): self.remove_own_reaction,
            ("DELETE", p + "/reactions/{emoji_name}/{user_id}"): self.remove_user_reaction,
            ("GET", p + "/reactions/{emoji_name}"): self.list_reactors,
            ("DELETE", p + "/reactions"): self.clear_reactions,
            ("GET", "/guilds/{guild_id}"): self.get_guild,
            ("GET", "/guilds/{guild_id}/channels"): self.get_guild_channels,
            ("GET", "/guilds/{guild_id}/roles"): self.get_guild_roles,
            ("GET", "/guilds/{guild_id}/members/{user_id}"): self.get_member,
            ("GET", "/guilds/{guild_id}/scheduled-events"): self.list_scheduled_events,
            ("POST", "/guilds/{guild_id}/scheduled-events"): self.create_scheduled_event,
            ("GET", ev): self.get_scheduled_event,
            ("PATCH", ev): self.modify_scheduled_event,
            ("DELETE", ev): self.delete_scheduled_event,
        }

    # --- identity ------------------------------------------------------------------------------

    async def get_me(self, call: Call) -> JSON:
        return self.world.bot.payload() | {"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}

    async def get_application(self, call: Call) -> JSON:
        world = self.world
        owner = next((user for user in world.users.values() if not user.bot), world.bot)
        return {
            "id": str(world.application_id),
            "name": world.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": owner.payload(),
            "team": None,
            "bot": world.bot.payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }

    async def get_gateway_bot(self, call: Call) -> JSON:
        return {
            "url": self._gateway_url(),
            "shards": self.gateway.recommended_shards,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000,
                "max_concurrency": self.gateway.max_concurrency,
            },
        }

    async def get_gateway(self, call: Call) -> JSON:
        return {"url": self._gateway_url()}

    async def get_user(self, call: Call) -> JSON:
        user = self.world.users.get(call.id("user_id"))
        if user is None:
            raise unknown("User", 10013)
        return user.payload()

    # --- application commands --------------------------------------------------------------------

    def _check_application(self, call: Call) -> None:
        if call.id("application_id") != self.world.application_id:
            raise ApiError(403, 50001, "Missing Access")

    def _store_commands(self, body: list[JSON], guild_id: int | None, existing: list[JSON]) -> list[JSON]:
        by_name = {(command.get("type", 1), command["name"]): command for command in existing}
        stored = []
        for command in body:
            kind = command.get("type", 1)
            previous = by_name.get((kind, command["name"]))
            command_id = int(previous["id"]) if previous else self.world.ids.next()
            stored.append(
                {
                    "id": str(command_id),
                    "application_id": str(self.world.application_id),
                    "version": str(self.world.ids.next()),
                    "type": kind,
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **({"guild_id": str(guild_id)} if guild_id else {}),
                    **command,
                }
            )
        return stored

    async def get_global_commands(self, call: Call) -> list[JSON]:
        self._check_application(call)
        return self.world.global_commands

    async def put_global_commands(self, call: Call) -> list[JSON]:
        self._check_application(call)
        self.world.global_commands = self._store_commands(call.body, None, self.world.global_commands)
        return self.world.global_commands

    async def get_guild_commands(self, call: Call) -> list[JSON]:
        self._check_application(call)
        return self.world.guild_commands.get(call.id("guild_id"), [])

    async def put_guild_commands(self, call: Call) -> list[JSON]:
        self._check_application(call)
        guild_id = call.id("guild_id")
        guild = self.world.guilds.get(guild_id)
        if guild is None or self.world.bot.id not in guild.members:
            raise MISSING_ACCESS
        stored = self._store_commands(call.body, guild_id, self.world.guild_commands.get(guild_id, []))
        self.world.guild_commands[guild_id] = stored
        return stored

    # --- interactions ----------------------------------------------------------------------------

    def _interaction(self, call: Call, id_param: str, token_param: str) -> Interaction:
        interaction = self.world.interactions.get(call.id(id_param))
        if interaction is None or interaction.token != call.params.get(token_param):
            raise unknown("interaction", 10062)
        return interaction

    def _webhook_interaction(self, call: Call) -> Interaction:
        if call.id("webhook_id") != self.world.application_id:
            raise unknown("Webhook", 10015)
        token = call.params.get("webhook_token")
        for interaction in self.world.interactions.values():
            if interaction.token == token:
                if time.monotonic() - interaction.created > TOKEN_LIFETIME_SECONDS:
                    raise ApiError(401, 50027, "Invalid Webhook Token")
                if not interaction.acknowledged:
                    raise unknown("Webhook", 10015)
                return interaction
        raise unknown("Webhook", 10015)

    async def interaction_callback(self, call: Call) -> JSON | None:
        interaction = self._interaction(call, "interaction_id", "interaction_token")
        arrived = time.monotonic()
        if interaction.callback_at is None:
            interaction.callback_at = arrived
        elapsed = arrived - interaction.created
        if interaction.acknowledged:
            self.runtime_violations.append(
                f"interaction {interaction.id} ({interaction_label(interaction)}) got a second initial response "
                f"(type {(call.body or {}).get('type')} after type {interaction.response_type}); use a follow-up"
            )
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if elapsed > self.ack_deadline:
            self.runtime_violations.append(
                f"interaction {interaction.id} ({interaction_label(interaction)}) acknowledged after {elapsed:.2f} s; "
                f"Discord allows {self.ack_deadline:.0f} s (defer before slow work)"
            )
            interaction.late = True
            raise unknown("interaction", 10062)
        body: JSON = call.body or {}
        kind = body.get("type")
        data: JSON = body.get("data") or {}
        message: Message | None = None
        if kind == 4:
            self._require(interaction.type in (2, 3, 5), kind, interaction)
            message = self._response_message(interaction, data, call.files)
        elif kind == 5:
            self._require(interaction.type in (2, 3, 5), kind, interaction)
            message = self._response_message(interaction, {"flags": (data.get("flags") or 0) | Message.LOADING}, [])
        elif kind == 6:
            self._require(interaction.type in (3, 5) and interaction.message is not None, kind, interaction)
            message = interaction.message
        elif kind == 7:
            self._require(interaction.type in (3, 5) and interaction.message is not None, kind, interaction)
            assert interaction.message is not None
            message = self._apply_edit(interaction.message, data, call.files, allow_foreign=True)
        elif kind == 8:
            self._require(interaction.type == 4, kind, interaction)
            interaction.choices = list(data.get("choices") or [])
        elif kind == 9:
            self._require(interaction.type in (2, 3), kind, interaction)
            interaction.modal = data
        else:
            raise ApiError(400, 50035, f"Invalid Form Body (interaction response type {kind} not supported here)")
        interaction.response_type = kind
        interaction.response_at = time.monotonic()
        if kind in (4, 5):
            interaction.original = message
            interaction.ephemeral = bool(message and message.ephemeral)
        interaction.touch()
        result: JSON = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": kind},
        }
        if message is not None and kind in (4, 5, 7):
            result["resource"]["message"] = self.message_payload(message)
        return result if call.flag("with_response") else None

    @staticmethod
    def _require(ok: bool, kind: Any, interaction: Interaction) -> None:
        if not ok:
            raise ApiError(400, 40043, f"Interaction response type {kind} is not valid for interaction type {interaction.type}")

    def _response_message(self, interaction: Interaction, data: JSON, files: list[UploadedFile]) -> Message:
        channel = self.world.channels[interaction.channel_id]
        message = self._new_message(
            channel, data, files, interaction=interaction, message_type=20 if interaction.type == 2 else 0
        )
        return message

    def _interaction_metadata(self, interaction: Interaction) -> JSON:
        owners = {"0": str(interaction.guild_id)} if interaction.guild_id else {"1": str(interaction.user.id)}
        metadata: JSON = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.user.payload(),
            "authorizing_integration_owners": owners,
        }
        if interaction.type == 2:
            metadata.update(name=interaction_label(interaction), command_type=interaction.data.get("type", 1))
        if interaction.message is not None:
            metadata["interacted_message_id"] = str(interaction.message.id)
        return metadata

    async def create_followup(self, call: Call) -> JSON | None:
        interaction = self._webhook_interaction(call)
        data: JSON = call.body or {}
        original = interaction.original
        if original is not None and original.loading and not original.deleted:
            # Discord turns the first follow-up after a deferral into the deferred message itself.
            message = self._apply_edit(original, data, call.files)
            message.flags &= ~Message.LOADING
            self._dispatch_update(message)
        else:
            channel = self.world.channels[interaction.channel_id]
            message = self._new_message(channel, data, call.files, interaction=interaction, message_type=19 if original else 0)
            interaction.followups.append(message)
        interaction.touch()
        return self.message_payload(message) if call.flag("wait") else None

    def _webhook_message(self, call: Call, interaction: Interaction) -> Message:
        if "message_id" not in call.params:
            if interaction.original is None or interaction.original.deleted:
                raise unknown("Message", 10008)
            return interaction.original
        message_id = call.id("message_id")
        for message in [interaction.original, *interaction.followups]:
            if message is not None and message.id == message_id and not message.deleted:
                return message
        if interaction.message is not None and interaction.message.id == message_id and interaction.response_type in (6, 7):
            return interaction.message
        raise unknown("Message", 10008)

    async def get_original(self, call: Call) -> JSON:
        interaction = self._webhook_interaction(call)
        return self.message_payload(self._webhook_message(call, interaction))

    async def edit_original(self, call: Call) -> JSON:
        interaction = self._webhook_interaction(call)
        if interaction.original is None and interaction.response_type in (6, 7) and interaction.message is not None:
            message = interaction.message  # after a deferred update, @original is the clicked message
        else:
            message = self._webhook_message(call, interaction)
        self._apply_edit(message, call.body or {}, call.files, allow_foreign=True)
        message.flags &= ~Message.LOADING
        self._dispatch_update(message)
        interaction.touch()
        return self.message_payload(message)

    async def delete_original(self, call: Call) -> None:
        interaction = self._webhook_interaction(call)
        self._delete(self._webhook_message(call, interaction))
        interaction.touch()

    get_followup = get_original
    edit_followup = edit_original
    delete_followup = delete_original

    # --- channels and messages -------------------------------------------------------------------

    def _channel(self, call: Call, *, need: int = Perm.VIEW_CHANNEL) -> Channel:
        channel = self.world.channels.get(call.id("channel_id"))
        if channel is None:
            raise unknown("Channel", 10003)
        permissions = self.world.permissions(channel, self.world.bot.id)
        if not permissions & Perm.VIEW_CHANNEL:
            raise MISSING_ACCESS
        if permissions & need != need:
            raise MISSING_PERMISSIONS
        return channel

    def _message(self, call: Call, channel: Channel) -> Message:
        message = self.world.messages.get(call.id("message_id"))
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise unknown("Message", 10008)
        return message

    async def get_channel(self, call: Call) -> JSON:
        return self._channel(call).payload()

    async def edit_channel(self, call: Call) -> JSON:
        body: JSON = call.body or {}
        channel = self._channel(call)
        permissions = self.world.permissions(channel, self.world.bot.id)
        if channel.is_thread:
            own_thread = channel.owner_id == self.world.bot.id
            if not (permissions & Perm.MANAGE_THREADS or (own_thread and set(body) <= {"archived", "name"})):
                raise MISSING_PERMISSIONS
            for key in ("archived", "locked"):
                if key in body:
                    setattr(channel, key, bool(body[key]))
            if "auto_archive_duration" in body:
                channel.auto_archive_duration = int(body["auto_archive_duration"])
        elif not permissions & Perm.MANAGE_CHANNELS:
            raise MISSING_PERMISSIONS
        if "name" in body:
            channel.name = body["name"]
        if "topic" in body and not channel.is_thread:
            channel.topic = body["topic"]
        payload = channel.payload()
        self.gateway.dispatch("THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE", payload)
        return payload

    async def list_messages(self, call: Call) -> list[JSON]:
        channel = self._channel(call)
        if not self.world.permissions(channel, self.world.bot.id) & Perm.READ_MESSAGE_HISTORY:
            return []
        limit = max(1, min(int(call.query.get("limit", 50)), 100))
        messages = self.world.channel_messages(channel.id)
        if "before" in call.query:
            messages = [m for m in messages if m.id < int(call.query["before"])][-limit:]
        elif "after" in call.query:
            messages = [m for m in messages if m.id > int(call.query["after"])][:limit]
        elif "around" in call.query:
            around = int(call.query["around"])
            older = [m for m in messages if m.id <= around][-((limit + 1) // 2) :]
            newer = [m for m in messages if m.id > around][: limit // 2]
            messages = older + newer
        else:
            messages = messages[-limit:]
        return [self.message_payload(message) for message in reversed(messages)]

    async def create_message(self, call: Call) -> JSON:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
        body: JSON = call.body or {}
        if channel.is_dm:
            recipient = channel.recipients[0]
            if not recipient.dms_open:
                raise ApiError(403, 50007, "Cannot send messages to this user")
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise ApiError(400, 50083, "Thread is archived")
            channel.archived = False
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            previous = self._nonce_match(channel, body["nonce"])
            if previous is not None:
                return self.message_payload(previous)
        if body.get("message_reference") and not self._reference_ok(channel, body["message_reference"]):
            raise ApiError(400, 50035, "Invalid Form Body (message_reference: Unknown message)")
        message = self._new_message(channel, body, call.files)
        return self.message_payload(message)

    def _nonce_match(self, channel: Channel, nonce: Any) -> Message | None:
        now = self.world.now()
        for message in self.world.latest_messages(channel.id):
            if (now - message.timestamp).total_seconds() > NONCE_WINDOW_SECONDS:
                break
            if message.author.id == self.world.bot.id and str(message.nonce) == str(nonce):
                return message
        return None

    def _reference_ok(self, channel: Channel, reference: JSON) -> bool:
        message_id = reference.get("message_id")
        if message_id is None:
            return True
        target = self.world.messages.get(int(message_id))
        return bool(target and not target.deleted) or reference.get("fail_if_not_exists") is False

    async def get_message(self, call: Call) -> JSON:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return self.message_payload(self._message(call, channel))

    async def edit_message(self, call: Call) -> JSON:
        channel = self._channel(call)
        message = self._message(call, channel)
        self._apply_edit(message, call.body or {}, call.files)
        self._dispatch_update(message)
        return self.message_payload(message)

    async def delete_message(self, call: Call) -> None:
        channel = self._channel(call)
        message = self._message(call, channel)
        if message.author.id != self.world.bot.id and not self.world.permissions(channel, self.world.bot.id) & Perm.MANAGE_MESSAGES:
            raise MISSING_PERMISSIONS
        self._delete(message)

    # --- threads ---------------------------------------------------------------------------------

    async def create_thread_from_message(self, call: Call) -> JSON:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        message = self._message(call, channel)
        if message.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body: JSON = call.body or {}
        thread = self._new_thread(channel, body, ChannelType.PUBLIC_THREAD, thread_id=message.id)
        message.thread_id = thread.id
        return thread.payload()

    async def create_thread(self, call: Call) -> JSON:
        body: JSON = call.body or {}
        kind = int(body.get("type") or ChannelType.PRIVATE_THREAD)
        need = Perm.CREATE_PUBLIC_THREADS if kind == ChannelType.PUBLIC_THREAD else Perm.CREATE_PRIVATE_THREADS
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | need)
        return self._new_thread(channel, body, kind).payload()

    def _new_thread(self, parent: Channel, body: JSON, kind: int, *, thread_id: int | None = None) -> Channel:
        if parent.type != ChannelType.GUILD_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        world = self.world
        thread = Channel(
            id=thread_id or world.ids.next(),
            type=kind,
            name=body.get("name"),
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=world.bot.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            member_ids={world.bot.id},
            created_at=world.now(),
        )
        world.channels[thread.id] = thread
        guild = world.guild_of(parent)
        assert guild is not None
        guild.channel_ids.append(thread.id)
        self.gateway.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
        return thread

    async def join_thread(self, call: Call) -> None:
        channel = self._channel(call)
        channel.member_ids.add(self.world.bot.id)

    async def add_thread_member(self, call: Call) -> None:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
        guild = self.world.guild_of(channel)
        user_id = call.id("user_id")
        if guild is None or user_id not in guild.members:
            raise unknown("Member", 10007)
        channel.member_ids.add(user_id)

    async def remove_thread_member(self, call: Call) -> None:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.MANAGE_THREADS)
        channel.member_ids.discard(call.id("user_id"))

    # --- reactions -------------------------------------------------------------------------------

    async def add_own_reaction(self, call: Call) -> None:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        message = self._message(call, channel)
        key = emoji_key(call.params["emoji_name"])
        if key not in message.reactions and not self.world.permissions(channel, self.world.bot.id) & Perm.ADD_REACTIONS:
            raise MISSING_PERMISSIONS
        self.react(message, self.world.bot.id, key)

    async def remove_own_reaction(self, call: Call) -> None:
        channel = self._channel(call)
        message = self._message(call, channel)
        self.unreact(message, self.world.bot.id, emoji_key(call.params["emoji_name"]))

    async def remove_user_reaction(self, call: Call) -> None:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.MANAGE_MESSAGES)
        message = self._message(call, channel)
        self.unreact(message, call.id("user_id"), emoji_key(call.params["emoji_name"]))

    async def clear_reactions(self, call: Call) -> None:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.MANAGE_MESSAGES)
        self._message(call, channel).reactions.clear()

    async def list_reactors(self, call: Call) -> list[JSON]:
        channel = self._channel(call, need=Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        message = self._message(call, channel)
        key = emoji_key(call.params["emoji_name"])
        if key not in message.reactions:
            raise unknown("Emoji", 10014) if ":" in key else ApiError(404, 10014, "Unknown Emoji")
        limit = max(1, min(int(call.query.get("limit", 25)), 100))
        after = int(call.query.get("after", 0))
        users = sorted(uid for uid in message.reactions[key] if uid > after)[:limit]
        return [self.world.users[uid].payload() for uid in users]

    def react(self, message: Message, user_id: int, key: str) -> bool:
        users = message.reactions.setdefault(key, [])
        if user_id in users:
            return False
        users.append(user_id)
        self.gateway.dispatch("MESSAGE_REACTION_ADD", self._reaction_event(message, user_id, key, with_member=True))
        return True

    def unreact(self, message: Message, user_id: int, key: str) -> bool:
        users = message.reactions.get(key, [])
        if user_id not in users:
            return False
        users.remove(user_id)
        if not users:
            del message.reactions[key]
        self.gateway.dispatch("MESSAGE_REACTION_REMOVE", self._reaction_event(message, user_id, key, with_member=False))
        return True

    def _reaction_event(self, message: Message, user_id: int, key: str, *, with_member: bool) -> JSON:
        event: JSON = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": emoji_payload(key),
            "burst": False,
            "type": 0,
        }
        if message.guild_id is not None:
            event["guild_id"] = str(message.guild_id)
            guild = self.world.guilds[message.guild_id]
            member = guild.members.get(user_id)
            if with_member and member is not None:
                event["member"] = member.payload()
            if with_member:
                event["message_author_id"] = str(message.author.id)
                event["burst_colors"] = []
        return event

    # --- guilds ----------------------------------------------------------------------------------

    def _guild(self, call: Call) -> Any:
        guild = self.world.guilds.get(call.id("guild_id"))
        if guild is None or self.world.bot.id not in guild.members:
            raise unknown("Guild", 10004)
        return guild

    async def get_guild(self, call: Call) -> JSON:
        payload = self.gateway.guild_create_payload(self._guild(call))
        return {key: value for key, value in payload.items() if key not in ("members", "channels", "threads")}

    async def get_guild_channels(self, call: Call) -> list[JSON]:
        guild = self._guild(call)
        return [self.world.channels[cid].payload() for cid in guild.channel_ids if not self.world.channels[cid].is_thread]

    async def get_guild_roles(self, call: Call) -> list[JSON]:
        return [role.payload() for role in self._guild(call).roles.values()]

    async def get_member(self, call: Call) -> JSON:
        member = self._guild(call).members.get(call.id("user_id"))
        if member is None:
            raise unknown("Member", 10007)
        return member.payload()

    # --- scheduled events (the server's Events list) ----------------------------------------------

    def _may_manage_events(self, guild: Any) -> None:
        if not self.world.base_permissions(guild, self.world.bot_member(guild)) & Perm.MANAGE_EVENTS:
            raise MISSING_PERMISSIONS

    def _event(self, call: Call) -> ScheduledEvent:
        event = self._guild(call).scheduled_events.get(call.id("guild_scheduled_event_id"))
        if event is None:
            raise unknown("Guild Scheduled Event", 10070)
        return event

    def _check_event(self, event: ScheduledEvent, *, creating: bool) -> None:
        """What Discord enforces beyond the schema: an external event has a location, an end after its
        start and no channel; a voice (stage) event is in a voice (stage) channel of the server, with no
        location; a new one starts in the future."""
        if event.entity_type == 3 and (not event.location or event.scheduled_end_time is None or event.channel_id):
            self.runtime_violations.append(f"external event {event.name!r} without a location or an end time, or with a channel")
            raise ApiError(400, 50035, "Invalid Form Body")
        if event.entity_type in (1, 2):
            channel = self.world.channels.get(event.channel_id or 0)
            wanted = ChannelType.GUILD_STAGE_VOICE if event.entity_type == 1 else ChannelType.GUILD_VOICE
            if channel is None or channel.guild_id != event.guild_id or channel.type != wanted or event.location:
                self.runtime_violations.append(
                    f"{'stage' if event.entity_type == 1 else 'voice'} event {event.name!r} not in a channel of that "
                    "type in the server, or with a location")
                raise ApiError(400, 50035, "Invalid Form Body")
            need = Perm.STAGE_EVENT if event.entity_type == 1 else Perm.VOICE_EVENT
            if self.world.permissions(channel, self.world.bot.id) & need != need:
                raise MISSING_PERMISSIONS
        start = datetime.fromisoformat(event.scheduled_start_time)
        if event.scheduled_end_time is not None and datetime.fromisoformat(event.scheduled_end_time) <= start:
            self.runtime_violations.append(f"event {event.name!r} ends before it starts")
            raise ApiError(400, 50035, "Invalid Form Body")
        if creating and start <= self.world.now():
            self.runtime_violations.append(f"event {event.name!r} created with a start in the past")
            raise ApiError(400, 50035, "Invalid Form Body")

    async def list_scheduled_events(self, call: Call) -> list[JSON]:
        return [event.payload() for event in self._guild(call).scheduled_events.values()]

    async def get_scheduled_event(self, call: Call) -> JSON:
        return self._event(call).payload()

    async def create_scheduled_event(self, call: Call) -> JSON:
        guild = self._guild(call)
        self._may_manage_events(guild)
        body: JSON = call.body or {}
        event = ScheduledEvent(
            id=self.world.ids.next(), guild_id=guild.id, creator_id=self.world.bot.id, name=body["name"],
            scheduled_start_time=body["scheduled_start_time"], scheduled_end_time=body.get("scheduled_end_time"),
            entity_type=body["entity_type"], privacy_level=body["privacy_level"], description=body.get("description"),
            location=(body.get("entity_metadata") or {}).get("location"),
            channel_id=int(body["channel_id"]) if body.get("channel_id") else None,
        )
        self._check_event(event, creating=True)
        guild.scheduled_events[event.id] = event
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_CREATE", event.payload())
        return event.payload()

    async def modify_scheduled_event(self, call: Call) -> JSON:
        guild = self._guild(call)
        self._may_manage_events(guild)
        event = self._event(call)
        body: JSON = call.body or {}
        changed = ScheduledEvent(**{**event.__dict__, "interested": event.interested})
        for key in ("name", "description", "scheduled_start_time", "scheduled_end_time", "privacy_level", "entity_type"):
            if key in body:
                setattr(changed, key, body[key])
        if "entity_metadata" in body:
            changed.location = (body["entity_metadata"] or {}).get("location")
        if "channel_id" in body:
            changed.channel_id = int(body["channel_id"]) if body["channel_id"] else None
        if body.get("status") is not None:
            changed.status = body["status"]
        self._check_event(changed, creating=False)
        guild.scheduled_events[event.id] = changed
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", changed.payload())
        return changed.payload()

    async def delete_scheduled_event(self, call: Call) -> None:
        guild = self._guild(call)
        self._may_manage_events(guild)
        event = self._event(call)
        del guild.scheduled_events[event.id]
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload())
        return None

    # --- DMs -------------------------------------------------------------------------------------

    async def create_dm(self, call: Call) -> JSON:
        body: JSON = call.body or {}
        try:
            user = self.world.users[int(body["recipient_id"])]
        except (KeyError, ValueError, TypeError):
            raise ApiError(400, 50033, "Invalid Recipient(s)") from None
        return self.dm_channel(user.id).payload()

    def dm_channel(self, user_id: int) -> Channel:
        world = self.world
        channel_id = world.dm_by_user.get(user_id)
        if channel_id is None:
            channel = Channel(id=world.ids.next(), type=ChannelType.DM, recipients=[world.users[user_id]])
            world.channels[channel.id] = channel
            world.dm_by_user[user_id] = channel.id
            return channel
        return world.channels[channel_id]

    # --- shared message machinery ----------------------------------------------------------------

    def message_payload(self, message: Message) -> JSON:
        thread = self.world.channels.get(message.thread_id) if message.thread_id else None
        return message.payload(me_id=self.world.bot.id, base_url=self.world.origin, thread=thread)

    def _new_message(
        self,
        channel: Channel,
        body: JSON,
        files: list[UploadedFile],
        *,
        interaction: Interaction | None = None,
        message_type: int = 0,
    ) -> Message:
        world = self.world
        flags = int(body.get("flags") or 0)
        loading = bool(flags & Message.LOADING) and interaction is not None
        if flags & ~ALLOWED_MESSAGE_FLAGS and not loading:
            raise ApiError(400, 50035, f"Invalid Form Body (flags: {flags} includes flags a bot may not set)")
        attachments = self._attachments(body, files, [])
        empty = not (body.get("content") or body.get("embeds") or body.get("components") or attachments or body.get("sticker_ids") or body.get("poll"))
        if empty and not loading:
            raise ApiError(400, 50006, "Cannot send an empty message")
        if flags & Message.EPHEMERAL and interaction is None:
            flags &= ~Message.EPHEMERAL  # only interaction responses can be ephemeral
        message = Message(
            id=world.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=world.bot,
            content=body.get("content") or "",
            embeds=[_embed_out(embed) for embed in body.get("embeds") or []],
            components=list(body.get("components") or []),
            attachments=attachments,
            flags=flags,
            type=message_type,
            timestamp=world.now(),
            nonce=body.get("nonce"),
            message_reference=_reference_out(body.get("message_reference"), channel),
            allowed_mentions=body.get("allowed_mentions"),
        )
        if interaction is not None:
            message.interaction_metadata = self._interaction_metadata(interaction)
            message.application_id = world.application_id
            message.webhook_id = world.application_id
        world.add_message(message)
        if not message.ephemeral:
            channel.last_message_id = message.id
            if channel.is_thread:
                channel.message_count += 1
            self.gateway.dispatch("MESSAGE_CREATE", self.message_event(message))
        return message

    def _apply_edit(self, message: Message, body: JSON, files: list[UploadedFile], *, allow_foreign: bool = False) -> Message:
        if message.author.id != self.world.bot.id and not allow_foreign:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if message.flags & COMPONENTS_V2 and (body.get("content") or body.get("embeds")):
            # Discord: a components-v2 message stays one (the flag can't be removed); edit it with a layout.
            raise ApiError(400, 50035, "Invalid Form Body (a components-v2 message can't take content or embeds)")
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = [_embed_out(embed) for embed in body["embeds"] or []]
        if "components" in body:
            message.components = list(body["components"] or [])
        if "attachments" in body or files:
            message.attachments = self._attachments(body, files, message.attachments)
        if "flags" in body and body["flags"] is not None:
            keep = message.flags & (Message.EPHEMERAL | Message.LOADING | COMPONENTS_V2)
            message.flags = keep | (int(body["flags"]) & ALLOWED_MESSAGE_FLAGS & ~Message.EPHEMERAL)
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        message.edited_timestamp = self.world.now()
        return message

    def _attachments(self, body: JSON, files: list[UploadedFile], existing: list[Attachment]) -> list[Attachment]:
        kept_ids = {str(item.get("id")) for item in body.get("attachments") or [] if isinstance(item, dict)}
        by_index = {file.index: file for file in files}
        result = [attachment for attachment in existing if str(attachment.id) in kept_ids or "attachments" not in body]
        described = {str(item.get("id")): item for item in body.get("attachments") or [] if isinstance(item, dict)}
        for index, file in sorted(by_index.items()):
            meta = described.get(str(index), {})
            attachment = Attachment(
                id=self.world.ids.next(),
                filename=meta.get("filename") or file.filename,
                data=file.data,
                content_type=file.content_type,
                description=meta.get("description"),
            )
            self.world.attachments[attachment.id] = attachment
            result.append(attachment)
        return result

    def _delete(self, message: Message) -> None:
        message.deleted = True
        if not message.ephemeral:
            event: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                event["guild_id"] = str(message.guild_id)
            self.gateway.dispatch("MESSAGE_DELETE", event)

    def _dispatch_update(self, message: Message) -> None:
        if not message.ephemeral and not message.deleted:
            self.gateway.dispatch("MESSAGE_UPDATE", self.message_event(message))

    def message_event(self, message: Message) -> JSON:
        event = self.message_payload(message)
        if message.guild_id is not None:
            member = self.world.guilds[message.guild_id].members.get(message.author.id)
            if member is not None:
                event["member"] = member.payload(with_user=False)
        return event


def interaction_label(interaction: Interaction) -> str:
    """``commit add`` for a command, the custom_id for a component or modal."""
    data = interaction.data
    if interaction.type in (2, 4):
        parts = [data.get("name", "?")]
        options = data.get("options") or []
        while options and options[0].get("type") in (1, 2):
            parts.append(options[0]["name"])
            options = options[0].get("options") or []
        return " ".join(parts)
    return str(data.get("custom_id", "?"))


def _embed_out(embed: JSON) -> JSON:
    """What Discord echoes back for a sent embed: type "rich", and nulls dropped."""
    out = {key: value for key, value in embed.items() if value is not None}
    out.setdefault("type", "rich")
    out.setdefault("content_scan_version", 0)
    return out


def _reference_out(reference: JSON | None, channel: Channel) -> JSON | None:
    if not reference:
        return None
    out = {key: value for key, value in reference.items() if key != "fail_if_not_exists"}
    out.setdefault("channel_id", str(channel.id))
    out.setdefault("type", 0)
    if channel.guild_id is not None:
        out.setdefault("guild_id", str(channel.guild_id))
    return out
