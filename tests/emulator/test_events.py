"""Outbound events: each add, update and delete POSTed once in Bitrix24's form format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from b24.emulator.server import free_port
from b24.phpquery import parse_php_query
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call

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
        for _ in range(200):  # bounded: at most 2 s
            if len(self.received) >= count:
                break
            await asyncio.sleep(0.01)
        return [body for _, body in self.received]


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
    assert body["result"]["STATUS"] == "SUCCESS"
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
    await rest_call(http, emulator, "crm.company.add", {"fields": {"TITLE": "Once"}})
    await target.wait_for(1)
    await asyncio.sleep(0.2)
    assert len(target.received) == 1
    async with http.get(emulator.root + "/_emulator/stats") as response:
        assert (await response.json())["events"] == {"sent": 0, "failed": 1, "suppressed": 0}


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
    events = await target.wait_for(1)
    await asyncio.sleep(0.1)
    assert [e["data"]["FIELDS"]["ID"] for e in events] == ["2"]
    async with http.get(emulator.root + "/_emulator/stats") as response:
        assert (await response.json())["events"]["suppressed"] == 1


async def test_seeding_sends_no_events(
    start_emulator: StartEmulator, receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    await start_emulator(
        events_url=url, application_token=TOKEN, seed={"contacts": [{"NAME": "Seeded"}]}
    )
    await asyncio.sleep(0.1)
    assert target.received == []
