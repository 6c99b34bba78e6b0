"""The whole service as separate processes on 127.0.0.1, for the fault suite.

- Redis: a redis-server of our own with append-only persistence under the test's
  directory, on a free port (the tests kill and restart it; never the shared one).
- The portal: the emulator, inside the test process (its records and stats are the
  ground truth), sending its outbound events to the ingress.
- The ingress: ``b24-dedupe web``. The workers: ``b24-dedupe worker`` processes,
  restarted whenever they exit, as compose's ``restart: unless-stopped`` does.
- A simulated user changes records on the portal meanwhile (:mod:`.portal_user`).

Nothing of ours is mocked. Every process is stopped in the fixture's ``finally``;
every wait is bounded (the bounds are never assertions about speed). When a test
ends, everything its processes produced (their output, Redis' append-only file,
the audit journal, the answers saved by the test) is searched for the secrets.

Each fault test runs short in ``make test`` and for ``SOAK_SECONDS`` (default 300)
under ``make soak`` (the ``run_length`` fixture). With ``SOAK_REPORT=path`` the
figures of the run are written there as JSON (docs/reliability.md quotes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import redis.asyncio as aioredis
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import RedisError

from b24.crm import RecordRef
from b24.emulator.config import EmulatorConfig
from b24.emulator.fields import EntityType
from b24.emulator.server import RunningEmulator, free_port, running_emulator
from b24.emulator.state import SENDER
from b24.phpquery import encode_php_query
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from tests.reliability.invariants import AcceptedEvents, Findings, check
from tests.reliability.portal_user import PortalUser
from tests.reliability.processes import B24_DEDUPE, Process, RedisServer
from worker.app import build_context
from worker.communications import EvidenceRules
from worker.policy import Policy
from worker.reconciling import reconcile_interrupted
from worker.scan import scan_recent

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
SETTLE_SECONDS = 90.0  # bound on the service catching up after a run
# ... after a soak run, which may have spent a method's operating budget: the client
# then pauses that method until the portal's ten-minute window lets it go again.
SOAK_SETTLE_SECONDS = 660.0
# The portal's time budget per method (480 s in ten minutes, REST docs: limits) is the subject
# of test_operating_limit_on_one_method_pauses_it_alone alone; elsewhere a merge costs
# 0.05 s of it rather than the docs' 2 s, so that a soak stays within it.
CHEAP_METHOD_TIMES = {"crm.entity.mergebatch": 0.05, "crm.duplicate.findbycomm": 0.005}
START_SECONDS = 30.0  # bound on a process coming up
# Enough of the environment for a process to run; nothing of ours leaks in.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")


# -- the run-length knob ----------------------------------------------------------------
@dataclass(frozen=True)
class RunLength:
    soak: bool

    def seconds(self, short: float) -> float:
        return SOAK_SECONDS if self.soak else short


@pytest.fixture(params=["short", pytest.param("soak", marks=pytest.mark.soak)])
def run_length(request: pytest.FixtureRequest) -> RunLength:
    return RunLength(soak=request.param == "soak")


# -- figures of the run --------------------------------------------------------------
_FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session", autouse=True)
def _report_figures() -> Iterator[None]:
    yield
    path = os.environ.get("SOAK_REPORT")
    if path and _FIGURES:
        Path(path).write_text(json.dumps(_FIGURES, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """This test's figures for the soak report (counts of what it did and found)."""
    return _FIGURES.setdefault(request.node.nodeid, {})


# -- the cluster ---------------------------------------------------------------------
@dataclass
class ChangeLog:
    """Every change the portal announced, as a listener of the emulated portal."""

    deleted: set[tuple[str, int]] = field(default_factory=set)
    changed: dict[tuple[str, int], float] = field(default_factory=dict)  # last change
    changes: int = 0

    def __call__(self, event: str, entity: EntityType, entity_id: int) -> None:
        self.changes += 1
        self.changed[(entity.name, entity_id)] = time.time()
        if event.endswith("DELETE"):
            self.deleted.add((entity.name, entity_id))


@dataclass
class Cluster:
    root: Path
    redis_server: RedisServer
    emulator: RunningEmulator
    environment: dict[str, str]
    ingress_port: int
    redis: aioredis.Redis
    http: aiohttp.ClientSession
    changes: ChangeLog
    token: str
    ingress: Process = field(init=False)
    workers: list[Process] = field(default_factory=list)
    supervise: bool = True
    worker_exits: list[int | None] = field(default_factory=list)
    more_secrets: list[str] = field(default_factory=list)  # given to processes by a test
    settle_seconds: float = SETTLE_SECONDS

    def __post_init__(self) -> None:
        self.keys = Keys(self.environment["REDIS_PREFIX"])
        self.ingress = Process(
            "ingress",
            [B24_DEDUPE, "web", "--host", "127.0.0.1", "--port", str(self.ingress_port)],
            env=self.environment,
            cwd=self.root,
            log=self.root / "ingress.log",
        )

    # -- what the processes are told ----------------------------------------------
    @property
    def secrets(self) -> list[str]:
        """What must never appear in anything the service produced."""
        found = [self.emulator.config.secret, self.token, self.environment["B24_WEBHOOK_URL"]]
        if self.redis_server.password:
            found.append(self.redis_server.password)
        return found + self.more_secrets

    def settings(self) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            **{k.lower(): v for k, v in self.environment.items() if k.lower() in _FIELDS},
        )

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}"

    # -- processes -------------------------------------------------------------------
    async def start_ingress(self) -> None:
        await self.ingress.start()
        for _ in range(int(START_SECONDS * 10)):
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get(self.ingress_url + "/healthz") as response:
                    if response.status == 200:
                        return
            if not self.ingress.running:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"the ingress did not come up:\n{self.ingress.output()[-3000:]}")

    async def add_workers(self, count: int) -> None:
        for _ in range(count):
            index = len(self.workers)
            worker = Process(
                f"worker{index}",
                [B24_DEDUPE, "worker"],
                env=self.environment,
                cwd=self.root,
                log=self.root / f"worker{index}.log",
            )
            self.workers.append(worker)
            await worker.start()
        if count:
            await self.workers_ready()

    async def workers_ready(self) -> None:
        """Bounded wait until a worker polls the queue (arq's health key appears)."""
        for _ in range(int(START_SECONDS * 10)):
            if await self.redis.exists(self.keys.worker_health):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("no worker started:\n" + self.workers[0].output()[-3000:])

    async def supervisor(self) -> None:
        """Restart workers that exited, as compose's ``restart: unless-stopped``."""
        while True:
            for worker in self.workers:
                if self.supervise and worker.process is not None and not worker.running:
                    self.worker_exits.append(worker.returncode)
                    await worker.start()
            await asyncio.sleep(0.2)

    @property
    def worker_restarts(self) -> int:
        return sum(w.starts - 1 for w in self.workers)

    async def stop_all(self) -> None:
        self.supervise = False
        await asyncio.gather(*(w.stop() for w in self.workers), self.ingress.stop())

    async def command(self, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """``b24-dedupe ARGV...`` with the service's environment (bounded: 60 s); its exit
        code and standard output. Both outputs are kept for the secret check."""
        process = await asyncio.create_subprocess_exec(
            B24_DEDUPE,
            *argv,
            env={**self.environment, **(env or {})},
            cwd=self.root,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(60):
                out, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await self.save(" ".join(["b24-dedupe", *argv]), out + b"\n" + err)
        assert process.returncode is not None
        return process.returncode, out.decode()

    # -- Bitrix24's side -------------------------------------------------------------
    async def control(
        self, path: str, body: dict[str, Any] | None = None, *, method: str | None = None
    ) -> Any:
        """The emulator's control API (``/_emulator/...``)."""
        method = method or ("GET" if body is None else "POST")
        async with self.http.request(method, self.emulator.root + path, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post_event(self, event: str, entity_id: int) -> int:
        """Deliver one event as the portal would; the ingress's HTTP status."""
        body = encode_php_query(self.emulator.app[SENDER].body(event, entity_id))
        async with self.http.post(
            self.ingress_url + "/webhooks/bitrix24",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as response:
            await self.save(f"event {response.status}", await response.read())
            return response.status

    async def ready(self) -> int:
        async with self.http.get(self.ingress_url + "/readyz") as response:
            return response.status

    def user(self, seed: int = 0) -> PortalUser:
        return PortalUser(self.emulator.engine.portal, random.Random(seed))

    # -- waiting and checking --------------------------------------------------------
    async def busy_jobs(self) -> int:
        """Dedupe jobs waiting, deferred or running (cron jobs are not counted)."""
        ids = await self.redis.zrange(self.keys.queue, 0, -1)
        return sum(1 for i in ids if not i.startswith(b"cron:"))

    async def settle(self, within: float | None = None) -> None:
        """Bounded wait until the portal's events are out and no dedupe job is left."""
        within = within or self.settle_seconds
        sender = self.emulator.app[SENDER]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        quiet = 0
        busy: int | str = "?"
        while loop.time() < deadline:
            await sender.drain(1.0)
            try:
                busy = await self.busy_jobs()
            except RedisError as exc:
                busy = type(exc).__name__
            quiet = quiet + 1 if busy == 0 else 0
            if quiet >= 2:
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"the service did not settle within {within} s ({busy} jobs left)")

    async def audit(self) -> list[AuditEntry]:
        return [entry async for entry in AuditLog(self.redis, self.keys).entries()]

    async def reconcile(self) -> list[AuditEntry]:
        """The recovery scan's first step, run now rather than at the next minute:
        complete merges left pending by killed workers (none runs while settled)."""
        worker = build_context(self.settings(), self.redis)
        try:
            return await reconcile_interrupted(worker, older_than=0)
        finally:
            await worker.client.close()

    async def unseen_changes(self, among: set[tuple[str, int]] | None = None) -> set[Any]:
        """Records changed on the portal (still there) that no job has read as they are."""
        portal = self.emulator.engine.portal
        unseen = set()
        for entity, record_id in among if among is not None else set(self.changes.changed):
            record = portal.records[entity].get(record_id)
            if record is None:
                continue
            marker = await self.redis.get(self.keys.processed(RecordRef(entity, record_id)))
            if marker is None or marker.decode() != record["DATE_MODIFY"]:
                unseen.add((entity, record_id))
        return unseen

    async def scan(self) -> dict[str, int]:
        """One pass of the periodic recovery scan (the cron job's work), run now."""
        worker = build_context(self.settings(), self.redis)
        try:
            results = await scan_recent(worker.client, self.redis, self.keys, 0.0)
        finally:
            await worker.client.close()
        return {entity: result.enqueued for entity, result in results.items()}

    async def waiting_records(self) -> set[tuple[str, int]]:
        """Records whose dedupe job waits in the queue (read from arq's job keys)."""
        waiting = set()
        for job_id in await self.redis.zrange(self.keys.queue, 0, -1):
            raw = await self.redis.get(job_key_prefix + job_id.decode())
            if raw is not None and not job_id.startswith(b"cron:"):
                job = deserialize_job(raw)
                waiting.add((str(job.kwargs["entity"]), int(job.kwargs["entity_id"])))
        return waiting

    async def finish(self, user: PortalUser | None = None, *, settled: bool = True) -> Findings:
        """Settle, complete interrupted merges, settle again, then check every invariant.

        ``settled=False`` (the portal still blocks us): check now, with the records
        whose job waits in the queue as not done yet.
        """
        waiting = set()
        if settled:
            await self.settle()
            if await self.reconcile():
                await self.settle()
        else:
            waiting = await self.waiting_records()
        settings = self.settings()
        accepted = AcceptedEvents.from_log(self.ingress.output().splitlines())
        keys = sorted(accepted.last)
        markers = (
            await self.redis.mget([self.keys.processed(RecordRef(e, i)) for e, i in keys])
            if keys
            else []
        )
        return check(
            self.emulator.engine.portal,
            await self.audit(),
            accepted,
            {k: m.decode() if m else None for k, m in zip(keys, markers, strict=True)},
            changed=self.changes.changed,
            deleted_by_user=user.deleted if user else set(),
            deleted_on_portal=self.changes.deleted,
            rules=EvidenceRules.build(
                settings.default_region,
                settings.generic_mailbox_list(),
                settings.shared_number_list(),
            ),
            policy=Policy(max_group_size=settings.max_group_size, survivor=settings.survivor),
            waiting=waiting,
        )

    def accepted(self) -> AcceptedEvents:
        return AcceptedEvents.from_log(self.ingress.output().splitlines())

    async def save(self, name: str, body: str | bytes) -> None:
        """Keep something the service answered, for the secret check."""
        data = body.encode() if isinstance(body, str) else body
        with (self.root / "answers").open("ab") as answers:
            answers.write(name.encode() + b"\n" + data + b"\n")

    async def metrics(self) -> str:
        async with self.http.get(self.ingress_url + "/metrics") as response:
            text = await response.text()
        await self.save("GET /metrics", text)
        return text

    def leaks(self) -> list[str]:
        return find_secrets(self.root, self.secrets)


def find_secrets(root: Path, secrets: list[str]) -> list[str]:
    """Files under ``root`` holding any of ``secrets``, as written or URL-encoded."""
    needles = {s.encode() for s in secrets} | {quote(s, safe="").encode() for s in secrets}
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n.decode()[:12]}…" for n in needles if n in data]
    return found


_FIELDS = set(Settings.model_fields)
StartCluster = Callable[..., Awaitable[Cluster]]


def service_environment(**settings: Any) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


@pytest.fixture
async def start_cluster(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StartCluster]:
    """``await start_cluster(workers=3, emulator={...}, **settings)``: the service, running."""
    clusters: list[Cluster] = []
    callspec = getattr(request.node, "callspec", None)
    soak = callspec is not None and callspec.params.get("run_length") == "soak"
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            *,
            workers: int = 2,
            emulator: dict[str, Any] | None = None,
            seed: dict[str, Any] | None = None,
            redis_password: str | None = None,
            **settings: Any,
        ) -> Cluster:
            root = tmp_path / f"cluster{len(clusters)}"
            root.mkdir()
            secret = "rel-secret-" + secrets.token_hex(8)
            token = "rel-token-" + secrets.token_hex(8)
            redis_server = RedisServer(root / "redis", password=redis_password)
            stack.push_async_callback(redis_server.stop)
            await redis_server.start()
            ingress_port = free_port()
            config = EmulatorConfig(
                secret=secret,
                events_url=f"http://127.0.0.1:{ingress_port}/webhooks/bitrix24",
                application_token=token,
                **{
                    "rps": 20.0,
                    "burst": 50,
                    "method_times": dict(CHEAP_METHOD_TIMES),
                    **(emulator or {}),
                },
            )
            running = await stack.enter_async_context(running_emulator(config, seed=seed))
            changes = ChangeLog()
            running.engine.portal.listeners.append(changes)
            environment = service_environment(
                redis_url=redis_server.url,
                redis_prefix="b24rel:",
                b24_webhook_url=running.webhook_url,
                b24_application_token=token,
                b24_rps=config.rps,
                b24_burst=config.burst,
                audit_journal_dir=root / "journal",
                log_format="json",
                **{
                    "debounce_seconds": 0.2,
                    "worker_concurrency": 5,
                    "job_timeout_seconds": 5,
                    "log_level": "INFO",
                    **settings,
                },
            )
            redis = aioredis.from_url(
                redis_server.url,
                retry=Retry(ConstantBackoff(0.2), 3),
                retry_on_error=[aioredis.ConnectionError],
            )
            stack.push_async_callback(redis.aclose)
            http = await stack.enter_async_context(aiohttp.ClientSession())
            cluster = Cluster(
                root, redis_server, running, environment, ingress_port, redis, http, changes, token
            )
            cluster.settle_seconds = SOAK_SETTLE_SECONDS if soak else SETTLE_SECONDS
            clusters.append(cluster)
            stack.push_async_callback(cluster.stop_all)
            await cluster.start_ingress()
            await cluster.add_workers(workers)
            supervisor = asyncio.create_task(cluster.supervisor())

            async def stop_supervisor() -> None:
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor

            stack.push_async_callback(stop_supervisor)
            return cluster

        yield start
    # Every process has stopped: nothing it produced may hold a secret.
    for cluster in clusters:
        assert cluster.leaks() == [], "a secret reached the service's output"


async def drive(user: PortalUser, seconds: float, per_second: float) -> int:
    """The user acts ``per_second`` times a second for ``seconds``; answers the actions."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    steps = 0
    while loop.time() < end:
        user.step()
        steps += 1
        await asyncio.sleep(1.0 / per_second)
    return steps


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 1)
