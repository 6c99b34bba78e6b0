"""The processes of the fault suite: our own redis-server, and the service's commands.

Each process writes its output to one file under the test's directory (appended
across restarts), so that the secret check can read everything the suite produced.
Every wait is bounded; :meth:`Process.stop` ends a process whatever state it is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import redis.asyncio as aioredis

from b24.emulator.server import free_port

# The service's one command, next to this interpreter (the venv's console script).
B24_DEDUPE = str(Path(sys.executable).with_name("b24-dedupe"))
STOP_SECONDS = 15.0  # a bound for a process to end after SIGTERM, then SIGKILL


class Process:
    """One subprocess: ``argv`` run in ``cwd`` with exactly ``env``, output to ``log``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process is not None else None

    async def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} already runs")
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        self.starts += 1

    def send(self, sig: signal.Signals) -> bool:
        """Send ``sig``; False when the process had already ended."""
        if not self.running:
            return False
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
            return True
        return False

    async def wait(self, within: float) -> int | None:
        """The exit code, or None when still running after ``within`` seconds."""
        if self.process is None:
            return None
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.process.wait(), within)
        return None

    async def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.send(signal.SIGKILL):
            await self.wait(STOP_SECONDS)

    async def stop(self, within: float = STOP_SECONDS) -> int | None:
        """SIGTERM, then SIGKILL past ``within`` seconds; the exit code."""
        if self.send(signal.SIGTERM) and await self.wait(within) is None:
            await self.kill()
        return self.returncode

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


class RedisServer:
    """A redis-server of our own (never the shared one): append-only, on loopback.

    ``appendfsync everysec`` as docker-compose.yml runs it. Redis writes the AOF
    (write(2)) before it answers, so a killed redis-server loses nothing it confirmed;
    only a machine crash can lose the last second.
    """

    def __init__(self, directory: Path, *, password: str | None = None) -> None:
        if shutil.which("redis-server") is None:  # pragma: no cover - README requirement
            raise RuntimeError("redis-server is not on the PATH")
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.password = password
        argv = [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(directory / "redis.log"),
        ]  # fmt: skip
        if password:
            argv += ["--requirepass", password]
        self.process = Process(
            "redis", argv, env=dict(os.environ), cwd=directory, log=directory / "stdout.log"
        )

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        await self.process.start()
        client = aioredis.from_url(self.url)
        try:
            for _ in range(100):  # bounded: redis-server answers within a second
                with contextlib.suppress(aioredis.ConnectionError, aioredis.BusyLoadingError):
                    if await client.ping():
                        return
                if not self.process.running:
                    break
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()
        raise RuntimeError(f"redis-server did not come up on port {self.port}")

    async def kill(self) -> None:
        await self.process.kill()

    async def stop(self) -> None:
        await self.process.stop()
