"""The emulator's HTTP face: ``/rest/USER_ID/SECRET/METHOD[.json]`` and ``/_emulator/``.

Order of checks for a REST request, as a portal applies them: authentication
(401 ``NO_AUTH_FOUND``), injected faults, the leaky bucket (503
``QUERY_LIMIT_EXCEEDED``), the method (404 ``ERROR_METHOD_NOT_FOUND``), its operating
budget (429 ``OPERATION_TIME_LIMIT``), then the method itself.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from b24.emulator import control, errors
from b24.emulator.config import EmulatorConfig
from b24.emulator.engine import Engine, Outcome, RequestTimedOut
from b24.emulator.errors import RestError
from b24.emulator.events import EventSender
from b24.emulator.faults import Faults
from b24.emulator.listing import Page
from b24.emulator.seed import load_seed
from b24.emulator.state import CONFIG, ENGINE, FAULTS, SENDER
from b24.phpquery import QueryError, encode_php_query, parse_php_query

GATEWAY_TIMEOUT_PAGE = (
    "<html><head><title>504 Gateway Time-out</title></head><body>"
    "<center><h1>504 Gateway Time-out</h1></center></body></html>"
)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def error_response(error: RestError) -> web.Response:
    return _json(error.body(), status=error.status)


async def read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and the body (JSON, form or multipart); body wins."""
    params: dict[str, Any] = {}
    if request.query_string:
        query = parse_php_query(request.query_string)
        if isinstance(query, dict):
            params.update(query)
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type == "multipart/form-data":
        form = await request.post()
        pairs = [(k, v) for k, v in form.items() if isinstance(v, str)]
        body: Any = parse_php_query(encode_php_query(pairs))
    else:
        raw = await request.read()
        if not raw.strip():
            return params
        if content_type == "application/json":
            try:
                body = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise errors.RestError(
                    400, "INVALID_REQUEST", "Invalid JSON in the request body."
                ) from None
            if isinstance(body, list) and not body:
                body = {}
            if not isinstance(body, dict):
                raise errors.RestError(400, "INVALID_REQUEST", "The JSON body must be an object.")
        else:
            body = parse_php_query(raw)
    if isinstance(body, dict):
        params.update(body)
    return params


def _method_from_path(name: str) -> str:
    return name[: -len(".json")] if name.lower().endswith(".json") else name


async def rest_handler(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    config = request.app[CONFIG]
    engine.stats.http_requests += 1
    start = time.time()
    user_id = request.match_info["user_id"]
    secret = request.match_info["secret"]
    method = _method_from_path(request.match_info["method"])
    if user_id != str(config.user_id) or not hmac.compare_digest(
        secret.encode(), config.secret.encode()
    ):
        return _refuse(engine, errors.no_auth())
    faults = request.app[FAULTS]
    if faults.hits("drop", method):
        engine.stats.dropped_connections += 1
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing is answered on a dropped connection
    if faults.hits("latency", method):
        # The request has arrived whole; the portal is slow over it. It goes on when
        # the caller stops waiting, as a server-side script does: a late answer is not
        # a request that never ran.
        await request.read()
        await asyncio.sleep(faults.latency_seconds)
    if faults.hits("overload", method):
        return _refuse(engine, errors.overload(config.overload_status))
    if faults.hits("query_limit", method):
        engine.bucket.fill(time.time())
    if not engine.bucket.try_take(time.time()):
        return _refuse(engine, errors.query_limit())
    if faults.hits("internal_error", method):
        return _refuse(engine, errors.internal_error())
    try:
        params = await read_params(request)
    except ConnectionResetError:
        # The caller went away before its body had arrived whole: nobody to answer.
        raise asyncio.CancelledError from None
    except QueryError as exc:
        return _refuse(engine, errors.RestError(400, "INVALID_REQUEST", str(exc)))
    except RestError as exc:
        return _refuse(engine, exc)
    try:
        is_batch = method.lower() == "batch"
        outcome = engine.batch(params) if is_batch else engine.call(method, params)
        if outcome.processing > config.request_time_limit:
            raise RequestTimedOut
    except RequestTimedOut:
        engine.stats.refusals["GATEWAY_TIMEOUT"] += 1
        return web.Response(status=504, text=GATEWAY_TIMEOUT_PAGE, content_type="text/html")
    if config.realtime and outcome.processing > 0:
        await asyncio.sleep(outcome.processing)
    if outcome.error is not None:
        return _refuse(engine, outcome.error)
    return _json(_success_body(engine, outcome, start))


def _refuse(engine: Engine, error: RestError) -> web.Response:
    engine.stats.refusals[str(error.code) or error.description] += 1
    return error_response(error)


def _success_body(engine: Engine, outcome: Outcome, start: float) -> dict[str, Any]:
    finish = max(time.time(), start + outcome.processing)
    body: dict[str, Any]
    if isinstance(outcome.result, Page):
        body = {"result": outcome.result.rows}
        if outcome.result.next is not None:
            body["next"] = outcome.result.next
        if outcome.result.total is not None:
            body["total"] = outcome.result.total
    else:
        body = {"result": outcome.result}
    body["time"] = engine.time_block(start, finish, outcome)
    return body


def create_app(
    config: EmulatorConfig, *, seed: dict[str, Any] | None = None, public_url: str | None = None
) -> web.Application:
    """Build the emulator. ``public_url`` is the base as clients see it (for events)."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    engine = Engine(config)
    if seed is not None:
        load_seed(engine.portal, seed)
    app[ENGINE] = engine
    app[CONFIG] = config
    app[FAULTS] = Faults()
    control.setup(app)
    app.router.add_route("*", "/rest/{user_id}/{secret}/{method}", rest_handler)

    async def events_ctx(app: web.Application) -> AsyncIterator[None]:
        if config.events_url:
            base = public_url or "http://127.0.0.1/"
            domain = config.domain or base.split("//", 1)[-1].split("/", 1)[0]
            sender = EventSender(
                config.events_url,
                application_token=config.application_token,
                handler_id=config.event_handler_id,
                domain=domain,
                member_id=config.member_id,
                client_endpoint=base.rstrip("/") + "/rest/",
                stats=engine.stats,
            )
            await sender.start()
            engine.portal.listeners.append(sender.on_change)
            app[SENDER] = sender
            yield
            engine.portal.listeners.remove(sender.on_change)
            await sender.stop()
        else:
            yield

    app.cleanup_ctx.append(events_ctx)
    return app
