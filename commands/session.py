"""Running one administrative command against Redis and the portal.

What can go wrong becomes an exit code and one line: bad configuration, a Redis that
does not answer, a portal that cannot be reached or a webhook it refuses exit 2
(:func:`b24_dedupe.settings.exit_with`); any other failure of the portal (a limit, a
fault) prints its reason and exits 1. Messages name the portal's host, never the
webhook URL (its path is the secret).
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
    TransientError,
    Webhook,
    WebhookURLError,
)
from b24_dedupe.logs import configure, settings_secrets
from b24_dedupe.merge_rules import MergeRules, RulesError, load_rules
from b24_dedupe.portal import client_from_settings
from b24_dedupe.settings import Settings, exit_with

PortalWork = Callable[[Bitrix24Client, aioredis.Redis], Awaitable[int]]
RedisWork = Callable[[aioredis.Redis], Awaitable[int]]


class Refusal(Exception):
    """The command will not do what was asked; the message says why (exit 2)."""


def webhook_or_exit(parser: argparse.ArgumentParser, settings: Settings) -> Webhook:
    """The configured inbound webhook; exit 2 when it is missing or malformed."""
    if settings.b24_webhook_url is None:
        exit_with(
            parser,
            "B24_WEBHOOK_URL is not set: the inbound webhook "
            "https://PORTAL/rest/USER_ID/SECRET/ with the crm scope",
        )
    try:
        return Webhook.parse(settings.b24_webhook_url)
    except WebhookURLError as exc:
        exit_with(parser, f"B24_WEBHOOK_URL: {exc}")


def rules_or_exit(parser: argparse.ArgumentParser, settings: Settings) -> MergeRules:
    """``MERGE_RULES_FILE``, read before a worker starts: a file that cannot be read or
    applied is a setting to fix (exit 2), not a worker that fails at every start."""
    try:
        return load_rules(settings.merge_rules_file)
    except RulesError as exc:
        said = str(exc) if str(exc).startswith("MERGE_RULES_FILE") else f"MERGE_RULES_FILE {exc}"
        exit_with(parser, f"{said}; `b24-dedupe rules` explains")


def needs_portal(parser: argparse.ArgumentParser, settings: Settings) -> Webhook:
    """The configured inbound webhook; exit 2 when it is missing or malformed."""
    return webhook_or_exit(parser, settings)


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
    except Refusal as exc:
        exit_with(parser, str(exc))
    except (RedisError, OSError) as exc:
        redis_unreachable(parser, settings, exc)


def redis_unreachable(
    parser: argparse.ArgumentParser, settings: Settings, exc: BaseException
) -> NoReturn:
    exit_with(
        parser,
        f"cannot reach Redis at {redis_location(settings.redis_url)} (REDIS_URL): {exc}",
    )


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
    exit_with(parser, f"portal {portal}: {what} ({exc}); `b24-dedupe doctor` explains")


def unreachable(parser: argparse.ArgumentParser, portal: str, exc: TransientError) -> NoReturn:
    exit_with(
        parser,
        f"cannot reach portal {portal} ({exc}): check the host in B24_WEBHOOK_URL and the "
        "network; `b24-dedupe doctor` explains",
    )


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
        exit_with(parser, str(exc))
    except (RedisError, OSError) as exc:
        redis_unreachable(parser, settings, exc)
    except AuthError as exc:
        refused(parser, webhook.portal, exc)
    except TransientError as exc:
        if not exc.sent:  # the connection could not be opened: a host or network problem
            unreachable(parser, webhook.portal, exc)
        print(f"portal {webhook.portal}: {exc}", file=sys.stderr)
        return 1
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
