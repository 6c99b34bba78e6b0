"""``b24-dedupe review``: the groups waiting for a person, and settling them.

``list`` shows them (oldest first; ``--json`` one object per group); ``merge GROUP``
merges one through the worker's own path, ``--field CODE=RECORD_ID`` choosing whose
value a differing field takes (the rules settle the rest); ``dismiss GROUP`` marks its
records as not duplicates. With no action (or ``serve``) it starts the review page,
the same in a browser (:mod:`commands.review_page`).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client
from b24.crm import EntityType
from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision
from b24_dedupe.keys import Keys
from b24_dedupe.review import ReviewGroup, ReviewQueue, ReviewReason
from b24_dedupe.settings import settings_or_exit
from commands import review_page
from commands.arguments import ENTITY_CHOICES
from commands.session import Refusal, run_with_portal, run_with_redis
from worker.app import build_context
from worker.reviewing import ReviewRefused, dismiss_reviewed, group_or_refuse, merge_reviewed

WHO = "the command line"


def _row(group: ReviewGroup) -> dict[str, Any]:
    return {
        "id": group.id,
        "type": group.entity.value.lower(),
        "records": group.ids,
        "reason": group.reason.value,
        "detail": group.detail,
        "fields": sorted(group.differing),
        "waiting_since": round(group.first_seen),
    }


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86_400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86_400)}d"


def run_list(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)

    async def work(redis: aioredis.Redis) -> int:
        queue = ReviewQueue(redis, Keys(settings.redis_prefix))
        entity = EntityType.parse(args.type) if args.type else None
        reason = ReviewReason(args.reason) if args.reason else None
        groups = await queue.page(entity, reason, 0, args.limit)
        now = time.time()
        for group in groups:
            if args.json:
                print(json.dumps(_row(group), ensure_ascii=False))
            else:
                print(
                    f"{group.id:28} {group.entity.value.lower():7} {group.reason.value:9} "
                    f"{_age(now - group.first_seen):>4}  "
                    f"{','.join(map(str, group.ids)):20} {group.detail}"
                )
        if not args.json:
            total = await queue.count(entity, reason)
            print(
                f"{total} group(s) waiting"
                + (f", {len(groups)} shown" if total > len(groups) else "")
            )
        return 0

    return run_with_redis(parser, settings, work)


def _choice(text: str) -> tuple[str, int]:
    code, sep, record = text.partition("=")
    if not sep or not code.strip() or not record.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r}: write --field CODE=RECORD_ID, e.g. --field POST=12"
        )
    return code.strip().upper(), int(record)


def _said(entry: AuditEntry) -> str:
    status = f", {entry.status}" if entry.status else ""
    return f"{entry.decision}{status}: {entry.reason} (audit {entry.id})"


def run_action(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        context = build_context(settings, redis, client)
        try:
            group = await group_or_refuse(context, args.group)
            if args.action == "dismiss":
                entry = await dismiss_reviewed(context, group, who=WHO)
            else:
                entry = await merge_reviewed(context, group, dict(args.field), who=WHO)
        except ReviewRefused as exc:
            raise Refusal(str(exc)) from None
        print(_said(entry))
        return 0 if entry.decision in (Decision.MERGED, Decision.DISMISSED) else 1

    return run_with_portal(parser, settings, work)


def register(commands: Any) -> None:
    """Add ``review`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "review",
        help="the review page (a web service), or the queue here: list, merge, dismiss",
        description="The review queue: groups the service would not merge alone. With no "
        "ACTION, serve the review page (REVIEW_PASSWORD, REVIEW_HOST, REVIEW_PORT).",
    )
    review_page.add_arguments(parser)
    parser.set_defaults(run=lambda a: review_page.run(parser, a))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=False)
    serving = actions.add_parser("serve", help="serve the review page (the same as no action)")
    review_page.add_arguments(serving)
    serving.set_defaults(run=lambda a: review_page.run(serving, a))
    listing = actions.add_parser("list", help="the groups waiting, oldest first")
    listing.add_argument("--type", choices=ENTITY_CHOICES)
    listing.add_argument("--reason", choices=[r.value for r in ReviewReason])
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per group")
    listing.set_defaults(run=lambda a: run_list(listing, a))
    merge = actions.add_parser("merge", help="merge a group (the rules settle what you leave)")
    merge.add_argument("group", metavar="GROUP")
    merge.add_argument(
        "--field",
        type=_choice,
        action="append",
        default=[],
        metavar="CODE=RECORD_ID",
        help="this field takes that record's value (repeatable)",
    )
    merge.set_defaults(run=lambda a: run_action(merge, a))
    dismiss = actions.add_parser("dismiss", help="the records are not duplicates")
    dismiss.add_argument("group", metavar="GROUP")
    dismiss.set_defaults(run=lambda a: run_action(dismiss, a))
