"""HTTP handlers: the aiohttp side of :mod:`b24.events` and :mod:`b24_dedupe.dedupe_queue`.

``POST /webhooks/bitrix24`` answers 200 only once the event is in Redis (Bitrix24
never resends an event: REST docs, outbound webhooks), 400/401/413/415 for what the parser
refuses, 405 for other methods, 503 when Redis cannot take the event. Each
delivery gives one log line and one count in ``b24dd_ingress_events_total``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web
from redis.exceptions import RedisError

from b24 import events
from b24.crm import Change
from b24.events import Event, EventRejected
from b24_dedupe import shared_metrics
from b24_dedupe.dedupe_queue import Enqueued, enqueue_event
from webhooks_in.metrics import CONTENT_TYPE
from webhooks_in.state import CONFIG, METRICS, PIPELINE

log = logging.getLogger("webhooks_in")

WEBHOOK_PATH = "/webhooks/bitrix24"
READY_TIMEOUT_SECONDS = 1.0

# Outcome labels of the requests that end before an event is accepted.
_REJECTION_OUTCOMES = {
    400: "malformed",
    401: "unauthenticated",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}
# Bodies of the accepted answers, made once.
_ACCEPTED = {
    outcome: json.dumps({"result": outcome}).encode()
    for outcome in [*(o.value for o in Enqueued), "ignored"]
}


def _answer(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json")


def _refusal(status: int, error: str, reason: str) -> web.Response:
    return _answer(status, json.dumps({"error": error, "reason": reason}).encode())


async def receive_event(request: web.Request) -> web.StreamResponse:
    """``POST /webhooks/bitrix24``: one outbound event from the portal."""
    started = time.perf_counter()
    config = request.app[CONFIG]
    metrics = request.app[METRICS]
    if request.method != "POST":
        response = _refuse(request, started, 405, f"{request.method} is not allowed; use POST")
        response.headers["Allow"] = "POST"
        return response
    try:
        events.check_media_type(request.headers.get("Content-Type"))
        events.check_length(request.content_length, config.max_body_bytes)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise events.BodyTooLarge(f"body larger than {config.max_body_bytes} bytes") from None
        event = events.parse_event(
            request.headers, body, config.tokens, max_body_bytes=config.max_body_bytes
        )
    except EventRejected as exc:
        return _refuse(request, started, exc.status, exc.reason)

    record = event.record
    if record is None:
        metrics.events.inc("other", "ignored")
        log.info("event ignored", extra=_fields(request, started, 200, "ignored", event))
        return _answer(200, _ACCEPTED["ignored"])

    enqueue_started = time.perf_counter()
    try:
        # Bounded by the pipeline's timeout (webhooks_in.app.REDIS_TIMEOUT_SECONDS).
        stored = await enqueue_event(
            request.app[PIPELINE],
            config.keys,
            record,
            debounce=config.debounce_seconds,
            deleted=event.change is Change.DELETE,
        )
    except (RedisError, OSError, TimeoutError) as exc:
        metrics.events.inc(event.name, "redis_unavailable")
        # Bitrix24 does not resend: this event is lost unless a scan finds the change.
        log.error(
            "event lost: Redis did not take it",
            extra=_fields(
                request,
                started,
                503,
                "redis_unavailable",
                event,
                reason=f"{type(exc).__name__}: {exc}",
            ),
        )
        return _refusal(503, "redis_unavailable", "the event could not be stored; not accepted")
    metrics.enqueue_seconds.observe(time.perf_counter() - enqueue_started)
    metrics.events.inc(event.name, stored.value)
    log.info("event accepted", extra=_fields(request, started, 200, stored.value, event))
    return _answer(200, _ACCEPTED[stored.value])


def _refuse(request: web.Request, started: float, status: int, reason: str) -> web.Response:
    outcome = _REJECTION_OUTCOMES[status]
    request.app[METRICS].events.inc("-", outcome)
    log.warning("event refused", extra=_fields(request, started, status, outcome, reason=reason))
    return _refusal(status, outcome, reason)


def _fields(
    request: web.Request,
    started: float,
    status: int,
    outcome: str,
    event: Event | None = None,
    *,
    reason: str | None = None,
) -> dict[str, object]:
    fields: dict[str, object] = {"status": status, "outcome": outcome}
    if event is not None:
        fields.update(
            event=event.name,
            entity=event.entity,
            entity_id=event.entity_id,
            member_id=event.member_id,
            domain=event.domain,
        )
    if reason is not None:
        fields["reason"] = reason
    fields["remote"] = request.remote
    fields["ms"] = round((time.perf_counter() - started) * 1000, 3)
    return fields


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready: Redis answers a PING on the connection that stores the events, and in a
    process that runs a worker too (``serve``), that worker runs."""
    alive = request.app[CONFIG].worker_alive
    if alive is not None and not alive():
        log.warning("not ready: the worker of this process is not running")
        return web.json_response({"status": "unavailable", "worker": "down"}, status=503)
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await request.app[PIPELINE].execute("PING")
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("not ready: Redis does not answer", extra={"reason": type(exc).__name__})
        return web.json_response({"status": "unavailable", "redis": "down"}, status=503)
    return web.json_response({"status": "ok", "redis": "up"})


async def metrics(request: web.Request) -> web.Response:
    """The ingress's own counters, then the workers' (summed in Redis) and the queue depth."""
    body = request.app[METRICS].render()
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            body += await shared_metrics.render(
                request.app[PIPELINE].execute, request.app[CONFIG].keys
            )
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning(
            "metrics: the workers' counters are unavailable", extra={"reason": type(exc).__name__}
        )
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})


def setup_routes(app: web.Application) -> None:
    app.router.add_route("*", WEBHOOK_PATH, receive_event)
    app.router.add_get("/healthz", healthz, allow_head=True)
    app.router.add_get("/readyz", readyz, allow_head=True)
    app.router.add_get("/metrics", metrics)
