"""Serving the ingress until SIGINT or SIGTERM."""

from __future__ import annotations

import gc
import logging

from aiohttp import web

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
