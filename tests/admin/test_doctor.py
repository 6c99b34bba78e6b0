"""``b24-dedupe doctor`` against a real emulator and a real Redis, and against neither."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from b24.emulator.server import RunningEmulator, free_port
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from commands.doctor import Report, check_journal
from tests.admin.conftest import TOKEN, RunCli, cli_env
from worker.app import HEALTH_CHECK_SECONDS, worker_options


def _lines(text: str, level: str, area: str) -> list[str]:
    return [line for line in text.splitlines() if line.split()[:2] == [level, area]]


async def test_all_well(
    run_cli: RunCli,
    emulator: RunningEmulator,
    redis_namespace: str,
    redis_client: aioredis.Redis,
) -> None:
    result = await run_cli("doctor", env=cli_env(emulator.webhook_url, redis_namespace))
    assert result.code == 0, result.text
    assert result.out.rstrip().endswith("all checks passed")
    assert not _lines(result.out, "FAIL", "portal") and not _lines(result.out, "FAIL", "redis")
    portal = f"127.0.0.1:{emulator.port}"
    assert any(portal in line and "accepted" in line for line in _lines(result.out, "ok", "portal"))
    assert any("administrator" in line for line in _lines(result.out, "ok", "portal"))
    appendonly = (await redis_client.config_get("appendonly"))["appendonly"]
    expected = "append-only persistence is on" if appendonly == "yes" else "persistence is off"
    assert any(expected in line for line in result.out.splitlines())
    # The secret is the webhook URL's path; neither appears, nor the application token.
    assert emulator.config.secret not in result.text
    assert "/rest/" not in result.text and TOKEN not in result.text


async def test_json_findings(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    result = await run_cli("doctor", "--json", env=cli_env(emulator.webhook_url, redis_namespace))
    report = json.loads(result.out)
    assert result.code == 0 and report["ok"] is True
    areas = {finding["area"] for finding in report["findings"]}
    assert areas == {"configuration", "redis", "worker", "portal"}


async def test_wrong_webhook_secret(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    wrong = emulator.webhook_url.replace(emulator.config.secret, "not-the-secret-42")
    result = await run_cli("doctor", env=cli_env(wrong, redis_namespace))
    assert result.code == 1
    (failure,) = _lines(result.out, "FAIL", "portal")
    assert "refuses the webhook" in failure and "NO_AUTH_FOUND" in failure
    assert "not-the-secret-42" not in result.text
    assert result.out.rstrip().endswith("some checks FAILED (see above)")


async def test_portal_that_does_not_listen(
    run_cli: RunCli, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/rest/1/unheard-secret/"
    result = await run_cli("doctor", env=cli_env(url, redis_namespace))
    assert result.code == 1
    (failure,) = _lines(result.out, "FAIL", "portal")
    assert f"cannot reach portal 127.0.0.1:{port}" in failure
    assert "unheard-secret" not in result.text


async def test_redis_that_does_not_answer(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str
) -> None:
    port = free_port()
    env = cli_env(emulator.webhook_url, redis_namespace, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    result = await run_cli("doctor", env=env)
    assert result.code == 1
    (failure,) = _lines(result.out, "FAIL", "redis")
    assert f"Redis at 127.0.0.1:{port}/0 does not answer" in failure
    # The portal is checked all the same.
    assert any("accepted" in line for line in _lines(result.out, "ok", "portal"))


async def test_nothing_configured(run_cli: RunCli, redis_namespace: str) -> None:
    env = cli_env(None, redis_namespace)
    del env["B24_APPLICATION_TOKEN"]
    result = await run_cli("doctor", env=env)
    assert result.code == 1
    failures = "\n".join(_lines(result.out, "FAIL", "configuration"))
    assert "B24_WEBHOOK_URL is not set" in failures
    assert "B24_APPLICATION_TOKEN is not set" in failures
    assert _lines(result.out, "info", "portal") == [
        "info  portal         not checked: no usable B24_WEBHOOK_URL"
    ]


async def test_malformed_webhook_url(run_cli: RunCli, redis_namespace: str) -> None:
    env = cli_env("https://portal.example/rest/oops", redis_namespace)
    result = await run_cli("doctor", env=env)
    assert result.code == 1
    (failure,) = _lines(result.out, "FAIL", "configuration")
    assert "path must be /rest/USER_ID/SECRET/" in failure


async def test_unreadable_setting_exits_2(run_cli: RunCli, redis_namespace: str) -> None:
    env = cli_env(None, redis_namespace, B24_RPS="fast", MERGE_MODE="sometimes")
    result = await run_cli("doctor", env=env)
    assert result.code == 2
    assert "bad configuration" in result.err
    assert "B24_RPS" in result.err and "MERGE_MODE" in result.err


async def test_overloaded_portal(
    run_cli: RunCli,
    emulator: RunningEmulator,
    redis_namespace: str,
    redis_client: aioredis.Redis,
    http: aiohttp.ClientSession,
) -> None:
    async with http.post(f"{emulator.root}/_emulator/faults", json={"next": {"overload": 1}}):
        pass
    result = await run_cli("doctor", env=cli_env(emulator.webhook_url, redis_namespace))
    assert result.code == 1
    (failure,) = _lines(result.out, "FAIL", "portal")
    assert "OVERLOAD_LIMIT" in failure and "nothing is lost" in failure


async def test_halted_work_is_reported(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    # What a worker leaves when the portal blocks it (worker.jobs): a halt with a reason.
    keys = Keys(redis_namespace)
    await redis_client.set(keys.halt, "Overloaded: crm.contact.get: OVERLOAD_LIMIT", ex=300)
    result = await run_cli("doctor", env=cli_env(emulator.webhook_url, redis_namespace))
    assert result.code == 1
    (failure,) = _lines(result.out, "FAIL", "worker")
    assert "work is halted" in failure and "OVERLOAD_LIMIT" in failure
    assert "nothing is lost" in failure


async def test_help(run_cli: RunCli, redis_namespace: str) -> None:
    result = await run_cli("doctor", "--help", env=cli_env(None, redis_namespace))
    assert result.code == 0 and "usage: b24-dedupe doctor" in result.out


def test_a_journal_directory_is_tried_with_a_real_write(tmp_path: Path) -> None:
    # os.access says yes to root for /proc; only a write tells (issue 11).
    report = Report()
    check_journal(Path("/proc/nope/journal"), report)
    (finding,) = report.findings
    assert finding.level == "FAIL" and "AUDIT_JOURNAL_DIR /proc/nope/journal cannot be" in (
        finding.text
    )
    report = Report()
    check_journal(tmp_path / "journal", report)
    assert [f.level for f in report.findings] == ["ok"]
    assert list((tmp_path / "journal").iterdir()) == []  # the probe is gone


async def test_redis_memory_and_a_missing_worker_are_reported(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    result = await run_cli("doctor", env=cli_env(emulator.webhook_url, redis_namespace))
    (memory,) = [line for line in result.out.splitlines() if "Redis uses" in line]
    limit = int((await redis_client.config_get("maxmemory"))["maxmemory"])
    assert ("maxmemory" in memory) and (("no maxmemory is set" in memory) == (limit == 0))
    # A worker reports every HEALTH_CHECK_SECONDS; doctor says since when none did.
    (worker,) = _lines(result.out, "warn", "worker")
    assert f"no worker has reported in the last {HEALTH_CHECK_SECONDS} s" in worker
    assert worker_options(Settings(_env_file=None))["health_check_interval"] == (
        HEALTH_CHECK_SECONDS
    )
