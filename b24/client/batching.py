"""Automatic batching: calls made at about the same time share one ``batch`` request.

Callers put their call in a queue and wait on a future. One dispatcher per client
waits a short window for more calls, then for the rate limiter; when it may send, it
packs what waits into one request of at most 50 commands (Bitrix24 REST docs: batch,
https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html). While
the limiter makes it wait, the queue fills: at the portal's rate a request carries as
many commands as there were callers.

What may share a request is decided by :class:`BatchPolicy`: some methods go alone
(``batch`` itself cannot be nested), some are limited per request
(``crm.entity.mergeBatch`` takes about 2 s each against the 60 s request limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b24.client.commands import Command
from b24.client.responses import Answer

log = logging.getLogger("b24.client")

MAX_BATCH_COMMANDS = 50  # Bitrix24 REST docs: batch


@dataclass(eq=False)
class PendingCall:
    """A call waiting for its answer; ``attempts`` and ``refusals`` count its re-sends."""

    command: Command
    future: asyncio.Future[Answer]
    idempotent: bool
    attempts: int = 0
    refusals: int = 0


@dataclass(frozen=True)
class BatchPolicy:
    """Which calls may share one request."""

    max_commands: int = MAX_BATCH_COMMANDS
    # Most commands of one method in one request (lower-case method names).
    per_request: Mapping[str, int] = field(default_factory=lambda: {"crm.entity.mergebatch": 5})
    # Methods always sent in a request of their own.
    alone: frozenset[str] = frozenset({"batch"})

    def __post_init__(self) -> None:
        if not 1 <= self.max_commands <= MAX_BATCH_COMMANDS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_COMMANDS} commands")


def pack(queue: deque[PendingCall], policy: BatchPolicy) -> list[PendingCall]:
    """Take the calls of the next request from ``queue``, oldest first.

    Calls whose caller gave up are dropped; a call that does not fit (its method's
    share is full) keeps its place for the next request.
    """
    chosen: list[PendingCall] = []
    kept: list[PendingCall] = []
    counts: dict[str, int] = {}
    while queue and len(chosen) < policy.max_commands:
        call = queue.popleft()
        if call.future.done():
            continue
        name = call.command.key
        if name in policy.alone:
            if chosen:
                kept.append(call)
                continue
            chosen.append(call)
            break
        limit = policy.per_request.get(name)
        if limit is not None and counts.get(name, 0) >= limit:
            kept.append(call)
            continue
        counts[name] = counts.get(name, 0) + 1
        chosen.append(call)
    queue.extendleft(reversed(kept))
    return chosen


Send = Callable[[list[PendingCall]], Awaitable[None]]


class Batcher:
    """The queue of one client and the task that empties it into requests."""

    def __init__(
        self,
        policy: BatchPolicy,
        *,
        acquire: Callable[[], Awaitable[Any]],
        send: Send,
        window: float,
        max_in_flight: int,
    ) -> None:
        self.policy = policy
        self._acquire = acquire
        self._send = send
        self.window = window  # how long the dispatcher waits for more calls
        self._queue: deque[PendingCall] = deque()
        self._ready = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._dispatcher: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        self._closed = False

    def submit(self, call: PendingCall) -> None:
        """Queue a new call."""
        self._put([call], front=False)

    def resubmit(self, calls: Iterable[PendingCall]) -> None:
        """Put calls that were refused back at the head of the queue, in their order."""
        self._put(list(calls), front=True)

    def _put(self, calls: list[PendingCall], *, front: bool) -> None:
        if self._closed:
            for call in calls:
                if not call.future.done():
                    call.future.cancel()
            return
        if front:
            self._queue.extendleft(reversed(calls))
        else:
            self._queue.extend(calls)
        self._ready.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        while True:
            await self._ready.wait()
            if self.window > 0:
                await asyncio.sleep(self.window)
            await self._slots.acquire()
            try:
                await self._acquire()
            except Exception as exc:
                # Without the limiter (Redis down) nothing may be sent: fail the callers.
                self._slots.release()
                log.error("rate limiter failed: %s", type(exc).__name__)
                self._fail_queue(exc)
                continue
            calls = pack(self._queue, self.policy)
            if not self._queue:
                self._ready.clear()
            if not calls:
                self._slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._run(calls))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def _run(self, calls: list[PendingCall]) -> None:
        try:
            await self._send(calls)
        except asyncio.CancelledError:
            for call in calls:
                if not call.future.done():
                    call.future.cancel()
            raise
        except Exception as exc:  # a bug in send must not leave callers waiting forever
            log.exception("sending a request failed")
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(exc)
        finally:
            self._slots.release()

    def _fail_queue(self, exc: Exception) -> None:
        while self._queue:
            call = self._queue.popleft()
            if not call.future.done():
                call.future.set_exception(exc)
        self._ready.clear()

    async def close(self) -> None:
        """Stop dispatching; callers still waiting see their call cancelled."""
        self._closed = True
        tasks = [*self._requests, *([self._dispatcher] if self._dispatcher else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue:
            call = self._queue.popleft()
            if not call.future.done():
                call.future.cancel()
