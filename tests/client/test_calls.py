"""One call at a time against the emulator: results, pages, explicit batches, retries."""

from __future__ import annotations

import time

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.client import (
    Answer,
    AuthError,
    Bitrix24Client,
    ClientConfig,
    Command,
    MethodError,
    NotExecuted,
    NotFound,
    OperatingLimit,
    OutcomeUnknown,
    Overloaded,
    TransientError,
    walk_by_id,
)
from b24.emulator.server import free_port
from tests.client.conftest import MakeClient, contact, control, stats
from tests.conftest import REDIS_URL, StartEmulator


async def test_a_call_answers_its_result_and_a_list_its_page(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    seed = {"contacts": [contact(f"N{i}", f"+7999000{i:04d}") for i in range(60)]}
    emulator = await start_emulator(seed=seed, rps=1000.0, burst=1000)
    client = make_client(emulator)

    record = await client.call("crm.contact.get", {"id": 7})
    assert record["ID"] == "7" and record["NAME"] == "N6"
    found = await client.call(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": ["89990000006"]}
    )
    assert found == {"CONTACT": [7]}
    page = await client.page("crm.contact.list", {"select": ["ID"], "order": {"ID": "ASC"}})
    assert (len(page.items), page.total, page.next) == (50, 60, 50)
    rest = await client.page("crm.contact.list", {"select": ["ID"], "start": page.next})
    assert (len(rest.items), rest.total, rest.next) == (10, 60, None)
    assert (await stats(http, emulator))["http_requests"] == 4


async def test_walk_by_id_reads_a_large_list_without_counting(
    start_emulator: StartEmulator, make_client: MakeClient
) -> None:
    seed = {"contacts": [contact(f"N{i}") for i in range(120)]}
    emulator = await start_emulator(seed=seed, rps=1000.0, burst=1000)
    client = make_client(emulator)

    pages = [page async for page in walk_by_id(client, "crm.contact.list", select=["NAME"])]
    assert [len(page) for page in pages] == [50, 50, 20]
    ids = [int(row["ID"]) for page in pages for row in page]
    assert ids == list(range(1, 121))
    later = [p async for p in walk_by_id(client, "crm.contact.list", after_id=100)]
    assert [int(row["ID"]) for page in later for row in page] == list(range(101, 121))


async def test_an_explicit_batch_answers_each_key(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator)

    outcomes = await client.batch(
        {
            "first": ("crm.contact.get", {"id": 1}),
            "again": "crm.contact.get?id=$result[first][ID]",
            "gone": Command("crm.contact.get", {"id": 404}),
        }
    )
    assert isinstance(outcomes["first"], Answer) and outcomes["first"].result["NAME"] == "A"
    assert isinstance(outcomes["again"], Answer) and outcomes["again"].result["ID"] == "1"
    assert isinstance(outcomes["gone"], NotFound)

    halted = await client.batch(
        {"gone": ("crm.contact.get", {"id": 404}), "after": ("crm.contact.get", {"id": 1})},
        halt=True,
    )
    assert isinstance(halted["gone"], NotFound)
    assert isinstance(halted["after"], NotExecuted)
    assert (await stats(http, emulator))["batch_requests"] == 2


async def test_reads_are_sent_again_after_transient_faults(
    start_emulator: StartEmulator,
    make_client: MakeClient,
    http: aiohttp.ClientSession,
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator)

    for fault in ("internal_error", "drop"):
        await control(http, emulator, "faults", {"next": {fault: 1}})
        record = await client.call("crm.contact.get", {"id": 1})
        assert record["NAME"] == "A"
    after = await stats(http, emulator)
    assert after["http_requests"] == 4
    assert after["dropped_connections"] == 1
    assert after["refusals"] == {"INTERNAL_SERVER_ERROR": 1}


async def test_a_read_gives_up_after_its_retries(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator, read_retries=2)
    await control(http, emulator, "faults", {"rates": {"internal_error": 1.0}})

    with pytest.raises(TransientError):
        await client.call("crm.contact.get", {"id": 1})
    assert (await stats(http, emulator))["http_requests"] == 3


@pytest.mark.parametrize("fault", ["drop", "internal_error"])
async def test_a_write_whose_answer_was_lost_is_never_sent_again(
    fault: str,
    start_emulator: StartEmulator,
    make_client: MakeClient,
    http: aiohttp.ClientSession,
) -> None:
    emulator = await start_emulator(rps=1000.0, burst=1000)
    client = make_client(emulator)
    await control(http, emulator, "faults", {"next": {fault: 1}})

    with pytest.raises(OutcomeUnknown) as raised:
        await client.call("crm.contact.add", {"fields": contact("A")})
    assert raised.value.method == "crm.contact.add"
    assert (await stats(http, emulator))["http_requests"] == 1


async def test_a_write_that_never_left_is_not_an_unknown_outcome(
    start_emulator: StartEmulator, make_client: MakeClient
) -> None:
    emulator = await start_emulator(rps=1000.0, burst=1000)
    # Nothing listens on this port: no connection, so nothing was sent.
    closed = f"http://127.0.0.1:{free_port()}/rest/1/secret/"
    client = make_client(emulator, webhook_url=closed, read_retries=1)

    with pytest.raises(TransientError) as raised:
        await client.call("crm.contact.add", {"fields": contact("A")})
    assert raised.value.sent is False
    assert not isinstance(raised.value, OutcomeUnknown)


async def test_overload_is_never_retried(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed={"contacts": [contact("A")]}, rps=1000.0, burst=1000)
    client = make_client(emulator)
    await control(http, emulator, "faults", {"next": {"overload": 1}})

    with pytest.raises(Overloaded):
        await client.call("crm.contact.get", {"id": 1})
    assert (await stats(http, emulator))["refusals"] == {"OVERLOAD_LIMIT": 1}
    assert (await stats(http, emulator))["http_requests"] == 1


async def test_a_wrong_webhook_is_an_auth_error(
    start_emulator: StartEmulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=1000.0, burst=1000)
    wrong = f"{emulator.root}/rest/{emulator.config.user_id}/not-the-secret/"
    client = make_client(emulator, webhook_url=wrong)

    with pytest.raises(AuthError) as raised:
        await client.call("crm.contact.get", {"id": 1})
    assert raised.value.code == "NO_AUTH_FOUND"
    assert (await stats(http, emulator))["http_requests"] == 1


async def test_unknown_methods_and_bad_arguments_are_method_errors(
    start_emulator: StartEmulator, make_client: MakeClient
) -> None:
    emulator = await start_emulator(rps=1000.0, burst=1000)
    client = make_client(emulator)

    with pytest.raises(MethodError) as unknown:
        await client.call("crm.nothing.here")
    assert unknown.value.code == "ERROR_METHOD_NOT_FOUND" and unknown.value.status == 404
    with pytest.raises(MethodError) as bad:
        await client.call("crm.duplicate.findbycomm", {"type": "FAX", "values": ["1"]})
    assert bad.value.status == 400 and "FAX" in bad.value.description


async def test_a_redis_client_that_decodes_answers_serves_as_well(
    start_emulator: StartEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> None:
    # A get of 0.2 s: a lone call counts only over 0.1 s (loadlimiter.php:331).
    emulator = await start_emulator(
        seed={"contacts": [contact("A")]},
        rps=1000.0,
        burst=1000,
        method_times={"crm.contact.get": 0.2},
    )
    decoding = aioredis.from_url(REDIS_URL, decode_responses=True)
    config = ClientConfig(
        key_prefix=redis_namespace,
        rps=1000.0,
        burst=1000,
        cooldown_base=0.01,
        operating_max_wait=0.0,
    )
    try:
        async with Bitrix24Client(emulator.webhook_url, decoding, config=config) as client:
            assert (await client.call("crm.contact.get", {"id": 1}))["ID"] == "1"
            assert await client.limiter.refused() > 0
            await client.operating.block("crm.contact.get", time.time() + 60)
        async with Bitrix24Client(emulator.webhook_url, decoding, config=config) as fresh:
            state = await fresh.operating.state("crm.contact.get")
            assert state.blocked_until > time.time() and state.operating > 0
            with pytest.raises(OperatingLimit):
                await fresh.call("crm.contact.get", {"id": 1})
    finally:
        await decoding.aclose()
