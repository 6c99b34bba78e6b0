"""``b24-dedupe worker``: process dedupe jobs from Redis until stopped.

It waits for Redis as long as it runs (worker.loop): started before Redis, or losing
it mid-run, it logs that and tries again. ``--burst`` runs the queue empty once and
does not wait: Redis not answering is exit 2. ``--check-alive`` is the health check
of a container: exit 0 when this machine's worker touched ``WORKER_ALIVE_FILE`` in
the last minute.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from b24_dedupe.logs import configure_from_settings
from b24_dedupe.settings import Settings, exit_with, settings_or_exit
from b24_dedupe.signals import until_stopped
from commands.session import needs_portal, redis_location, rules_or_exit
from worker.loop import ALIVE_WITHIN_SECONDS, RedisUnavailable, WorkerLoop, alive_file_age

log = logging.getLogger("worker")


async def run_until_stopped(loop: WorkerLoop) -> None:
    """The loop until SIGINT or SIGTERM (or, with ``--burst``, an empty queue)."""
    running = loop.start()
    stop = asyncio.create_task(until_stopped())
    try:
        await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not running.done():
            await loop.stop()
    if not running.cancelled():
        running.result()  # raises what ended the loop, if it ended by itself


def check_alive(parser: argparse.ArgumentParser, settings: Settings) -> int:
    if settings.worker_alive_file is None:
        exit_with(parser, "--check-alive needs WORKER_ALIVE_FILE, the file the worker touches")
    age = alive_file_age(settings.worker_alive_file)
    if age is None or age > ALIVE_WITHIN_SECONDS:
        since = "never" if age is None else f"{age:.0f} s ago"
        print(f"worker not alive: {settings.worker_alive_file} last touched {since}")
        return 1
    print(f"worker alive: {settings.worker_alive_file} touched {age:.0f} s ago")
    return 0


def run_worker(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    if args.check_alive:
        return check_alive(parser, settings)
    needs_portal(parser, settings)
    rules_or_exit(parser, settings)
    configure_from_settings(settings)
    loop = WorkerLoop(settings, burst=args.burst, configure_logging=False)
    try:
        asyncio.run(run_until_stopped(loop))
    except RedisUnavailable as exc:
        exit_with(
            parser,
            f"cannot reach Redis at {redis_location(settings.redis_url)} (REDIS_URL): {exc}",
        )
    except Exception as exc:
        # Not Redis (that the loop waits out): a fault of the worker's own start-up. The
        # process ends non-zero, so that its supervisor starts it again.
        log.critical("worker stopped by a fault", exc_info=exc)
        return 1
    return 0


def register(commands: Any) -> None:
    """Add ``worker`` to the ``b24-dedupe`` parser."""
    worker = commands.add_parser(
        "worker",
        help="run a dedupe worker (arq)",
        description="Process dedupe jobs from Redis until stopped. Waits for Redis while "
        "it does not answer.",
    )
    mode = worker.add_mutually_exclusive_group()
    mode.add_argument(
        "--burst",
        action="store_true",
        help="stop when the queue is empty (exit 2 when Redis does not answer)",
    )
    mode.add_argument(
        "--check-alive",
        action="store_true",
        help="health check: exit 0 when a worker touched WORKER_ALIVE_FILE in the last minute",
    )
    worker.set_defaults(run=lambda a: run_worker(worker, a))
