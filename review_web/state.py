"""The review page's typed state (``web.AppKey``) and what a request carries."""

from __future__ import annotations

import jinja2
from aiohttp import web
from arq.connections import ArqRedis

from review_web.config import ReviewConfig
from review_web.sessions import LoginThrottle, Session, SessionStore

CONFIG = web.AppKey("config", ReviewConfig)
# One client for reading the queue and the audit and for enqueueing actions (arq's
# client is a redis-py client).
REDIS = web.AppKey("redis", ArqRedis)
SESSIONS = web.AppKey("sessions", SessionStore)
THROTTLE = web.AppKey("throttle", LoginThrottle)
TEMPLATES = web.AppKey("templates", jinja2.Environment)

# Set on the request by the login middleware (review_web.security).
SESSION = web.RequestKey("session", Session)
SESSION_TOKEN = web.RequestKey("session_token", str)
