"""scripts/local-redis.sh: the Redis of `make run` and of `make test` (issue 2).

Each is this checkout's own, in its own directory under .run/; a Redis on the port
that is not ours (another checkout's, the machine's) is neither used nor touched.
The script runs from a copy in a temporary directory, as a fresh checkout's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.reliability.processes import RedisServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local-redis.sh"

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server not installed"
)


@pytest.fixture
async def checkout(tmp_path: Path) -> AsyncIterator[Path]:
    """A copy of the script as a checkout holds it; the servers it starts are stopped."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / "local-redis.sh")
    try:
        yield root
    finally:
        for pidfile in (root / ".run").glob("*/redis.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


async def _run(root: Path, name: str, port: int) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(root / "scripts" / "local-redis.sh"),
        name,
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode().strip(), err.decode()


def _port(url: str) -> int:
    match = re.fullmatch(r"redis://127\.0\.0\.1:(\d+)/0", url)
    assert match, url
    return int(match.group(1))


async def test_a_redis_that_is_not_ours_is_left_alone(checkout: Path, tmp_path: Path) -> None:
    foreign = RedisServer(tmp_path / "foreign")  # another checkout's, on the first port
    await foreign.start()
    try:
        client = aioredis.Redis.from_url(foreign.url)
        await client.set("someone-elses", "data")
        code, url, err = await _run(checkout, "test", foreign.port)
        assert code == 0, err
        assert _port(url) != foreign.port and "taken by another Redis" in err
        ours = aioredis.Redis.from_url(url)
        try:
            directory = (await ours.config_get("dir"))["dir"]
            assert Path(directory) == checkout / ".run" / "test"
            assert (await ours.config_get("appendonly"))["appendonly"] == "yes"
        finally:
            await ours.aclose()
        # Asked again, the same one (ours) is used, and the other one is untouched.
        again = await _run(checkout, "test", foreign.port)
        assert again[:2] == (0, url) and "started" not in again[2]
        assert await client.get("someone-elses") == b"data"
        await client.aclose()
    finally:
        await foreign.stop()


async def test_run_and_test_have_a_redis_each(checkout: Path) -> None:
    first = RedisServer(checkout / "unused").port  # a free port to start from
    run = await _run(checkout, "run", first)
    test = await _run(checkout, "test", first)
    assert run[0] == 0 and test[0] == 0, (run, test)
    assert _port(run[1]) != _port(test[1])
    assert (checkout / ".run" / "run" / "redis.pid").exists()
    assert (checkout / ".run" / "test" / "redis.pid").exists()


def test_the_makefile_gives_run_and_test_their_own_redis() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:") : makefile.index("\nsoak:")]
    test = makefile[makefile.index("\ntest:") : makefile.index("\nlint:")]
    assert "$(LOCAL_REDIS) run $(RUN_REDIS_PORT)" in run
    assert "$(LOCAL_REDIS) test $(TEST_REDIS_PORT)" in test
    ports = dict(re.findall(r"^(RUN_REDIS_PORT|TEST_REDIS_PORT) \?= (\d+)$", makefile, re.M))
    assert ports["RUN_REDIS_PORT"] != ports["TEST_REDIS_PORT"]
