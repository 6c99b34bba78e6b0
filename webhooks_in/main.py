"""``b24-dedupe web``: serve the ingress until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging

from aiohttp import web
from pydantic import ValidationError

from b24_dedupe.logs import configure_from_settings
from b24_dedupe.settings import Settings
from b24_dedupe.signals import until_stopped
from webhooks_in.app import create_app
from webhooks_in.views import WEBHOOK_PATH

log = logging.getLogger("webhooks_in")


async def serve(settings: Settings, host: str, port: int) -> None:
    """Run the ingress on ``host:port``; raises OSError when it cannot listen there."""
    runner = web.AppRunner(create_app(settings), access_log=None, handle_signals=False)
    await runner.setup()
    # What start-up built lives as long as the process: keep it out of the collector's
    # full passes, which otherwise walk it all (~25 ms, straight into the p99 latency).
    gc.collect()
    gc.freeze()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info(
            "ingress listening",
            extra={"url": f"http://{host}:{port}{WEBHOOK_PATH}", "prefix": settings.redis_prefix},
        )
        await until_stopped()
        log.info("ingress stopping")
    finally:
        await runner.cleanup()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: WEB_HOST, 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to listen on (default: WEB_PORT, 8080)")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Read the settings, check them, serve. Configuration errors exit 2 via ``parser.error``."""
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.host is not None and not args.host.strip():
        parser.error("--host must not be empty")
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper() or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        parser.error(f"bad configuration: {problems}")
    if not settings.application_tokens():
        parser.error(
            "B24_APPLICATION_TOKEN is not set: without it every event would be refused (401). "
            "Set it to the outbound webhook's application token (comma-separated to rotate)."
        )
    host = args.host if args.host is not None else settings.web_host
    port = args.port if args.port is not None else settings.web_port
    configure_from_settings(settings)
    try:
        asyncio.run(serve(settings, host, port))
    except OSError as exc:
        parser.error(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return 0
