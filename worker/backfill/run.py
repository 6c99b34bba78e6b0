"""The backfill of a whole portal: read every record once, group locally, decide groups.

For each record type, in three phases that a killed scan resumes where it stopped
(:mod:`worker.backfill.state`):

1. **read**: the fast walk, 2,500 records a request (:mod:`worker.backfill.reading`);
   each record's evidence values are normalised with the worker's own rules
   (:func:`worker.communications.evidence`) and stored with the record's columns;
2. **group**: connected components over values held by 2 to 19 records
   (:meth:`ScanState.build_groups`); a value held by 20 or more is a switchboard or a
   shared mailbox and links nothing, as in the live path;
3. **decide**: each group through the live decision, merge and audit path
   (:class:`worker.backfill.groups.GroupDecider`), many groups at once so that their
   reads and merges share batch requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from b24.crm import EntityType
from worker.backfill.groups import GroupDecider, compact
from worker.backfill.reading import decision_fields, highest_id, read_batches
from worker.backfill.sharing import LiveFirst, MergeBudget
from worker.backfill.state import (
    DECIDE,
    DONE,
    GROUP,
    READ,
    ScanState,
    Tally,
    TypeProgress,
    value_hash,
)
from worker.communications import evidence
from worker.finding import SHARED_THRESHOLD
from worker.run import DedupeContext

log = logging.getLogger("worker.backfill")


@dataclass(frozen=True)
class BackfillOptions:
    entities: Sequence[EntityType] = tuple(EntityType)
    # Groups decided at once (their reads and merges share requests), and merges under
    # way at once: each re-reads its group, merges and reads the survivor, so 25 fill
    # requests of 5 mergeBatch (b24.client's BatchPolicy) with the others' reads.
    concurrency: int = 40
    merge_concurrency: int = 25


@dataclass
class Snapshot:
    """Where the backfill is, for a progress bar or a log line."""

    entity: EntityType
    phase: str
    records_read: int
    last_id: int
    highest_id: int
    groups: int
    groups_done: int
    tally: Tally
    requests: int
    yielded_seconds: float
    started: float = field(default_factory=time.monotonic)


Listener = Callable[[Snapshot], None]


class Backfill:
    """One backfill run over ``state`` (which may be a killed run's, to resume)."""

    def __init__(
        self,
        context: DedupeContext,
        state: ScanState,
        options: BackfillOptions,
        *,
        gate: LiveFirst | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.context = context
        self.state = state
        self.options = options
        self.gate = gate
        self.listener = listener
        self.tallies: dict[EntityType, Tally] = {}
        self.budget = MergeBudget(context, options.merge_concurrency)
        # This run's seconds and requests per type and phase (a resumed run counts its own).
        self.seconds: dict[EntityType, dict[str, float]] = {}
        self.requests: dict[EntityType, dict[str, int]] = {}

    async def run(self) -> dict[EntityType, TypeProgress]:
        done: dict[EntityType, TypeProgress] = {}
        for entity in self.options.entities:
            done[entity] = await self.run_type(entity)
        self.state.finish()
        return done

    async def run_type(self, entity: EntityType) -> TypeProgress:
        progress = self.state.progress(entity)
        self.tallies[entity] = self.state.tally(entity)
        seconds = self.seconds.setdefault(entity, {})
        requests = self.requests.setdefault(entity, {})
        stats = self.context.client.stats
        for phase, step in ((READ, self._read), (GROUP, self._group), (DECIDE, self._decide)):
            if progress.phase != phase:
                continue
            started, sent = time.monotonic(), stats.requests
            await step(progress)
            seconds[phase] = round(time.monotonic() - started, 1)
            requests[phase] = stats.requests - sent
        self._notify(progress)
        return progress

    async def _group(self, progress: TypeProgress) -> None:
        self._notify(progress)
        await asyncio.to_thread(self.state.build_groups, progress, SHARED_THRESHOLD)

    # -- read -----------------------------------------------------------------------
    async def _read(self, progress: TypeProgress) -> None:
        entity = progress.entity
        columns = decision_fields(entity, self.context.policy)
        if not progress.highest_id:
            progress.highest_id = await highest_id(self.context.client, entity)
            self.state.save_progress(progress)
        self._notify(progress)
        async for rows in _prefetched(
            read_batches(
                self.context.client,
                entity,
                select=columns,
                after_id=progress.last_id,
                until_id=progress.highest_id,
            )
        ):
            kept = await asyncio.to_thread(self._prepare, rows, columns)
            last_id = int(rows[-1]["ID"])
            self.state.store(progress, kept, read=len(rows), last_id=last_id)
            progress.highest_id = max(progress.highest_id, last_id)
            self._notify(progress)
        progress.phase = GROUP
        self.state.save_progress(progress)

    def _prepare(
        self, rows: list[dict[str, Any]], columns: Sequence[str]
    ) -> list[tuple[int, bytes, list[int]]]:
        """Each record with evidence: its ID, compact row and value hashes."""
        kept = []
        for row in rows:
            usable, _ = evidence(row, self.context.rules)
            if not usable:
                continue
            body = json.dumps(compact(row, columns), ensure_ascii=False, separators=(",", ":"))
            kept.append(
                (int(row["ID"]), body.encode(), sorted({value_hash(str(c)) for c in usable}))
            )
        return kept

    # -- decide -------------------------------------------------------------------------
    async def _decide(self, progress: TypeProgress) -> None:
        entity = progress.entity
        context = self.context
        tally = self.tallies[entity]
        tally.groups = progress.groups
        decider = GroupDecider(
            context,
            entity,
            columns=decision_fields(entity, context.policy),
            banned=await context.not_duplicates.values(),
            shared=self.state.shared_hashes(entity),
            budget=self.budget,
            tally=tally,
        )
        pending = iter(list(self.state.pending_groups(entity)))
        self._notify(progress)

        async def worker() -> None:
            for gid, ids in pending:
                rows = self.state.rows(entity, ids)

                def record(row: Any, gid: int = gid) -> None:
                    self.state.add_outcome(gid, row)

                final = await decider.decide(rows, record)
                self.state.finish_group(progress, gid, final)
                self._notify(progress)

        await asyncio.gather(*(worker() for _ in range(max(1, self.options.concurrency))))
        progress.phase = DONE
        self.state.save_progress(progress)

    def _notify(self, progress: TypeProgress) -> None:
        if self.listener is None:
            return
        self.listener(
            Snapshot(
                entity=progress.entity,
                phase=progress.phase,
                records_read=progress.read,
                last_id=progress.last_id,
                highest_id=progress.highest_id,
                groups=progress.groups,
                groups_done=progress.groups_done,
                tally=self.tallies.get(progress.entity, Tally()),
                requests=self.context.client.stats.requests,
                yielded_seconds=self.gate.waited if self.gate is not None else 0.0,
            )
        )


async def _prefetched(
    source: AsyncIterator[list[dict[str, Any]]], depth: int = 2
) -> AsyncIterator[list[dict[str, Any]]]:
    """``source``'s items, the next request already on its way while one is stored."""
    queue: asyncio.Queue[list[dict[str, Any]] | BaseException | None] = asyncio.Queue(depth)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
            await queue.put(None)
        except Exception as exc:  # handed to the consumer, raised there
            await queue.put(exc)

    task = asyncio.create_task(pump())
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
