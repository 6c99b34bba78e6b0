"""Clients against the emulator: a factory that closes what it made."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.client import Bitrix24Client, ClientConfig
from b24.emulator.server import RunningEmulator

# Short pauses keep the tests quick; the logic is the same as with the defaults.
QUICK = {
    "headroom": 1,
    "cooldown_base": 0.02,
    "cooldown_max": 0.2,
    "cooldown_quiet": 1.0,
    "retry_base": 0.01,
    "retry_max": 0.05,
    "read_timeout": 5.0,
    "connect_timeout": 2.0,
}

MakeClient = Callable[..., Bitrix24Client]


@pytest.fixture
async def make_client(
    redis_client: aioredis.Redis, redis_namespace: str
) -> AsyncIterator[MakeClient]:
    """``make_client(emulator, **ClientConfig fields)``: rate and burst follow the emulator."""
    made: list[Bitrix24Client] = []

    def make(
        emulator: RunningEmulator, *, webhook_url: str | None = None, **config: Any
    ) -> Bitrix24Client:
        settings = {"rps": emulator.config.rps, "burst": emulator.config.burst, **QUICK}
        settings.update(config)
        client = Bitrix24Client(
            webhook_url or emulator.webhook_url,
            redis_client,
            config=ClientConfig(key_prefix=redis_namespace, **settings),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def stats(http: aiohttp.ClientSession, emulator: RunningEmulator) -> dict[str, Any]:
    async with http.get(f"{emulator.root}/_emulator/stats") as response:
        result: dict[str, Any] = await response.json()
        return result


async def control(
    http: aiohttp.ClientSession, emulator: RunningEmulator, what: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST to the emulator's control API (``faults``, ``limits``, ``operating``)."""
    async with http.post(f"{emulator.root}/_emulator/{what}", json=body) as response:
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result


def contact(name: str, phone: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"NAME": name, "LAST_NAME": "Test"}
    if phone:
        fields["PHONE"] = [{"VALUE": phone, "VALUE_TYPE": "WORK"}]
    return fields
