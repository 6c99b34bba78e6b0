"""The control API outside ``/rest/``: stats, faults, limits, event delivery.

Tests and benchmarks drive the emulated portal through it; nothing here exists
on a real portal.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from b24.emulator.engine import Engine
from b24.emulator.faults import FaultSpecError
from b24.emulator.state import ENGINE, FAULTS, SENDER


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[ENGINE].stats.as_dict())


async def reset_stats(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    engine.reset_stats()
    return web.json_response(engine.stats.as_dict())


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].describe())


async def set_faults(request: web.Request) -> web.Response:
    faults = request.app[FAULTS]
    try:
        faults.update(await _json_body(request))
    except FaultSpecError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.json_response(faults.describe())


async def clear_faults(request: web.Request) -> web.Response:
    faults = request.app[FAULTS]
    faults.clear()
    return web.json_response(faults.describe())


async def set_limits(request: web.Request) -> web.Response:
    """Change rps, burst, operating limit or method times of the running portal."""
    engine = request.app[ENGINE]
    body = await _json_body(request)
    try:
        if "rps" in body:
            engine.bucket.rps = engine.config.rps = float(body["rps"])
        if "burst" in body:
            engine.bucket.burst = engine.config.burst = int(body["burst"])
        if "operating_limit" in body:
            engine.budget.limit = engine.config.operating_limit = float(body["operating_limit"])
        for method, seconds in dict(body.get("method_times", {})).items():
            engine.config.method_times[str(method).lower()] = float(seconds)
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text="limits must be numbers") from None
    return web.json_response(_limits(engine))


async def charge_operating(request: web.Request) -> web.Response:
    """Spend ``seconds`` of one method's operating budget now (to provoke the limit).

    Both the budget of direct calls and that of batch commands are spent (they differ
    only with ``operating_batch_key="shared"``).
    """
    engine = request.app[ENGINE]
    body = await _json_body(request)
    method = str(body.get("method", "")).lower()
    try:
        seconds = float(body.get("seconds", 0))
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text="seconds must be a number") from None
    if not method:
        raise web.HTTPBadRequest(text="method is required")
    now = time.time()
    key = engine.charge_operating(method, seconds, now)
    return web.json_response(
        {
            "method": method,
            "operating": engine.budget.used(key, now),
            "operating_reset_at": engine.budget.reset_at(key, now),
        }
    )


async def get_limits(request: web.Request) -> web.Response:
    return web.json_response(_limits(request.app[ENGINE]))


def _limits(engine: Engine) -> dict[str, Any]:
    return {
        "rps": engine.bucket.rps,
        "burst": engine.bucket.burst,
        "bucket_level": engine.bucket.level,
        "operating_limit": engine.budget.limit,
        "operating_window": engine.budget.window,
        "method_times": dict(engine.config.method_times),
    }


async def set_events(request: web.Request) -> web.Response:
    """``{"enabled": false}`` loses events from now on, as a portal whose queue drops them."""
    body = await _json_body(request)
    sender = request.app.get(SENDER)
    if sender is None:
        raise web.HTTPConflict(text="the emulator was started without --events-url")
    if "enabled" in body:
        sender.enabled = bool(body["enabled"])
    if body.get("drain"):
        await sender.drain(float(body.get("timeout", 5.0)))
    return web.json_response({"enabled": sender.enabled})


def setup(app: web.Application) -> None:
    """Add the control routes; the app holds ENGINE and FAULTS already."""
    router = app.router
    router.add_get("/_emulator/stats", get_stats)
    router.add_delete("/_emulator/stats", reset_stats)
    router.add_get("/_emulator/faults", get_faults)
    router.add_post("/_emulator/faults", set_faults)
    router.add_delete("/_emulator/faults", clear_faults)
    router.add_get("/_emulator/limits", get_limits)
    router.add_post("/_emulator/limits", set_limits)
    router.add_post("/_emulator/operating", charge_operating)
    router.add_post("/_emulator/events", set_events)
