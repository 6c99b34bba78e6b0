"""Running ``b24-dedupe`` as an administrator would: a subprocess with its own environment.

The working directory is a fresh temporary one, so that no ``.env`` of the developer's
reaches the command; every setting comes from the environment given here.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.worker.conftest import start_stack  # noqa: F401  (the whole service, for restore)

TOKEN = "admin-test-application-token"
CLI_TIMEOUT = 120  # a bound on the wait, not an assertion about speed


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli_env(webhook_url: str | None, prefix: str, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
    env.update(B24_APPLICATION_TOKEN=TOKEN, B24_RPS="200", B24_BURST="200")
    if webhook_url is not None:
        env["B24_WEBHOOK_URL"] = webhook_url
    env.update(extra)
    return env


RunCli = Callable[..., Awaitable[Result]]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """``await run_cli("doctor", env=cli_env(...))``: exit code, stdout, stderr."""

    async def run(*args: str, env: dict[str, str]) -> Result:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "commands.main",
            *args,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        result = Result(process.returncode, out.decode(), err.decode())
        assert "Traceback" not in result.text, result.text
        return result

    return run
