"""``b24-dedupe emulator`` as a user runs it: a real process, clear errors on bad input."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from b24.emulator.config import EmulatorConfig
from b24.emulator.server import free_port
from commands.emulator import add_arguments, config_from_args

COMMAND = [sys.executable, "-m", "commands.main", "emulator"]


async def _run(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *COMMAND, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--secret"),
        (("--secret", "s", "--method-time", "nonsense"), "METHOD=SECONDS"),
        (("--secret", "s", "--rps", "0"), "--rps"),
        (("--secret", "s", "--events-url", "ftp://x"), "--events-url"),
        (("--secret", "s", "--port", "notaport"), "invalid int"),
        (("--secret", "s", "--seed", "/nonexistent/seed.json"), "cannot read"),
    ],
)
async def test_bad_arguments_exit_2_with_a_message(args: tuple[str, ...], message: str) -> None:
    code, stderr = await _run(*args)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr


async def test_bad_seed_file_is_exit_2(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"companies": [{"NAME": "no title"}]}))
    code, stderr = await _run("--secret", "s", "--seed", str(seed), "--port", str(free_port()))
    assert code == 2 and "companies[0]" in stderr and "Traceback" not in stderr


async def test_serves_the_seeded_portal_and_stops_on_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"contacts": [{"ID": 42, "NAME": "Seeded"}]}))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "--secret",
        "cli-secret",
        "--port",
        str(port),
        "--seed",
        str(seed),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = f"http://127.0.0.1:{port}/rest/1/cli-secret/"
        assert url in line
        async with aiohttp.ClientSession() as http, http.get(url + "crm.contact.get?id=42") as r:
            assert (await r.json())["result"]["NAME"] == "Seeded"
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
    assert code == 0


def _config(*args: str) -> EmulatorConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser, parser.parse_args(["--secret", "s", *args]))


def test_language_and_operating_limit_defaults() -> None:
    config = _config()
    assert config.language == "ru"
    assert config.operating_limit == 420.0  # loadlimiter.php:26
    assert _config("--language", "en").language == "en"


async def test_an_unknown_language_is_exit_2() -> None:
    code, stderr = await _run("--secret", "s", "--language", "de")
    assert code == 2 and "--language" in stderr and "Traceback" not in stderr
