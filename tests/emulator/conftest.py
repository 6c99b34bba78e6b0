"""Fixtures for the emulator tests: a REST caller that speaks to it over real HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from b24.emulator.server import RunningEmulator
from b24.phpquery import encode_php_query

Rest = Callable[..., Awaitable[tuple[int, Any]]]


async def rest_call(
    http: aiohttp.ClientSession,
    emulator: RunningEmulator,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    form: bool = False,
) -> tuple[int, Any]:
    """POST ``method`` with a JSON body (or a PHP-style form body) and decode the answer."""
    url = emulator.webhook_url + method
    if form:
        data = encode_php_query(params or {})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with http.post(url, data=data, headers=headers) as response:
            return response.status, await response.json(content_type=None)
    async with http.post(url, json=params or {}) as response:
        return response.status, await response.json(content_type=None)


@pytest.fixture
def rest(http: aiohttp.ClientSession, emulator: RunningEmulator) -> Rest:
    async def call(
        method: str, params: dict[str, Any] | None = None, *, form: bool = False
    ) -> tuple[int, Any]:
        return await rest_call(http, emulator, method, params, form=form)

    return call


@pytest.fixture
def ok(rest: Rest) -> Callable[..., Awaitable[Any]]:
    """Call a method that must succeed and return its ``result``."""

    async def call(method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        status, body = await rest(method, params, **kw)
        assert status == 200, body
        assert "error" not in body, body
        return body["result"]

    return call
