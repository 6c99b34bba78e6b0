"""Automatic batching: concurrent calls share requests; each caller gets its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from b24.client import Answer, MethodError, NotFound, OutcomeUnknown
from tests.client.conftest import MakeClient, contact, control, stats
from tests.conftest import StartEmulator


async def test_concurrent_calls_share_one_request(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    seed = {"contacts": [contact(f"N{i}") for i in range(30)]}
    emulator = await start_emulator(seed=seed, rps=1000.0, burst=1000)
    client = make_client(emulator)

    records = await asyncio.gather(
        *(client.call("crm.contact.get", {"id": i}) for i in range(1, 31))
    )
    assert [record["ID"] for record in records] == [str(i) for i in range(1, 31)]
    after = await stats(http, emulator)
    assert after["http_requests"] == 1
    assert after["batch_requests"] == 1
    assert after["commands"] == {"crm.contact.get": 30}


async def test_more_than_fifty_calls_take_as_few_requests_as_fit(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator)

    records = await asyncio.gather(*(client.call("crm.contact.get", {"id": 1}) for _ in range(120)))
    assert len(records) == 120
    after = await stats(http, emulator)
    assert (after["http_requests"], after["commands_total"]) == (3, 120)


async def test_merges_are_limited_per_request(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    # Twelve pairs of identical contacts: each pair merges without conflict.
    pairs = [contact(f"Pair{i}", f"+7999111{i:04d}") for i in range(12)]
    emulator = await start_emulator(seed={"contacts": pairs + pairs}, rps=1000.0, burst=1000)
    client = make_client(emulator, per_request={"crm.entity.mergeBatch": 5})

    merges = [
        client.call(
            "crm.entity.mergeBatch", {"params": {"entityTypeId": 3, "entityIds": [i, i + 12]}}
        )
        for i in range(1, 13)
    ]
    reads = [client.call("crm.contact.get", {"id": i}) for i in range(1, 11)]
    results = await asyncio.gather(*merges, *reads)
    assert [r["STATUS"] for r in results[:12]] == ["SUCCESS"] * 12
    after = await stats(http, emulator)
    # 5 + 5 + 2 merges; the reads ride along in the first request.
    assert after["http_requests"] == 3
    assert after["commands"]["crm.entity.mergebatch"] == 12


async def test_batch_errors_reach_their_own_callers(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(
        seed={"contacts": [contact("A", "+79991234567")]}, rps=1000.0, burst=1000
    )
    client = make_client(emulator)

    calls: dict[str, Any] = {
        "present": client.call("crm.contact.get", {"id": 1}),
        "missing": client.call("crm.contact.get", {"id": 999}),
        "bad type": client.call("crm.duplicate.findbycomm", {"type": "FAX", "values": ["1"]}),
        "found": client.call(
            "crm.duplicate.findbycomm", {"type": "PHONE", "values": ["89991234567"]}
        ),
        "one id": client.call(
            "crm.entity.mergeBatch", {"params": {"entityTypeId": 3, "entityIds": [1]}}
        ),
        "no method": client.call("crm.nothing.here", {}),
        "added": client.call("crm.contact.add", {"fields": contact("B")}),
    }
    answers = await asyncio.gather(*calls.values(), return_exceptions=True)
    outcomes = dict(zip(calls, answers, strict=True))

    assert (await stats(http, emulator))["http_requests"] == 1
    assert outcomes["present"]["NAME"] == "A"
    assert isinstance(outcomes["missing"], NotFound)
    assert outcomes["missing"].method == "crm.contact.get"
    bad = outcomes["bad type"]
    assert isinstance(bad, MethodError) and not isinstance(bad, NotFound)
    # restservice.php:10000: a RestException without a code
    assert (bad.code, bad.description) == (
        "",
        "Communication type 'FAX' is not supported in current context.",
    )
    assert outcomes["found"] == {"CONTACT": [1]}
    one_id = outcomes["one id"]
    assert isinstance(one_id, MethodError) and one_id.code == 0
    assert "at least two" in one_id.description
    no_method = outcomes["no method"]
    assert isinstance(no_method, MethodError) and no_method.code == "ERROR_METHOD_NOT_FOUND"
    assert outcomes["added"] == 2


async def test_a_lost_batch_answer_resends_its_reads_but_not_its_writes(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator)
    await control(http, emulator, "faults", {"next": {"drop": 1}})

    outcomes = await asyncio.gather(
        client.call("crm.contact.get", {"id": 1}),
        client.call("crm.contact.add", {"fields": contact("B")}),
        client.call("crm.contact.get", {"id": 1}),
        return_exceptions=True,
    )
    assert outcomes[0]["NAME"] == "A" and outcomes[2]["NAME"] == "A"
    lost = outcomes[1]
    assert isinstance(lost, OutcomeUnknown) and lost.method == "crm.contact.add"
    after = await stats(http, emulator)
    # The dropped batch, then the two reads again; the add was never sent twice.
    assert after["http_requests"] == 2
    assert after["dropped_connections"] == 1
    assert after["commands"] == {"crm.contact.get": 2}


async def test_an_abandoned_call_is_not_sent(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator)
    assert isinstance(await client.answer("crm.contact.get", {"id": 1}), Answer)

    abandoned = asyncio.ensure_future(client.call("crm.contact.get", {"id": 1}))
    kept = asyncio.ensure_future(client.call("crm.contact.get", {"id": 1}))
    await asyncio.sleep(0)  # both are queued now, waiting for the batch window
    abandoned.cancel()
    assert (await kept)["ID"] == "1"
    assert abandoned.cancelled()
    after = await stats(http, emulator)
    assert after["commands"] == {"crm.contact.get": 2}
    assert after["batch_requests"] == 0
