"""The leaky bucket and the per-method operating limit, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call
from tests.waiting import wait_until


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
    rps, burst = 20.0, 2
    emulator = await start_emulator(rps=rps, burst=burst)
    one_request = 1.0 / rps  # the time one request's worth takes to drain
    refused_by = 0.0

    async def burst_then_one_more_is_refused() -> bool:
        nonlocal refused_by
        began = time.monotonic()
        statuses = [
            (await _post(http, emulator, "crm.settings.mode.get"))[0] for _ in range(burst + 1)
        ]
        assert statuses[:burst] == [200] * burst  # from an empty bucket
        if statuses[-1] == 503:
            refused_by = time.monotonic()  # the portal refused before this (same process)
            return True
        # From an empty bucket the last one passes only if one request's worth drained
        # while they were sent: a machine too slow to tell. Then, and only then, retry.
        took = time.monotonic() - began
        assert took >= one_request - 0.001, f"{statuses} in {took:.3f} s with burst {burst}"
        await asyncio.sleep(burst * one_request)  # at least: the bucket is empty again
        return False

    await wait_until(
        burst_then_one_more_is_refused,
        what=f"{burst} requests and one more, sent within {one_request} s, to be refused",
    )
    # At the refusal the bucket held at most `burst`; a refused request does not fill it.
    # So from 1/rps seconds after the refusal on, one request's worth has drained and a
    # request must pass: a refusal that late means the bucket drains slower than rps.
    drained_after = one_request + 0.001  # a millisecond for float rounding

    async def passes() -> bool:
        sent_at = time.monotonic()
        status = (await _post(http, emulator, "crm.settings.mode.get"))[0]
        assert status in (200, 503)
        late = sent_at - refused_by
        assert status == 200 or late < drained_after, (
            f"still refused {late:.3f} s after the refusal; at {rps}/s one request's "
            f"worth drains in {one_request:.3f} s"
        )
        return status == 200

    await wait_until(passes, what="the bucket to drain enough for one more request")


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

    async def passes_again() -> bool:
        return (await _post(http, emulator, "crm.lead.list"))[0] == 200

    await wait_until(
        passes_again,
        within=5.0,  # the window is one second
        interval=0.1,
        what="crm.lead.list to pass again once its operating time left the window",
    )


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
