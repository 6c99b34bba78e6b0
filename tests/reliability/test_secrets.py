"""No secret in anything the service produces, whatever goes wrong.

Every test of this suite ends with a search of everything its processes produced
(their output, Redis' append-only file, which holds every value ever written: the
audit, the queue, the counters; the audit journal; the answers the test received)
for the webhook URL, its secret, the application token and the Redis password, also
URL-encoded. This test provokes the most output it can: DEBUG logs, every kind of
portal fault (dropped connections and timeouts carry the request URL in aiohttp's
exceptions), OVERLOAD_LIMIT and a refused webhook (CRITICAL lines with the error's
text), Redis killed under the workers (tracebacks), refused and malformed events,
the administrators' commands, and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path
from typing import Any

from tests.reliability.conftest import StartCluster, drive, find_secrets
from tests.reliability.processes import B24_DEDUPE, Process


async def test_no_secret_in_logs_metrics_audit_answers_or_errors(
    start_cluster: StartCluster, figures: dict[str, Any]
) -> None:
    cluster = await start_cluster(
        workers=2,
        redis_password="rel-redis-" + secrets.token_hex(8),
        log_level="DEBUG",
        b24_read_timeout_seconds=1.0,
        job_timeout_seconds=3,
    )
    user = cluster.user(seed=61)
    kinds = ("drop", "internal_error", "latency", "query_limit")
    await cluster.control(
        "/_emulator/faults", {"next": dict.fromkeys(kinds, 2), "latency_seconds": 1.5}
    )
    await drive(user, 1.5, per_second=8)
    await cluster.control("/_emulator/faults", method="DELETE")
    await cluster.settle()

    # A worker whose webhook secret is wrong: every call is refused (401), loudly.
    wrong = "rel-wrong-" + secrets.token_hex(8)
    cluster.more_secrets.append(wrong)
    url = cluster.environment["B24_WEBHOOK_URL"].replace(cluster.emulator.config.secret, wrong)
    refused = Process(
        "refused",
        [B24_DEDUPE, "worker"],
        env={**cluster.environment, "B24_WEBHOOK_URL": url},
        cwd=cluster.root,
        log=cluster.root / "refused-worker.log",
    )
    cluster.supervise = False
    await asyncio.gather(*(w.stop() for w in cluster.workers))
    try:
        await refused.start()
        user.new_customer()
        for _ in range(100):  # bounded: 10 s for the refusal
            if "CRITICAL" in refused.output():
                break
            await asyncio.sleep(0.1)
        code, _ = await cluster.command("doctor", env={"B24_WEBHOOK_URL": url})
        assert code != 0
    finally:
        await refused.stop()
    await cluster.redis.delete(cluster.keys.halt)

    # OVERLOAD_LIMIT, and Redis killed under the workers.
    cluster.supervise = True
    await cluster.control("/_emulator/faults", {"rates": {"overload": 1.0}})
    user.new_customer()
    for _ in range(100):  # bounded: 10 s for the alert
        if any("OVERLOAD_LIMIT" in w.output() for w in cluster.workers):
            break
        await asyncio.sleep(0.1)
    await cluster.control("/_emulator/faults", method="DELETE")
    cluster.redis_server.process.send(signal.SIGKILL)
    await cluster.redis_server.process.wait(15)
    assert await cluster.post_event("ONCRMCONTACTUPDATE", 1) == 503
    await asyncio.sleep(1.0)
    await cluster.redis_server.start()

    # Refused and malformed deliveries; the administrators' commands; the metrics.
    for body in (
        b"event=ONCRMCONTACTUPDATE&auth[application_token]=" + cluster.token[:-1].encode(),
        b"event=ONCRMCONTACTUPDATE&data[FIELDS][ID]=x&auth[application_token]="
        + cluster.token.encode(),
        b"\xff" * 100,
    ):
        async with cluster.http.post(
            cluster.ingress_url + "/webhooks/bitrix24",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as response:
            await cluster.save(f"answer {response.status}", await response.read())
    await asyncio.gather(
        *(cluster.command(*argv) for argv in (["doctor"], ["audit", "export"], ["scan"]))
    )
    await cluster.metrics()

    produced = sorted(p.name for p in cluster.root.rglob("*") if p.is_file())
    everything = b"".join(p.read_bytes() for p in cluster.root.rglob("*") if p.is_file())
    figures.update(files=len(produced), bytes_searched=len(everything))
    # Not vacuous: the faults did reach the output, and the secrets were there to leak.
    assert b'"level": "DEBUG"' in everything and b"CRITICAL" in everything
    assert b"NO_AUTH_FOUND" in everything and b"OVERLOAD_LIMIT" in everything
    assert b"[redacted]" in everything or b"/rest/" not in everything
    assert cluster.leaks() == []


def test_the_search_finds_a_secret_however_it_was_written(tmp_path: Path) -> None:
    url = "http://127.0.0.1:1/rest/1/s3cr3t-value/"
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "aof").write_bytes(b"\x00SET k " + url.encode())
    (tmp_path / "log").write_text('{"msg": "token=t%C3%B6ken-%2F1"}')
    (tmp_path / "clean").write_text("[redacted]")
    assert len(find_secrets(tmp_path, [url, "töken-/1"])) == 2
    assert find_secrets(tmp_path, ["absent-secret"]) == []
