"""``b24-dedupe web``: bad arguments or configuration exit 2; a real process serves."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.emulator.server import free_port
from b24_dedupe.keys import Keys
from commands.main import main
from tests.conftest import REDIS_URL
from tests.ingress.conftest import TOKEN, URL, event_body, queued_jobs


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, redis_namespace: str) -> None:
    """A clean configuration: only what each test sets."""
    for name in list(os.environ):
        if name.startswith(("B24_", "REDIS_", "WEB_", "DEBOUNCE", "MAX_BODY", "LOG_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REDIS_PREFIX", redis_namespace)
    monkeypatch.chdir(os.path.dirname(__file__))  # no .env file here
    # A command that gets as far as serving configures logging for the whole process.
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for flag in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, flag, getattr(logging, flag))


def exit_code_and_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["web", "--port", "70000"], "--port must be between 0 and 65535"),
        (["web", "--port", "eighty"], "invalid int value"),
        (["web", "--host", " "], "--host must not be empty"),
        (["web", "--unknown"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = exit_code_and_error(argv, capsys)
    assert code == 2
    assert message in error


@pytest.mark.usefixtures("environment")
def test_without_a_token_the_ingress_does_not_start(capsys: pytest.CaptureFixture[str]) -> None:
    code, error = exit_code_and_error(["web", "--port", "0"], capsys)
    assert code == 2
    assert "B24_APPLICATION_TOKEN is not set" in error


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBOUNCE_SECONDS", "-1", "DEBOUNCE_SECONDS"),
        ("MAX_BODY_BYTES", "ten", "MAX_BODY_BYTES"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv("B24_APPLICATION_TOKEN", TOKEN)
    monkeypatch.setenv(variable, value)
    code, error = exit_code_and_error(["web"], capsys)
    assert code == 2
    assert message in error
    assert TOKEN not in error


@pytest.mark.usefixtures("environment")
def test_a_port_in_use_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("B24_APPLICATION_TOKEN", TOKEN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, error = exit_code_and_error(
            ["web", "--host", "127.0.0.1", "--port", str(port)], capsys
        )
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in error


async def test_the_command_serves_events_and_stops_on_sigterm(
    redis_namespace: str, redis_client: aioredis.Redis, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("B24_", "REDIS_"))},
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": redis_namespace,
        "B24_APPLICATION_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "commands.main",
        "web",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    keys = Keys(redis_namespace)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # bounded: up to 20 s for the process to start
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        async with http.post(
            base + URL,
            data=event_body("ONCRMLEADADD", 77),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as r:
            assert r.status == 200
        async with http.get(base + "/readyz") as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
        jobs = await queued_jobs(redis_client, keys)
        if jobs:
            await redis_client.delete(*[f"arq:job:{job['id']}" for job in jobs])
    assert process.returncode == 0
    lines = [json.loads(line) for line in stderr.decode().splitlines()]
    messages = [line["msg"] for line in lines]
    assert messages[0] == "ingress listening"
    assert "event accepted" in messages
    assert messages[-1] == "ingress stopping"
    assert TOKEN not in stderr.decode()
    assert [job["k"] for job in jobs] == [{"entity": "LEAD", "entity_id": 77}]
