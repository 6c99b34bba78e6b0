"""Shared fixtures: a real emulator on 127.0.0.1, a real Redis under a private namespace."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.emulator.config import EmulatorConfig
from b24.emulator.server import RunningEmulator, running_emulator

# `make test` starts its own Redis (scripts/local-redis.sh test 6392) and sets REDIS_URL.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6392/0")

StartEmulator = Callable[..., Awaitable[RunningEmulator]]


@pytest.fixture
async def start_emulator() -> AsyncIterator[StartEmulator]:
    """Start emulators with chosen settings: ``await start_emulator(rps=100, burst=100)``."""
    async with AsyncExitStack() as stack:

        async def start(seed: dict[str, Any] | None = None, **settings: Any) -> RunningEmulator:
            settings.setdefault("secret", "test-secret-" + uuid.uuid4().hex[:8])
            config = EmulatorConfig(**settings)
            return await stack.enter_async_context(running_emulator(config, seed=seed))

        yield start


@pytest.fixture
async def emulator(start_emulator: StartEmulator) -> RunningEmulator:
    """An emulator with generous limits, for tests that are not about the limits."""
    return await start_emulator(rps=1000.0, burst=1000)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def redis_namespace() -> str:
    """A key prefix no other test and no other user of this Redis shares."""
    return f"b24test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_client(redis_namespace: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - the Makefile starts one
        pytest.fail(f"no Redis answers at {REDIS_URL}: {exc}")
    yield client
    keys = [key async for key in client.scan_iter(match=f"{redis_namespace}*", count=10_000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
