"""``b24-dedupe worker|scan|audit|not-duplicates``: running and administering the worker."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from arq.worker import Worker as ArqWorker

from b24.client import Bitrix24Client, client_from_settings
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings, settings_or_exit
from worker.app import run_until_stopped, worker_options
from worker.audit import AuditEntry, AuditLog
from worker.communications import EMAIL, PHONE, Communication, EvidenceRules
from worker.not_duplicates import NotDuplicates
from worker.scan import ENTITIES, ScanResult, scan

ENTITY_NAMES = {"lead": "LEAD", "contact": "CONTACT", "company": "COMPANY"}

Command = Callable[[argparse.ArgumentParser, argparse.Namespace], int]


def _needs_portal(parser: argparse.ArgumentParser, settings: Settings) -> None:
    if settings.b24_webhook_url is None:
        parser.error(
            "B24_WEBHOOK_URL is not set: the inbound webhook "
            "https://PORTAL/rest/USER_ID/SECRET/ with the crm scope"
        )


# -- worker ------------------------------------------------------------------------
def run_worker(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    _needs_portal(parser, settings)
    options = worker_options(settings)
    if args.burst:
        options["burst"] = True
        options["poll_delay"] = 0.1
    run_until_stopped(ArqWorker(**options))
    return 0


# -- shared plumbing for the commands that talk to Redis (and the portal) -------------
async def _with_redis(settings: Settings, work: Callable[[aioredis.Redis], Awaitable[int]]) -> int:
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        return await work(redis)
    finally:
        await redis.aclose()


def _run(
    parser: argparse.ArgumentParser,
    settings: Settings,
    work: Callable[[aioredis.Redis], Awaitable[int]],
) -> int:
    try:
        return asyncio.run(_with_redis(settings, work))
    except (ConnectionError, OSError, aioredis.ConnectionError) as exc:
        parser.error(f"cannot reach Redis at REDIS_URL: {exc}")


# -- scan ----------------------------------------------------------------------------
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
    _needs_portal(parser, settings)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).isoformat()
        except ValueError:
            parser.error(
                f"--since takes a date such as 2025-06-01 or 2025-06-01T10:00:00+03:00, "
                f"not {args.since!r}"
            )
    entities = [ENTITY_NAMES[args.entity]] if args.entity else list(ENTITIES)

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

    return _run(parser, settings, work)


# -- audit ---------------------------------------------------------------------------
CSV_COLUMNS = (
    "id",
    "time",
    "entity",
    "entity_id",
    "decision",
    "reason",
    "survivor",
    "group",
    "outcome",
    "link",
    "requests",
    "duration",
)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "time": datetime.fromtimestamp(entry.at).isoformat(timespec="seconds"),
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "decision": entry.decision,
        "reason": entry.reason,
        "survivor": entry.survivor or "",
        "group": " ".join(str(i) for i in entry.group),
        "outcome": entry.outcome.get("status", ""),
        "link": entry.outcome.get("link", ""),
        "requests": entry.requests,
        "duration": entry.duration,
    }


def run_audit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)

    async def work(redis: aioredis.Redis) -> int:
        audit = AuditLog(redis, Keys(settings.redis_prefix))
        if args.action == "show":
            entry = await audit.get(args.audit_id)
            if entry is None:
                print(f"no audit entry {args.audit_id}", file=sys.stderr)
                return 1
            print(
                entry.to_json()
                if args.json
                else json.dumps(json.loads(entry.to_json()), indent=2, ensure_ascii=False)
            )
            return 0
        if args.action == "export":
            writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            async for entry in audit.entries():
                writer.writerow(_row(entry))
            return 0
        entries = await audit.latest(args.limit)
        if args.record:
            entity, _, raw_id = args.record.partition(":")
            entity = ENTITY_NAMES.get(entity.lower(), "")
            if not entity or not raw_id.isdigit():
                parser.error("--record takes ENTITY:ID, such as contact:12")
            entries = await audit.for_record(entity, int(raw_id))
        for entry in entries:
            if args.json:
                print(entry.to_json())
            else:
                row = _row(entry)
                print(
                    f"{row['id']}  {row['entity'].lower():7} {row['entity_id']:>7}  "
                    f"{row['decision']:9} {row['outcome']:8} {row['reason']}"
                )
        return 0

    return _run(parser, settings, work)


# -- not-duplicates ---------------------------------------------------------------------
def run_not_duplicates(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    rules = EvidenceRules.build(settings.default_region, [], [])

    def value() -> Communication:
        if bool(args.phone) == bool(args.email):
            parser.error("give exactly one of --phone or --email")
        if args.phone:
            normalised = rules.normalise(PHONE, args.phone)
            if not normalised:
                parser.error(f"{args.phone!r} holds no digits")
            return Communication(PHONE, normalised)
        if "@" not in args.email:
            parser.error(f"{args.email!r} is not an e-mail address")
        return Communication(EMAIL, rules.normalise(EMAIL, args.email))

    async def work(redis: aioredis.Redis) -> int:
        store = NotDuplicates(redis, Keys(settings.redis_prefix))
        if args.action in ("add", "remove"):
            entity = ENTITY_NAMES[args.entity]
            if args.first == args.second:
                parser.error("a pair needs two different IDs")
            change = store.add_pair if args.action == "add" else store.remove_pair
            done = await change(entity, args.first, args.second)
            print(
                f"{args.action} {args.entity} {args.first} {args.second}: "
                f"{'done' if done else 'nothing to change'}"
            )
        elif args.action in ("add-value", "remove-value"):
            comm = value()
            change_value = store.add_value if args.action == "add-value" else store.remove_value
            done = await change_value(comm)
            print(f"{args.action} {comm}: {'done' if done else 'nothing to change'}")
        else:
            for pair in await store.all_pairs():
                print(f"pair   {pair}")
            for item in sorted(await store.values()):
                print(f"value  {item}")
        return 0

    return _run(parser, settings, work)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a record ID") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a record ID")
    return value


def register(commands: Any) -> None:
    """Add the worker's subcommands to the ``b24-dedupe`` parser."""
    worker = commands.add_parser(
        "worker",
        help="run a dedupe worker (arq)",
        description="Process dedupe jobs from Redis until stopped.",
    )
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(run=lambda a: run_worker(worker, a))

    scan_parser = commands.add_parser(
        "scan",
        help="enqueue every record (or those changed since a date) for deduping",
        description="Walk the portal's records and enqueue a dedupe job for each.",
    )
    scan_parser.add_argument("--entity", choices=sorted(ENTITY_NAMES))
    scan_parser.add_argument("--since", help="only records modified since this date")
    scan_parser.set_defaults(run=lambda a: run_scan(scan_parser, a))

    audit = commands.add_parser(
        "audit",
        help="list, show or export the audit trail",
        description="Every decision the worker made, newest first.",
    )
    audit_actions = audit.add_subparsers(dest="action", metavar="ACTION")
    audit.set_defaults(action="list")
    listing = audit_actions.add_parser("list", help="the newest decisions")
    # The options may come before or after the action. The action's own copies default
    # to SUPPRESS: argparse would otherwise overwrite `audit --json list` with False.
    for target, default in ((audit, {}), (listing, {"default": argparse.SUPPRESS})):
        target.add_argument("--limit", type=_positive, **{"default": 50, **default})
        target.add_argument(
            "--record", help="only decisions about ENTITY:ID (contact:12)", **default
        )
        target.add_argument("--json", action="store_true", help="JSON lines", **default)
    show = audit_actions.add_parser("show", help="one entry in full")
    show.add_argument("audit_id")
    show.add_argument(
        "--json", action="store_true", help="one JSON line", default=argparse.SUPPRESS
    )
    export = audit_actions.add_parser("export", help="every entry as CSV (for a spreadsheet)")
    export.add_argument("--csv", action="store_true", default=True, help="CSV (the default)")
    audit.set_defaults(run=lambda a: run_audit(audit, a))

    nd = commands.add_parser(
        "not-duplicates",
        help="records or values never to be merged",
        description="The portal-level list of pairs and values that "
        "are not evidence of one customer.",
    )
    nd_actions = nd.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name in ("add", "remove"):
        pair = nd_actions.add_parser(name, help=f"{name} a pair of records")
        pair.add_argument("entity", choices=sorted(ENTITY_NAMES))
        pair.add_argument("first", type=_positive)
        pair.add_argument("second", type=_positive)
    for name in ("add-value", "remove-value"):
        item = nd_actions.add_parser(name, help=f"{name.split('-')[0]} a phone or e-mail")
        item.add_argument("--phone")
        item.add_argument("--email")
    nd_actions.add_parser("list", help="the pairs and values")
    nd.set_defaults(run=lambda a: run_not_duplicates(nd, a))
