"""``b24-dedupe worker|scan|audit|not-duplicates`` as an administrator runs them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from typing import Any

import pytest
import redis.asyncio as aioredis

from b24.emulator.server import RunningEmulator
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision
from b24_dedupe.keys import Keys
from tests.conftest import REDIS_URL, StartEmulator

COMMAND = [sys.executable, "-m", "commands.main"]


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def environment(prefix: str, emulator: RunningEmulator | None = None) -> dict[str, str]:
    env = {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    if emulator is not None:
        env["B24_WEBHOOK_URL"] = emulator.webhook_url
        env["B24_RPS"], env["B24_BURST"] = "50", "100"
    return env


@pytest.fixture
async def portal(start_emulator: StartEmulator) -> RunningEmulator:
    phone = [{"VALUE": "+7 903 700-00-01"}]
    seed = {
        "contacts": [
            {"NAME": "Scan", "PHONE": phone},
            {"NAME": "Scan", "PHONE": phone},
            {"NAME": "Other", "EMAIL": [{"VALUE": "o@x.io"}]},
        ]
    }
    return await start_emulator(rps=50, burst=100, seed=seed)


async def test_scan_then_a_burst_worker_cleans_an_existing_base(
    portal: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    env = environment(redis_namespace, portal)
    code, out, err = await run_cli("scan", "--enqueue", "--entity", "contact", env=env)
    assert code == 0, err
    assert "contact: 3 records, 3 jobs enqueued" in out
    code, _, err = await run_cli("worker", "--burst", env=env)
    assert code == 0, err
    assert set(portal.engine.portal.records["CONTACT"]) == {1, 3}
    code, out, _ = await run_cli("audit", "--json", env=env)
    entries = [json.loads(line) for line in out.splitlines()]
    assert {e["decision"] for e in entries} >= {Decision.MERGED, Decision.NO_MERGE}
    merged = next(e for e in entries if e["decision"] == Decision.MERGED)
    assert merged["outcome"]["deleted"] == [2] and set(merged["snapshots"]) == {"1", "2"}
    assert portal.config.secret not in out + err
    code, out, _ = await run_cli("audit", "show", merged["id"], env=env)
    assert code == 0 and '"survivor": 1' in out
    code, out, _ = await run_cli("audit", "export", "--csv", env=env)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["decision"] for r in rows} >= {Decision.MERGED} and rows[0].keys() >= {
        "id",
        "reason",
        "link",
    }
    code, out, _ = await run_cli("audit", "--record", "contact:2", env=env)
    assert code == 0 and Decision.MERGED in out


async def test_audit_show_unknown_id(redis_namespace: str, redis_client: aioredis.Redis) -> None:
    code, _, err = await run_cli("audit", "show", "nope", env=environment(redis_namespace))
    assert code == 2 and "no audit entry nope" in err  # as restore: exit 2 (issue 7)


async def test_audit_lists_newest_first(redis_namespace: str, redis_client: aioredis.Redis) -> None:
    audit = AuditLog(redis_client, Keys(redis_namespace))
    for i, at in enumerate((100.0, 300.0, 200.0)):
        await audit.write(AuditEntry("LEAD", i, Decision.NO_MERGE, f"reason {i}", at=at))
    code, out, _ = await run_cli("audit", "--limit", "2", env=environment(redis_namespace))
    assert code == 0
    assert [line.split()[2] for line in out.splitlines()] == ["1", "2"]


async def test_not_duplicates_list_management(
    redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    env = environment(redis_namespace)
    assert (await run_cli("not-duplicates", "add", "contact", "12", "34", env=env))[0] == 0
    assert (await run_cli("not-duplicates", "add-value", "--phone", "8 999 123-45-67", env=env))[
        0
    ] == 0
    assert (await run_cli("not-duplicates", "add-value", "--email", " Info@X.io ", env=env))[0] == 0
    code, out, _ = await run_cli("not-duplicates", "list", env=env)
    assert out.splitlines() == [
        "pair   CONTACT:12:34",
        "value  EMAIL:info@x.io",
        "value  PHONE:+79991234567",
    ]
    assert (await run_cli("not-duplicates", "remove", "contact", "34", "12", env=env))[0] == 0
    code, out, _ = await run_cli("not-duplicates", "list", env=env)
    assert code == 0 and "pair" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("not-duplicates", "add", "contact", "12", "12"), "two different IDs"),
        (("not-duplicates", "add", "deal", "1", "2"), "invalid choice"),
        (("not-duplicates", "add", "contact", "x", "2"), "not a record ID"),
        (("not-duplicates", "add-value", "--phone", "1", "--email", "a@b"), "exactly one"),
        (("not-duplicates", "add-value", "--email", "nobody"), "not an e-mail"),
        (("audit", "--record", "contact"), "ENTITY:ID"),
        (("scan", "--since", "yesterday"), "--since"),
        (("scan",), "B24_WEBHOOK_URL"),
        (("worker",), "B24_WEBHOOK_URL"),
    ],
)
async def test_bad_input_is_exit_2_with_a_message(
    args: tuple[str, ...], message: str, redis_namespace: str
) -> None:
    env: dict[str, Any] = environment(redis_namespace)
    if args[0] == "scan" and len(args) > 1:
        env["B24_WEBHOOK_URL"] = "http://127.0.0.1:9/rest/1/x/"
    code, _, err = await run_cli(*args, env=env)
    assert code == 2, err
    assert message in err and "Traceback" not in err


async def test_bad_configuration_is_exit_2(redis_namespace: str) -> None:
    env = {**environment(redis_namespace), "MAX_GROUP_SIZE": "one", "MERGE_MODE": "sometimes"}
    code, _, err = await run_cli("audit", env=env)
    assert code == 2 and "MAX_GROUP_SIZE" in err and "MERGE_MODE" in err


async def test_arq_own_command_runs_worker_worker_settings(
    portal: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    env = environment(redis_namespace, portal)
    code, _, err = await run_cli("scan", "--enqueue", "--entity", "contact", env=env)
    assert code == 0, err
    arq = os.path.join(os.path.dirname(sys.executable), "arq")
    process = await asyncio.create_subprocess_exec(
        arq,
        "worker.WorkerSettings",
        "--burst",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert set(portal.engine.portal.records["CONTACT"]) == {1, 3}
