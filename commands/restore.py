"""``b24-dedupe restore AUDIT_ID``: undo a merge from its audit entry.

The records the merge deleted are created again (new IDs) from the state stored before
the merge, the survivor's fields and items the merge changed are set back, and the
survivor and the new records are marked as not duplicates (worker/restoring.py says
how, and what is kept).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.settings import settings_or_exit
from commands.session import Refusal, run_with_portal
from worker.app import build_context
from worker.restoring import Plan, RestoreRefused, plan_restore, restore


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(
            f"{item.get('VALUE')} ({item.get('VALUE_TYPE', '')})"
            if isinstance(item, dict) and "VALUE" in item
            else str(item)
            for item in value
        )
    return str(value)


def print_plan(entity: str, plan: Plan) -> None:
    print(f"would create {entity} {plan.old_id} again (with a new ID):")
    for code, value in plan.fields.items():
        print(f"  {code}: {_shown(value)}")
    if plan.read_only:
        print(f"  left out, set by the portal: {', '.join(plan.read_only)}")
    if plan.unknown:
        print(f"  left out, no such field on the portal now: {', '.join(plan.unknown)}")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        context = build_context(settings, redis, client)
        try:
            plan = await plan_restore(context, args.audit_id, force=args.force)
        except RestoreRefused as exc:
            raise Refusal(str(exc)) from None
        name = plan.entry.entity.value.lower()
        survivor = plan.survivor.survivor
        if args.dry_run:
            for record_plan in plan.records:
                print_plan(name, record_plan)
            if plan.survivor.fields:
                print(f"would set {name} {survivor} back: {', '.join(plan.survivor.fields)}")
            if plan.survivor.edited_since:
                print(
                    f"would keep, edited after the merge: {', '.join(plan.survivor.edited_since)}"
                )
            print(f"would mark {name} {survivor} and the new records as not duplicates")
            return 0
        record = await restore(
            context,
            plan,
            say=lambda text: (
                print(text, file=sys.stderr)
                if text.startswith(f"{name} ") and "not " in text
                else print(text)
            ),
        )
        created = record.outcome.get("created") or {}
        if created:
            new_ids = [str(i) for i in created.values()]
            print(
                f"marked as not duplicates of each other: {name} {survivor} (the survivor) and "
                f"{', '.join(new_ids)}; `b24-dedupe not-duplicates remove {name} {survivor} "
                f"{new_ids[0] if len(new_ids) == 1 else 'ID'}` undoes it"
            )
        status = record.status
        print(f"audit entry {record.id}: {Decision.RESTORED}, {status}")
        return 0 if status == Outcome.SUCCESS else 1

    return run_with_portal(parser, settings, work)


def register(commands: Any) -> None:
    """Add ``restore`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "restore",
        help="create again the records a merge deleted, from its audit entry",
        description="Recreate the records deleted by the merge of AUDIT_ID from the "
        "snapshot taken before it (all editable fields, phones, e-mails, web and IM; new "
        "IDs), mark them as not duplicates of the survivor, and record the restore in "
        "the audit.",
    )
    parser.add_argument("audit_id", metavar="AUDIT_ID", help="as `b24-dedupe audit` shows it")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be created; change nothing"
    )
    parser.add_argument(
        "--force", action="store_true", help="restore even if this merge was restored before"
    )
    parser.set_defaults(run=lambda a: run(parser, a))
