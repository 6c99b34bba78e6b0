"""Asking Bitrix24 which records share a record's phones and e-mails (findbycomm)."""

from __future__ import annotations

import asyncio

from b24.crm import FIND_BY_COMM, EntityType
from worker.communications import PHONE, Communication
from worker.run import DedupeContext, Run

FINDBYCOMM_MAX_VALUES = 20  # docs: at most 20 values a call
SHARED_THRESHOLD = 20  # docs: 20 or more matches in a type: treated as a shared value


def query_values(comm: Communication, raw: str) -> list[str]:
    """What findbycomm is asked for one value: as written, and in international digits
    (the portal matches ``79991234567`` but not a bare ``9991234567``, as portals answer
    and the emulator follows)."""
    values = [raw.strip()]
    if comm.type == PHONE and comm.value.startswith("+"):
        values.append(comm.value[1:])
    return [v for v in dict.fromkeys(values) if v]


async def find_ids(
    context: DedupeContext, run: Run, entity: EntityType, comm_type: str, values: list[str]
) -> list[int]:
    run.commands += 1
    result = await context.client.call(
        FIND_BY_COMM, {"type": comm_type, "values": values, "entity_type": entity.value}
    )
    if not isinstance(result, dict):
        return []  # no match answers [] (REST docs: crm.duplicate.findbycomm)
    return [int(i) for i in result.get(entity) or []]


async def find_candidates(
    context: DedupeContext, run: Run, entity: EntityType, usable: dict[Communication, str]
) -> tuple[set[int], set[Communication]]:
    """IDs that findbycomm relates to the record's values, and the values it calls shared.

    Values go 20 a call; a call that answers 20 or more IDs is asked again value by
    value, so that only the values really shared (a switchboard, a shared mailbox)
    are left out and the others still count.
    """
    found: set[int] = set()
    shared: set[Communication] = set()
    for comm_type in ("PHONE", "EMAIL"):
        queries = {c: query_values(c, raw) for c, raw in usable.items() if c.type == comm_type}
        chunks: list[list[Communication]] = [[]]
        for comm, values in queries.items():
            if (
                len(chunks[-1])
                and sum(len(queries[c]) for c in chunks[-1]) + len(values) > FINDBYCOMM_MAX_VALUES
            ):
                chunks.append([])
            chunks[-1].append(comm)
        chunks = [c for c in chunks if c]
        answers = await asyncio.gather(
            *(
                find_ids(context, run, entity, comm_type, [v for c in chunk for v in queries[c]])
                for chunk in chunks
            )
        )
        for chunk, ids in zip(chunks, answers, strict=True):
            if len(ids) < SHARED_THRESHOLD:
                found.update(ids)
                continue
            singles = await asyncio.gather(
                *(find_ids(context, run, entity, comm_type, queries[c]) for c in chunk)
            )
            for comm, single in zip(chunk, singles, strict=True):
                if len(single) >= SHARED_THRESHOLD:
                    shared.add(comm)
                else:
                    found.update(single)
    return found, shared
