"""Logging in and out: one password (``REVIEW_PASSWORD``), a session cookie, and a
growing delay after failed tries (:class:`review_web.sessions.LoginThrottle`)."""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from review_web.rendering import render
from review_web.security import client_address, local_target, set_cookie
from review_web.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    new_token,
    password_matches,
    same_secret,
)
from review_web.state import CONFIG, SESSIONS, THROTTLE

log = logging.getLogger("review_web")

# A failed try is answered after its delay, up to this (later tries are refused until
# the delay has passed, however many come at once).
MOST_ANSWER_DELAY = 5.0
LOGIN_FORM_SECONDS = 3600
_NOT_PRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{40,60}$")


def see_other(location: str) -> web.Response:
    """A redirect that carries cookies (303: the browser asks for the page with GET)."""
    return web.Response(status=303, headers={"Location": location})


def who_from(raw: object) -> str:
    """The name a person gives for the audit ("Anna"), or the page's own."""
    name = _NOT_PRINTABLE.sub("", raw if isinstance(raw, str) else "")
    name = " ".join(name.split())[:60]
    return name or "a person"


async def _login_form(
    request: web.Request, *, error: str = "", status: int = 200, next_page: str = "/"
) -> web.Response:
    # One token per browser while it is valid: a second tab (or a request the browser
    # makes by itself) does not spoil the form shown in the first.
    token = request.cookies.get(LOGIN_COOKIE) or ""
    if not _TOKEN.match(token):
        token = new_token()
    response = await render(
        request, "login.html", status=status, error=error, form_token=token, next_page=next_page
    )
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=LOGIN_FORM_SECONDS, path="/login")
    return response


async def login_page(request: web.Request) -> web.Response:
    next_page = local_target(request.query.get("next"))
    if await request.app[SESSIONS].get(request.cookies.get(SESSION_COOKIE)) is not None:
        raise web.HTTPSeeOther(next_page)
    return await _login_form(request, next_page=next_page)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    next_page = local_target(str(form.get("next") or "/"))
    given, expected = form.get("csrf"), request.cookies.get(LOGIN_COOKIE)
    if not isinstance(given, str) or not expected or not same_secret(given, expected):
        return await _login_form(
            request,
            error="The login form had expired or did not come from this site. Try again.",
            status=403,
            next_page=next_page,
        )
    throttle, address = request.app[THROTTLE], client_address(request)
    wait = await throttle.wait_left(address)
    if wait > 0:
        return await _login_form(
            request,
            error=f"Too many failed logins: the next try is taken in {wait:.0f} s.",
            status=429,
            next_page=next_page,
        )
    password = form.get("password")
    config = request.app[CONFIG]
    if not isinstance(password, str) or not password_matches(password, config.password_digest):
        delay = await throttle.failed(address)
        log.warning("review page: login refused", extra={"address": address})
        await asyncio.sleep(min(delay, MOST_ANSWER_DELAY))
        return await _login_form(request, error="Wrong password.", status=401, next_page=next_page)
    await throttle.succeeded(address)
    token, _ = await request.app[SESSIONS].create(who_from(form.get("name")))
    log.info("review page: logged in", extra={"address": address})
    response = see_other(next_page)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=config.session_seconds)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.Response:
    await request.app[SESSIONS].end(request.cookies.get(SESSION_COOKIE))
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
