"""``b24-dedupe review`` as compose runs it: the service's argv and environment from
docker-compose.yml, on this machine's loopback, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from b24.emulator.server import free_port
from tests.conftest import REDIS_URL
from tests.review_web.conftest import PASSWORD
from tests.test_compose import (
    SERVICES,
    SETTING_NAMES,
    env_file_values,
    service_argv,
    service_env,
    started,
    wait_until,
)


def test_the_compose_service_is_on_loopback_only() -> None:
    review = SERVICES["review"]
    assert review["command"] == ["review"]
    assert review["ports"] == ["127.0.0.1:8081:8081"]  # this machine only
    assert review["environment"]["REVIEW_PORT"] == "8081"
    assert set(review["environment"]) <= SETTING_NAMES
    assert review["env_file"] == [{"path": ".env", "required": False}]
    assert "/healthz" in " ".join(review["healthcheck"]["test"])
    assert review["restart"] == "unless-stopped"


async def test_the_command_serves_the_page_and_stops_on_sigterm(
    redis_namespace: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    port = free_port()
    # A .env as an administrator fills it in for the page: .env.example's placeholders
    # for the portal are refused, and the page needs no portal.
    dotenv = {**env_file_values(), "REVIEW_PASSWORD": PASSWORD, "REDIS_PREFIX": redis_namespace}
    for name in ("B24_WEBHOOK_URL", "B24_APPLICATION_TOKEN"):
        dotenv.pop(name)
    env = service_env("review", dotenv)
    assert env["REVIEW_HOST"] == "0.0.0.0"  # inside the container; published on loopback
    env.update(REDIS_URL=REDIS_URL, REVIEW_HOST="127.0.0.1", REVIEW_PORT=str(port))
    env["PATH"] = str(Path(sys.executable).parent)
    log = tmp_path / "review.log"
    async with started(service_argv("review"), env, tmp_path, log) as review:

        async def ready() -> bool:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until(ready, "the review page answers /healthz", review)
        check = SERVICES["review"]["healthcheck"]["test"]
        probe = await asyncio.create_subprocess_exec(sys.executable, *check[2:], env=env)
        assert await asyncio.wait_for(probe.wait(), 30) == 0
        async with http.get(f"http://127.0.0.1:{port}/", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/login")
        review.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(review.wait(), 30) == 0
    text = log.read_text()
    assert "review page listening" in text and PASSWORD not in text
