"""One group of the backfill through the live path: decide, merge under lock, audit.

A group is a connected component of records over shared evidence values. It goes
through the steps a live event takes (:func:`worker.dedupe.process`), with the
records already read instead of ``crm.*.get`` and ``crm.duplicate.findbycomm``: for
an *anchor* record, its candidates are the records that share one of its evidence
values (what findbycomm would answer), :func:`worker.deciding.decide_for` applies the
policy, and a merge goes through :func:`worker.merging.merge_under_lock`, which locks
the values, re-reads the group, decides again on what it read, predicts Bitrix24's
verdict, stores the full records in the audit and only then sends mergeBatch.

Anchors are taken the most connected first (then the survivor's order), so that a
record between two others decides with both in view; after a merge the survivor is
looked at again with the values it gained. A pair already judged together is not
judged again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from b24.client import (
    LimitError,
    MethodError,
    OperatingLimit,
    OutcomeUnknown,
    TransientError,
)
from b24.client.config import REQUEST_TIME_LIMIT
from b24.crm import MULTIFIELDS, EntityType, RecordRef
from b24_dedupe.audit import AuditEntry, merge_link
from b24_dedupe.decisions import Decision
from worker import metrics
from worker.backfill.sharing import MergeBudget
from worker.backfill.state import OutcomeRow, Tally, value_hash
from worker.communications import Communication, evidence
from worker.deciding import decide_for
from worker.finding import SHARED_THRESHOLD
from worker.merging import LockBusy, merge_under_lock
from worker.policy import is_final_lead, order_by_survival
from worker.run import DedupeContext, Run, get_many

log = logging.getLogger("worker.backfill")

# Decisions that leave the records as they are, for a reason no person needs to see.
_LEFT_ALONE = frozenset({Decision.NO_MERGE, Decision.GONE, Decision.SKIPPED})

Row = dict[str, Any]
# How long a group waits for values another merge holds locked, at most (a killed
# process's locks expire after the context's lock_seconds).
LOCK_PATIENCE_MARGIN = 30.0
TRANSIENT_TRIES = 8


def compact(record: Mapping[str, Any], columns: Sequence[str]) -> Row:
    """What the backfill keeps of a record: the selected columns that hold a value, and
    of phones and e-mails only the value (the decision reads no more of them)."""
    kept: Row = {}
    for code in columns:
        value = record.get(code)
        if value in (None, "", []):
            continue
        if code in MULTIFIELDS and isinstance(value, list):
            value = [
                {"VALUE": item.get("VALUE")}
                for item in value
                if isinstance(item, Mapping) and item.get("VALUE")
            ]
        kept[code] = value
    return kept


class GroupDecider:
    """Runs the groups of one record type through the live decision and merge path."""

    def __init__(
        self,
        context: DedupeContext,
        entity: EntityType,
        *,
        columns: Sequence[str],
        banned: set[str],
        shared: set[int],
        budget: MergeBudget,
        tally: Tally,
    ) -> None:
        self.context = context
        self.entity = entity
        self.columns = list(columns)
        self.banned = banned
        self.shared = shared
        self.budget = budget
        self.tally = tally
        self.fields = context.policy.identity_fields(entity)

    # -- values --------------------------------------------------------------------
    def usable(self, row: Row) -> tuple[dict[Communication, str], dict[Communication, str]]:
        """The record's evidence as the live path has it: not generic, not too short, not
        marked, not shared by ``SHARED_THRESHOLD`` records or more."""
        usable, excluded = evidence(row, self.context.rules)
        for comm in list(usable):
            if str(comm) in self.banned:
                excluded[comm] = "marked as not duplicates"
                del usable[comm]
            elif value_hash(str(comm)) in self.shared:
                excluded[comm] = f"shared by {SHARED_THRESHOLD} or more records"
                del usable[comm]
        return usable, excluded

    # -- one group -----------------------------------------------------------------
    async def decide(
        self, rows: dict[int, Row], record_outcome: Callable[[OutcomeRow], None]
    ) -> list[OutcomeRow]:
        """Decide (and merge) one group. Each merge's (or error's) row goes to
        ``record_outcome`` as soon as it is written in the audit; the group's review or
        no-merge row is answered at the end."""
        records = dict(rows)
        values: dict[int, dict[Communication, str]] = {}
        excluded: dict[int, dict[Communication, str]] = {}
        for rid, row in records.items():
            values[rid], excluded[rid] = self.usable(row)

        def neighbours(rid: int) -> list[int]:
            mine = set(values.get(rid, {}))
            return sorted(o for o in records if o != rid and mine & set(values.get(o, {})))

        survival = {
            int(r["ID"]): n
            for n, r in enumerate(
                order_by_survival(list(records.values()), self.context.policy.survivor)
            )
        }
        queue = deque(
            sorted(records, key=lambda rid: (-len(neighbours(rid)), survival.get(rid, 0)))
        )
        judged: set[frozenset[int]] = set()
        outcomes: list[OutcomeRow] = []
        review: dict[int, str] = {}
        review_entries: list[str] = []
        for _ in range(3 * len(records) + 10):  # bounded: each pass judges a new pair
            if not queue:
                break
            anchor = queue.popleft()
            if anchor not in records:
                continue
            candidates = neighbours(anchor)
            if not candidates or all(frozenset({anchor, c}) in judged for c in candidates):
                continue
            judged.update(frozenset({anchor, c}) for c in candidates)
            entry, pre_decided = await self._decide_star(
                anchor, records, candidates, values, excluded
            )
            outcome = await self._outcome(entry, records, candidates, values, pre_decided)
            if outcome.action == "review":
                for rid in [anchor, *candidates]:
                    review.setdefault(rid, _explained(entry))
                review_entries.append(entry.id)
                continue
            if outcome.action not in ("no_merge", "gone"):
                record_outcome(outcome)
            outcomes.append(outcome)
            if entry.decision is Decision.GONE:
                records.pop(anchor, None)
            if entry.decision is Decision.DRY_RUN:
                # As if merged: the others are not looked at again (a chain through them
                # shows only once the real merge has united their values).
                for rid in entry.group[1:]:
                    records.pop(rid, None)
            if entry.decision is Decision.MERGED:
                self._after_merge(entry, records, values, excluded, judged)
                if entry.survivor in records:
                    queue.append(entry.survivor)
        final: list[OutcomeRow] = []
        if review:
            ids = sorted(review)
            final.append(
                OutcomeRow(
                    entity=self.entity.value,
                    action="review",
                    group=ids,
                    survivor=None,
                    reason="; ".join(sorted(set(review.values()))),
                    evidence=sorted({str(c) for i in ids for c in values.get(i, {})}),
                    names=[self._name(rows[i]) for i in ids if i in rows],
                    audit_id=" ".join(review_entries),
                    link=merge_link(self.entity, ids, self.context.portal_url),
                )
            )
            self.tally.review += 1
        if not review and all(o.action in ("no_merge", "gone") for o in outcomes):
            reason = outcomes[0].reason if outcomes else "no evidence left to decide on"
            final.append(
                OutcomeRow(
                    entity=self.entity.value,
                    action="no_merge",
                    group=sorted(rows),
                    survivor=None,
                    reason=reason,
                    names=[self._name(r) for r in rows.values()],
                    audit_id=" ".join(o.audit_id for o in outcomes),
                )
            )
        return final

    async def _decide_star(
        self,
        anchor: int,
        records: dict[int, Row],
        candidates: list[int],
        values: dict[int, dict[Communication, str]],
        excluded: dict[int, dict[Communication, str]],
    ) -> tuple[AuditEntry, bool]:
        """The live path's steps for ``anchor`` and its candidates: the entry written, and
        whether it was decided on the records as read (True) or under the merge's lock
        on the records as they are now (False)."""
        context = self.context
        record = records[anchor]
        patience = context.lock_seconds + LOCK_PATIENCE_MARGIN
        started = time.monotonic()
        faults = busy = 0
        while True:
            run = Run(RecordRef(self.entity, anchor))
            run.excluded = {str(c): why for c, why in excluded[anchor].items()}
            run.candidates = list(candidates)
            found = {c: records[c] for c in candidates}
            pre_decided = True
            try:
                decision = await decide_for(context, run, record, found, dict(values[anchor]))
                if not decision.merge:
                    entry = run.entry(Decision.NO_MERGE, decision.reason)
                else:
                    group_records = [record, *(found[i] for i in decision.group if i in found)]
                    pre_decided = False
                    entry = await self.budget.run(
                        partial(merge_under_lock, context, run, decision, group_records)
                    )
            except LockBusy:
                # Another merge holds these values (a live job, or a killed scan's lock
                # until it expires), or the group changed since it was read (a new phone
                # the lock did not cover): wait, read the group again, decide afresh.
                self.tally.lock_waits += 1
                if time.monotonic() - started > patience:
                    entry = run.entry(Decision.ERROR, "values stayed locked by another merge")
                else:
                    busy += 1
                    await asyncio.sleep(min(3.0, 0.25 * 2**busy) * random.uniform(0.5, 1.0))
                    await self._refresh(run, [anchor, *candidates], records, values, excluded)
                    if anchor not in records:
                        entry = run.entry(Decision.GONE, "merged or deleted meanwhile")
                    else:
                        record = records[anchor]
                        mine = set(values[anchor])
                        candidates = sorted(
                            o for o in records if o != anchor and mine & set(values.get(o, {}))
                        )
                        if candidates:
                            continue
                        entry = run.entry(Decision.NO_MERGE, "no duplicates (on re-reading)")
            except OperatingLimit as exc:
                self.tally.refused_for_budget += 1
                await self.budget.after_refusal(exc)
                continue
            except LimitError:
                await asyncio.sleep(random.uniform(1.0, 3.0))
                continue
            except OutcomeUnknown:
                # A merge whose answer was lost and whose records are all still there:
                # its request may still run on the portal until the 60 s cut. The entry
                # stays pending (the reconcile completes it); decide afresh after the cut.
                faults += 1
                if faults > TRANSIENT_TRIES:
                    raise
                await asyncio.sleep(REQUEST_TIME_LIMIT + random.uniform(0, 5))
                continue
            except TransientError:
                faults += 1
                if faults > TRANSIENT_TRIES:
                    raise
                await asyncio.sleep(min(60.0, 2.0**faults) * random.uniform(0.5, 1.0))
                continue
            except MethodError as exc:
                entry = run.entry(Decision.ERROR, f"{exc.code}: {exc.description}")
            await context.audit.write(entry)
            await metrics.record(context.redis, context.keys, entry)
            self.tally.decisions += 1
            _log(entry, run)
            return entry, pre_decided

    async def _refresh(
        self,
        run: Run,
        ids: list[int],
        records: dict[int, Row],
        values: dict[int, dict[Communication, str]],
        excluded: dict[int, dict[Communication, str]],
    ) -> None:
        """Read ``ids`` again (one request for all): the group as it is now."""
        fresh = await get_many(self.context, run, self.entity, ids)
        for rid in ids:
            if rid not in fresh:
                records.pop(rid, None)
                values.pop(rid, None)
                continue
            records[rid] = compact(fresh[rid], self.columns)
            values[rid], excluded[rid] = self.usable(records[rid])

    def _after_merge(
        self,
        entry: AuditEntry,
        records: dict[int, Row],
        values: dict[int, dict[Communication, str]],
        excluded: dict[int, dict[Communication, str]],
        judged: set[frozenset[int]],
    ) -> None:
        """The survivor now holds the values of the records merged into it."""
        deleted = [int(i) for i in entry.outcome.get("deleted") or entry.group[1:]]
        for rid in deleted:
            records.pop(rid, None)
            values.pop(rid, None)
        survivor = entry.survivor
        after = entry.outcome.get("survivor_after")
        if survivor is None or survivor not in records:
            return
        if isinstance(after, Mapping):
            records[survivor] = compact(after, self.columns)
            values[survivor], excluded[survivor] = self.usable(records[survivor])
        judged.difference_update({p for p in judged if survivor in p})

    async def _outcome(
        self,
        entry: AuditEntry,
        records: dict[int, Row],
        candidates: list[int],
        values: dict[int, dict[Communication, str]],
        pre_decided: bool,
    ) -> OutcomeRow:
        decision = entry.decision
        group = entry.group or sorted({entry.entity_id, *candidates})
        if decision is Decision.MERGED:
            action = "merged"
            self.tally.merged += 1
        elif decision is Decision.DRY_RUN:
            action = "would_merge"
            self.tally.merged += 1
        elif decision is Decision.ERROR:
            action = "error"
            self.tally.errors += 1
        elif decision in _LEFT_ALONE:
            compatible = pre_decided and await self._compatible(
                entry.entity_id, candidates, records, values
            )
            action = "review" if decision is Decision.NO_MERGE and compatible else str(decision)
        else:
            # CONFLICT (Bitrix24 refused, or would), REVIEW (held for a person): a person
            # merges these in Bitrix24's merge form or the review queue.
            action = "review"
        return OutcomeRow(
            entity=self.entity.value,
            action=action,
            group=group,
            survivor=entry.survivor,
            reason=entry.reason,
            evidence=sorted({v for vs in entry.evidence.values() for v in vs}),
            names=[self._name(records[i]) for i in group if i in records],
            audit_id=entry.id,
            link=merge_link(self.entity, group, self.context.portal_url)
            if action == "review"
            else "",
        )

    async def _compatible(
        self,
        anchor: int,
        candidates: list[int],
        records: dict[int, Row],
        values: dict[int, dict[Communication, str]],
    ) -> bool:
        """Whether a candidate looks like the anchor (a shared value, no differing
        identity, neither a final lead): left unmerged, that needs a person."""
        record = records.get(anchor)
        if record is None or is_final_lead(self.entity, record):
            return False
        mine = set(values.get(anchor, {}))
        marked = await self.context.not_duplicates.pairs(self.entity, [anchor, *candidates])
        for cid in candidates:
            other = records.get(cid)
            if other is None or is_final_lead(self.entity, other):
                continue
            if frozenset({anchor, cid}) in marked:
                continue
            if mine & set(values.get(cid, {})) and not self.context.policy.differences(
                self.entity, record, other
            ):
                return True
        return False

    def _name(self, row: Mapping[str, Any]) -> str:
        parts = [str(row.get(code) or "").strip() for code in self.fields]
        return f"{row.get('ID')}: " + (" ".join(p for p in parts if p) or "(no name)")


def _explained(entry: AuditEntry) -> str:
    """The entry's reason with why each candidate was left out (``4590: could as well
    be the same as 2365``)."""
    details = [f"{who}: {why}" for who, why in sorted(entry.excluded.items()) if who.isdigit()]
    return "; ".join([entry.reason, *details])


def _log(entry: AuditEntry, run: Run) -> None:
    log.info(
        "backfill decision",
        extra={
            "audit_id": entry.id,
            "entity": entry.entity,
            "record": entry.entity_id,
            "candidates": run.candidates,
            "decision": entry.decision,
            "reason": entry.reason,
            "survivor": entry.survivor,
            "group": entry.group,
            "outcome": entry.status,
        },
    )
