"""The leaky bucket and the per-method operating limit, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call


async def _post(
    http: aiohttp.ClientSession,
    emulator: RunningEmulator,
    method: str,
    params: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    return await rest_call(http, emulator, method, params)


async def test_burst_then_query_limit_exceeded(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=0.5, burst=3)
    answers = [await _post(http, emulator, "crm.settings.mode.get") for _ in range(4)]
    assert [status for status, _ in answers] == [200, 200, 200, 503]
    assert answers[-1][1] == {
        "error": "QUERY_LIMIT_EXCEEDED",
        "error_description": "Too many requests",
    }
    async with http.get(emulator.root + "/_emulator/stats") as response:
        assert (await response.json())["refusals"] == {"QUERY_LIMIT_EXCEEDED": 1}


async def test_bucket_drains_at_the_configured_rate(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=20, burst=2)
    statuses = [(await _post(http, emulator, "crm.settings.mode.get"))[0] for _ in range(3)]
    assert statuses[-1] == 503
    await asyncio.sleep(0.2)  # 20/s drains about 4 requests' worth
    assert (await _post(http, emulator, "crm.settings.mode.get"))[0] == 200


async def test_a_batch_counts_as_one_request(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=0.1, burst=2)
    cmd = {f"c{i}": "crm.enum.ownertype" for i in range(50)}
    status, body = await _post(http, emulator, "batch", {"cmd": cmd})
    assert status == 200 and len(body["result"]["result"]) == 50
    assert (await _post(http, emulator, "crm.settings.mode.get"))[0] == 200
    assert (await _post(http, emulator, "crm.settings.mode.get"))[0] == 503


async def test_operating_limit_blocks_one_method_only(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(
        rps=100, burst=100, operating_limit=1.0, method_times={"crm.duplicate.findbycomm": 0.4}
    )
    params = {"type": "EMAIL", "values": ["a@b.io"]}
    reported = []
    for _ in range(3):
        status, body = await _post(http, emulator, "crm.duplicate.findbycomm", params)
        assert status == 200
        reported.append(body["time"]["operating"])
    assert reported == [0.4, 0.8, 1.2]
    status, body = await _post(http, emulator, "crm.duplicate.findbycomm", params)
    assert status == 429
    assert body["error"] == "OPERATION_TIME_LIMIT"
    status, _ = await _post(http, emulator, "crm.contact.list")
    assert status == 200  # other methods keep working
    status, body = await _post(
        http,
        emulator,
        "batch",
        {
            "cmd": {
                "find": "crm.duplicate.findbycomm?type=EMAIL&values[]=a@b.io",
                "list": "crm.contact.list",
            }
        },
    )
    assert status == 200
    assert body["result"]["result_error"]["find"]["error"] == "OPERATION_TIME_LIMIT"
    assert body["result"]["result"]["list"] == []


async def test_operating_reset_at_and_recovery(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # A 1-second window (ten 0.1 s buckets) stands in for the real 10 minutes.
    emulator = await start_emulator(
        rps=100,
        burst=100,
        operating_limit=0.5,
        operating_window=1.0,
        method_times={"crm.lead.list": 0.6},
    )
    status, body = await _post(http, emulator, "crm.lead.list")
    assert status == 200
    reset_at = body["time"]["operating_reset_at"]
    # an integer timestamp (as in the docs), so up to a second later than the window end
    assert body["time"]["start"] < reset_at <= body["time"]["start"] + 2.0
    assert (await _post(http, emulator, "crm.lead.list"))[0] == 429
    status = 429
    for _ in range(30):  # bounded: the window is one second
        await asyncio.sleep(0.1)
        status, _ = await _post(http, emulator, "crm.lead.list")
        if status == 200:
            break
    assert status == 200


async def test_operating_time_can_be_spent_from_the_control_api(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        emulator.root + "/_emulator/operating", json={"method": "crm.contact.get", "seconds": 480}
    ) as response:
        assert response.status == 200
    status, body = await _post(http, emulator, "crm.contact.get", {"id": 1})
    assert (status, body["error"]) == (429, "OPERATION_TIME_LIMIT")


async def test_simulated_time_past_the_request_limit_is_a_gateway_timeout(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(
        rps=100, burst=100, request_time_limit=1.0, method_times={"crm.contact.add": 0.4}
    )
    cmd = {f"c{i}": f"crm.contact.add?fields[NAME]=T{i}" for i in range(5)}
    async with http.post(emulator.webhook_url + "batch", json={"cmd": cmd}) as response:
        assert response.status == 504
    # What ran before the cut stays done, as on a real portal: the caller must re-read.
    _, body = await _post(http, emulator, "crm.contact.list")
    assert [row["NAME"] for row in body["result"]] == ["T0", "T1", "T2"]


async def test_limits_can_change_at_run_time(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=0.1, burst=1)
    assert (await _post(http, emulator, "crm.settings.mode.get"))[0] == 200
    assert (await _post(http, emulator, "crm.settings.mode.get"))[0] == 503
    async with http.post(emulator.root + "/_emulator/limits", json={"burst": 5}) as response:
        assert (await response.json())["burst"] == 5
    assert (await _post(http, emulator, "crm.settings.mode.get"))[0] == 200


async def test_one_slow_call_past_the_request_limit_is_done_but_unanswered(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100, request_time_limit=1.0)
    seed = {"cmd": {"a": "crm.contact.add?fields[NAME]=X", "b": "crm.contact.add?fields[NAME]=X"}}
    await _post(http, emulator, "batch", seed)
    merge = {"params": {"entityTypeId": 3, "entityIds": [1, 2]}}  # 2 s by default
    async with http.post(emulator.webhook_url + "crm.entity.mergeBatch", json=merge) as response:
        assert response.status == 504
    _, body = await _post(http, emulator, "crm.contact.list")
    assert [row["ID"] for row in body["result"]] == ["1"]
