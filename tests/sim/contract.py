"""Every request body the bot sends, checked against Discord's own OpenAPI description of API v10.

The description (``../shared/discord-api-spec/openapi.json``, OpenAPI 3.1 = JSON Schema 2020-12) is
loaded once per process. A concrete path such as ``/channels/123/messages`` is mapped to its
template ``/channels/{channel_id}/messages``; the operation's ``requestBody`` schema for the
request's content type validates the JSON body, or the ``payload_json`` part of a multipart body.
Rules Discord enforces that the description leaves out are checked here too (:func:`extra_rules`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.sim.state import walk_components

SPEC_URI = "urn:discord-api-spec"
EMBED_TOTAL_LIMIT = 6000

# tests/sim/contract.py → project root → its sibling shared/ (see the spec's README).
_ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = (
    Path(os.environ["DISCORD_API_SPEC"]) if os.environ.get("DISCORD_API_SPEC") else None,
    _ROOT / "tests" / "sim" / "openapi.json",  # a vendored copy, if the project ever needs one
    _ROOT.parent / "shared" / "discord-api-spec" / "openapi.json",
)


@dataclass(frozen=True)
class Violation:
    """One request Discord would have refused."""

    method: str
    path: str
    operation: str
    where: str  # JSON path into the body, e.g. $.embeds[0].fields[3].value
    reason: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation}) at {self.where}: {self.reason}"

    def error_body(self) -> dict[str, Any]:
        """The 400 body Discord answers with (code 50035, Invalid Form Body)."""
        return {
            "code": 50035,
            "message": "Invalid Form Body",
            "errors": {"_sim": {"_errors": [{"code": "BASE_TYPE_INVALID", "message": f"{self.where}: {self.reason}"}]}},
        }


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    operation_id: str
    body_content: frozenset[str]


def spec_path() -> Path:
    for candidate in _CANDIDATES:
        if candidate is not None and candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "Discord's OpenAPI description was not found; looked in "
        + ", ".join(str(c) for c in _CANDIDATES if c is not None)
    )


@functools.cache
def _document() -> dict[str, Any]:
    with spec_path().open(encoding="utf-8") as handle:
        document = json.load(handle)
    _relax_for_requests(document)
    return document


def _relax_for_requests(document: dict[str, Any]) -> None:
    """The few places where the description is stricter than Discord itself (each one justified).

    1. ``SnowflakeType`` is ``{"type": "string", pattern: digits}`` — right for responses (Discord
       always *returns* ids as strings), but Discord *accepts* integer ids in request bodies: its
       snowflake parser answers ``NUMBER_TYPE_MAX`` ("snowflake value should be less than or equal
       to 9223372036854775807") for out-of-range numbers, and discord.py — the library this bot
       uses against real Discord — sends ints (``recipient_id`` when opening a DM,
       ``allowed_mentions.users`` / ``roles``, ``message_reference.message_id``, select
       ``default_values[].id``). So a request may carry an integer in 0..2^63-1 wherever a
       snowflake is expected. Strings are still checked against the pattern.
    """
    schemas = document["components"]["schemas"]
    schemas["SnowflakeType"] = {
        "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}]
    }


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(_document(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.cache
def _routes() -> tuple[tuple[re.Pattern[str], int, str], ...]:
    """(regex, literal segment count, template) for every path, most literal first."""
    routes = []
    for template in _document()["paths"]:
        parts = template.strip("/").split("/")
        regex = "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        literal = sum(not part.startswith("{") for part in parts)
        routes.append((re.compile(f"^/{regex}$"), literal, template))
    routes.sort(key=lambda route: -route[1])
    return tuple(routes)


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@functools.cache
def _validator(template: str, method: str, content_type: str) -> jsonschema.protocols.Validator:
    pointer = _pointer("paths", template, method, "requestBody", "content", content_type, "schema")
    schema = {"$ref": f"{SPEC_URI}#/{pointer}"}
    return _DiscriminatingValidator(schema, registry=_registry())


# --- speed: Discord's unions are discriminated by "type" -----------------------------------------
# A command's options are a oneOf over ~11 option schemas, each checked in full, nested three deep:
# plain jsonschema spends about a second on one bulk overwrite. Skipping the branches whose
# ``properties.type`` const/enum rejects the instance's ``type`` cannot change the outcome (those
# branches fail anyway) and makes it ~50x faster. Unions without a usable discriminator run as usual.


def _branch_admits(branch: Any, kind: Any) -> bool:
    schema = _resolve(branch)
    if not isinstance(schema, dict):
        return True
    if "allOf" in schema:
        return all(_branch_admits(part, kind) for part in schema["allOf"])
    constraint = _resolve((schema.get("properties") or {}).get("type"))
    if not isinstance(constraint, dict):
        return True
    if "const" in constraint:
        return constraint["const"] == kind
    if "enum" in constraint:
        return kind in constraint["enum"]
    return True


def _resolve(schema: Any) -> Any:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return _lookup(ref) if isinstance(ref, str) and ref.startswith("#") else schema


@functools.cache
def _lookup(ref: str) -> Any:
    return _registry().resolver(base_uri=SPEC_URI).lookup(ref).contents


def _discriminated(keyword: Any) -> Any:
    def check(validator: Any, branches: list[Any], instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict) and "type" in instance and len(branches) > 1:
            kept = [branch for branch in branches if _branch_admits(branch, instance["type"])]
            if kept:
                branches = kept
        yield from keyword(validator, branches, instance, schema)

    return check


_DiscriminatingValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {
        "oneOf": _discriminated(jsonschema.Draft202012Validator.VALIDATORS["oneOf"]),
        "anyOf": _discriminated(jsonschema.Draft202012Validator.VALIDATORS["anyOf"]),
    },
)


class Contract:
    """Maps requests to operations and validates their bodies."""

    @staticmethod
    def load() -> None:
        """Read the description now (once per process); FileNotFoundError says where it was looked for."""
        _routes()

    def operation(self, method: str, path: str) -> Operation | None:
        method = method.lower()
        for regex, _literal, template in _routes():
            if regex.match(path):
                item = _document()["paths"][template].get(method)
                if item is None:
                    continue
                body = item.get("requestBody", {}).get("content", {})
                return Operation(template, method, item.get("operationId", "?"), frozenset(body))
        return None

    def check(self, method: str, path: str, body: Any, *, multipart: bool = False) -> list[Violation]:
        """Validate ``body`` (the JSON, or a multipart request's ``payload_json``)."""
        operation = self.operation(method, path)
        if operation is None:
            return [Violation(method, path, "?", "$", "no such operation in Discord's API description")]
        if body is None:
            return []
        if not operation.body_content:
            return [Violation(method, path, operation.operation_id, "$", "this operation takes no request body")]
        wanted = "multipart/form-data" if multipart else "application/json"
        content_type = wanted if wanted in operation.body_content else sorted(operation.body_content)[0]
        validator = _validator(operation.template, operation.method, content_type)
        violations = [
            Violation(method, path, operation.operation_id, where, reason)
            for where, reason in _schema_errors(validator, body)
        ]
        violations.extend(
            Violation(method, path, operation.operation_id, where, reason) for where, reason in extra_rules(body)
        )
        return violations


def _schema_errors(validator: jsonschema.protocols.Validator, body: Any) -> list[tuple[str, str]]:
    """One precise (JSON path, reason) per failing top-level keyword, unions narrowed to their branch."""
    return [_describe(_narrow(error)) for error in validator.iter_errors(body)]


def _narrow(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Descend an ``anyOf`` / ``oneOf`` failure into the branch that was meant.

    Discord's unions are discriminated by a ``type`` constant: a branch whose ``type`` doesn't
    match is not the one meant. Of the rest, the branch whose failure lies deepest in the body wins.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return error
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)

    def score(errors: list[jsonschema.ValidationError]) -> tuple[bool, int]:
        discriminated = any(_is_discriminator(e) for e in errors)
        deepest = max((_narrow(e) for e in errors), key=lambda e: len(e.absolute_path))
        return (not discriminated, len(deepest.absolute_path))

    chosen = max(branches.values(), key=score)
    deepest = max((_narrow(e) for e in chosen), key=lambda e: len(e.absolute_path))
    return deepest if len(deepest.absolute_path) > len(error.absolute_path) or len(branches) == 1 else error


def _is_discriminator(error: jsonschema.ValidationError) -> bool:
    path = error.absolute_path
    return error.validator in ("const", "enum") and bool(path) and path[-1] == "type"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    instance, expected = error.instance, error.validator_value
    match error.validator:
        case "maxLength":
            reason = f"{len(instance)} characters; at most {expected} allowed"
        case "minLength":
            reason = f"{len(instance)} characters; at least {expected} required"
        case "maxItems":
            reason = f"{len(instance)} items; at most {expected} allowed"
        case "minItems":
            reason = f"{len(instance)} items; at least {expected} required"
        case "maximum" | "minimum" | "const" | "enum" | "type" | "required" | "pattern":
            reason = f"{error.validator} {_short(repr(expected), 120)} failed for {_short(repr(instance), 80)}"
        case _:
            reason = _short(error.message)
    return error.json_path, reason


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


COMPONENTS_V2_FLAG = 1 << 15
LEGACY_ROW_LIMIT = 5


def extra_rules(body: Any) -> list[tuple[str, str]]:
    """What Discord enforces beyond the description.

    At most 6,000 embed characters per message; without the components-v2 flag, at most five
    top-level components and all of them action rows (the description allows 40 of any kind,
    which is the components-v2 limit). With the flag: no content and no embeds, at most 40
    components counting nested ones, and at most 4,000 characters of text display in all.
    """
    problems: list[tuple[str, str]] = []
    for where, message in _message_bodies(body):
        embeds = message.get("embeds")
        if isinstance(embeds, list):
            total = sum(embed_length(embed) for embed in embeds if isinstance(embed, dict))
            if total > EMBED_TOTAL_LIMIT:
                problems.append(
                    (f"{where}.embeds", f"embeds hold {total} characters in total; Discord allows {EMBED_TOTAL_LIMIT} per message")
                )
        components = message.get("components")
        flags = message.get("flags") or 0
        if isinstance(components, list) and not (isinstance(flags, int) and flags & COMPONENTS_V2_FLAG):
            if len(components) > LEGACY_ROW_LIMIT:
                problems.append(
                    (f"{where}.components", f"{len(components)} action rows; at most {LEGACY_ROW_LIMIT} without the components-v2 flag")
                )
            for index, component in enumerate(components):
                if isinstance(component, dict) and component.get("type") != 1:
                    problems.append(
                        (f"{where}.components[{index}]", "only action rows may be top-level without the components-v2 flag")
                    )
        elif isinstance(flags, int) and flags & COMPONENTS_V2_FLAG:
            problems += _components_v2_rules(where, message)
    return problems


COMPONENTS_V2_LIMIT = 40
COMPONENTS_V2_TEXT = 4000


def _components_v2_rules(where: str, message: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key in ("content", "embeds"):
        if message.get(key):
            problems.append((f"{where}.{key}", f"a message with the components-v2 flag can't have {key}"))
    components = message.get("components")
    if not isinstance(components, list):
        return problems
    every = [c for c in walk_components(components) if isinstance(c, dict)]
    if len(every) > COMPONENTS_V2_LIMIT:
        problems.append((f"{where}.components", f"{len(every)} components in all; at most {COMPONENTS_V2_LIMIT}"))
    text = sum(len(c.get("content") or "") for c in every if c.get("type") == 10)
    if text > COMPONENTS_V2_TEXT:
        problems.append(
            (f"{where}.components", f"{text} characters of text display; at most {COMPONENTS_V2_TEXT} per message")
        )
    return problems


def _message_bodies(body: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(body, dict):
        return []
    if "type" in body:  # an interaction callback: only types 4 and 7 carry a message, in "data"
        data = body.get("data")
        return [("$.data", data)] if body["type"] in (4, 7) and isinstance(data, dict) else []
    return [("$", body)]


def embed_length(embed: dict[str, Any]) -> int:
    """Discord's count: title, description, field names and values, footer text, author name."""

    def text(value: Any) -> int:
        return len(value) if isinstance(value, str) else 0

    total = text(embed.get("title")) + text(embed.get("description"))
    for embed_field in embed.get("fields") or []:
        if isinstance(embed_field, dict):
            total += text(embed_field.get("name")) + text(embed_field.get("value"))
    for part, key in (("footer", "text"), ("author", "name")):
        if isinstance(embed.get(part), dict):
            total += text(embed[part].get(key))
    return total
