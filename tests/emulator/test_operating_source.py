"""The operating limit as the Bitrix24 source keeps it, over real HTTP.

``rest/lib/engine/access/loadlimiter.php`` and ``rest/classes/general/rest.php``: 420 s
by default, per webhook and method, a request's calls of one method stored only when
they sum over 0.1 s, ``batch`` itself exempt, each batch command on its own method.
And OVERLOAD_LIMIT's status, which the docs and the source give differently.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from b24.emulator.config import EmulatorConfig
from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call

FIND = "crm.duplicate.findbycomm"
FIND_PARAMS = {"type": "EMAIL", "values": ["a@b.io"]}
FIND_QUERY = "crm.duplicate.findbycomm?type=EMAIL&values[]=a@b.io"


async def _call(
    http: aiohttp.ClientSession,
    emulator: RunningEmulator,
    method: str,
    params: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    return await rest_call(http, emulator, method, params)


def test_the_default_limit_is_the_sources() -> None:
    # loadlimiter.php:26 $limitTime = 420
    assert EmulatorConfig().operating_limit == 420.0


async def test_a_lone_short_call_never_counts(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # loadlimiter.php:27,331: a request stores a key's time only when its sum > 0.1 s
    emulator = await start_emulator(rps=100, burst=100, method_times={FIND: 0.1})
    for _ in range(3):
        status, body = await _call(http, emulator, FIND, FIND_PARAMS)
        assert status == 200
        assert body["time"]["operating"] == 0


async def test_short_calls_in_one_batch_are_summed(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # loadlimiter.php:312-353: 10 × 0.05 s in one request is 0.5 s, stored at its end;
    # the check inside the request adds only calls over 0.1 s each (:288-300)
    emulator = await start_emulator(rps=100, burst=100, method_times={FIND: 0.05})
    cmd = {f"f{i}": FIND_QUERY for i in range(10)}
    status, body = await _call(http, emulator, "batch", {"cmd": cmd})
    assert status == 200
    assert {t["operating"] for t in body["result"]["result_time"].values()} == {0}
    status, body = await _call(http, emulator, FIND, FIND_PARAMS)
    assert body["time"]["operating"] == 0.5


async def test_long_calls_in_one_batch_count_as_they_go(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100, method_times={FIND: 0.4})
    cmd = {f"f{i}": FIND_QUERY for i in range(3)}
    _, body = await _call(http, emulator, "batch", {"cmd": cmd})
    times = body["result"]["result_time"]
    assert [times[f"f{i}"]["operating"] for i in range(3)] == [0.4, 0.8, 1.2]


async def test_each_batch_command_is_checked_on_its_own_method(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # loadlimiter.php:31-33, rest_provider.php:328-337: the batch is exempt, every
    # command is checked; the limit is passed when the time is over it (:183-184)
    emulator = await start_emulator(
        rps=100, burst=100, operating_limit=1.0, method_times={FIND: 0.5}
    )
    cmd = {"a": FIND_QUERY, "b": FIND_QUERY, "c": FIND_QUERY, "list": "crm.contact.list"}
    _, body = await _call(http, emulator, "batch", {"cmd": cmd})
    result = body["result"]
    # spent before a: 0, before b: 0.5, before c: 1.0, which is not over 1.0: all run
    assert set(result["result"]) == {"a", "b", "c", "list"}
    _, body = await _call(http, emulator, "batch", {"cmd": cmd})
    result = body["result"]
    assert result["result_error"]["a"]["error"] == "OPERATION_TIME_LIMIT"
    assert set(result["result_error"]) == {"a", "b", "c"}
    assert result["result"] == {"list": []}
    # a direct call of the method is refused too; the batch itself never is
    status, body = await _call(http, emulator, FIND, FIND_PARAMS)
    assert (status, body["error"]) == (429, "OPERATION_TIME_LIMIT")
    status, _ = await _call(http, emulator, "batch", {"cmd": {"l": "crm.contact.list"}})
    assert status == 200


async def test_an_answer_past_the_limit_only_refuses_the_next_call(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(
        rps=100, burst=100, operating_limit=1.0, method_times={FIND: 0.6}
    )
    assert (await _call(http, emulator, FIND, FIND_PARAMS))[0] == 200  # 0.6
    assert (await _call(http, emulator, FIND, FIND_PARAMS))[0] == 200  # 1.2 after
    status, body = await _call(http, emulator, FIND, FIND_PARAMS)
    assert (status, body["error"]) == (429, "OPERATION_TIME_LIMIT")
    assert body["error_description"] == "Method is blocked due to operation time limit."


async def test_a_call_that_fails_is_not_counted(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # rest.php:268-280: the end is registered after the handler returns, not when it
    # throws; operating_count_errors=True counts it anyway
    emulator = await start_emulator(rps=100, burst=100, method_times={"crm.contact.get": 0.5})
    for _ in range(3):
        status, _ = await _call(http, emulator, "crm.contact.get", {"id": 404})
        assert status == 400
    await _call(http, emulator, "crm.contact.add", {"fields": {"NAME": "A"}})
    _, body = await _call(http, emulator, "crm.contact.get", {"id": 1})
    assert body["time"]["operating"] == 0.5
    counting = await start_emulator(
        rps=100,
        burst=100,
        method_times={"crm.contact.get": 0.5},
        operating_count_errors=True,
    )
    await _call(http, counting, "crm.contact.get", {"id": 404})
    await _call(http, counting, "crm.contact.add", {"fields": {"NAME": "A"}})
    _, body = await _call(http, counting, "crm.contact.get", {"id": 1})
    assert body["time"]["operating"] == 1.0


async def test_reset_at_is_the_oldest_buckets_first_call_plus_the_window(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # loadlimiter.php:215-252,340-346: the expiry stored with a bucket's first time
    emulator = await start_emulator(rps=100, burst=100, method_times={FIND: 0.5})
    before = time.time()
    _, first = await _call(http, emulator, FIND, FIND_PARAMS)
    _, second = await _call(http, emulator, FIND, FIND_PARAMS)
    reset = first["time"]["operating_reset_at"]
    assert int(before) + 600 <= reset <= int(time.time()) + 600
    assert second["time"]["operating_reset_at"] == reset


async def test_batch_commands_can_share_one_budget_apart_from_direct_calls(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # rest_provider.php:328-336 passes no password id into a batch: a webhook's batch
    # commands count apart from its direct calls (inference; operating_batch_key)
    emulator = await start_emulator(
        rps=100,
        burst=100,
        operating_limit=1.0,
        method_times={FIND: 0.6},
        operating_batch_key="shared",
    )
    for _ in range(2):
        await _call(http, emulator, FIND, FIND_PARAMS)
    assert (await _call(http, emulator, FIND, FIND_PARAMS))[0] == 429
    _, body = await _call(http, emulator, "batch", {"cmd": {"f": FIND_QUERY}})
    assert body["result"]["result_error"] == []
    assert body["result"]["result_time"]["f"]["operating"] == 0.6


async def test_the_control_api_spends_both_budgets(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(rps=100, burst=100, operating_batch_key="shared")
    async with http.post(
        emulator.root + "/_emulator/operating", json={"method": FIND, "seconds": 421}
    ) as response:
        assert (await response.json())["operating"] == 421
    assert (await _call(http, emulator, FIND, FIND_PARAMS))[0] == 429
    _, body = await _call(http, emulator, "batch", {"cmd": {"f": FIND_QUERY}})
    assert body["result"]["result_error"]["f"]["error"] == "OPERATION_TIME_LIMIT"


async def test_overload_status_can_be_the_sources(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    # oauthexception.php:14-25: the OAuth error path defaults to 401; the docs say 503
    for status in (503, 401):
        emulator = await start_emulator(rps=100, burst=100, overload_status=status)
        async with http.post(emulator.root + "/_emulator/faults", json={"next": {"overload": 1}}):
            pass
        answer = await rest_call(http, emulator, "crm.contact.list", {})
        assert answer == (
            status,
            {"error": "OVERLOAD_LIMIT", "error_description": "REST API is blocked due to overload"},
        )
