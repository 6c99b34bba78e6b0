"""The ingress and a worker in one process: ``make run`` against a real portal, and the demo.

In production they run as separate processes (docker-compose.yml: ``web`` and
``worker``, the latter scaled to N); one process is enough for a small portal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from arq.worker import Worker as ArqWorker

from b24_dedupe.logs import configure_from_settings
from b24_dedupe.settings import Settings, settings_or_exit
from b24_dedupe.signals import until_stopped
from webhooks_in.app import create_app
from worker.app import CONFIGURE_LOGGING, close_worker, worker_options

log = logging.getLogger("commands.serve")


@asynccontextmanager
async def running_service(
    settings: Settings, host: str, port: int, **worker_overrides: Any
) -> AsyncIterator[ArqWorker]:
    """Serve the ingress on ``host:port`` and run an arq worker, for the ``with`` block."""
    runner = web.AppRunner(create_app(settings), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    options = worker_options(settings)
    options["ctx"][CONFIGURE_LOGGING] = False  # the command configured logging already
    options.update(handle_signals=False, **worker_overrides)
    worker = ArqWorker(**options)
    task = asyncio.create_task(worker.async_run())
    log.info("service running", extra={"ingress": f"http://{host}:{port}/webhooks/bitrix24"})
    try:
        yield worker
    finally:
        await close_worker(worker)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.cleanup()


async def serve(settings: Settings, host: str, port: int) -> None:
    async with running_service(settings, host, port):
        await until_stopped()
        log.info("stopping")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address of the ingress (default: WEB_HOST)")
    parser.add_argument("--port", type=int, help="port of the ingress (default: WEB_PORT)")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_or_exit(parser)
    if settings.b24_webhook_url is None or not settings.application_tokens():
        parser.error(
            "set B24_WEBHOOK_URL (the inbound webhook with the crm scope) and "
            "B24_APPLICATION_TOKEN (the outbound webhook's token); without a portal, "
            "try `b24-dedupe demo`"
        )
    configure_from_settings(settings)
    host = args.host or settings.web_host
    port = args.port if args.port is not None else settings.web_port
    try:
        asyncio.run(serve(settings, host, port))
    except OSError as exc:
        parser.error(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
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
