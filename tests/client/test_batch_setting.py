"""B24_BATCH_COMMANDS reaches the client: 1 is the naive way, each call its own request."""

from __future__ import annotations

import asyncio

import aiohttp
import redis.asyncio as aioredis
from pydantic import SecretStr

from b24_dedupe.portal import client_from_settings
from b24_dedupe.settings import Settings
from tests.client.conftest import contact, stats
from tests.conftest import REDIS_URL, StartEmulator


async def test_batching_switched_off_sends_each_call_as_a_plain_request(
    start_emulator: StartEmulator,
    redis_client: aioredis.Redis,
    redis_namespace: str,
    http: aiohttp.ClientSession,
) -> None:
    seed = {"contacts": [contact(f"N{i}") for i in range(5)]}
    emulator = await start_emulator(seed=seed, rps=1000.0, burst=1000)
    answered = {}
    for batch_commands in (50, 1):
        settings = Settings(
            _env_file=None,
            redis_url=REDIS_URL,
            redis_prefix=f"{redis_namespace}{batch_commands}:",
            b24_webhook_url=SecretStr(emulator.webhook_url),
            b24_rps=1000.0,
            b24_burst=1000,
            b24_batch_commands=batch_commands,
        )
        async with client_from_settings(settings, redis_client) as client:
            assert client.config.max_batch_commands == batch_commands
            before = await stats(http, emulator)
            await asyncio.gather(*(client.call("crm.contact.get", {"id": i}) for i in range(1, 6)))
            after = await stats(http, emulator)
        answered[batch_commands] = (
            after["http_requests"] - before["http_requests"],
            after["batch_requests"] - before["batch_requests"],
            after["commands_total"] - before["commands_total"],
        )
    assert answered[50] == (1, 1, 5)  # one batch of five
    assert answered[1] == (5, 0, 5)  # five plain requests, no batch of one
