"""Outbound events: every add, update and delete POSTed once, without retry.

Bitrix24 REST docs, outbound webhooks: form-encoded ``event``, ``event_handler_id``,
``data[FIELDS][ID]``, ``ts`` and ``auth[...]`` with the application token. The
portal's queue server sends them asynchronously and never resends a failed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from b24.crm import EntityType
from b24.emulator.engine import Stats
from b24.phpquery import encode_php_query

log = logging.getLogger("b24.emulator.events")

# Inference: the queue server sends with some parallelism; a few at once is enough
# to reorder events now and then, as a real portal does.
SENDERS = 4
SEND_TIMEOUT = 10.0


class EventSender:
    def __init__(
        self,
        url: str,
        *,
        application_token: str,
        handler_id: int,
        domain: str,
        member_id: str,
        client_endpoint: str,
        stats: Stats,
    ) -> None:
        self.url = url
        self.application_token = application_token
        self.handler_id = handler_id
        self.domain = domain
        self.member_id = member_id
        self.client_endpoint = client_endpoint
        self.stats = stats
        self.enabled = True
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    def body(self, event: str, entity_id: int) -> dict[str, Any]:
        return {
            "event": event,
            "event_handler_id": str(self.handler_id),
            "data": {"FIELDS": {"ID": str(entity_id)}},
            "ts": str(int(time.time())),
            "auth": {
                "domain": self.domain,
                "client_endpoint": self.client_endpoint,
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "member_id": self.member_id,
                "application_token": self.application_token,
            },
        }

    def on_change(self, event: str, entity: EntityType, entity_id: int) -> None:
        """Portal listener: queue the event (or lose it while delivery is off)."""
        if not self.enabled:
            self.stats.events_suppressed += 1
            return
        self._queue.put_nowait(self.body(event, entity_id))

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._tasks = [asyncio.create_task(self._run()) for _ in range(SENDERS)]

    async def drain(self, within: float = 5.0) -> None:
        """Wait until queued events have been sent (tests and shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), within)

    async def stop(self) -> None:
        await self.drain(2.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        assert self._session is not None
        while True:
            body = await self._queue.get()
            try:
                async with self._session.post(
                    self.url,
                    data=encode_php_query(body),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ) as response:
                    await response.read()
                    if response.status >= 400:
                        raise aiohttp.ClientResponseError(
                            response.request_info, (), status=response.status
                        )
                self.stats.events_sent += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                # No retry: the portal logs the failure and moves on (docs:events).
                self.stats.events_failed += 1
                log.warning(
                    "event %s for %s not delivered: %s",
                    body["event"],
                    body["data"]["FIELDS"]["ID"],
                    type(exc).__name__,
                )
            finally:
                self._queue.task_done()
