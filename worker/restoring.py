"""Undoing a merge: the deleted records created again, the survivor set back.

Before every merge the worker stores the full state of each record of the group in
the audit entry (``snapshots``, as ``crm.*.get`` returned it, before any value was
written), the values it wrote first (``writes``) and the survivor right after the
merge (``outcome.survivor_after``). A restore:

1. sends each deleted record's user-editable fields and multifield items to
   ``crm.*.add`` (which fields those are, the portal says itself: ``crm.*.fields``,
   ``crm.multifield.fields``, every field not ``isReadOnly``); they come back with new
   IDs, as they were before the merge and before our writes;
2. sets the survivor's fields back to their state before the merge: each field the
   merge (or our write) changed and nobody has changed since, and the phones, e-mails,
   sites and messengers the merge added; a field edited after the merge is kept and
   named;
3. marks the survivor and the new records as not duplicates of each other, so that the
   worker does not merge them again straight away.

The restore is itself an audit entry (decision ``restored``), written before the first
record is created; a merge is restored once unless forced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from b24.client import MethodError, OutcomeUnknown
from b24.crm import MULTIFIELD_FIELDS, MULTIFIELDS, RecordRef
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision, Outcome
from worker.run import DedupeContext

# Used when the portal's description of a multifield item is unreadable.
ITEM_KEYS = frozenset({"VALUE", "VALUE_TYPE"})
Say = Callable[[str], None]


class RestoreRefused(ValueError):
    """The entry cannot be restored (not a merge, restored already…); the text says why."""


@dataclass
class Plan:
    """What ``crm.*.add`` receives for one deleted record, and what is left out."""

    old_id: int
    fields: dict[str, Any]
    read_only: list[str] = field(default_factory=list)  # the portal sets these itself
    unknown: list[str] = field(default_factory=list)  # no such field on the portal now


@dataclass
class SurvivorPlan:
    """What ``crm.*.update`` of the survivor receives to set it back."""

    survivor: int
    fields: dict[str, Any] = field(default_factory=dict)
    edited_since: list[str] = field(default_factory=list)  # changed after the merge: kept


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
    return value is None or value is False or value == "" or value == [] or value == {}


def _same(a: Any, b: Any) -> bool:
    if _empty(a) and _empty(b):
        return True
    return str(a).strip() == str(b).strip()


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


def _values(items: Any) -> list[str]:
    return [str(i.get("VALUE")) for i in items or [] if isinstance(i, dict)]


def plan_survivor(
    entry: AuditEntry, current: dict[str, Any] | None, writable: Writable
) -> SurvivorPlan:
    """Set back what the merge (and our writes) changed on the survivor and nobody since.

    Without the survivor's state after the merge (older entries, a lost answer) only our
    own writes are set back."""
    survivor = entry.survivor if entry.survivor is not None else entry.entity_id
    plan = SurvivorPlan(survivor)
    before = entry.snapshots.get(str(survivor))
    if before is None or current is None:
        return plan
    after = entry.outcome.get("survivor_after")
    if not isinstance(after, dict):
        after = {
            code: change.get("after")
            for code, change in entry.writes.get(str(survivor), {}).items()
        }
        after = {**before, **after}
    for code in sorted(writable.scalars):
        if code in before or code in after:
            old, merged, now = before.get(code), after.get(code), current.get(code)
            if _same(old, merged):
                continue
            if not _same(now, merged):
                plan.edited_since.append(code)
                continue
            plan.fields[code] = "" if _empty(old) else old
    for code in sorted(writable.multifields & set(MULTIFIELDS)):
        added = set(_values(after.get(code))) - set(_values(before.get(code)))
        removals = [
            {"ID": item["ID"], "DELETE": "Y"}
            for item in current.get(code) or []
            if isinstance(item, dict) and str(item.get("VALUE")) in added and "ID" in item
        ]
        if removals:
            plan.fields[code] = removals
    return plan


def deleted_records(entry: AuditEntry) -> list[int]:
    """The records the entry's merge deleted; RestoreRefused when it is not a merge."""
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
        raise RestoreRefused(f"audit entry {entry.id} cannot be restored: {why}")
    deleted = [int(i) for i in entry.outcome.get("deleted") or []]
    if not deleted:
        raise RestoreRefused(
            f"audit entry {entry.id} records no deleted records: nothing to restore"
        )
    missing = [i for i in deleted if str(i) not in entry.snapshots]
    if missing:
        raise RestoreRefused(
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


@dataclass
class RestorePlan:
    entry: AuditEntry
    records: list[Plan]
    survivor: SurvivorPlan


async def plan_restore(context: DedupeContext, audit_id: str, *, force: bool) -> RestorePlan:
    """What a restore of ``audit_id`` would do; RestoreRefused when it must not."""
    entry = await context.audit.get(audit_id)
    if entry is None:
        raise RestoreRefused(f"no audit entry {audit_id} (`b24-dedupe audit list` shows them)")
    deleted = deleted_records(entry)
    earlier = await earlier_restore(context.audit, entry)
    if earlier is not None and not force:
        name = entry.entity.value.lower()
        made = ", ".join(
            f"{name} {old} -> {new}" for old, new in (earlier.outcome.get("created") or {}).items()
        )
        raise RestoreRefused(
            f"merge {entry.id} was restored already (audit entry {earlier.id}, outcome "
            f"{earlier.outcome.get('status')}, created {made or 'nothing'}); "
            "--force restores it again"
        )
    entity = entry.entity
    descriptions, items = await asyncio.gather(
        context.client.call(entity.methods.fields), context.client.call(MULTIFIELD_FIELDS)
    )
    writable = Writable.from_descriptions(descriptions, items)
    survivor = entry.survivor if entry.survivor is not None else entry.entity_id
    try:
        current = await context.client.call(entity.methods.get, {"id": survivor})
    except MethodError:
        current = None
    return RestorePlan(
        entry,
        [plan_record(old, entry.snapshots[str(old)], writable) for old in deleted],
        plan_survivor(entry, current, writable),
    )


async def restore(
    context: DedupeContext, plan: RestorePlan, *, say: Say = lambda _: None
) -> AuditEntry:
    """Carry ``plan`` out, telling ``say`` each step; answers the ``restored`` audit entry
    (its outcome says how it went: SUCCESS, PARTIAL, ERROR, or UNKNOWN when an answer was
    lost, with ``error`` naming what failed)."""
    entry, entity = plan.entry, plan.entry.entity
    name = entity.value.lower()
    survivor = plan.survivor.survivor
    record = AuditEntry(
        entity=entity,
        entity_id=survivor,
        decision=Decision.RESTORED,
        reason=f"restored from merge {entry.id}",
        group=[survivor],
        survivor=survivor,
        outcome={"status": Outcome.PENDING, "restored_from": entry.id, "created": {}},
    )
    await context.audit.write(record, durable=True)
    created: dict[str, int] = {}
    status = Outcome.SUCCESS
    for seed_plan in plan.records:
        try:
            new_id = int(
                await context.client.call(entity.methods.add, {"fields": seed_plan.fields})
            )
        except (MethodError, OutcomeUnknown) as exc:
            lost = isinstance(exc, OutcomeUnknown)
            record.outcome["error"] = f"{name} {seed_plan.old_id}: {exc}"
            status = Outcome.UNKNOWN if lost else Outcome.ERROR
            if lost:
                record.outcome["error"] += "; check on the portal whether it was created"
            break
        # Marked at once: the new record's ADD event reaches the worker only later.
        for other in [survivor, *created.values()]:
            await context.not_duplicates.add_pair(entity, other, new_id)
        created[str(seed_plan.old_id)] = new_id
        record.group.append(new_id)
        record.outcome["created"] = created
        await context.audit.write(record, durable=True)  # a restore cut short says what it made
        say(f"{name} {seed_plan.old_id} -> {new_id}")
    if status is Outcome.SUCCESS and plan.survivor.fields:
        try:
            await context.client.call(
                entity.methods.update, {"id": survivor, "fields": plan.survivor.fields}
            )
            record.outcome["survivor_reset"] = sorted(plan.survivor.fields)
            say(f"{name} {survivor}: set back {', '.join(sorted(plan.survivor.fields))}")
        except (MethodError, OutcomeUnknown) as exc:
            record.outcome["error"] = f"{name} {survivor}: not set back: {exc}"
            status = Outcome.PARTIAL
    if plan.survivor.edited_since:
        record.outcome["kept_edited"] = plan.survivor.edited_since
        say(
            f"{name} {survivor}: kept as edited after the merge: "
            + ", ".join(plan.survivor.edited_since)
        )
    if created and status is not Outcome.SUCCESS and status is not Outcome.PARTIAL:
        status = Outcome.PARTIAL
    for new_id in created.values():
        # The audit keeps the IDs in any case; the read-back is for the reader.
        with contextlib.suppress(MethodError):
            record.snapshots[str(new_id)] = await context.client.call(
                entity.methods.get, {"id": new_id}
            )
    record.outcome.update(status=status, created=created)
    await context.audit.write(record, durable=True)
    return record
