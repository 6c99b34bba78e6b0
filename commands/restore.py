"""``b24-dedupe restore AUDIT_ID``: create again the records a merge deleted.

Before every merge the worker stores the full state of each record of the group in
the audit entry (``snapshots``, as ``crm.*.get`` returned it). A restore sends each
deleted record's user-editable fields and multifield items to ``crm.*.add``: which
fields those are, the portal says itself (``crm.*.fields``, ``crm.multifield.fields``:
every field not ``isReadOnly``), so ID, DATE_CREATE, CREATED_BY_ID, HAS_PHONE and the
items' own IDs are left out. The records come back with new IDs.

So that the worker does not merge them straight away again, the survivor and the
restored records are marked as not duplicates of each other. The restore is itself
an audit entry (decision ``restored``), written before the first record is created;
a merge is restored once unless ``--force`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from b24.client import Bitrix24Client, MethodError, OutcomeUnknown
from b24.crm import MULTIFIELD_FIELDS, RecordRef
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings, settings_or_exit
from commands.session import Refusal, run_with_portal
from worker.not_duplicates import NotDuplicates

# Used when the portal's description of a multifield item is unreadable.
ITEM_KEYS = frozenset({"VALUE", "VALUE_TYPE"})


@dataclass
class Plan:
    """What ``crm.*.add`` receives for one deleted record, and what is left out."""

    old_id: int
    fields: dict[str, Any]
    read_only: list[str] = field(default_factory=list)  # the portal sets these itself
    unknown: list[str] = field(default_factory=list)  # no such field on the portal now


@dataclass
class Writable:
    """The fields of an entity type that ``add`` takes (from the portal's descriptions)."""

    scalars: frozenset[str]
    multifields: frozenset[str]
    described: frozenset[str]
    item_keys: frozenset[str]

    @classmethod
    def from_descriptions(cls, fields: Any, items: Any) -> Writable:
        fields = fields if isinstance(fields, dict) else {}
        items = items if isinstance(items, dict) else {}
        multi = {
            code
            for code, desc in fields.items()
            if isinstance(desc, dict) and desc.get("type") == "crm_multifield"
        }
        scalars = {
            code
            for code, desc in fields.items()
            if isinstance(desc, dict) and not desc.get("isReadOnly") and code not in multi
        }
        item_keys = {
            key
            for key, desc in items.items()
            if isinstance(desc, dict) and not desc.get("isReadOnly")
        }
        return cls(
            frozenset(scalars),
            frozenset(multi),
            frozenset(fields),
            frozenset(item_keys or ITEM_KEYS),
        )


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def plan_record(old_id: int, snapshot: dict[str, Any], writable: Writable) -> Plan:
    plan = Plan(old_id, {})
    for code, value in snapshot.items():
        if _empty(value):
            continue
        if code in writable.multifields:
            items = value if isinstance(value, list) else []
            kept = [
                {key: item[key] for key in sorted(writable.item_keys) if key in item}
                for item in items
                if isinstance(item, dict) and not _empty(item.get("VALUE"))
            ]
            if kept:
                plan.fields[code] = kept
        elif code in writable.scalars:
            plan.fields[code] = value
        elif code in writable.described:
            plan.read_only.append(code)
        else:
            plan.unknown.append(code)
    return plan


def deleted_records(entry: AuditEntry) -> list[int]:
    """The records the entry's merge deleted; Refusal when it is not a successful merge."""
    status = entry.status or ""
    if entry.decision is not Decision.MERGED or status != Outcome.SUCCESS:
        if entry.decision is Decision.PENDING or status == Outcome.PENDING:
            why = (
                "its merge never completed (outcome PENDING): check on the portal which "
                "records of the group still exist"
            )
        else:
            why = (
                f"it is not a successful merge (decision {entry.decision}, outcome {status or '-'})"
            )
        raise Refusal(f"audit entry {entry.id} cannot be restored: {why}")
    deleted = [int(i) for i in entry.outcome.get("deleted") or []]
    if not deleted:
        raise Refusal(f"audit entry {entry.id} records no deleted records: nothing to restore")
    missing = [i for i in deleted if str(i) not in entry.snapshots]
    if missing:
        raise Refusal(
            f"audit entry {entry.id} holds no snapshot of {', '.join(map(str, missing))}: "
            "cannot restore"
        )
    return deleted


async def earlier_restore(audit: AuditLog, entry: AuditEntry) -> AuditEntry | None:
    anchor = entry.survivor if entry.survivor is not None else entry.entity_id
    for other in await audit.for_record(RecordRef(entry.entity, anchor)):
        if other.decision is Decision.RESTORED and other.outcome.get("restored_from") == entry.id:
            return other
    return None


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(
            f"{item.get('VALUE')} ({item.get('VALUE_TYPE', '')})"
            if isinstance(item, dict)
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


async def restore(
    client: Bitrix24Client,
    redis: aioredis.Redis,
    settings: Settings,
    audit_id: str,
    *,
    dry_run: bool,
    force: bool,
) -> int:
    keys = Keys(settings.redis_prefix)
    audit = AuditLog(redis, keys, settings.audit_journal_dir)
    entry = await audit.get(audit_id)
    if entry is None:
        raise Refusal(f"no audit entry {audit_id} (`b24-dedupe audit list` shows them)")
    deleted = deleted_records(entry)
    entity, name = entry.entity, entry.entity.lower()
    survivor = entry.survivor if entry.survivor is not None else entry.entity_id
    earlier = await earlier_restore(audit, entry)
    if earlier is not None and not force:
        made = ", ".join(
            f"{name} {old} -> {new}" for old, new in (earlier.outcome.get("created") or {}).items()
        )
        raise Refusal(
            f"merge {entry.id} was restored already on "
            f"{datetime.fromtimestamp(earlier.at).isoformat(timespec='seconds')} "
            f"(audit entry {earlier.id}, outcome {earlier.outcome.get('status')}, "
            f"created {made or 'nothing'}); --force restores it again"
        )
    descriptions, items = await asyncio.gather(
        client.call(entity.methods.fields), client.call(MULTIFIELD_FIELDS)
    )
    writable = Writable.from_descriptions(descriptions, items)
    plans = [plan_record(old, entry.snapshots[str(old)], writable) for old in deleted]
    if dry_run:
        for plan in plans:
            print_plan(name, plan)
        print(f"would mark {name} {survivor} and the new records as not duplicates")
        return 0

    record = AuditEntry(
        entity=entity,
        entity_id=survivor,
        decision=Decision.RESTORED,
        reason=f"restored from merge {entry.id}",
        group=[survivor],
        survivor=survivor,
        outcome={"status": Outcome.PENDING, "restored_from": entry.id, "created": {}},
    )
    await audit.write(record, durable=True)
    not_duplicates = NotDuplicates(redis, keys)
    created: dict[str, int] = {}
    status, code = Outcome.SUCCESS, 0
    for plan in plans:
        try:
            new_id = int(await client.call(entity.methods.add, {"fields": plan.fields}))
        except (MethodError, OutcomeUnknown) as exc:
            lost = isinstance(exc, OutcomeUnknown)
            record.outcome["error"] = f"{name} {plan.old_id}: {exc}"
            status, code = (Outcome.UNKNOWN if lost else Outcome.ERROR), 1
            print(
                f"{name} {plan.old_id}: not restored: {exc}"
                + ("; check on the portal whether it was created" if lost else ""),
                file=sys.stderr,
            )
            break
        # Marked at once: the new record's ADD event reaches the worker only later.
        for other in [survivor, *created.values()]:
            await not_duplicates.add_pair(entity, other, new_id)
        created[str(plan.old_id)] = new_id
        record.group.append(new_id)
        record.outcome["created"] = created
        await audit.write(record, durable=True)  # a restore cut short still says what it made
        print(f"{name} {plan.old_id} -> {new_id}")
    if created and status is not Outcome.SUCCESS:
        status = Outcome.PARTIAL
    for new_id in created.values():
        # The audit keeps the IDs in any case; the read-back is for the reader.
        with contextlib.suppress(MethodError):
            record.snapshots[str(new_id)] = await client.call(entity.methods.get, {"id": new_id})
    record.outcome.update(status=status, created=created)
    await audit.write(record, durable=True)
    if created:
        new_ids = [str(i) for i in created.values()]
        print(
            f"marked as not duplicates of each other: {name} {survivor} (the survivor) and "
            f"{', '.join(new_ids)}; `b24-dedupe not-duplicates remove {name} {survivor} "
            f"{new_ids[0] if len(new_ids) == 1 else 'ID'}` undoes it"
        )
        print(
            f"{name} {survivor} keeps the phones, e-mails and fields the merge gave it; "
            "edit it by hand if some belong only to the restored records"
        )
    print(f"audit entry {record.id}: {Decision.RESTORED}, {status}")
    return code


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)

    async def work(client: Bitrix24Client, redis: aioredis.Redis) -> int:
        return await restore(
            client, redis, settings, args.audit_id, dry_run=args.dry_run, force=args.force
        )

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
