"""What a mergeBatch writes: events, the survivor's stamps, re-pointed children.

``crm/lib/merger/entitymerger.php:467-528``: the survivor is updated first (one
``ONCRM…UPDATE``, even when no field changes), then per seed its children are
re-pointed at the survivor and it is deleted (one ``ONCRM…DELETE`` each); a CONFLICT
writes nothing. Events are taken as the portal announces them (the order they are
queued in; the sender may deliver them out of order).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from b24.crm import EntityType, MergeStatus
from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call


async def _ok(
    http: aiohttp.ClientSession, emulator: RunningEmulator, method: str, params: dict[str, Any]
) -> Any:
    status, body = await rest_call(http, emulator, method, params)
    assert status == 200 and "error" not in body, body
    return body["result"]


def _listen(emulator: RunningEmulator) -> list[tuple[str, int]]:
    announced: list[tuple[str, int]] = []

    def note(event: str, entity: EntityType, entity_id: int) -> None:
        announced.append((event, entity_id))

    emulator.engine.portal.listeners.append(note)
    return announced


async def _merge(
    http: aiohttp.ClientSession, emulator: RunningEmulator, type_id: int, ids: list[int]
) -> Any:
    return await _ok(
        http,
        emulator,
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": type_id, "entityIds": ids}},
    )


async def test_one_update_then_one_delete_per_seed(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100)
    ids = [
        await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}}) for _ in range(3)
    ]
    before = await _ok(http, emulator, "crm.contact.get", {"id": ids[0]})
    announced = _listen(emulator)
    assert (await _merge(http, emulator, 3, ids))["STATUS"] == MergeStatus.SUCCESS
    assert announced == [
        ("ONCRMCONTACTUPDATE", ids[0]),
        ("ONCRMCONTACTDELETE", ids[1]),
        ("ONCRMCONTACTDELETE", ids[2]),
    ]
    after = await _ok(http, emulator, "crm.contact.get", {"id": ids[0]})
    # contactmerger.php:225-242: creation kept, a fresh modification stamp
    assert after["DATE_CREATE"] == before["DATE_CREATE"]
    assert after["CREATED_BY_ID"] == before["CREATED_BY_ID"]
    assert after["DATE_MODIFY"] >= before["DATE_MODIFY"]


async def test_a_conflict_sends_nothing(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100)
    a = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
    b = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Oleg"}})
    announced = _listen(emulator)
    assert (await _merge(http, emulator, 3, [a, b])) == {
        "STATUS": MergeStatus.CONFLICT,
        "ENTITY_IDS": [b],
    }
    assert announced == []


async def test_a_repeated_seed_sends_its_delete_once(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100)
    a = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L"}})
    b = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L"}})
    announced = _listen(emulator)
    assert (await _merge(http, emulator, 1, [a, b, b])) == {
        "STATUS": MergeStatus.ERROR,
        "ENTITY_IDS": [b, b],
    }
    assert announced == [("ONCRMLEADUPDATE", a), ("ONCRMLEADDELETE", b)]
    async with http.get(emulator.root + "/_emulator/stats") as response:
        assert (await response.json())["merges"]["statuses"] == {MergeStatus.ERROR: 1}


async def test_repeats_can_be_dropped_instead(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100, merge_repeated_seed="drop")
    a = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L"}})
    b = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L"}})
    assert (await _merge(http, emulator, 1, [a, a, b, b])) == {
        "STATUS": MergeStatus.SUCCESS,
        "ENTITY_IDS": [b],
    }


async def test_a_contacts_leads_move_to_the_survivor_quietly(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # contactmerger.php:266-305: the seed's child relations are re-pointed, no event
    emulator = await start_emulator(rps=100, burst=100)
    a = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
    b = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
    lead = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L", "CONTACT_ID": b}})
    stamp = (await _ok(http, emulator, "crm.lead.get", {"id": lead}))["DATE_MODIFY"]
    announced = _listen(emulator)
    assert (await _merge(http, emulator, 3, [a, b]))["STATUS"] == MergeStatus.SUCCESS
    moved = await _ok(http, emulator, "crm.lead.get", {"id": lead})
    assert moved["CONTACT_ID"] == str(a)
    assert moved["DATE_MODIFY"] == stamp
    assert ("ONCRMLEADUPDATE", lead) not in announced


async def test_a_companys_contacts_and_leads_move_to_the_survivor(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # companymerger.php:284-327
    emulator = await start_emulator(rps=100, burst=100)
    a = await _ok(http, emulator, "crm.company.add", {"fields": {"TITLE": "Romashka"}})
    b = await _ok(http, emulator, "crm.company.add", {"fields": {"TITLE": "Romashka"}})
    contact = await _ok(
        http, emulator, "crm.contact.add", {"fields": {"NAME": "I", "COMPANY_ID": b}}
    )
    lead = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L", "COMPANY_ID": b}})
    other = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L", "COMPANY_ID": 77}})
    assert (await _merge(http, emulator, 4, [a, b]))["STATUS"] == MergeStatus.SUCCESS
    assert (await _ok(http, emulator, "crm.contact.get", {"id": contact}))["COMPANY_ID"] == str(a)
    assert (await _ok(http, emulator, "crm.lead.get", {"id": lead}))["COMPANY_ID"] == str(a)
    assert (await _ok(http, emulator, "crm.lead.get", {"id": other}))["COMPANY_ID"] == "77"


async def test_a_lead_merge_re_points_nothing(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # leadmerger.php:549-573: records made from the seed lead are not re-pointed
    # (inference, docs/emulator.md); the emulator keeps LEAD_ID read-only anyway
    emulator = await start_emulator(rps=100, burst=100)
    a = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L"}})
    b = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L"}})
    announced = _listen(emulator)
    assert (await _merge(http, emulator, 1, [a, b]))["STATUS"] == MergeStatus.SUCCESS
    assert announced == [("ONCRMLEADUPDATE", a), ("ONCRMLEADDELETE", b)]


async def test_an_update_that_changes_nothing_can_be_skipped(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # entitymerger.php:473-476 updates the survivor in any case (an inference, see
    # docs/emulator.md); merge_update_unchanged=False skips an update without a change
    for unchanged, events in ((True, 1), (False, 0)):
        emulator = await start_emulator(rps=100, burst=100, merge_update_unchanged=unchanged)
        a = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
        b = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
        announced = _listen(emulator)
        assert (await _merge(http, emulator, 3, [a, b]))["STATUS"] == MergeStatus.SUCCESS
        assert announced.count(("ONCRMCONTACTUPDATE", a)) == events


async def test_re_pointed_children_can_be_announced(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100, merge_rebind_events=True)
    a = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
    b = await _ok(http, emulator, "crm.contact.add", {"fields": {"NAME": "Ivan"}})
    lead = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L", "CONTACT_ID": b}})
    announced = _listen(emulator)
    assert (await _merge(http, emulator, 3, [a, b]))["STATUS"] == MergeStatus.SUCCESS
    assert announced == [
        ("ONCRMCONTACTUPDATE", a),
        ("ONCRMLEADUPDATE", lead),
        ("ONCRMCONTACTDELETE", b),
    ]


async def test_utm_fields_can_be_left_out_of_the_comparison(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # utm.php:283-318: compared as strings (inference, docs/emulator.md)
    for compare, status in ((True, MergeStatus.CONFLICT), (False, MergeStatus.SUCCESS)):
        emulator = await start_emulator(rps=100, burst=100, merge_compare_utm=compare)
        a = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L", "UTM_SOURCE": "g"}})
        b = await _ok(http, emulator, "crm.lead.add", {"fields": {"TITLE": "L", "UTM_SOURCE": "y"}})
        assert (await _merge(http, emulator, 1, [a, b]))["STATUS"] == status
