"""docker-compose.yml, the Dockerfile and .env.example cannot rot.

No Docker engine runs here, so the compose file is read as data: its structure is
checked, and each service that runs our code in production (``web``, ``worker``) is
started locally with the same argv (the image's ENTRYPOINT and the service's
command) and the environment the file gives it, pointed at the test Redis (under a
private prefix) and a test emulator. ``redis`` is started from its compose command
too, and must come up with append-only persistence. Everything listens on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
import yaml

from b24.emulator.server import free_port
from b24_dedupe.keys import Keys
from b24_dedupe.settings import Settings
from commands.main import build_parser
from tests.conftest import REDIS_URL, StartEmulator
from worker.app import worker_options

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
# Variables docker compose itself reads from .env (not settings of the service).
COMPOSE_VARIABLES = {"PUBLIC_HOST", "REDIS_MAXMEMORY"}
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text()
SECRETS_OVERRIDE: dict[str, Any] = yaml.safe_load(
    (ROOT / "deploy" / "docker-compose.secrets.yml").read_text()
)
TOKEN = "compose-test-application-token"
WAIT_ROUNDS = 300  # of 0.1 s: a bound on every wait, never an assertion about speed


# -- reading the files as Docker would ------------------------------------------------
def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split into stages."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    stages: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def instruction(stage: list[str], name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in stage if line.upper().startswith(name + " ")]


def entrypoint() -> list[str]:
    (raw,) = instruction(dockerfile_stages()[-1], "ENTRYPOINT")
    value: list[str] = json.loads(raw)
    return value


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        current = env.get(name)
        if operator in (":-", "-"):
            missing = current is None or (operator == ":-" and current == "")
            return argument if missing else str(current)
        if operator in (":?", "?") and not current:
            raise AssertionError(f"compose needs {name}: {argument}")
        return current or ""

    return _VARIABLE.sub(value, text)


def env_file_values() -> dict[str, str]:
    """What a .env copied from .env.example gives: its lines that are not comments."""
    values = {}
    for line in ENV_EXAMPLE.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def service_env(name: str, dotenv: Mapping[str, str]) -> dict[str, str]:
    """The container's environment: the .env file, then the service's ``environment``."""
    service = SERVICES[name]
    env = {}
    if any(Path(str(f["path"])).name == ".env" for f in service.get("env_file", [])):
        env.update(dotenv)
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({key: interpolate(str(value), dotenv) for key, value in environment.items()})
    return env


def service_argv(name: str) -> list[str]:
    """ENTRYPOINT + command, as Docker runs it; the entry point found in this venv."""
    argv = [*entrypoint(), *SERVICES[name]["command"]]
    assert argv[0] == "b24-dedupe"
    script = Path(sys.executable).parent / "b24-dedupe"
    return [str(script if script.exists() else shutil.which("b24-dedupe")), *argv[1:]]


# -- structure ------------------------------------------------------------------------
def test_services_and_the_demo_profile() -> None:
    assert set(SERVICES) == {"redis", "proxy", "web", "worker", "review", "emulator", "demo"}
    for name in ("redis", "proxy", "web", "worker"):
        assert "profiles" not in SERVICES[name], name
    for name in ("emulator", "demo"):
        assert SERVICES[name]["profiles"] == ["demo"], name
    # The review page needs REVIEW_PASSWORD first (tests/review_web/test_command.py).
    assert SERVICES["review"]["profiles"] == ["review"]
    for name in ("web", "worker", "review", "demo"):
        assert SERVICES[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    # Every command of ours parses as the CLI would read it (the demo's too).
    parser = build_parser()
    for name in ("web", "worker", "review", "emulator", "demo"):
        args = parser.parse_args(SERVICES[name]["command"])
        assert args.command == SERVICES[name]["command"][0]


def test_redis_persists_on_a_volume_and_reports_health() -> None:
    redis = SERVICES["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    # A bound on memory (issue 15): without one, noeviction only waits for the machine's.
    assert interpolate(command[command.index("--maxmemory") + 1], {}) == "1gb"
    assert interpolate(command[command.index("--maxmemory") + 1], {"REDIS_MAXMEMORY": "3gb"}) == (
        "3gb"
    )
    volume, _, target = redis["volumes"][0].partition(":")
    assert target == "/data" and volume in COMPOSE["volumes"]
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    assert redis["restart"] == "unless-stopped"


def test_web_listens_on_8080_and_is_checked_on_readyz() -> None:
    web = SERVICES["web"]
    assert web["ports"] == ["127.0.0.1:8080:8080"]  # this machine only; the proxy is public
    assert web["environment"]["WEB_PORT"] == "8080" and web["environment"]["WEB_HOST"] == "0.0.0.0"
    assert web["healthcheck"]["test"][0] == "CMD"
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    assert web["restart"] == "unless-stopped"


def test_worker_scales_and_comes_back() -> None:
    worker = SERVICES["worker"]
    # `--scale worker=N` needs neither a fixed name nor a host port.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["restart"] == "unless-stopped"
    journal = worker["environment"]["AUDIT_JOURNAL_DIR"]
    assert [v.split(":", 1) for v in worker["volumes"]] == [["audit-journal", journal]]
    assert "audit-journal" in COMPOSE["volumes"]


def test_every_setting_comes_from_the_environment() -> None:
    for name in ("web", "worker", "review", "emulator", "demo"):
        env_files = SERVICES[name]["env_file"]
        assert env_files == [{"path": ".env", "required": False}], name
        assert set(SERVICES[name].get("environment") or {}) <= SETTING_NAMES, name
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, re.MULTILINE))
    # The service's settings, and the compose file's own variables (read by compose).
    assert listed == SETTING_NAMES | COMPOSE_VARIABLES
    compose_text = (ROOT / "docker-compose.yml").read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)", compose_text)) == COMPOSE_VARIABLES
    # Each setting has a comment right above it (a line of its own or its default).
    lines = ENV_EXAMPLE.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^#? ?[A-Z][A-Z0-9_]+=", line):
            assert lines[index - 1].startswith("#"), line


def test_dockerfile_is_multi_stage_slim_and_not_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    runtime = stages[-1]
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", DOCKERFILE)
    assert base and base.group(1).endswith("-slim")
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in (s[0] for s in stages))
    (user,) = instruction(runtime, "USER")
    assert user not in ("root", "0")
    assert entrypoint() == ["b24-dedupe"]
    assert any("--from=build /opt/venv" in line for line in instruction(runtime, "COPY"))
    runtime_text = "\n".join(runtime)
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in runtime_text, tool
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "tests"} <= set(ignored)


def _published(ports: list[str]) -> list[tuple[str, str]]:
    """``[(host address, host port)]``; an address of "" is every interface."""
    published = []
    for mapping in ports:
        parts = str(mapping).split(":")
        address = parts[0] if len(parts) == 3 else ""
        published.append((address, parts[-2]))
    return published


def test_only_the_proxy_faces_the_internet() -> None:
    # Bitrix24 needs a public HTTPS handler; nothing else of ours is on every interface
    # (issue 16): /metrics and the health checks stay on this machine.
    public = sorted(
        (name, port)
        for name, service in SERVICES.items()
        for address, port in _published(service.get("ports", []))
        if address not in ("127.0.0.1", "[::1]")
    )
    assert public == [("proxy", "443"), ("proxy", "80")]
    volumes = SERVICES["proxy"]["volumes"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in volumes
    assert {v.split(":")[0] for v in volumes} >= {"caddy-data"}  # certificates are kept
    assert "caddy-data" in COMPOSE["volumes"]


def _caddy_blocks(text: str) -> list[tuple[str, list[str]]]:
    """The Caddyfile's ``handle`` blocks inside the site: (matcher, directives)."""
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    blocks: list[tuple[str, list[str]]] = []
    depth, current = 0, None
    for line in lines:
        if depth == 1 and line.startswith("handle") and line.endswith("{"):
            current = (line.removeprefix("handle").removesuffix("{").strip(), [])
            blocks.append(current)
        elif depth >= 2 and current is not None and line != "}":
            current[1].append(line)
        depth += line.count("{") - line.count("}")
    assert depth == 0, "unbalanced braces"
    return blocks


def test_the_proxy_forwards_the_webhook_and_nothing_else() -> None:
    site = next(line for line in CADDYFILE.splitlines() if line.endswith("{") and "$" in line)
    assert site.split()[0] == "{$PUBLIC_HOST}"  # a name: Caddy gets its certificate
    assert SERVICES["proxy"]["environment"]["PUBLIC_HOST"] == "${PUBLIC_HOST:-localhost}"
    matchers = dict(re.findall(r"^\s*(@\w+) path (\S+)$", CADDYFILE, re.MULTILINE))
    blocks = _caddy_blocks(CADDYFILE)
    forwarding = [(m, d) for m, d in blocks if any(x.startswith("reverse_proxy") for x in d)]
    assert len(forwarding) == 1
    matcher, directives = forwarding[0]
    assert matchers[matcher] == "/webhooks/bitrix24"
    assert "reverse_proxy web:8080" in directives
    assert "max_size 64KB" in directives  # bodies bounded before they reach us
    # The rest answers 404 and is forwarded nowhere.
    assert blocks[-1] == ("", ["respond 404"])
    assert CADDYFILE.count("reverse_proxy") == 1


def test_images_are_pinned() -> None:
    images = {name: s["image"] for name, s in SERVICES.items() if "image" in s}
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", DOCKERFILE)
    assert base
    for name, image in [*images.items(), ("Dockerfile", base.group(1))]:
        _, _, tag = image.rpartition(":")
        assert re.match(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned to a release"


def test_the_worker_has_a_health_check() -> None:
    worker = SERVICES["worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "b24-dedupe", "worker", "--check-alive"]
    assert worker["environment"]["WORKER_ALIVE_FILE"].startswith("/tmp/")


def test_secrets_can_be_docker_secrets() -> None:
    declared = SECRETS_OVERRIDE["secrets"]
    for name, service in SECRETS_OVERRIDE["services"].items():
        assert name in SERVICES
        files = {k: v for k, v in service["environment"].items() if k.endswith("_FILE")}
        assert files and set(files) <= SETTING_NAMES, name
        for variable, path in files.items():
            secret = path.removeprefix("/run/secrets/")
            assert secret in service["secrets"] and secret in declared, variable
            assert variable.removesuffix("_FILE") in SETTING_NAMES
    assert set(SECRETS_OVERRIDE["services"]["web"]["environment"]) == {"B24_APPLICATION_TOKEN_FILE"}


def test_the_image_holds_every_package() -> None:
    found = re.search(r"include = \[([^]]*)\]", (ROOT / "pyproject.toml").read_text())
    assert found
    packages = {name.strip(' "*') for name in found.group(1).split(",")}
    copied = {
        line.split()[1].removeprefix("./") for line in instruction(dockerfile_stages()[0], "COPY")
    }
    assert packages <= copied, packages - copied


# -- the services' commands, run here --------------------------------------------------
@contextlib.asynccontextmanager
async def started(
    argv: list[str], env: Mapping[str, str], cwd: Path, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``argv`` until the block ends, then SIGTERM it (and kill it if it lingers)."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *argv, env=dict(env), cwd=cwd, stdout=output, stderr=output
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def wait_until(condition: Any, what: str, process: asyncio.subprocess.Process) -> None:
    for _ in range(WAIT_ROUNDS):
        if process.returncode is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {WAIT_ROUNDS / 10:.0f} s")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
async def test_redis_command_comes_up_append_only(tmp_path: Path) -> None:
    port = free_port()
    command = [interpolate(part, env_file_values()) for part in SERVICES["redis"]["command"]]
    argv = [*command, "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--dir", str(tmp_path), "--save", ""]
    async with started(argv, {"PATH": os.environ["PATH"]}, tmp_path, tmp_path / "log") as process:
        client = aioredis.Redis(port=port)

        async def answers() -> bool:
            with contextlib.suppress(aioredis.ConnectionError):
                return bool(await client.ping())
            return False

        try:
            await wait_until(answers, "redis-server answers", process)
            assert (await client.config_get("appendonly"))["appendonly"] == "yes"
            assert (await client.config_get("maxmemory-policy"))["maxmemory-policy"] == "noeviction"
            assert (await client.config_get("maxmemory"))["maxmemory"] == str(1024**3)
        finally:
            await client.aclose()


async def test_web_and_worker_come_up_and_merge(
    start_emulator: StartEmulator,
    redis_namespace: str,
    redis_client: aioredis.Redis,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    web_port = free_port()
    dotenv = env_file_values()
    emulator = await start_emulator(
        rps=float(Settings.model_fields["b24_rps"].default),
        burst=int(Settings.model_fields["b24_burst"].default),
        events_url=f"http://127.0.0.1:{web_port}/webhooks/bitrix24",
        application_token=TOKEN,
    )
    # A .env as an administrator fills it in: the two required settings, and a prefix
    # of this test's own.
    dotenv.update(
        B24_WEBHOOK_URL=emulator.webhook_url,
        B24_APPLICATION_TOKEN=TOKEN,
        REDIS_PREFIX=redis_namespace,
    )
    # Pointed at this machine's services instead of the containers' network.
    journal = tmp_path / "journal"
    local = {
        "REDIS_URL": REDIS_URL,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(web_port),
        "AUDIT_JOURNAL_DIR": str(journal),
        "WORKER_ALIVE_FILE": str(tmp_path / "worker.alive"),
    }
    envs = {}
    for name in ("web", "worker"):
        env = service_env(name, dotenv)
        assert env["REDIS_URL"] == "redis://redis:6379/0"  # the compose service
        changed = {key: value for key, value in local.items() if key in env}
        envs[name] = {**env, **changed, "PATH": os.environ["PATH"]}
    keys = Keys(redis_namespace)
    health_key = worker_options(Settings(redis_prefix=redis_namespace))["health_check_key"]

    async with (
        started(service_argv("web"), envs["web"], tmp_path, tmp_path / "web.log") as web,
        started(
            service_argv("worker"), envs["worker"], tmp_path, tmp_path / "worker.log"
        ) as worker,
    ):

        async def ready() -> bool:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{web_port}/readyz") as response:
                    return response.status == 200
            return False

        await wait_until(ready, "web answers /readyz", web)
        # The compose health check itself, run as Docker would run it in the container.
        check = SERVICES["web"]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "python"]
        probe = await asyncio.create_subprocess_exec(sys.executable, *check[2:], env=envs["web"])
        assert await asyncio.wait_for(probe.wait(), 30) == 0, shlex.join(check)

        async def reported() -> bool:
            return bool(await redis_client.exists(health_key))

        await wait_until(reported, "the worker writes its health-check key", worker)
        # The worker's compose health check, as Docker runs it in the container: healthy
        # once the worker runs jobs, unhealthy for a file no worker touches.
        check = SERVICES["worker"]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "b24-dedupe"]
        script = service_argv("worker")[0]

        async def healthy(env: Mapping[str, str]) -> int:
            probe = await asyncio.create_subprocess_exec(
                script, *check[2:], env=dict(env), stdout=asyncio.subprocess.DEVNULL
            )
            return await asyncio.wait_for(probe.wait(), 30)

        async def alive() -> bool:
            return await healthy(envs["worker"]) == 0

        await wait_until(alive, "the worker's health check passes", worker)
        assert await healthy({**envs["worker"], "WORKER_ALIVE_FILE": str(tmp_path / "no")}) == 1

        # One person twice: the event reaches web, the job the worker, which merges.
        async def add(**fields: Any) -> int:
            url = emulator.webhook_url + "crm.contact.add"
            async with http.post(url, json={"fields": fields}) as response:
                result: int = (await response.json())["result"]
                return result

        first = await add(NAME="Anna", PHONE=[{"VALUE": "+7 999 555-44-33"}])
        second = await add(NAME="Anna", PHONE=[{"VALUE": "8 999 555 44 33"}])
        contacts = emulator.engine.portal.records["CONTACT"]

        async def merged() -> bool:
            return second not in contacts

        await wait_until(merged, "the worker merges the duplicate", worker)
        assert first in contacts
        ids = await redis_client.zrange(keys.audit_index, 0, -1)
        assert ids, "the merge is in the audit"
        assert any(journal.glob("audit-*.jsonl")), "the merge is in the journal volume's dir"

        web.send_signal(signal.SIGTERM)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(web.wait(), 30) == 0
        assert await asyncio.wait_for(worker.wait(), 30) == 0
    # Both logged, and neither the webhook's secret nor the token reached a log.
    for log in ("web.log", "worker.log"):
        text = (tmp_path / log).read_text()
        assert text and emulator.config.secret not in text and TOKEN not in text, log
