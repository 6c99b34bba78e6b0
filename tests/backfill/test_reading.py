"""Reading a record type at the list floor: 50 list pages a request, chained by ID."""

from __future__ import annotations

from typing import Any

import pytest

from b24.client import Bitrix24Client
from b24.crm import EntityType
from b24.emulator.server import RunningEmulator
from b24.emulator.synthetic import contacts
from worker.backfill.reading import decision_fields, highest_id, read_batches
from worker.policy import Policy

CONTACT = EntityType.CONTACT


async def read_all(client: Bitrix24Client, **options: Any) -> list[list[dict[str, Any]]]:
    return [rows async for rows in read_batches(client, CONTACT, **options)]


async def test_a_type_is_read_once_in_id_order_2500_records_a_request(
    fast_emulator: RunningEmulator, client: Bitrix24Client
) -> None:
    portal = fast_emulator.engine.portal
    portal.add_many(CONTACT, contacts(6_000))
    for gone in (3, 2_500, 2_501, 4_999):  # holes in the IDs change nothing
        portal.delete(CONTACT, gone)
    top = await highest_id(client, CONTACT)
    assert top == 6_000
    before = fast_emulator.engine.stats.http_requests
    batches = await read_all(client, select=["NAME", "PHONE", "EMAIL"], until_id=top)
    ids = [int(row["ID"]) for rows in batches for row in rows]
    assert ids == sorted(portal.records["CONTACT"])
    assert [len(rows) for rows in batches] == [2_500, 2_500, 996]
    assert fast_emulator.engine.stats.http_requests - before == 3
    # The last request carries only the pages the ID range can fill (21 of 50), not 50.
    assert fast_emulator.engine.stats.commands["crm.contact.list"] == 1 + 50 + 50 + 21
    first = batches[0][0]
    assert set(first) == {"ID", "NAME", "PHONE", "EMAIL"}
    assert first["PHONE"][0]["VALUE"].startswith("+7 ")


async def test_without_a_bound_the_pages_per_request_grow(
    fast_emulator: RunningEmulator, client: Bitrix24Client
) -> None:
    # A recovery scan usually finds a few records: one page, then 2, 4, 8 … pages.
    fast_emulator.engine.portal.add_many(CONTACT, contacts(1_000))
    batches = await read_all(client, select=["DATE_MODIFY"])
    assert [len(rows) for rows in batches] == [50, 100, 200, 400, 250]
    assert sum(len(rows) for rows in batches) == 1_000
    assert fast_emulator.engine.stats.commands["crm.contact.list"] == 1 + 2 + 4 + 8 + 16


async def test_filters_and_resuming_after_an_id(
    fast_emulator: RunningEmulator, client: Bitrix24Client
) -> None:
    portal = fast_emulator.engine.portal
    portal.add_many(CONTACT, contacts(300))
    for record_id in (10, 120, 280):
        portal.update(CONTACT, record_id, {"NAME": "Changed"})
    batches = await read_all(client, select=["NAME"], filter={"NAME": "Changed"})
    assert [int(r["ID"]) for rows in batches for r in rows] == [10, 120, 280]
    after = await read_all(client, select=["NAME"], after_id=250)
    assert [int(r["ID"]) for rows in after for r in rows] == list(range(251, 301))


async def test_an_empty_type_is_one_request(
    fast_emulator: RunningEmulator, client: Bitrix24Client
) -> None:
    assert await highest_id(client, CONTACT) == 0
    assert await read_all(client, select=["NAME"], until_id=0) == []
    assert fast_emulator.engine.stats.commands["crm.contact.list"] == 2


def test_the_columns_are_what_the_decision_needs() -> None:
    lead = decision_fields(EntityType.LEAD, Policy(extra_identity_fields=("UF_CRM_INN",)))
    assert lead[:4] == ["ID", "DATE_CREATE", "PHONE", "EMAIL"]
    assert {"NAME", "LAST_NAME", "COMPANY_TITLE", "STATUS_SEMANTIC_ID", "UF_CRM_INN"} <= set(lead)
    assert "TITLE" in decision_fields(EntityType.COMPANY, Policy())


async def test_too_many_pages_is_refused(client: Bitrix24Client) -> None:
    with pytest.raises(ValueError, match="1 to 50 pages"):
        await read_all(client, select=["NAME"], pages=51)
