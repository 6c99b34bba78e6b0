"""A portal that takes fewer commands a batch than the client sends.

The Bitrix24 source refuses each command past the 50th in ``result_error`` with
ERROR_BATCH_LENGTH_EXCEEDED and answers 200 (rest_provider.php:283-362); the docs say
the whole batch is refused with HTTP 400. The client sends at most 50, but should a
portal take fewer, neither answer may lose a call: what was not run is sent again in
smaller batches, writes included (nothing was done).
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from b24.client import Answer, BatchLengthExceeded
from b24.client.responses import read_answer, read_batch
from b24.emulator import engine
from tests.client.conftest import MakeClient, stats
from tests.conftest import StartEmulator

EXCEEDED = {
    "error": "ERROR_BATCH_LENGTH_EXCEEDED",
    "error_description": "Max batch length exceeded",
}


def test_a_whole_batch_refused_is_not_run() -> None:
    with pytest.raises(BatchLengthExceeded) as raised:
        read_answer(400, json.dumps(EXCEEDED), method="batch")
    assert raised.value.sent is False


def test_a_command_past_the_length_is_not_run() -> None:
    answer = Answer({"result": {"a": 1}, "result_error": {"b": EXCEEDED}})
    outcomes = read_batch(answer, {"a": "crm.contact.add", "b": "crm.contact.add"})
    assert isinstance(outcomes["a"], Answer)
    failed = outcomes["b"]
    assert isinstance(failed, BatchLengthExceeded) and failed.sent is False
    assert failed.method == "crm.contact.add"


@pytest.mark.parametrize("over_limit", ["source", "docs"])
async def test_every_call_is_answered_once_in_smaller_batches(
    start_emulator: StartEmulator,
    make_client: MakeClient,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    over_limit: str,
) -> None:
    monkeypatch.setattr(engine, "MAX_BATCH_COMMANDS", 5)  # a portal that takes 5
    emulator = await start_emulator(rps=1000.0, burst=1000, batch_over_limit=over_limit)
    client = make_client(emulator, batch_window=0.05)

    made = await asyncio.gather(
        *(client.call("crm.contact.add", {"fields": {"NAME": f"N{i}"}}) for i in range(20))
    )
    assert len(set(made)) == 20  # each write ran once
    after = await stats(http, emulator)
    assert after["commands"]["crm.contact.add"] == 20
    assert (
        after["command_errors"].get("ERROR_BATCH_LENGTH_EXCEEDED", 0)
        + after["refusals"].get("ERROR_BATCH_LENGTH_EXCEEDED", 0)
        >= 1
    )
    assert client._batcher.policy.max_commands <= 5
