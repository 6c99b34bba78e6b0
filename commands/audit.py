"""``b24-dedupe audit``: list, show or export the audit trail."""

from __future__ import annotations

import argparse
import csv
import enum
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings, settings_or_exit
from commands.arguments import positive_int, record_ref
from commands.session import Refusal, run_with_redis

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


def _choices(kind: type[enum.StrEnum]) -> Callable[[str], list[str]]:
    """``merged,no_merge``: one or more values of ``kind`` (any case), comma-separated."""
    known = {member.value.lower(): member.value for member in kind}

    def parse(text: str) -> list[str]:
        values = []
        for item in (part.strip() for part in text.split(",")):
            if item.lower() not in known:
                raise argparse.ArgumentTypeError(
                    f"{item!r} is not one of: {', '.join(known.values())}"
                )
            values.append(known[item.lower()])
        return values

    return parse


def run_audit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)

    async def work(redis: aioredis.Redis) -> int:
        audit = AuditLog(redis, Keys(settings.redis_prefix))
        if args.action == "show":
            entry = await audit.get(args.audit_id)
            if entry is None:
                raise Refusal(f"no audit entry {args.audit_id}: `b24-dedupe audit` lists them")
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
        if args.action == "prune":
            return await prune(audit, settings, args.dry_run)
        entries = await audit.find(
            args.limit,
            record=args.record,
            decisions=[Decision(value) for value in _flat(args.decision)],
            outcomes=_flat(args.outcome),
        )
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


async def prune(audit: AuditLog, settings: Settings, dry_run: bool) -> int:
    result = await audit.prune(
        settings.audit_retention_days, settings.audit_merge_retention_days, dry_run=dry_run
    )
    print(
        f"{'would remove' if dry_run else 'removed'} {result.brief} entries without a merge "
        f"({_kept(settings.audit_retention_days)}, AUDIT_RETENTION_DAYS) and "
        f"{result.lasting} entries of merges and restores "
        f"({_kept(settings.audit_merge_retention_days)}, AUDIT_MERGE_RETENTION_DAYS)"
    )
    return 0


def _flat(lists: list[list[str]] | None) -> list[str]:
    return [value for values in lists or [] for value in values]


def _kept(days: float) -> str:
    return f"kept {days:g} days" if days > 0 else "kept for ever"


def register(commands: Any) -> None:
    """Add ``audit`` to the ``b24-dedupe`` parser."""
    audit = commands.add_parser(
        "audit",
        help="list, show or export the audit trail",
        description="Every decision the worker made, newest first (--record too).",
    )
    audit_actions = audit.add_subparsers(dest="action", metavar="ACTION")
    audit.set_defaults(action="list")
    listing = audit_actions.add_parser("list", help="the newest decisions")
    # The options may come before or after the action. The action's own copies default
    # to SUPPRESS: argparse would otherwise overwrite `audit --json list` with False.
    for target, default in ((audit, {}), (listing, {"default": argparse.SUPPRESS})):
        target.add_argument(
            "--limit",
            type=positive_int,
            help="most entries shown (50)",
            **{"default": 50, **default},
        )
        target.add_argument(
            "--record",
            type=record_ref,
            help="only decisions about ENTITY:ID (contact:12), newest first",
            **default,
        )
        target.add_argument(
            "--decision",
            type=_choices(Decision),
            action="append",
            metavar="DECISION",
            help="only these decisions (comma-separated or repeated): " + ", ".join(Decision),
            **default,
        )
        target.add_argument(
            "--outcome",
            type=_choices(Outcome),
            action="append",
            metavar="OUTCOME",
            help="only these outcomes (comma-separated or repeated): " + ", ".join(Outcome),
            **default,
        )
        target.add_argument("--json", action="store_true", help="JSON lines", **default)
    show = audit_actions.add_parser("show", help="one entry in full")
    show.add_argument("audit_id")
    show.add_argument(
        "--json", action="store_true", help="one JSON line", default=argparse.SUPPRESS
    )
    export = audit_actions.add_parser("export", help="every entry as CSV (for a spreadsheet)")
    export.add_argument("--csv", action="store_true", default=True, help="CSV (the default)")
    pruning = audit_actions.add_parser(
        "prune",
        help="remove the entries past their retention (the worker does it daily)",
        description="Remove entries without a merge older than AUDIT_RETENTION_DAYS and "
        "merge entries older than AUDIT_MERGE_RETENTION_DAYS (0: kept for ever); entries "
        "of merges still pending are never removed.",
    )
    pruning.add_argument("--dry-run", action="store_true", help="count, remove nothing")
    audit.set_defaults(run=lambda a: run_audit(audit, a))
