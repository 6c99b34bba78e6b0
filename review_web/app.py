"""The review page's application: built from the settings, nothing created at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from arq.connections import ArqRedis

from b24_dedupe.settings import Settings
from review_web import dashboard_views, history_views, login_views, queue_views
from review_web.config import ReviewConfig
from review_web.rendering import environment
from review_web.security import require_login, security_headers
from review_web.sessions import LoginThrottle, SessionStore
from review_web.state import CONFIG, REDIS, SESSIONS, TEMPLATES, THROTTLE

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Forms are small; a selection of many proposals is the largest.
MAX_FORM_BYTES = 256 * 1024


def create_app(settings: Settings, config: ReviewConfig | None = None) -> web.Application:
    """The review page for ``settings`` (``config``: already read from them);
    :class:`review_web.config.ConfigurationError` when it cannot start (no password)."""
    config = config or ReviewConfig.from_settings(settings)
    app = web.Application(
        middlewares=[security_headers, require_login], client_max_size=MAX_FORM_BYTES
    )
    app[CONFIG] = config
    app[TEMPLATES] = environment()

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        redis = ArqRedis.from_url(settings.redis_url)
        app[REDIS] = redis
        app[SESSIONS] = SessionStore(redis, config.keys, config.session_seconds)
        app[THROTTLE] = LoginThrottle(redis, config.keys)
        yield
        await redis.aclose()

    app.cleanup_ctx.append(redis_ctx)
    login_views.add_routes(app)
    dashboard_views.add_routes(app)
    queue_views.add_routes(app)
    history_views.add_routes(app)
    app.router.add_static("/static/", STATIC_DIR)
    return app
