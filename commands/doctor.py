"""``b24-dedupe doctor``: is the service set up right? Says what is wrong in plain words.

Three groups of checks, each line ``ok``, ``info``, ``warn`` or ``FAIL``:

- configuration: the settings (from the environment and ``.env``), the webhook URL's
  form, the application token, the audit journal directory;
- Redis: it answers; append-only persistence (``CONFIG GET appendonly``); the
  eviction policy; whether work is halted; the queue; whether a worker reported;
- the portal: reachable, the webhook accepted with the ``crm`` scope, its user an
  administrator (``crm.entity.mergeBatch`` needs one, docs), the CRM mode.

The portal is asked directly (a handful of requests, no limiter), so that it is
checked even when Redis is down. Exit 0 when nothing FAILs, 1 otherwise. The
portal is named by its host; the webhook URL (its path is the secret) never shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from b24.client import (
    Answer,
    AuthError,
    B24Error,
    LimitError,
    MethodError,
    Overloaded,
    PermissionDenied,
    TransientError,
    Webhook,
    WebhookURLError,
)
from b24.client.responses import read_answer
from b24.client.transport import Transport
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings, settings_or_exit
from commands.fields import FIELD_LIMIT
from commands.session import redis_location
from worker.app import HEALTH_CHECK_SECONDS, worker_options

Level = Literal["ok", "info", "warn", "FAIL"]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# What a refusal code means for this service (docs: "Errors common to all methods").
PERMISSION_HINTS = {
    "INSUFFICIENT_SCOPE": "the webhook lacks the crm scope: edit the inbound webhook in "
    "Bitrix24 and tick CRM (crm)",
    "ACCESS_DENIED": "the portal's plan has no REST API (it is on commercial plans only)",
    "INVALID_CREDENTIALS": "the webhook's user lacks the permissions to use the CRM",
    "USER_ACCESS_ERROR": "the webhook's user may not use this application",
}


@dataclass
class Finding:
    area: str
    level: Level
    text: str


class Report:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, area: str, level: Level, text: str) -> None:
        self.findings.append(Finding(area, level, text))

    @property
    def failed(self) -> bool:
        return any(f.level == "FAIL" for f in self.findings)


# -- configuration ------------------------------------------------------------------
def check_configuration(settings: Settings, report: Report) -> Webhook | None:
    area = "configuration"
    webhook = None
    if settings.b24_webhook_url is None:
        report.add(
            area,
            "FAIL",
            "B24_WEBHOOK_URL is not set: create an inbound webhook in Bitrix24 (Developer "
            "resources > Other > Inbound webhook) with the crm scope and set its URL",
        )
    else:
        raw = settings.b24_webhook_url.get_secret_value()
        try:
            webhook = Webhook.parse(raw)
        except WebhookURLError as exc:
            report.add(area, "FAIL", f"B24_WEBHOOK_URL: {exc}")
        else:
            report.add(area, "ok", f"portal {webhook.portal}, webhook of user {webhook.user_id}")
            parts = urlsplit(raw.strip())
            if parts.scheme == "http" and parts.hostname not in LOOPBACK:
                report.add(
                    area,
                    "warn",
                    "B24_WEBHOOK_URL starts with http://: Bitrix24 answers INVALID_REQUEST "
                    "'Https required'; use https://",
                )
    if not settings.application_tokens():
        report.add(
            area,
            "FAIL",
            "B24_APPLICATION_TOKEN is not set: the ingress (`b24-dedupe web`) will not "
            "start; copy the application token shown with the outbound webhook",
        )
    else:
        count = len(settings.application_tokens())
        report.add(area, "ok", f"application token set ({count} accepted)")
    if settings.merge_mode == "dry-run":
        report.add(area, "info", "MERGE_MODE=dry-run: decisions are recorded, nothing merged")
    if settings.audit_journal_dir:
        check_journal(Path(settings.audit_journal_dir), report)
    report.add(
        area,
        "info",
        f"Redis {redis_location(settings.redis_url)}, key prefix {settings.redis_prefix}, "
        f"portal rate {settings.b24_rps:g}/s, burst {settings.b24_burst}",
    )
    return webhook


def check_journal(path: Path, report: Report) -> None:
    """Write, fsync and remove a file there, as the worker's journal does (``os.access``
    says yes to root for a directory no one can write, such as one under /proc)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".doctor-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"b24-dedupe doctor\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        report.add(
            "configuration",
            "FAIL",
            f"AUDIT_JOURNAL_DIR {path} cannot be written by this user "
            f"({exc.strerror or exc}): merges would fail before they start",
        )
    else:
        report.add("configuration", "ok", f"audit journal directory {path} is writable")


# -- Redis ----------------------------------------------------------------------------
async def _config(redis: aioredis.Redis, name: str) -> str | None:
    try:
        answer = await redis.config_get(name)
    except ResponseError:
        return None  # CONFIG is disabled on many managed Redis services
    value = answer.get(name, answer.get(name.encode()))
    return value.decode() if isinstance(value, bytes) else value


async def check_redis(settings: Settings, report: Report) -> None:
    area, where = "redis", redis_location(settings.redis_url)
    keys = Keys(settings.redis_prefix)
    redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        try:
            await redis.ping()
            info = await redis.info("server")
        except (RedisError, OSError) as exc:
            report.add(area, "FAIL", f"Redis at {where} does not answer: {exc}")
            return
        report.add(area, "ok", f"{where} answers (Redis {info.get('redis_version', '?')})")
        appendonly = await _config(redis, "appendonly")
        if appendonly is None:
            report.add(
                area,
                "warn",
                "cannot read CONFIG (a managed Redis?): make sure append-only persistence is "
                "on, or a restart loses queued jobs and the latest audit entries",
            )
        elif appendonly == "yes":
            report.add(area, "ok", "append-only persistence is on (appendonly yes)")
        else:
            report.add(
                area,
                "warn",
                "append-only persistence is off (appendonly no): a Redis restart may lose "
                "queued jobs and the latest audit entries; set appendonly yes",
            )
        policy = await _config(redis, "maxmemory-policy")
        if policy is not None and policy != "noeviction":
            report.add(
                area,
                "warn",
                f"maxmemory-policy is {policy}: when memory runs short Redis deletes keys, "
                "queued jobs and audit entries among them; use noeviction",
            )
        await check_memory(redis, report)
        await check_work(redis, keys, worker_options(settings)["health_check_key"], report)
    finally:
        await redis.aclose()


# Past this share of maxmemory, doctor warns: a full Redis (noeviction) refuses writes,
# and the ingress then answers 503 to events Bitrix24 will not send again.
MEMORY_WARN_SHARE = 0.8


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


async def check_memory(redis: aioredis.Redis, report: Report) -> None:
    """Memory used against ``maxmemory`` (docs/operations.md, "Storage and retention")."""
    memory = await redis.info("memory")
    used = float(memory.get("used_memory", 0))
    limit = float(memory.get("maxmemory", 0))
    if limit <= 0:
        report.add(
            "redis",
            "info",
            f"Redis uses {_size(used)}; no maxmemory is set: set one below the machine's "
            "memory (docs/operations.md, Storage and retention)",
        )
    elif used >= MEMORY_WARN_SHARE * limit:
        report.add(
            "redis",
            "warn",
            f"Redis uses {_size(used)} of maxmemory {_size(limit)}: when it is full, events "
            "are refused (503); raise maxmemory, or shorten AUDIT_RETENTION_DAYS and run "
            "`b24-dedupe audit prune`",
        )
    else:
        report.add("redis", "ok", f"Redis uses {_size(used)} of maxmemory {_size(limit)}")


async def check_work(redis: aioredis.Redis, keys: Keys, health_key: str, report: Report) -> None:
    halt = await redis.get(keys.halt)
    if halt is not None:
        ttl = await redis.ttl(keys.halt)
        report.add(
            "worker",
            "FAIL",
            f"work is halted because the portal refused us ({halt.decode(errors='replace')}); "
            f"jobs wait in the queue, nothing is lost; they try again in {max(ttl, 0)} s",
        )
    queued = await redis.zcard(keys.queue)
    report.add("worker", "info", f"{queued} job(s) in the queue")
    health = await redis.get(health_key)
    if health is None:
        report.add(
            "worker",
            "warn",
            f"no worker has reported in the last {HEALTH_CHECK_SECONDS} s: is "
            "`b24-dedupe worker` running with this REDIS_URL and REDIS_PREFIX?",
        )
    else:
        report.add("worker", "ok", f"a worker reported: {health.decode(errors='replace')}")


# -- the portal -----------------------------------------------------------------------
def explain(webhook: Webhook, exc: B24Error) -> tuple[Level, str]:
    """A refusal or fault of the portal, in words an administrator can act on."""
    portal = webhook.portal
    if isinstance(exc, PermissionDenied):
        hint = PERMISSION_HINTS.get(exc.code.upper(), "the webhook's user or scope may not do this")
        return "FAIL", f"portal {portal} refuses: {hint} ({exc})"
    if isinstance(exc, AuthError):
        return "FAIL", (
            f"portal {portal} refuses the webhook ({exc}): its secret or user ID is wrong, or "
            "the webhook was deleted; create an inbound webhook with the crm scope and set "
            "B24_WEBHOOK_URL to its URL"
        )
    if isinstance(exc, Overloaded):
        return "FAIL", (
            f"portal {portal}: REST is blocked (OVERLOAD_LIMIT), a manual block only Bitrix24 "
            "support lifts; until then the workers hold their jobs, nothing is lost"
        )
    if isinstance(exc, LimitError):
        return "warn", f"portal {portal} is busy ({exc}): not checked; try again in a minute"
    if isinstance(exc, TransientError):
        if not exc.sent:
            return "FAIL", f"cannot reach portal {portal}: {exc}"
        return "FAIL", f"portal {portal} did not answer properly: {exc}"
    if isinstance(exc, MethodError) and str(exc.code).upper() == "INVALID_REQUEST":
        return "FAIL", f"portal {portal} wants https ({exc}): B24_WEBHOOK_URL must use https://"
    if isinstance(exc, MethodError) and str(exc.code).startswith("HTTP_"):
        return "FAIL", (
            f"{portal} does not answer as a Bitrix24 portal ({exc}): check B24_WEBHOOK_URL"
        )
    return "FAIL", f"portal {portal}: {exc}"


async def check_portal(webhook: Webhook, report: Report) -> None:
    area = "portal"
    transport = Transport(webhook, connect_timeout=10, read_timeout=30)

    async def call(method: str) -> Answer:
        status, body = await transport.post(method, {})
        return read_answer(status, body, method=method)

    try:
        try:
            await call("crm.contact.fields")
        except B24Error as exc:
            level, text = explain(webhook, exc)
            report.add(area, level, text)
            return
        report.add(
            area, "ok", f"{webhook.portal} answers; the webhook is accepted, the crm scope present"
        )
        try:
            registered = (await call("crm.duplicate.volatileType.list")).result
        except PermissionDenied:
            report.add(
                area,
                "FAIL",
                f"the webhook's user {webhook.user_id} is not a portal administrator: merges "
                "(crm.entity.mergeBatch) need one; make the webhook as an administrator",
            )
        except B24Error as exc:
            report.add(area, "warn", f"administrator rights not checked: {exc}")
        else:
            used = len(registered) if isinstance(registered, list) else 0
            report.add(
                area,
                "ok",
                f"the webhook's user is an administrator ({used} of {FIELD_LIMIT} extra "
                "duplicate-search fields in use)",
            )
        try:
            mode = (await call("crm.settings.mode.get")).result
        except B24Error:
            return  # only informative
        names = {1: "classic (leads, contacts, companies)", 2: "simple (no leads)"}
        report.add(area, "info", f"CRM mode: {names.get(mode, str(mode))}")
    finally:
        await transport.close()


async def examine(settings: Settings) -> Report:
    report = Report()
    webhook = check_configuration(settings, report)
    checks: list[Awaitable[None]] = [check_redis(settings, report)]
    if webhook is not None:
        checks.append(check_portal(webhook, report))
    else:
        report.add("portal", "info", "not checked: no usable B24_WEBHOOK_URL")
    await asyncio.gather(*checks)
    order = {"configuration": 0, "redis": 1, "worker": 2, "portal": 3}
    report.findings.sort(key=lambda f: order.get(f.area, 9))  # stable: each area in order
    return report


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    report = asyncio.run(examine(settings))
    if args.json:
        result: dict[str, Any] = {
            "ok": not report.failed,
            "findings": [asdict(f) for f in report.findings],
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for finding in report.findings:
            print(f"{finding.level:<4}  {finding.area:<13}  {finding.text}")
        print("all checks passed" if not report.failed else "some checks FAILED (see above)")
    return 1 if report.failed else 0


def register(commands: Any) -> None:
    """Add ``doctor`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "doctor",
        help="check the configuration, Redis and the portal; say what is wrong",
        description="Check the settings, Redis (reachable, persistence, halts, workers) "
        "and the portal (reachable, webhook valid, crm scope, administrator). Exit 0 when "
        "all is well, 1 when a check fails.",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(run=lambda a: run(parser, a))
