"""Outbound events: each add, update and delete POSTed once in Bitrix24's form format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from b24.crm import MergeStatus
from b24.emulator.server import RunningEmulator, free_port
from b24.phpquery import parse_php_query
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call
from tests.waiting import wait_until

TOKEN = "app-token-for-tests"


class Receiver:
    """A real HTTP server that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.content_type, parse_php_query(body)))
        return web.Response(status=self.status)

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        """The bodies received once there are at least ``count``; fails past a deadline."""
        await wait_until(
            lambda: len(self.received) >= count, what=f"{count} event(s) at the receiver"
        )
        return self.bodies()

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.received]

    def ids(self) -> list[str]:
        """The record IDs of the events received so far, in arrival order."""
        return [body["data"]["FIELDS"]["ID"] for body in self.bodies()]


async def _event_stats(http: aiohttp.ClientSession, emulator: RunningEmulator) -> dict[str, int]:
    async with http.get(emulator.root + "/_emulator/stats") as response:
        events: dict[str, int] = (await response.json())["events"]
        return events


async def _drain(http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    """Wait until the emulator's event queue is empty and its last send has ended, so an
    event queued so far (a retry included) has been attempted."""
    body = {"drain": True, "timeout": 10.0}
    async with http.post(emulator.root + "/_emulator/events", json=body) as response:
        assert response.status == 200


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield receiver, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_add_update_delete_are_sent_in_form_format(
    start_emulator: StartEmulator, receiver: tuple[Receiver, str], http: aiohttp.ClientSession
) -> None:
    target, url = receiver
    emulator = await start_emulator(rps=100, burst=100, events_url=url, application_token=TOKEN)
    _, body = await rest_call(http, emulator, "crm.contact.add", {"fields": {"NAME": "E"}})
    new_id = body["result"]
    await rest_call(http, emulator, "crm.contact.update", {"id": new_id, "fields": {"NAME": "F"}})
    await rest_call(http, emulator, "crm.contact.delete", {"id": new_id})
    events = await target.wait_for(3)
    assert sorted(e["event"] for e in events) == [
        "ONCRMCONTACTADD",
        "ONCRMCONTACTDELETE",
        "ONCRMCONTACTUPDATE",
    ]
    assert {ct for ct, _ in target.received} == {"application/x-www-form-urlencoded"}
    event = events[0]
    assert event["data"] == {"FIELDS": {"ID": str(new_id)}}
    assert event["auth"]["application_token"] == TOKEN
    assert event["auth"]["domain"] == f"127.0.0.1:{emulator.port}"
    assert set(event["auth"]) == {
        "domain",
        "client_endpoint",
        "server_endpoint",
        "member_id",
        "application_token",
    }
    assert event["ts"].isdigit() and event["event_handler_id"] == "1"


async def test_merge_sends_survivor_update_and_deletes(
    start_emulator: StartEmulator, receiver: tuple[Receiver, str], http: aiohttp.ClientSession
) -> None:
    target, url = receiver
    seed = {
        "leads": [
            {"ID": 5, "TITLE": "Same"},
            {"ID": 6, "TITLE": "Same"},
            {"ID": 7, "TITLE": "Same"},
        ]
    }
    emulator = await start_emulator(
        rps=100, burst=100, events_url=url, application_token=TOKEN, seed=seed
    )
    _, body = await rest_call(
        http,
        emulator,
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": 1, "entityIds": [6, 5, 7]}},
    )
    assert body["result"]["STATUS"] == MergeStatus.SUCCESS
    events = await target.wait_for(3)
    assert sorted((e["event"], e["data"]["FIELDS"]["ID"]) for e in events) == [
        ("ONCRMLEADDELETE", "5"),
        ("ONCRMLEADDELETE", "7"),
        ("ONCRMLEADUPDATE", "6"),
    ]


async def test_failed_delivery_is_not_retried(
    start_emulator: StartEmulator, receiver: tuple[Receiver, str], http: aiohttp.ClientSession
) -> None:
    target, url = receiver
    target.status = 500
    emulator = await start_emulator(rps=100, burst=100, events_url=url, application_token=TOKEN)
    _, body = await rest_call(http, emulator, "crm.company.add", {"fields": {"TITLE": "Once"}})
    once = str(body["result"])
    await target.wait_for(1)

    async def failed(count: int) -> bool:
        return (await _event_stats(http, emulator))["failed"] >= count

    await wait_until(lambda: failed(1), what="the failed delivery to be counted")
    # Progress past where a retry would come: a later event, queued after the failure was
    # counted, has arrived and been counted too, and the queue has run empty.
    _, body = await rest_call(http, emulator, "crm.company.add", {"fields": {"TITLE": "Later"}})
    later = str(body["result"])
    await wait_until(lambda: later in target.ids(), what="the later event at the receiver")
    await wait_until(lambda: failed(2), what="the later event's delivery to be counted")
    await _drain(http, emulator)
    assert sorted(target.ids()) == sorted([once, later])  # each delivered once: no retry
    assert await _event_stats(http, emulator) == {"sent": 0, "failed": 2, "suppressed": 0}


async def test_delivery_can_be_switched_off(
    start_emulator: StartEmulator, receiver: tuple[Receiver, str], http: aiohttp.ClientSession
) -> None:
    target, url = receiver
    emulator = await start_emulator(rps=100, burst=100, events_url=url, application_token=TOKEN)
    async with http.post(emulator.root + "/_emulator/events", json={"enabled": False}) as r:
        assert (await r.json()) == {"enabled": False}
    await rest_call(http, emulator, "crm.lead.add", {"fields": {"TITLE": "Lost"}})
    async with http.post(emulator.root + "/_emulator/events", json={"enabled": True}) as r:
        assert r.status == 200
    await rest_call(http, emulator, "crm.lead.add", {"fields": {"TITLE": "Sent"}})
    # Progress past where the lost event would have gone: the later one was delivered
    # (and counted), and the queue, where the lost one would sit before it, is empty.
    await target.wait_for(1)

    async def sent() -> bool:
        return (await _event_stats(http, emulator))["sent"] >= 1

    await wait_until(sent, what="the later event's delivery to be counted")
    await _drain(http, emulator)
    assert target.ids() == ["2"]
    assert await _event_stats(http, emulator) == {"sent": 1, "failed": 0, "suppressed": 1}


async def test_seeding_sends_no_events(
    start_emulator: StartEmulator, receiver: tuple[Receiver, str], http: aiohttp.ClientSession
) -> None:
    target, url = receiver
    emulator = await start_emulator(
        events_url=url, application_token=TOKEN, seed={"contacts": [{"NAME": "Seeded"}]}
    )
    # Progress past where seeding's events would have gone: one made after the start has
    # been delivered, and the queue, where seeding's would sit before it, is empty.
    _, body = await rest_call(http, emulator, "crm.contact.add", {"fields": {"NAME": "Probe"}})
    probe = str(body["result"])
    await target.wait_for(1)
    await _drain(http, emulator)
    assert [(e["event"], e["data"]["FIELDS"]["ID"]) for e in target.bodies()] == [
        ("ONCRMCONTACTADD", probe)
    ]  # the probe's event only: none for the seeded contact
