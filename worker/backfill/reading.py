"""Reading a whole record type at the list floor: 50 list pages a request.

The fast walk of a large base (Bitrix24 docs, "huge data", settings/performance/huge-data):
``crm.*.list`` ordered by ID ascending, ``filter[>ID]`` the last ID seen, ``start=-1``
(no count, so every page costs the same however deep it is), 50 rows a page. One
``batch`` request carries 50 such pages (the docs' limit of 50 commands a batch), each
after the 50th row of the one before it (``$result[pN][49][ID]``, the batch's
reference to an earlier command's answer): 2,500 records a request. The walk stops at
the first page of fewer than 50 rows.

A page chained after a short one would run on the portal for nothing (its reference
does not resolve), so a request carries no more pages than can hold rows: up to the
highest ID when it is known (``until_id``: IDs only grow, so the ID range bounds the
rows), else one page, then twice as many after each full request (a recovery scan
usually finds a few changed records, a backfill all of them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from b24.client import Answer, B24Error, Bitrix24Client, Command
from b24.crm import EntityType
from b24_dedupe.merge_rules import Rule
from worker.policy import Policy

PAGE_SIZE = 50  # crm.*.list answers 50 rows a page
PAGES_PER_BATCH = 50  # commands in one batch request (Bitrix24 docs: batch)

# What a decision needs of every record, besides the identity fields of the policy.
BASE_FIELDS: tuple[str, ...] = ("ID", "DATE_CREATE", "PHONE", "EMAIL")
TYPE_FIELDS: dict[EntityType, tuple[str, ...]] = {
    EntityType.LEAD: ("TITLE", "STATUS_ID", "STATUS_SEMANTIC_ID"),
    EntityType.CONTACT: (),
    EntityType.COMPANY: (),
}


def decision_fields(entity: EntityType, policy: Policy) -> list[str]:
    """The columns the scan selects: the creation date (who survives), phones, e-mails,
    names or titles, the
    identity fields of ``policy`` (IDENTITY_FIELDS, and the fields the rules file marks
    ``identity`` or ``block``) and, for leads, the status that makes a lead final."""
    ruled = [
        code
        for code, rule in policy.merge_rules.named(entity).items()
        if rule in (Rule.BLOCK, Rule.IDENTITY)
    ]
    wanted = [*BASE_FIELDS, *policy.identity_fields(entity), *ruled, *TYPE_FIELDS[entity]]
    return list(dict.fromkeys(wanted))


def page_query(method: str, select: Sequence[str], after: int | str, flt: Mapping[str, Any]) -> str:
    """One page of the walk as a batch command (``after``: an ID or a ``$result`` reference)."""
    params = {
        "order": {"ID": "ASC"},
        "filter": {**flt, ">ID": after},
        "select": list(select),
        "start": -1,
    }
    return Command(method, params).query()


async def read_batches(
    client: Bitrix24Client,
    entity: EntityType,
    *,
    select: Sequence[str],
    after_id: int = 0,
    until_id: int | None = None,
    filter: Mapping[str, Any] | None = None,
    pages: int = PAGES_PER_BATCH,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield the records of ``entity`` after ``after_id`` in ID order, one request's rows
    (up to ``pages`` × 50) at a time. A failed page raises its error."""
    if not 1 <= pages <= PAGES_PER_BATCH:
        raise ValueError(f"a batch holds 1 to {PAGES_PER_BATCH} pages")
    columns = list(dict.fromkeys(["ID", *select]))
    method = entity.methods.list
    flt = dict(filter or {})
    last = after_id
    growing = 1
    while True:
        ranged = until_id is not None and last < until_id
        wanted = -(-(until_id - last) // PAGE_SIZE) + 1 if until_id and ranged else growing
        count = max(1, min(pages, wanted))
        commands = {
            f"p{n}": page_query(
                method,
                columns,
                last if n == 0 else f"$result[p{n - 1}][{PAGE_SIZE - 1}][ID]",
                flt,
            )
            for n in range(count)
        }
        outcomes = await client.batch(commands)
        rows: list[dict[str, Any]] = []
        finished = False
        for n in range(count):
            outcome = outcomes[f"p{n}"]
            if isinstance(outcome, B24Error):
                raise outcome
            items = _rows(outcome, method)
            rows.extend(items)
            if len(items) < PAGE_SIZE:
                finished = True
                break
        if rows:
            yield rows
        if finished:
            return
        last = int(rows[-1]["ID"])
        if not ranged:
            growing = min(pages, count * 2)


def _rows(answer: Answer, method: str) -> list[dict[str, Any]]:
    if not isinstance(answer.result, list):
        raise B24Error(f"{method}: the result is not a list of rows", method=method)
    return [row for row in answer.result if isinstance(row, dict)]


async def highest_id(client: Bitrix24Client, entity: EntityType) -> int:
    """The newest record's ID (one page of one row): how far the walk has to go."""
    page = await client.page(
        entity.methods.list, {"order": {"ID": "DESC"}, "select": ["ID"], "start": -1}
    )
    return int(page.items[0]["ID"]) if page.items else 0
