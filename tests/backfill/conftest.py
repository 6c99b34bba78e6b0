"""The backfill's tests: a real emulator on 127.0.0.1, a real Redis under a private
namespace, the service's own processes where a test needs them (``start_stack``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from b24.client import Bitrix24Client, ClientConfig
from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.worker.conftest import start_stack  # noqa: F401  (the fixture, for these tests)


@pytest.fixture
async def fast_emulator(start_emulator: StartEmulator) -> RunningEmulator:
    return await start_emulator(rps=1000.0, burst=1000)


@pytest.fixture
async def client(
    fast_emulator: RunningEmulator, redis_client: aioredis.Redis, redis_namespace: str
) -> AsyncIterator[Bitrix24Client]:
    config = ClientConfig(key_prefix=redis_namespace, rps=1000.0, burst=1000)
    async with Bitrix24Client(fast_emulator.webhook_url, redis_client, config=config) as made:
        yield made
