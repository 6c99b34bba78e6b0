"""``b24-dedupe scan``: enqueue every record (or those changed since a date) for deduping."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client
from b24.crm import EntityType
from b24_dedupe.keys import Keys
from b24_dedupe.portal import client_from_settings
from b24_dedupe.settings import settings_or_exit
from commands.arguments import ENTITY_CHOICES
from commands.session import needs_portal, run_with_redis
from worker.scan import ScanResult, scan


def _progress(entity: str) -> Callable[[ScanResult], None]:
    def show(result: ScanResult) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(
                f"\r{entity.lower():8} {result.seen:>8} records  {result.enqueued:>8} enqueued"
            )
            sys.stderr.flush()

    return show


def run_scan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    needs_portal(parser, settings)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).isoformat()
        except ValueError:
            parser.error(
                f"--since takes a date such as 2025-06-01 or 2025-06-01T10:00:00+03:00, "
                f"not {args.since!r}"
            )
    entities = [EntityType.parse(args.entity)] if args.entity else list(EntityType)

    async def work(redis: aioredis.Redis) -> int:
        keys = Keys(settings.redis_prefix)
        client: Bitrix24Client = client_from_settings(settings, redis)
        async with client:
            for entity in entities:
                result, _ = await scan(
                    client,
                    redis,
                    keys,
                    entity,
                    since=since,
                    only_unprocessed=False,
                    debounce=0.0,
                    progress=_progress(entity),
                )
                if sys.stderr.isatty():
                    sys.stderr.write("\n")
                print(f"{entity.lower()}: {result.seen} records, {result.enqueued} jobs enqueued")
        return 0

    return run_with_redis(parser, settings, work)


def register(commands: Any) -> None:
    """Add ``scan`` to the ``b24-dedupe`` parser."""
    scan_parser = commands.add_parser(
        "scan",
        help="enqueue every record (or those changed since a date) for deduping",
        description="Walk the portal's records and enqueue a dedupe job for each.",
    )
    scan_parser.add_argument("--entity", choices=ENTITY_CHOICES)
    scan_parser.add_argument("--since", help="only records modified since this date")
    scan_parser.set_defaults(run=lambda a: run_scan(scan_parser, a))
