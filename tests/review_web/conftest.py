"""The review page on a real port of 127.0.0.1, against the real Redis, visited by an
HTTP client that keeps cookies as a browser does.

``start_review`` builds the page through its app factory with test settings (and,
for tests of the actions, beside the whole service of ``start_stack``).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from pydantic import SecretStr

from b24.crm import EntityType
from b24.emulator.server import free_port
from b24_dedupe.keys import Keys
from b24_dedupe.review import ReviewGroup, ReviewQueue, ReviewReason
from b24_dedupe.settings import Settings
from review_web.app import create_app
from tests.conftest import REDIS_URL
from tests.worker.conftest import start_stack  # noqa: F401  (the whole service)

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_HIDDEN = r'name="{}" value="([^"]*)"'


@dataclass
class Review:
    url: str
    settings: Settings

    @property
    def keys(self) -> Keys:
        return Keys(self.settings.redis_prefix)


StartReview = Callable[..., Awaitable[Review]]


def review_settings(prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "review_password": PASSWORD,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def start_review(
    redis_namespace: str, redis_client: aioredis.Redis
) -> AsyncIterator[StartReview]:
    """``await start_review(settings)`` (or keyword settings): the page, listening."""
    async with AsyncExitStack() as stack:

        async def start(settings: Settings | None = None, **overrides: Any) -> Review:
            settings = settings or review_settings(redis_namespace, **overrides)
            runner = web.AppRunner(create_app(settings), access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            stack.push_async_callback(runner.cleanup)
            return Review(f"http://127.0.0.1:{port}", settings)

        yield start
    # The actions' arq jobs and results (arq's own keys, named after our job ids).
    leftovers = [k async for k in redis_client.scan_iter(match=f"arq:*{redis_namespace}*")]
    if leftovers:
        await redis_client.delete(*leftovers)


@dataclass
class Page:
    status: int
    path: str  # where the redirects ended, with its query
    text: str
    headers: Any

    def hidden(self, name: str) -> str:
        match = re.search(_HIDDEN.format(re.escape(name)), self.text)
        assert match, f"no hidden field {name} in the page at {self.path}"
        return match.group(1)

    @property
    def csrf(self) -> str:
        match = _CSRF.search(self.text)
        assert match, f"no form token in the page at {self.path}"
        return match.group(1)


class Visitor:
    """One browser's worth of cookies."""

    def __init__(self, review: Review, http: aiohttp.ClientSession) -> None:
        self.review = review
        self.http = http

    async def get(self, path: str, **kwargs: Any) -> Page:
        async with self.http.get(self.review.url + path, **kwargs) as response:
            return await self._page(response)

    async def post(self, path: str, data: dict[str, Any] | list[Any], **kwargs: Any) -> Page:
        async with self.http.post(self.review.url + path, data=data, **kwargs) as response:
            return await self._page(response)

    async def _page(self, response: aiohttp.ClientResponse) -> Page:
        return Page(response.status, response.url.path_qs, await response.text(), response.headers)

    async def login(self, password: str = PASSWORD, name: str = "Test admin") -> Page:
        form = await self.get("/login")
        return await self.post(
            "/login", {"csrf": form.csrf, "password": password, "name": name, "next": "/"}
        )


NewVisitor = Callable[[Review], Visitor]


@pytest.fixture
async def visitor() -> AsyncIterator[NewVisitor]:
    async with AsyncExitStack() as stack:

        def new(review: Review) -> Visitor:
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            stack.push_async_callback(http.close)
            return Visitor(review, http)

        yield new


def contact_group(
    ids: list[int],
    reason: ReviewReason = ReviewReason.RULE,
    *,
    phone: str = "+7 912 000-11-22",
    first_seen: float | None = None,
) -> ReviewGroup:
    """Contacts ``ids`` (survivor first) that share a phone and differ in POST."""
    records = {
        str(rid): {
            "ID": str(rid),
            "NAME": "Oleg",
            "LAST_NAME": "Sidorov",
            "POST": f"Engineer {n}",
            "PHONE": [{"ID": str(100 + rid), "VALUE": phone, "VALUE_TYPE": "WORK"}],
            "EMAIL": [
                {"ID": str(200 + rid), "VALUE": f"oleg{rid}@home.example", "VALUE_TYPE": "HOME"}
            ],
            "DATE_CREATE": f"2026-01-0{n + 1}T10:00:00+03:00",
            "DATE_MODIFY": f"2026-02-0{n + 1}T10:00:00+03:00",
        }
        for n, rid in enumerate(ids)
    }
    group = ReviewGroup(
        entity=EntityType.CONTACT,
        ids=ids,
        reason=reason,
        detail="a person decides POST",
        differing={"POST": {str(rid): records[str(rid)]["POST"] for rid in ids}},
        records=records,
        evidence={str(rid): ["PHONE:+79120001122"] for rid in ids[1:]},
    )
    if first_seen is not None:
        group.first_seen = first_seen
    return group


async def put_groups(redis: aioredis.Redis, keys: Keys, groups: list[ReviewGroup]) -> None:
    queue = ReviewQueue(redis, keys)
    for group in groups:
        seen = group.first_seen
        stored, _ = await queue.put(group)
        assert stored.first_seen == seen


def ago(seconds: float) -> float:
    return time.time() - seconds


def stack_settings(settings: Settings, **overrides: Any) -> Settings:
    """The settings of a running stack (``tests.worker.conftest``), with the page's own."""
    return settings.model_copy(update={"review_password": SecretStr(PASSWORD), **overrides})
