"""Writing the settled values before the merge, and checking they hold.

The records were re-read under the merge lock just before (worker.merging); the
values to write were decided on that state (worker.resolution). After the writes the
group is read once more: every written field must hold its new value and every other
field its old one. A person's edit that slipped in between shows there, and then
nothing is merged (docs/decisions.md, "Writing before the merge").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from b24.crm import MULTIFIELDS, RecordRef
from worker.resolution import is_empty
from worker.run import DedupeContext, Run, get_many

# Fields a write changes by itself, or that are not the record's data.
BOOKKEEPING = frozenset({"DATE_MODIFY", "MODIFY_BY_ID", "LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY"})


def described(
    writes: Mapping[int, Mapping[str, Any]], before: Mapping[int, Mapping[str, Any]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The audit's record of the writes: id -> field -> {"before", "after"}."""
    return {
        str(rid): {
            code: {"before": before[rid].get(code), "after": value}
            for code, value in fields.items()
        }
        for rid, fields in writes.items()
    }


async def write_values(
    context: DedupeContext, run: Run, writes: Mapping[int, Mapping[str, Any]]
) -> None:
    """``crm.*.update`` of each record (the client packs them into one request)."""
    run.commands += len(writes)
    method = run.entity.methods.update
    await asyncio.gather(
        *(
            context.client.call(method, {"id": rid, "fields": dict(fields)})
            for rid, fields in writes.items()
        )
    )


def _same(a: Any, b: Any) -> bool:
    if is_empty(a) and is_empty(b):
        return True
    return str(a).strip() == str(b).strip()


def unexpected_changes(
    before: Mapping[str, Any], after: Mapping[str, Any] | None, written: Mapping[str, Any]
) -> list[str]:
    """Fields of one record that are not as we left them: a written field without its
    new value, or another field changed meanwhile. ``["(deleted)"]`` when it is gone."""
    if after is None:
        return ["(deleted)"]
    changed = []
    for code in set(before) | set(after):
        if code in BOOKKEEPING:
            continue
        if code in written:
            if not _same(after.get(code), written[code]):
                changed.append(code)
        elif code in MULTIFIELDS:
            old = sorted(str(i.get("VALUE")) for i in before.get(code) or [])
            new = sorted(str(i.get("VALUE")) for i in after.get(code) or [])
            if old != new:
                changed.append(code)
        elif not _same(before.get(code), after.get(code)):
            changed.append(code)
    return sorted(changed)


async def verify_writes(
    context: DedupeContext,
    run: Run,
    group: list[int],
    before: Mapping[int, Mapping[str, Any]],
    writes: Mapping[int, Mapping[str, Any]],
) -> tuple[dict[int, dict[str, Any]], dict[str, list[str]]]:
    """Read the group again; answers the records and, per record, what is not as expected."""
    after = await get_many(context, run, run.entity, group)
    problems = {}
    for rid in group:
        changed = unexpected_changes(before[rid], after.get(rid), writes.get(rid, {}))
        if changed:
            problems[str(RecordRef(run.entity, rid))] = changed
    return after, problems
