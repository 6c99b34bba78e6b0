"""Logins to the review page: sessions in Redis, and the growing delay after failures.

A session is a random token in an HttpOnly cookie; Redis keeps only the token's
SHA-256 (``keys.review_session``) with the session's CSRF token, the name the person
gave for the audit and the messages waiting to be shown. It ends at logout or after
``REVIEW_SESSION_HOURS``.

Failed logins are counted per client address (``keys.review_login_failures``): after
the n-th the next try is taken only ``2^(n-1)`` seconds later (at most a minute), and
a try that comes earlier is refused without looking at the password. The count is
forgotten a quarter of an hour after the last failure, or at a successful login.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from b24_dedupe.keys import Keys

SESSION_COOKIE = "b24dd_review_session"
# Set by the login form itself: the form's token must equal it (a login from another
# site's page is refused).
LOGIN_COOKIE = "b24dd_review_login"
FAILURE_MEMORY_SECONDS = 900
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 60.0


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(given.encode(), expected.encode())


def password_matches(given: str, digest: bytes) -> bool:
    """Constant-time, whatever the lengths: the digests are compared."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), digest)


async def answer(call: Any) -> Any:
    """What a redis-py command answers (its hash commands are typed for sync and async)."""
    return await cast(Awaitable[Any], call)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Session:
    """One login: the CSRF token of its forms, who signed in, messages to show next."""

    csrf: str
    who: str
    created: float = field(default_factory=time.time)
    # Messages for the next page: {"level": ok|warn|error, "text": ..., "href", "label"}.
    flash: list[dict[str, str]] = field(default_factory=list)


class SessionStore:
    def __init__(self, redis: Redis, keys: Keys, lifetime: float) -> None:
        self.redis = redis
        self.keys = keys
        self.lifetime = lifetime

    async def create(self, who: str) -> tuple[str, Session]:
        """A new session; answers the cookie's token and the session."""
        token = new_token()
        session = Session(csrf=new_token(), who=who)
        await self.redis.set(
            self.keys.review_session(_digest(token)),
            json.dumps(asdict(session)),
            ex=max(1, int(self.lifetime)),
        )
        return token, session

    async def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 200:
            return None
        raw = await self.redis.get(self.keys.review_session(_digest(token)))
        if raw is None:
            return None
        return Session(**json.loads(raw))

    async def save(self, token: str, session: Session) -> None:
        """Store a changed session, keeping its expiry."""
        await self.redis.set(
            self.keys.review_session(_digest(token)),
            json.dumps(asdict(session)),
            keepttl=True,
            xx=True,
        )

    async def end(self, token: str | None) -> None:
        if token:
            await self.redis.delete(self.keys.review_session(_digest(token)))


class LoginThrottle:
    """The growing delay after failed logins, per client address."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def wait_left(self, address: str) -> float:
        """Seconds until a login from ``address`` is looked at again (0: now)."""
        raw = await answer(self.redis.hget(self.keys.review_login_failures(address), "next_at"))
        return 0.0 if raw is None else max(0.0, float(raw) - time.time())

    async def failed(self, address: str) -> float:
        """Count a failure; answers the delay before the next try is taken."""
        key = self.keys.review_login_failures(address)
        failures = int(await answer(self.redis.hincrby(key, "failures", 1)))
        delay = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** (failures - 1))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "next_at", str(time.time() + delay))
            pipe.expire(key, FAILURE_MEMORY_SECONDS)
            await pipe.execute()
        return delay

    async def succeeded(self, address: str) -> None:
        await self.redis.delete(self.keys.review_login_failures(address))
