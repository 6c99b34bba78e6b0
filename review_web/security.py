"""What every request of the review page goes through: the login, the forms' token,
and the headers that keep pages out of other sites' frames and caches.

- A page asked for without a valid session is redirected to the login; a form sent
  without one is too (nothing is done).
- Every POST must carry the session's CSRF token (``csrf``), compared in constant time;
  the cookie is ``SameSite=Strict`` as well.
- HTTPS is what the connection is, or what ``X-Forwarded-Proto`` says when the
  connection comes from a proxy in ``REVIEW_TRUSTED_PROXIES``; the cookies are then
  ``Secure`` and the pages ask for HSTS.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from review_web.rendering import render
from review_web.sessions import SESSION_COOKIE, same_secret
from review_web.state import CONFIG, SESSION, SESSION_TOKEN, SESSIONS

log = logging.getLogger("review_web")

# Open without a session: the login itself, the health probe, the style sheet and script
# (and the icon browsers ask for by themselves: not found, rather than a login page).
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico"})
STATIC_PREFIX = "/static/"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "script-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)


def is_https(request: web.Request) -> bool:
    if request.secure:
        return True
    if request.app[CONFIG].trusts(request.remote):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0]
        return proto.strip().lower() == "https"
    return False


def client_address(request: web.Request) -> str:
    """The address a login came from: the connection's, or past trusted proxies the
    nearest one ``X-Forwarded-For`` names."""
    config = request.app[CONFIG]
    remote = request.remote or "unknown"
    if not config.trusts(remote):
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not config.trusts(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return "unreadable"
    return remote


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: float,
    path: str = "/",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(max_age),
        path=path,
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
    )


def local_target(raw: str | None) -> str:
    """A page of this site to go to after the login (never another site's)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add_headers(request, exc)
        raise
    _add_headers(request, response)
    return response


def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith(STATIC_PREFIX):
        # Pages hold personal data: no browser or proxy keeps a copy.
        headers.setdefault("Cache-Control", "no-store")
    if is_https(request):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith(STATIC_PREFIX):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await request.app[SESSIONS].get(token)
    if session is None or token is None:
        target = request.path_qs if request.method in ("GET", "HEAD") else "/"
        raise web.HTTPSeeOther("/login?next=" + quote(target, safe="/"))
    request[SESSION] = session
    request[SESSION_TOKEN] = token
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        form = await request.post()
        given = form.get("csrf")
        if not isinstance(given, str) or not same_secret(given, session.csrf):
            log.warning(
                "review page: a form without its token refused", extra={"path": request.path}
            )
            return await render(
                request,
                "refused.html",
                status=403,
                title="Refused",
                text="This form did not come from a page of the review site as you have it "
                "open (its security token is missing or out of date), so nothing was done. "
                "Open the page again and repeat what you meant to do.",
            )
    return await handler(request)
