"""The worker's loop for as long as the process runs, through Redis outages.

arq alone gives up: at start-up it tries Redis five times and raises, and a poll that
fails mid-run ends its loop. A process whose worker loop has ended while the process
stays up (``serve``: the ingress still accepting events) loses work silently. So the
loop here runs arq's worker and, when Redis cannot be reached or is lost, logs it,
closes that worker (its running jobs go back to the queue, as on any stop) and starts a
new one after a pause, for as long as the process runs. While there is none,
:attr:`WorkerLoop.alive` is False (``serve``'s ``/readyz`` answers 503 then) and the
alive file (``WORKER_ALIVE_FILE``, compose's health check) is not touched.

Anything else that ends arq's loop (a fault of our own start-up, say) is raised: the
process then exits non-zero and its supervisor restarts it. ``--burst`` does not wait
for Redis: it raises :class:`RedisUnavailable` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from arq.worker import Worker as ArqWorker
from redis.exceptions import RedisError

from b24_dedupe.settings import Settings
from worker.app import CONFIGURE_LOGGING, close_worker, on_shutdown, worker_options
from worker.jobs import DEDUPE_CONTEXT

log = logging.getLogger("worker")

# Pauses between attempts to reach Redis: doubling from the first to the last.
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 15.0
# How often a live worker touches WORKER_ALIVE_FILE, and how old the file may be for
# `b24-dedupe worker --check-alive` to call the worker alive.
ALIVE_TOUCH_SECONDS = 5.0
ALIVE_WITHIN_SECONDS = 60.0

# What losing Redis raises, from arq's pool or our own commands.
REDIS_FAULTS = (RedisError, OSError, TimeoutError)


class RedisUnavailable(Exception):
    """Redis could not be reached by a worker that does not wait for it (``--burst``)."""


class WorkerLoop:
    """Runs arq workers one after the other until stopped; see the module's docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        burst: bool = False,
        configure_logging: bool = True,
        first_retry: float = FIRST_RETRY_SECONDS,
        last_retry: float = LAST_RETRY_SECONDS,
        **overrides: Any,
    ) -> None:
        self.settings = settings
        self.burst = burst
        self.configure_logging = configure_logging
        self.first_retry = first_retry
        self.last_retry = last_retry
        self.overrides = overrides
        self.worker: ArqWorker | None = None
        self.task: asyncio.Task[None] | None = None
        self.restarts = 0
        self.alive_file = Path(settings.worker_alive_file) if settings.worker_alive_file else None

    @property
    def alive(self) -> bool:
        """An arq worker of this loop is connected, started and polling for jobs."""
        worker = self.worker
        if worker is None or DEDUPE_CONTEXT not in worker.ctx:
            return False
        task = worker.main_task
        return task is not None and not task.done()

    def options(self) -> dict[str, Any]:
        options = worker_options(self.settings)
        # The loop below waits for Redis itself: one attempt per arq worker.
        options["redis_settings"].conn_retries = 0
        options["handle_signals"] = False
        options["ctx"][CONFIGURE_LOGGING] = self.configure_logging
        if self.burst:
            options.update(burst=True, poll_delay=0.1)
        options.update(self.overrides)
        return options

    def start(self) -> asyncio.Task[None]:
        """:meth:`run` as a task of its own (``self.task``)."""
        self.task = asyncio.create_task(self.run())
        return self.task

    async def stop(self) -> None:
        """Stop the task :meth:`start` began: running jobs go back to the queue."""
        if self.task is not None:
            self.task.cancel()
            # What ended it, if it ended by itself, is the business of whoever watched it.
            await asyncio.gather(self.task, return_exceptions=True)

    async def run(self) -> None:
        """Until cancelled (or, with ``burst``, until the queue is empty)."""
        toucher = asyncio.create_task(self._touch_alive_file()) if self.alive_file else None
        delay = self.first_retry
        try:
            while True:
                worker = self.worker = ArqWorker(**self.options())
                worker.main_task = asyncio.create_task(worker.main())
                try:
                    await worker.main_task
                    return  # a burst that emptied the queue
                except REDIS_FAULTS as exc:
                    fault: BaseException = exc
                    was_alive = DEDUPE_CONTEXT in worker.ctx
                finally:
                    await close_quietly(worker)
                    self.worker = None
                if self.burst:
                    raise RedisUnavailable(describe(fault)) from None
                if was_alive:
                    delay = self.first_retry
                self.restarts += 1
                log.error(
                    "worker: Redis does not answer; no job runs until it does",
                    extra={
                        "reason": describe(fault),
                        "lost_while_running": was_alive,
                        "retry_in_seconds": delay,
                    },
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.last_retry)
        finally:
            if toucher is not None:
                toucher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await toucher

    async def _touch_alive_file(self) -> None:
        assert self.alive_file is not None
        while True:
            if self.alive:
                try:
                    self.alive_file.touch()
                except OSError as exc:
                    log.warning(
                        "cannot touch WORKER_ALIVE_FILE",
                        extra={"path": str(self.alive_file), "reason": str(exc)},
                    )
            await asyncio.sleep(ALIVE_TOUCH_SECONDS)


async def close_quietly(worker: ArqWorker) -> None:
    """:func:`worker.app.close_worker`, also when Redis is gone: arq's own close then
    fails removing its health key, before it closes our client and its pool."""
    try:
        await close_worker(worker)
    except REDIS_FAULTS:
        await on_shutdown(worker.ctx)
        pool = worker._pool
        worker._pool = None
        if pool is not None:
            with contextlib.suppress(*REDIS_FAULTS):
                await pool.aclose()


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def alive_file_age(path: str) -> float | None:
    """Seconds since a worker last touched ``path``; None when it never did."""
    try:
        return max(0.0, time.time() - os.stat(path).st_mtime)
    except OSError:
        return None
