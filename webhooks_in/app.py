"""The ingress application: built from the settings, nothing created at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from webhooks_in import views
from webhooks_in.metrics import IngressMetrics
from webhooks_in.pipelining import AutoPipeline
from webhooks_in.state import CONFIG, METRICS, PIPELINE, IngressConfig

# Past this the event is answered 503 rather than left hanging (Bitrix24 sets no
# handler timeout that we know of; a slow answer only makes the portal call less often).
REDIS_TIMEOUT_SECONDS = 2.0


def create_app(
    settings: Settings, *, worker_alive: Callable[[], bool] | None = None
) -> web.Application:
    """The ingress for ``settings``; Redis is connected while the app runs.

    ``worker_alive``: in a process that runs a worker too, whether it runs (``/readyz``).
    """
    # client_max_size: aiohttp refuses longer bodies while reading (we answer 413).
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[CONFIG] = IngressConfig(
        keys=Keys(settings.redis_prefix),
        tokens=tuple(settings.application_tokens()),
        debounce_seconds=settings.debounce_seconds,
        max_body_bytes=settings.max_body_bytes,
        worker_alive=worker_alive,
    )
    app[METRICS] = IngressMetrics()

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        # Connects on the first command, so that the ingress starts (and says it is not
        # ready) while Redis is down; reconnects after a failure.
        app[PIPELINE] = pipeline = AutoPipeline(settings.redis_url, timeout=REDIS_TIMEOUT_SECONDS)
        yield
        await pipeline.close()

    app.cleanup_ctx.append(redis_ctx)
    views.setup_routes(app)
    return app
