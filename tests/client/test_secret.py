"""The webhook secret never shows: not in log lines, exception messages or ``repr``."""

from __future__ import annotations

import asyncio
import logging
import traceback

import aiohttp
import pytest

from b24.client import B24Error, ClientConfig
from b24.emulator.server import free_port
from tests.client.conftest import MakeClient, contact, control
from tests.conftest import StartEmulator

SECRET = "Zq8wS3cr3tW3bh00k"


async def test_no_secret_in_any_log_line_message_or_repr(
    start_emulator: StartEmulator,
    make_client: MakeClient,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = await start_emulator(
        seed={"contacts": [contact("A")]}, secret=SECRET, rps=1000.0, burst=1000,
        operating_limit=1.0,
    )  # fmt: skip
    client = make_client(
        emulator, read_retries=1, read_timeout=0.3, refusal_retries=1, operating_max_wait=0.0
    )
    wrong = make_client(emulator, webhook_url=emulator.webhook_url.replace(SECRET, SECRET[::-1]))
    closed = make_client(
        emulator, webhook_url=f"http://127.0.0.1:{free_port()}/rest/1/{SECRET}/", read_retries=0
    )
    raised: list[BaseException] = []

    async def attempt(call: asyncio.Future[object] | object) -> None:
        try:
            await call  # type: ignore[misc]
        except B24Error as exc:
            raised.append(exc)
            logging.getLogger("test").exception("the call failed")

    await attempt(client.call("crm.contact.get", {"id": 1}))
    await attempt(client.batch({"a": ("crm.contact.get", {"id": 1}), "b": "crm.lead.get?id=9"}))
    await attempt(client.call("crm.contact.get", {"id": 404}))
    await attempt(wrong.call("crm.contact.get", {"id": 1}))
    await attempt(closed.call("crm.contact.add", {"fields": contact("B")}))
    faults = {
        "internal_error": {"next": {"internal_error": 2}},
        "overload": {"next": {"overload": 1}},
        "query_limit": {"next": {"query_limit": 3}},
        "drop": {"next": {"drop": 2}},
        "latency": {"rates": {"latency": 1.0}, "latency_seconds": 1.0},
    }
    for fault in faults.values():
        await control(http, emulator, "faults", fault)
        await attempt(client.call("crm.contact.get", {"id": 1}))
        await attempt(client.call("crm.contact.update", {"id": 1, "fields": {"NAME": "C"}}))
        await http.delete(f"{emulator.root}/_emulator/faults")
    await control(http, emulator, "operating", {"method": "crm.contact.get", "seconds": 5})
    await attempt(client.call("crm.contact.get", {"id": 1}))
    await attempt(client.call("crm.contact.get", {"id": 1}))

    # Every kind of failure happened, and was logged with its traceback.
    kinds = {type(exc).__name__ for exc in raised}
    assert kinds >= {
        "NotFound", "AuthError", "TransientError", "OutcomeUnknown", "Overloaded",
        "RateLimited", "OperatingLimit",
    }  # fmt: skip
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    assert SECRET not in caplog.text  # with the tracebacks of logged exceptions
    for exc in raised:
        shown = "".join(traceback.format_exception(exc))
        assert SECRET not in shown and SECRET[::-1] not in shown
        assert SECRET not in repr(exc)
    for shown in (repr(client), str(client), repr(client.webhook), repr(ClientConfig())):
        assert SECRET not in shown
