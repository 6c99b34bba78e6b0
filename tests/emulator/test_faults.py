"""Injected faults: 500s, OVERLOAD_LIMIT, forced QUERY_LIMIT_EXCEEDED, latency, drops."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from b24.emulator.server import RunningEmulator
from tests.emulator.conftest import rest_call
from tests.waiting import wait_until


async def _faults(
    http: aiohttp.ClientSession, emulator: RunningEmulator, spec: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(emulator.root + "/_emulator/faults", json=spec) as response:
        return response.status, await response.text()


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("internal_error", 500, "INTERNAL_SERVER_ERROR"),
        ("overload", 503, "OVERLOAD_LIMIT"),
        ("query_limit", 503, "QUERY_LIMIT_EXCEEDED"),
    ],
)
async def test_next_request_gets_the_fault(
    emulator: RunningEmulator, http: aiohttp.ClientSession, kind: str, status: int, code: str
) -> None:
    assert (await _faults(http, emulator, {"next": {kind: 1}}))[0] == 200
    answer, body = await rest_call(http, emulator, "crm.settings.mode.get")
    assert (answer, body["error"]) == (status, code)
    if kind != "query_limit":  # a filled bucket stays full for a while; the others pass
        assert (await rest_call(http, emulator, "crm.settings.mode.get"))[0] == 200


async def test_a_share_of_requests_fails(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    await _faults(http, emulator, {"rates": {"internal_error": 0.5}, "seed": 7})
    statuses = [(await rest_call(http, emulator, "crm.settings.mode.get"))[0] for _ in range(40)]
    assert 5 < statuses.count(500) < 35 and statuses.count(200) == 40 - statuses.count(500)
    async with http.delete(emulator.root + "/_emulator/faults"):
        pass
    assert (await rest_call(http, emulator, "crm.settings.mode.get"))[0] == 200


async def _no_windows(http: aiohttp.ClientSession, emulator: RunningEmulator) -> bool:
    """Whether the emulator lists no scheduled fault window that has not ended yet."""
    async with http.get(emulator.root + "/_emulator/faults") as response:
        return bool((await response.json())["schedule"] == [])


async def test_scheduled_window(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    duration = 1.0  # long enough for the first request to fall inside it on a loaded machine
    set_at = time.monotonic()
    spec = {"schedule": [{"kind": "overload", "after": 0, "duration": duration}]}
    await _faults(http, emulator, spec)
    assert (await rest_call(http, emulator, "crm.settings.mode.get"))[0] == 503
    # The emulator lists a window until it has ended: wait for that, not for a guessed time.
    await wait_until(
        lambda: _no_windows(http, emulator), what="the scheduled overload window to end"
    )
    assert time.monotonic() - set_at >= duration  # it did not end early
    assert (await rest_call(http, emulator, "crm.settings.mode.get"))[0] == 200


async def test_latency_is_added(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    await _faults(http, emulator, {"next": {"latency": 1}, "latency_seconds": 0.3})
    began = time.monotonic()
    status, _ = await rest_call(http, emulator, "crm.settings.mode.get")
    assert status == 200 and time.monotonic() - began >= 0.3


async def test_a_late_request_still_takes_effect_after_the_caller_left(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    def contacts() -> dict[int, Any]:
        return emulator.engine.portal.records["CONTACT"]

    await _faults(http, emulator, {"next": {"latency": 1}, "latency_seconds": 0.5})
    with pytest.raises(TimeoutError):
        await http.post(
            emulator.webhook_url + "crm.contact.add",
            json={"fields": {"NAME": "Late"}},
            # sock_read starts once the whole request has been written, so the caller
            # leaves after sending it, however slow the machine (a total timeout could
            # give up before the request was out).
            timeout=aiohttp.ClientTimeout(sock_read=0.1),
        )
    # The request has reached the portal (counted as it arrives, before the latency)...
    await wait_until(
        lambda: emulator.engine.stats.http_requests == 1, what="the request to reach the portal"
    )
    assert contacts() == {}  # ...and has not taken effect yet: the portal is slow
    await wait_until(contacts, what="the late crm.contact.add to take effect")
    assert [r["NAME"] for r in contacts().values()] == ["Late"]


async def test_faults_for_some_methods_only(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    await _faults(http, emulator, {"rates": {"internal_error": 1.0}, "methods": ["crm.LEAD.list"]})
    assert (await rest_call(http, emulator, "crm.settings.mode.get"))[0] == 200
    assert (await rest_call(http, emulator, "crm.lead.list.json"))[0] == 500
    assert (await rest_call(http, emulator, "batch", {"cmd": {"a": "crm.lead.list"}}))[0] == 200
    async with http.get(emulator.root + "/_emulator/faults") as response:
        assert (await response.json())["methods"] == ["crm.lead.list"]


async def test_dropped_connection_gets_no_answer(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    await _faults(http, emulator, {"next": {"drop": 1}})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await rest_call(http, emulator, "crm.settings.mode.get")
    assert (await rest_call(http, emulator, "crm.settings.mode.get"))[0] == 200
    async with http.get(emulator.root + "/_emulator/stats") as response:
        assert (await response.json())["dropped_connections"] == 1


@pytest.mark.parametrize(
    "spec",
    [
        {"rates": {"meteor": 1}},
        {"next": {"drop": "many"}},
        {"schedule": [{"kind": "drop"}]},
        {"surprise": 1},
        {"methods": "crm.lead.list"},
        [1, 2],
    ],
)
async def test_bad_fault_descriptions_are_400(
    emulator: RunningEmulator, http: aiohttp.ClientSession, spec: Any
) -> None:
    status, text = await _faults(http, emulator, spec)
    assert status == 400 and text
