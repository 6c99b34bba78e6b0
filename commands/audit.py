"""``b24-dedupe audit``: list, show or export the audit trail."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from b24.crm import RecordRef
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.keys import Keys
from b24_dedupe.settings import settings_or_exit
from commands.arguments import positive_id
from commands.session import run_with_redis

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
            try:
                record = RecordRef.parse(args.record)
            except ValueError:
                parser.error("--record takes ENTITY:ID, such as contact:12")
            entries = await audit.for_record(record)
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

    return run_with_redis(parser, settings, work)


def register(commands: Any) -> None:
    """Add ``audit`` to the ``b24-dedupe`` parser."""
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
        target.add_argument("--limit", type=positive_id, **{"default": 50, **default})
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
