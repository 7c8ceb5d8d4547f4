"""The loopback HTTP server: REST under ``/api/v10`` and the gateway websocket at ``/gateway``.

Every REST request goes through one pipeline: parse (JSON, or multipart with ``payload_json`` and
``files[n]``), authenticate, rate-limit, check the body against Discord's API description, route
to a :class:`~tests.sim.rest.Rest` handler, record. Responses carry ``Content-Type:
application/json`` exactly (with a charset parameter discord.py treats the body as text).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from tests.sim.contract import Contract, Violation
from tests.sim.gateway import Gateway
from tests.sim.ratelimit import RateLimits
from tests.sim.rest import ApiError, Call, Rest, UploadedFile

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
# Authenticated by the token in the path, not the bot token (and exempt from the global limit).
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")
_TOKEN_IN_PATH = re.compile(r"^/(interactions|webhooks)/([0-9]+)/[^/]+")


def shown_path(raw_path: str) -> str:
    """The path as reports show it: decoded, with interaction tokens elided."""
    return _TOKEN_IN_PATH.sub(r"/\1/\2/<token>", unquote(raw_path))


@dataclass
class Recorded:
    """One request the bot made, as the simulator saw it."""

    method: str
    path: str
    template: str | None
    query: dict[str, str]
    body: Any
    status: int = 0
    started: float = field(default_factory=time.monotonic)
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


def json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    all_headers = dict(headers or {})
    if body is None:
        return web.Response(status=204, headers=all_headers)
    all_headers["Content-Type"] = "application/json"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


class Server:
    def __init__(self, rest: Rest, gateway: Gateway, contract: Contract, rate_limits: RateLimits, *, token: str) -> None:
        self.rest = rest
        self.gateway = gateway
        self.contract = contract
        self.rate_limits = rate_limits
        self.token = token
        self.requests: list[Recorded] = []
        self.violations: list[Violation] = []
        self.unknown_routes: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests being answered at once (see ``latency``)
        self.last_activity = time.monotonic()
        # Every REST answer is held this long (seconds): fixed, plus or minus up to the jitter,
        # uniformly (``Sim.set_latency``). Discord's round trips take tens to hundreds of ms.
        self.latency: tuple[float, float] = (0.0, 0.0)
        self._jitter = random.Random(20)
        # Checking a body against Discord's schema costs 5–13 ms: a benchmark at Discord's rate can
        # check every route's first ``contract_first`` bodies and then one in ``contract_every``
        # (``Sim.sample_contract``), so the simulator's own CPU does not distort what it measures.
        self.contract_first = 0
        self.contract_every = 1
        self._bodies: dict[tuple[str, str], int] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._outside_api)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the pipeline --------------------------------------------------------------------------

    async def _attachment(self, request: web.Request) -> web.Response:
        """The CDN: an attachment's bytes, at the URL its payload gives."""
        attachment = self.rest.world.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            return json_response(404, {"message": "404: Not Found", "code": 0})
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")

    async def _outside_api(self, request: web.Request) -> web.Response:
        self.unknown_routes.append(f"{request.method} {request.path} (outside {API_PREFIX})")
        return json_response(404, {"message": "404: Not Found", "code": 0})

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.last_activity = time.monotonic()
        try:
            response = await self._process(request)
            fixed, jitter = self.latency
            if fixed or jitter:
                await asyncio.sleep(max(0.0, fixed + self._jitter.uniform(-jitter, jitter)))
            return response
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    async def _process(self, request: web.Request) -> web.Response:
        raw_path = request.rel_url.raw_path[len(API_PREFIX) :] or "/"
        method = request.method
        query = {key: value for key, value in request.query.items()}
        operation = self.contract.operation(method, raw_path)
        template = operation.template if operation else None
        record = Recorded(method, shown_path(raw_path), template, query, None)
        self.requests.append(record)
        try:
            body, files, multipart = await _read_body(request)
        except ValueError as exc:
            record.status = 400
            return json_response(400, {"message": f"400: Bad Request ({exc})", "code": 50109})
        record.body = body
        record.files = [file.filename for file in files]
        handler = self.rest.routes.get((method, template)) if template else None
        if handler is None:
            self.unknown_routes.append(f"{method} {record.path}" + (f" ({template})" if template else " (not in Discord's API)"))
            record.status = 404
            return json_response(404, {"message": "404: Not Found", "code": 0})
        token_route = raw_path.startswith(_TOKEN_ROUTES)
        if not token_route and request.headers.get("Authorization") != f"Bot {self.token}":
            record.status = 401
            return json_response(401, {"message": "401: Unauthorized", "code": 0})
        assert template is not None
        params = _path_params(template, raw_path)
        major = _major(params)
        limited, rate_headers = self.rate_limits.check(
            method, template, major, exempt_global=raw_path.startswith("/interactions/")
        )
        if limited is not None:
            record.status = 429
            return json_response(429, limited.body(), limited.headers())
        seen = self._bodies[(method, template)] = self._bodies.get((method, template), 0) + 1
        checked = self.contract_every == 1 or seen <= self.contract_first or seen % self.contract_every == 0
        violations = self.contract.check(method, record.path, body, multipart=multipart) if checked else []
        if violations:
            self.violations.extend(violations)
            record.status = 400
            return json_response(400, violations[0].error_body(), rate_headers)
        call = Call(method, record.path, template, params, query, body, files)
        try:
            result = await handler(call)
        except ApiError as error:
            record.status = error.status
            return json_response(error.status, error.body(), rate_headers)
        record.status = 200 if result is not None else 204
        return json_response(record.status, result, rate_headers)


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile], bool]:
    if not request.can_read_body:
        return None, [], False
    content_type = request.content_type
    if content_type == "application/json":
        text = await request.text()
        if not text:
            return None, [], False
        try:
            return json.loads(text), [], False
        except json.JSONDecodeError as exc:
            raise ValueError(f"body is not JSON: {exc}") from None
    if content_type == "multipart/form-data":
        reader = await request.multipart()
        body: Any = None
        files: list[UploadedFile] = []
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(await part.text())
            elif name.startswith("files["):
                index = int(name[len("files[") : -1])
                data = await part.read(decode=False)
                files.append(UploadedFile(index, part.filename or f"file{index}", bytes(data), part.headers.get("Content-Type")))
            else:
                raise ValueError(f"unexpected multipart field {name!r}")
        return body, files, True
    data = await request.read()
    if data:
        raise ValueError(f"unsupported content type {content_type!r}")
    return None, [], False


def _major(params: dict[str, str]) -> str:
    """The major parameter of a request's rate-limit bucket, as Discord keys them: the channel, the
    guild, the webhook with its token (an interaction's follow-ups), or the interaction itself: every
    interaction's callback has a bucket of its own, so members clicking at once never share one."""
    return (
        params.get("channel_id")
        or params.get("guild_id")
        or params.get("interaction_id")
        or params.get("webhook_id", "") + params.get("webhook_token", "")
    )


def _path_params(template: str, raw_path: str) -> dict[str, str]:
    params = {}
    for name, value in zip(template.strip("/").split("/"), raw_path.strip("/").split("/"), strict=False):
        if name.startswith("{"):
            params[name[1:-1]] = unquote(value)
    return params
