"""The review page's safety: a password, sessions, a delay after failed logins, a token
on every form, cookies and headers; and it does not start without a password."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from b24_dedupe.keys import Keys
from b24_dedupe.review import ReviewQueue
from commands.main import main
from review_web.config import ConfigurationError, ReviewConfig
from review_web.sessions import FIRST_DELAY_SECONDS, LoginThrottle
from tests.review_web.conftest import (
    PASSWORD,
    NewVisitor,
    StartReview,
    contact_group,
    put_groups,
    review_settings,
)


async def test_a_page_without_a_session_goes_to_the_login(
    start_review: StartReview, visitor: NewVisitor
) -> None:
    review = await start_review()
    anonymous = visitor(review)
    for path in (
        "/",
        "/queue?type=contact",
        "/history",
        "/proposals",
        "/groups/contact-1-0a0b0c0d",
    ):
        page = await anonymous.get(path, allow_redirects=False)
        assert page.status == 303, path
        assert page.headers["Location"].startswith("/login?next=/"), path
    page = await anonymous.get("/queue?type=contact")
    assert page.path.startswith("/login") and 'name="password"' in page.text
    # After the login the person lands where they were going.
    landed = await anonymous.post(
        "/login",
        {"csrf": page.csrf, "password": PASSWORD, "next": page.hidden("next")},
    )
    assert landed.status == 200 and landed.path == "/queue?type=contact"


async def test_a_wrong_password_is_refused_with_a_growing_delay(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review()
    person = visitor(review)
    started = time.monotonic()
    refused = await person.login(password="not the password")
    assert refused.status == 401 and "Wrong password." in refused.text
    assert time.monotonic() - started >= FIRST_DELAY_SECONDS * 0.9
    assert "session" not in " ".join(refused.headers.getall("Set-Cookie", []))
    assert (await person.get("/", allow_redirects=False)).status == 303
    # Another failure from the same address (a guesser trying in parallel) doubles the
    # delay; a try inside it is refused without the password being looked at.
    throttle = LoginThrottle(redis_client, review.keys)
    assert await throttle.failed("127.0.0.1") == 2 * FIRST_DELAY_SECONDS
    early = await person.login(password=PASSWORD)
    assert early.status == 429 and "Too many failed logins" in early.text
    assert (await person.get("/", allow_redirects=False)).status == 303
    assert await throttle.failed("127.0.0.1") == 4 * FIRST_DELAY_SECONDS
    await throttle.succeeded("127.0.0.1")
    good = await person.login()
    assert good.status == 200 and good.path == "/"


async def test_the_login_form_itself_is_protected(
    start_review: StartReview, visitor: NewVisitor
) -> None:
    review = await start_review()
    # A login posted from another site's page has no login cookie of ours.
    page = await visitor(review).post("/login", {"csrf": "x" * 43, "password": PASSWORD})
    assert page.status == 403 and "did not come from this site" in page.text
    # next= never leads off the site.
    person = visitor(review)
    form = await person.get("/login?next=//evil.example/")
    landed = await person.post(
        "/login", {"csrf": form.csrf, "password": PASSWORD, "next": form.hidden("next")}
    )
    assert landed.path == "/"


async def test_cookies_and_headers(start_review: StartReview, visitor: NewVisitor) -> None:
    review = await start_review(review_trusted_proxies="127.0.0.1")
    person = visitor(review)
    form = await person.get("/login")
    answer = await person.post(
        "/login", {"csrf": form.csrf, "password": PASSWORD}, allow_redirects=False
    )
    (cookie,) = [c for c in answer.headers.getall("Set-Cookie") if "b24dd_review_session=" in c]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = await person.get("/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in page.headers
    # Behind the trusted proxy that terminates TLS: Secure cookies, HSTS. (Plain HTTP
    # behind the proxy: this client keeps no Secure cookie, so it is sent by hand.)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    behind = visitor(review)
    form = await behind.get("/login", headers=https)
    (login_cookie,) = form.headers.getall("Set-Cookie")
    assert "Secure" in login_cookie and "Path=/login" in login_cookie
    answer = await behind.post(
        "/login",
        {"csrf": form.csrf, "password": PASSWORD},
        headers={**https, "Cookie": login_cookie.split(";", 1)[0]},
        allow_redirects=False,
    )
    (cookie,) = [c for c in answer.headers.getall("Set-Cookie") if "b24dd_review_session=" in c]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert "Strict-Transport-Security" in answer.headers


async def test_the_forwarded_headers_of_an_untrusted_sender_are_ignored(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review()  # no trusted proxy
    person = visitor(review)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9"}
    form = await person.get("/login", headers=https)
    await person.post("/login", {"csrf": form.csrf, "password": "wrong"}, headers=https)
    # The failure counts against the connection's own address, not the claimed one.
    counted = review.keys.review_login_failures
    assert await redis_client.hget(counted("127.0.0.1"), "failures") == b"1"
    assert not await redis_client.exists(counted("198.51.100.9"))
    answer = await person.get("/login", headers=https)
    assert "Strict-Transport-Security" not in answer.headers
    assert all("Secure" not in c for c in answer.headers.getall("Set-Cookie", []))


async def test_a_form_without_its_token_is_refused_and_nothing_is_done(
    start_review: StartReview, visitor: NewVisitor, redis_client: aioredis.Redis
) -> None:
    review = await start_review()
    group = contact_group([12, 34])
    await put_groups(redis_client, review.keys, [group])
    person = visitor(review)
    await person.login()
    page = await person.get(f"/groups/{group.id}")
    form = {"action": page.hidden("action"), "updated": page.hidden("updated")}
    for data in (form, {**form, "csrf": "forged-" + page.csrf[7:]}):
        refused = await person.post(f"/groups/{group.id}/dismiss", data)
        assert refused.status == 403 and "nothing was done" in refused.text
    assert await ReviewQueue(redis_client, review.keys).get(group.id) is not None
    assert await redis_client.zcard(review.keys.queue) == 0  # no job was enqueued
    # Without a session a form leads to the login; nothing is done either.
    stranger = visitor(review)
    answer = await stranger.post(f"/groups/{group.id}/dismiss", form, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"].startswith("/login")
    assert await redis_client.zcard(review.keys.queue) == 0


async def test_logout_ends_the_session(start_review: StartReview, visitor: NewVisitor) -> None:
    review = await start_review()
    person = visitor(review)
    home = await person.login()
    out = await person.post("/logout", {"csrf": home.csrf})
    assert out.path.startswith("/login")
    assert (await person.get("/history", allow_redirects=False)).status == 303


async def test_the_password_never_reaches_a_page_or_a_log(
    start_review: StartReview, visitor: NewVisitor, caplog: pytest.LogCaptureFixture
) -> None:
    review = await start_review()
    person = visitor(review)
    caplog.set_level(logging.DEBUG)
    pages = [await person.login(password="a wrong one"), await person.login()]
    pages += [await person.get(path) for path in ("/", "/queue", "/history", "/proposals")]
    for page in pages:
        assert PASSWORD not in page.text and "a wrong one" not in page.text
    assert PASSWORD not in caplog.text and "a wrong one" not in caplog.text
    assert "login refused" in caplog.text
    assert PASSWORD not in repr(ReviewConfig.from_settings(review.settings))


def test_it_does_not_start_without_a_password(
    redis_namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with pytest.raises(ConfigurationError, match="REVIEW_PASSWORD is not set"):
        ReviewConfig.from_settings(review_settings(redis_namespace, review_password=None))
    with pytest.raises(ConfigurationError, match="too short"):
        ReviewConfig.from_settings(review_settings(redis_namespace, review_password="short"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.delenv("REVIEW_PASSWORD", raising=False)
    for argv in (["review"], ["review", "serve"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        assert "REVIEW_PASSWORD is not set" in capsys.readouterr().err
    monkeypatch.setenv("REVIEW_PASSWORD", PASSWORD)
    with pytest.raises(SystemExit) as stopped:
        main(["review", "--port", "8080"])  # the ingress's port (WEB_PORT)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "must not share the ingress's port" in err and PASSWORD not in err


def test_it_binds_to_loopback_unless_told_otherwise(redis_namespace: str) -> None:
    settings = review_settings(redis_namespace)
    assert settings.review_host == "127.0.0.1" and settings.review_port != settings.web_port
    assert isinstance(Keys(settings.redis_prefix).review_session("x"), str)
