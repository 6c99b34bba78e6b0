"""``b24-dedupe demo``: emulator, ingress and worker in one process, changes fed live.

What a newcomer sees: the seeded portal's duplicates found and merged within a
minute (a scan enqueues every record at start), traps left alone with the reason,
and then live changes — new customers, the same customer entered again, someone
else's phone — decided as they come. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import time
from collections import Counter
from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.exceptions import RedisError

from b24.crm import EntityType
from b24.emulator.config import EmulatorConfig
from b24.emulator.server import running_emulator
from b24_dedupe.audit import AuditLog
from b24_dedupe.keys import Keys
from b24_dedupe.logs import configure_from_settings
from b24_dedupe.portal import client_from_settings
from b24_dedupe.settings import Settings, exit_with, settings_or_exit
from commands.demo.feeder import Feeder
from commands.demo.seed import build_seed
from commands.serve import WorkerFailed, running_service, until_stopped_or_failed
from commands.session import redis_location
from worker.scan import scan

log = logging.getLogger("commands.demo")

DEMO_SECRET = "demo-secret"
DEMO_TOKEN = "demo-application-token"
DEMO_PREFIX = "b24dd-demo:"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="the ingress's port")
    parser.add_argument("--emulator-port", type=int, default=8090)
    parser.add_argument("--log-format", choices=("console", "json"), default="console")
    parser.add_argument(
        "--every", type=float, default=4.0, help="seconds between the demo user's changes (0: none)"
    )
    parser.add_argument(
        "--redis-prefix",
        default=DEMO_PREFIX,
        help=f"key prefix of the demo's data in Redis ({DEMO_PREFIX}); what is under it is "
        "replaced at each start",
    )


async def forget_previous_demo(redis: aioredis.Redis, prefix: str) -> None:
    """The emulated portal starts anew each time; so does the demo's own Redis data."""
    keys = [key async for key in redis.scan_iter(match=prefix + "*", count=10_000)]
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start : start + 1000])


def audit_command(settings: Settings) -> str:
    """The command line that shows the demo's decisions, with every setting it needs."""
    return (
        f"REDIS_URL={shlex.quote(settings.redis_url)} "
        f"REDIS_PREFIX={shlex.quote(settings.redis_prefix)} b24-dedupe audit"
    )


async def summarise(redis: aioredis.Redis, settings: Settings, since: float) -> None:
    """One line: what the demo decided, by decision, and where to read it all."""
    entries = await AuditLog(redis, Keys(settings.redis_prefix)).since(since)
    counts = Counter(str(entry.decision) for entry in entries)
    log.info(
        f"demo stopped: {len(entries)} decisions"
        + "".join(f", {count} {decision}" for decision, count in counts.most_common())
        + f"; read them with: {audit_command(settings)}"
    )


async def demo(settings: Settings, args: argparse.Namespace) -> None:
    config = EmulatorConfig(
        secret=DEMO_SECRET,
        rps=2.0,
        burst=50,
        events_url=f"http://{args.host}:{args.port}/webhooks/bitrix24",
        application_token=DEMO_TOKEN,
    )
    async with running_emulator(
        config, host=args.host, port=args.emulator_port, seed=build_seed()
    ) as emulator:
        settings = settings.model_copy(
            update={
                "b24_webhook_url": SecretStr(emulator.webhook_url),
                "b24_application_token": SecretStr(DEMO_TOKEN),
                "redis_prefix": args.redis_prefix.rstrip(":") + ":",
                "b24_rps": 2.0,
                "b24_burst": 50,
            }
        )
        redis = aioredis.Redis.from_url(settings.redis_url)
        await forget_previous_demo(redis, settings.redis_prefix)
        started = time.time()
        portal = emulator.engine.portal
        log.info(
            "demo portal ready",
            extra={
                "contacts": len(portal.records["CONTACT"]),
                "leads": len(portal.records["LEAD"]),
                "companies": len(portal.records["COMPANY"]),
                "emulator": emulator.root,
                "limits": "2 requests/s, burst 50",
            },
        )
        async with running_service(settings, args.host, args.port) as worker_loop:
            client = client_from_settings(settings, redis)
            keys = Keys(settings.redis_prefix)
            for entity in EntityType:
                result, _ = await scan(client, redis, keys, entity, only_unprocessed=False)
                log.info(
                    "scan enqueued the seeded records",
                    extra={"entity": entity, "enqueued": result.enqueued},
                )
            await client.close()
            feeder_task = None
            if args.every > 0:
                feeder_task = asyncio.create_task(Feeder(emulator.engine.portal).run(args.every))
            log.info(
                "watch the decisions below; Ctrl-C stops; in another terminal, "
                f"`{audit_command(settings)}` lists them"
            )
            try:
                await until_stopped_or_failed(worker_loop)
            finally:
                if feeder_task is not None:
                    feeder_task.cancel()
        try:
            await summarise(redis, settings, started)
        finally:
            await redis.aclose()


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    settings = settings.model_copy(update={"log_format": args.log_format})
    configure_from_settings(settings)
    try:
        asyncio.run(demo(settings, args))
    except WorkerFailed as exc:
        log.critical("the worker stopped by a fault; the demo stops", extra={"reason": str(exc)})
        return 1
    except RedisError as exc:
        exit_with(parser, f"cannot reach Redis at {redis_location(settings.redis_url)}: {exc}")
    except OSError as exc:
        exit_with(
            parser,
            f"cannot start the demo: {exc.strerror or exc} (ports {args.port}, "
            f"{args.emulator_port} free? Redis at REDIS_URL?)",
        )
    except KeyboardInterrupt:
        pass
    return 0


def register(commands: Any) -> None:
    """Add ``demo`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "demo",
        help="the service against a seeded emulated portal, with live changes",
        description="Start an emulated portal with duplicates and traps, the ingress and a "
        "worker, and feed the portal changes. Ctrl-C stops everything.",
    )
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(parser, args))
