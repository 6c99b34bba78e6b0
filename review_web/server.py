"""Serving the review page until SIGINT or SIGTERM."""

from __future__ import annotations

import logging

from aiohttp import web

from b24_dedupe.settings import Settings
from b24_dedupe.signals import until_stopped
from review_web.app import create_app
from review_web.config import ReviewConfig

log = logging.getLogger("review_web")


async def serve(settings: Settings, config: ReviewConfig, host: str, port: int) -> None:
    """Run the review page on ``host:port``; raises OSError when it cannot listen there."""
    # No access log: request lines go nowhere a person's data could follow them.
    runner = web.AppRunner(create_app(settings, config), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info(
            "review page listening",
            extra={"url": f"http://{host}:{port}/", "prefix": settings.redis_prefix},
        )
        await until_stopped()
        log.info("review page stopping")
    finally:
        await runner.cleanup()
