"""The ingress and a worker in one process: ``make run`` against a real portal, and the demo.

In production they run as separate processes (docker-compose.yml: ``web`` and
``worker``, the latter scaled to N); one process is enough for a small portal.

The worker part waits for Redis as long as the process runs (worker.loop), and
``/readyz`` answers 503 whenever it is not running, so that no event is accepted
here that nothing would process. Should the worker end for another reason (a fault
of its own start-up), the whole process stops and exits 1, for its supervisor to
start it again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from b24_dedupe.logs import configure_from_settings
from b24_dedupe.settings import Settings, exit_with, settings_or_exit
from b24_dedupe.signals import until_stopped
from commands.session import rules_or_exit
from webhooks_in.app import create_app
from worker.loop import WorkerLoop

log = logging.getLogger("commands.serve")


class WorkerFailed(Exception):
    """The worker part of the process ended by itself: the process must stop too."""


@asynccontextmanager
async def running_service(
    settings: Settings, host: str, port: int, **worker_overrides: Any
) -> AsyncIterator[WorkerLoop]:
    """Serve the ingress on ``host:port`` and run the worker loop, for the ``with`` block."""
    loop = WorkerLoop(settings, configure_logging=False, **worker_overrides)
    app = create_app(settings, worker_alive=lambda: loop.alive)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    loop.start()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("service running", extra={"ingress": f"http://{host}:{port}/webhooks/bitrix24"})
        yield loop
    finally:
        await loop.stop()
        await runner.cleanup()


async def until_stopped_or_failed(loop: WorkerLoop) -> None:
    """Until SIGINT or SIGTERM; raises :class:`WorkerFailed` when the worker loop ends."""
    assert loop.task is not None
    stop = asyncio.create_task(until_stopped())
    try:
        await asyncio.wait({stop, loop.task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if loop.task.done():
        fault = None if loop.task.cancelled() else loop.task.exception()
        raise WorkerFailed(f"{type(fault).__name__}: {fault}" if fault else "ended") from fault


async def serve(settings: Settings, host: str, port: int) -> None:
    async with running_service(settings, host, port) as loop:
        await until_stopped_or_failed(loop)
        log.info("stopping")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address of the ingress (default: WEB_HOST)")
    parser.add_argument("--port", type=int, help="port of the ingress (default: WEB_PORT)")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    if settings.b24_webhook_url is None or not settings.application_tokens():
        exit_with(
            parser,
            "set B24_WEBHOOK_URL (the inbound webhook with the crm scope) and "
            "B24_APPLICATION_TOKEN (the outbound webhook's token); without a portal, "
            "try `b24-dedupe demo`",
        )
    rules_or_exit(parser, settings)
    configure_from_settings(settings)
    host = args.host or settings.web_host
    port = args.port if args.port is not None else settings.web_port
    try:
        asyncio.run(serve(settings, host, port))
    except WorkerFailed as exc:
        log.critical(
            "the worker stopped by a fault; the service stops",
            extra={"reason": str(exc)},
            exc_info=exc.__cause__,
        )
        return 1
    except OSError as exc:
        exit_with(parser, f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return 0


def register(commands: Any) -> None:
    """Add ``serve`` to the ``b24-dedupe`` parser."""
    parser = commands.add_parser(
        "serve",
        help="ingress and worker in one process (a small portal, `make run`)",
        description="Serve the ingress and run a worker in one process until Ctrl-C.",
    )
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(parser, args))
