"""Running one administrative command against Redis and the portal.

What can go wrong becomes an exit code and a sentence: bad configuration, a Redis that
does not answer, or a webhook the portal refuses exit 2 through ``parser.error``;
any other failure of the portal (a limit, a fault) prints its reason and exits 1.
Messages name the portal's host, never the webhook URL (its path is the secret).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from b24.client import (
    AuthError,
    B24Error,
    Bitrix24Client,
    Overloaded,
    PermissionDenied,
    Webhook,
    WebhookURLError,
)
from b24_dedupe.logs import configure, settings_secrets
from b24_dedupe.portal import client_from_settings
from b24_dedupe.settings import Settings

PortalWork = Callable[[Bitrix24Client, aioredis.Redis], Awaitable[int]]
RedisWork = Callable[[aioredis.Redis], Awaitable[int]]


class Refusal(Exception):
    """The command will not do what was asked; the message says why (exit 2)."""


def webhook_or_exit(parser: argparse.ArgumentParser, settings: Settings) -> Webhook:
    """The configured inbound webhook; exit 2 when it is missing or malformed."""
    if settings.b24_webhook_url is None:
        parser.error(
            "B24_WEBHOOK_URL is not set: the inbound webhook "
            "https://PORTAL/rest/USER_ID/SECRET/ with the crm scope"
        )
    try:
        return Webhook.parse(settings.b24_webhook_url)
    except WebhookURLError as exc:
        parser.error(f"B24_WEBHOOK_URL: {exc}")


def needs_portal(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """Exit 2 unless an inbound webhook is configured."""
    if settings.b24_webhook_url is None:
        parser.error(
            "B24_WEBHOOK_URL is not set: the inbound webhook "
            "https://PORTAL/rest/USER_ID/SECRET/ with the crm scope"
        )


async def _with_redis(settings: Settings, work: RedisWork) -> int:
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        return await work(redis)
    finally:
        await redis.aclose()


def run_with_redis(parser: argparse.ArgumentParser, settings: Settings, work: RedisWork) -> int:
    """Run ``work`` with a Redis connection; exit 2 when Redis cannot be reached."""
    try:
        return asyncio.run(_with_redis(settings, work))
    except (ConnectionError, OSError, aioredis.ConnectionError) as exc:
        parser.error(f"cannot reach Redis at REDIS_URL: {exc}")


def redis_location(url: str) -> str:
    """``host:port/db`` of a Redis URL, without the password it may carry."""
    rest = url.split("//", 1)[-1]
    return rest.rsplit("@", 1)[-1] or url.split(":", 1)[0]


def refused(parser: argparse.ArgumentParser, portal: str, exc: AuthError) -> NoReturn:
    what = (
        "the webhook's user or scope may not do this"
        if isinstance(exc, PermissionDenied)
        else ("the webhook is not accepted")
    )
    parser.error(f"portal {portal}: {what} ({exc}); `b24-dedupe doctor` explains")


def run_with_portal(parser: argparse.ArgumentParser, settings: Settings, work: PortalWork) -> int:
    """Run ``work`` with a Redis connection and a client of the portal; its exit code."""
    webhook = webhook_or_exit(parser, settings)
    # The command says itself what went wrong; the client's own log lines (refusals,
    # retries) appear with LOG_LEVEL=DEBUG only, secrets cut out.
    level = "DEBUG" if settings.log_level == "DEBUG" else "CRITICAL"
    configure(level, "console", secrets=settings_secrets(settings))

    async def main() -> int:
        redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=10)
        try:
            await redis.ping()
            async with client_from_settings(settings, redis) as client:
                return await work(client, redis)
        finally:
            await redis.aclose()

    try:
        return asyncio.run(main())
    except Refusal as exc:
        parser.error(str(exc))
    except (RedisError, OSError) as exc:
        parser.error(f"cannot reach Redis at {redis_location(settings.redis_url)}: {exc}")
    except AuthError as exc:
        refused(parser, webhook.portal, exc)
    except Overloaded as exc:
        print(
            f"portal {webhook.portal}: REST is blocked (OVERLOAD_LIMIT, {exc}); only Bitrix24 "
            "support lifts this block",
            file=sys.stderr,
        )
        return 1
    except B24Error as exc:
        print(f"portal {webhook.portal}: {exc}", file=sys.stderr)
        return 1
