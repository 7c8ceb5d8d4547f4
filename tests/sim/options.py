"""Build an application command interaction's ``data`` from the command the bot registered.

``"commit add"`` and ``text="Call the bank", due="friday"`` become the nested sub-command options
Discord sends, each value typed by the registered option (string, integer, number, boolean, user,
channel, role, mentionable, attachment), with the ``resolved`` objects Discord includes. What the
Discord client would refuse (an unknown option, a missing required one, a value outside its
choices or bounds) raises :class:`UsageError` before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.sim.state import JSON, Attachment, Channel, Member, Role, User
from tests.sim.world import World


class UsageError(Exception):
    """The test asked for something a member could not do in the Discord client."""


class OptionType:
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


def find_command(commands: list[JSON], name: str) -> JSON | None:
    top = name.split()[0]
    return next((command for command in commands if command.get("type", 1) == 1 and command["name"] == top), None)


def leaf_path(command: JSON, name: str) -> tuple[list[JSON], JSON]:
    """The sub-command group / sub-command option dicts named by ``name``, and the leaf."""
    parts = name.split()[1:]
    node: JSON = command
    path: list[JSON] = []
    for part in parts:
        child = next(
            (
                option
                for option in node.get("options") or []
                if option["name"] == part and option["type"] in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
            ),
            None,
        )
        if child is None:
            subs = [o["name"] for o in node.get("options") or [] if o["type"] in (1, 2)]
            raise UsageError(f"/{name}: no sub-command {part!r} (there are: {', '.join(subs) or 'none'})")
        path.append(child)
        node = child
    if any(option["type"] in (1, 2) for option in node.get("options") or []):
        subs = [o["name"] for o in node["options"]]
        raise UsageError(f"/{name} needs a sub-command: one of {', '.join(subs)}")
    return path, node


def build_data(
    world: World,
    command: JSON,
    name: str,
    values: Mapping[str, Any],
    *,
    guild_id: int | None,
    focused: str | None = None,
) -> JSON:
    path, leaf = leaf_path(command, name)
    resolved: dict[str, dict[str, JSON]] = {}
    declared = {option["name"]: option for option in leaf.get("options") or []}
    unknown = set(values) - set(declared)
    if unknown:
        raise UsageError(f"/{name} has no option(s) {', '.join(sorted(unknown))}; it has: {', '.join(declared) or 'none'}")
    options: list[JSON] = []
    for option_name, option in declared.items():
        if option_name not in values:
            if option.get("required") and focused is None:
                raise UsageError(f"/{name}: option {option_name!r} is required")
            continue
        is_focused = option_name == focused
        value = values[option_name]
        entry: JSON = {"name": option_name, "type": option["type"]}
        if is_focused:
            entry["value"] = str(value)  # what the member has typed so far
            entry["focused"] = True
        else:
            entry["value"] = _typed(world, option, value, resolved, name, guild_id)
        options.append(entry)
    for parent in reversed(path):
        options = [{"name": parent["name"], "type": parent["type"], "options": options}]
    data: JSON = {"id": command["id"], "name": command["name"], "type": command.get("type", 1), "options": options}
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def _typed(world: World, option: JSON, value: Any, resolved: dict[str, dict[str, JSON]], name: str, guild_id: int | None) -> Any:
    kind = option["type"]
    where = f"/{name} {option['name']}"
    if kind == OptionType.STRING:
        value = _choice(option, value, where) if option.get("choices") else value
        if not isinstance(value, str):
            raise UsageError(f"{where}: expected text, got {value!r}")
        if len(value) < option.get("min_length", 0) or len(value) > option.get("max_length", 6000):
            raise UsageError(f"{where}: {len(value)} characters is outside {option.get('min_length', 0)}–{option.get('max_length', 6000)}")
        return value
    if kind in (OptionType.INTEGER, OptionType.NUMBER):
        value = _choice(option, value, where) if option.get("choices") else value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{where}: expected a number, got {value!r}")
        if kind == OptionType.INTEGER and value != int(value):
            raise UsageError(f"{where}: expected a whole number, got {value!r}")
        low, high = option.get("min_value"), option.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise UsageError(f"{where}: {value} is outside {low}–{high}")
        return int(value) if kind == OptionType.INTEGER else float(value)
    if kind == OptionType.BOOLEAN:
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected True or False, got {value!r}")
        return value
    if kind in (OptionType.USER, OptionType.MENTIONABLE) and isinstance(value, Member | User):
        user = value.user if isinstance(value, Member) else value
        resolved.setdefault("users", {})[str(user.id)] = user.payload()
        member = world.guilds[guild_id].members.get(user.id) if guild_id else None
        if member is not None:
            resolved.setdefault("members", {})[str(user.id)] = member.payload(with_user=False, permissions=0)
        return str(user.id)
    if kind in (OptionType.ROLE, OptionType.MENTIONABLE) and isinstance(value, Role):
        resolved.setdefault("roles", {})[str(value.id)] = value.payload()
        return str(value.id)
    if kind == OptionType.CHANNEL and isinstance(value, Channel):
        allowed = option.get("channel_types")
        if allowed and value.type not in allowed:
            raise UsageError(f"{where}: channel type {value.type} is not one of {allowed}")
        payload = value.payload()
        resolved.setdefault("channels", {})[str(value.id)] = {
            key: payload[key] for key in ("id", "type", "name", "parent_id", "thread_metadata") if key in payload
        } | {"permissions": str(0)}
        return str(value.id)
    if kind == OptionType.ATTACHMENT:
        attachment = _attachment(world, value, where)
        resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.payload(world.origin)
        return str(attachment.id)
    raise UsageError(f"{where}: cannot pass {value!r} to an option of type {kind}")


def _choice(option: JSON, value: Any, where: str) -> Any:
    choices = option["choices"]
    for choice in choices:
        if value == choice["value"] or value == choice["name"]:
            return choice["value"]
    raise UsageError(f"{where}: {value!r} is not one of the choices {[c['name'] for c in choices]}")


def _attachment(world: World, value: Any, where: str) -> Attachment:
    if isinstance(value, Attachment):
        return value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes | str):
        filename, data = value
        content = data.encode() if isinstance(data, str) else data
        attachment = Attachment(id=world.ids.next(), filename=filename, data=content, content_type=_content_type(filename))
        world.attachments[attachment.id] = attachment
        return attachment
    raise UsageError(f"{where}: pass an attachment as (filename, bytes or text)")


def _content_type(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower()
    return {
        "yaml": "application/x-yaml",
        "yml": "application/x-yaml",
        "md": "text/markdown",
        "txt": "text/plain",
        "json": "application/json",
        "csv": "text/csv",
        "png": "image/png",
    }.get(suffix, "application/octet-stream")
