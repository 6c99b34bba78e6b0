"""Every bad input an administrator can give: exit code 2 and one clear line on stderr,
never a traceback (docs/operations.md, the exit codes).

The commands run as subprocesses, all of a table at once (each is a fresh interpreter;
together they take as long as the slowest).
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from b24.emulator.server import RunningEmulator, free_port
from b24_dedupe.audit import AuditEntry, AuditLog
from b24_dedupe.decisions import Decision
from b24_dedupe.keys import Keys
from commands.main import build_parser
from tests.admin.conftest import Result, RunCli, cli_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    args: tuple[str, ...]
    says: str  # in the one line on stderr
    env: dict[str, str] = field(default_factory=dict)
    portal: str = "emulator"  # emulator, unreachable, malformed, refused or none


def _env(case: Case, emulator: RunningEmulator, prefix: str) -> dict[str, str]:
    urls = {
        "emulator": emulator.webhook_url,
        "unreachable": f"http://127.0.0.1:{free_port()}/rest/1/unheard-secret/",
        "malformed": "https://portal.example/rest/oops",
        "refused": emulator.webhook_url.replace(emulator.config.secret, "wrong-secret-42"),
        "none": None,
    }
    return cli_env(urls[case.portal], prefix, **case.env)


async def _run_all(
    run_cli: RunCli, cases: list[Case], emulator: RunningEmulator, prefix: str
) -> list[Result]:
    return list(
        await asyncio.gather(
            *(run_cli(*case.args, env=_env(case, emulator, prefix)) for case in cases)
        )
    )


def _check(cases: list[Case], results: list[Result]) -> None:
    problems = []
    for case, result in zip(cases, results, strict=True):
        lines = result.err.strip().splitlines()
        if result.code != 2 or len(lines) != 1 or case.says not in result.err:
            problems.append(f"{' '.join(case.args)} {case.env} ({case.portal}): {result}")
    assert not problems, "\n".join(problems)


DOWN = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
RULES = "/no/rules.toml"  # no such file

# One case per command and kind of problem, all run at once: the settings themselves
# are checked for every value in tests/test_settings.py, the arguments' errors in
# test_argument_errors_are_one_line below; here, that each command says it on one line.
CASES = [
    # -- limits and the region: checked once, in the settings (issue 4) ---------------
    Case(("doctor",), "B24_RPS: Input should be greater than 0", {"B24_RPS": "0"}),
    Case(("web",), "B24_BURST: Input should be greater than or equal to 3", {"B24_BURST": "1"}),
    Case(("worker",), "DEFAULT_REGION: 'XX' is not a region", {"DEFAULT_REGION": "XX"}),
    # -- a Redis URL that is none, a Redis that does not answer (issue 5) --------------
    Case(("doctor",), "REDIS_URL: not a Redis URL", {"REDIS_URL": "notaurl"}),
    Case(("worker",), "REDIS_URL: not a Redis URL", {"REDIS_URL": "notaurl"}),
    Case(("worker", "--burst"), "cannot reach Redis at 127.0.0.1:", {"REDIS_URL": DOWN}),
    Case(("audit",), "cannot reach Redis at 127.0.0.1:", {"REDIS_URL": DOWN}),
    # -- an unknown entry: exit 2 as restore's (issue 7) -------------------------------
    Case(("audit", "show", "20990101T000000Z-000000"), "no audit entry 20990101T000000Z-000000"),
    # -- secrets from files (Docker secrets) -------------------------------------------
    Case(
        ("doctor",),
        "B24_WEBHOOK_URL_FILE /nonexistent/secret",
        {"B24_WEBHOOK_URL_FILE": "/nonexistent/secret"},
        portal="none",
    ),
    Case(("worker",), "B24_WEBHOOK_URL is not set", portal="none"),
    # A rules file a worker cannot apply: said before it starts, not a failing start.
    *(
        Case((command,), "MERGE_RULES_FILE /no/rules.toml: cannot", {"MERGE_RULES_FILE": RULES})
        for command in ("worker", "serve")
    ),
    # -- the portal: unreachable, a malformed URL, a refused webhook (issue 3) ---------
    *(
        Case(args, says, portal=portal)
        for args in (("enums", "ownertype"), ("fields", "available"))
        for portal, says in (
            ("unreachable", "cannot reach portal 127.0.0.1:"),
            ("malformed", "B24_WEBHOOK_URL: the webhook URL's path must be /rest/USER_ID/SECRET/"),
            ("refused", "the webhook is not accepted"),
        )
    ),
]


async def test_bad_input_exits_2_with_one_line(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    results = await _run_all(run_cli, CASES, emulator, redis_namespace)
    _check(CASES, results)
    # The secrets are named by the portal's host only.
    for result in results:
        assert emulator.config.secret not in result.text
        assert "wrong-secret-42" not in result.text and "unheard-secret" not in result.text


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["audit", "--limit", "-5"], "argument --limit: must be at least 1, not -5"),
        (["audit", "list", "--limit", "0"], "argument --limit: must be at least 1, not 0"),
        (["audit", "--limit", "many"], "argument --limit: 'many' is not a whole number"),
        (["audit", "--decision", "maybe"], "argument --decision: 'maybe' is not one of: merged"),
        (["audit", "--outcome", "FINE"], "argument --outcome: 'FINE' is not one of: SUCCESS"),
        (["audit", "--record", "contact"], "argument --record: takes ENTITY:ID, such as"),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
        (["worker", "--burst", "--check-alive"], "not allowed with argument --burst"),
    ],
)
def test_argument_errors_are_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert says in line and line.startswith("b24-dedupe") and line.endswith("--help)")


async def test_an_unedited_env_example_is_refused_as_placeholders(
    run_cli: RunCli, redis_namespace: str, tmp_path: Path
) -> None:
    # As README says: cp .env.example .env (run_cli's working directory is tmp_path).
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = cli_env(None, redis_namespace)
    del env["B24_APPLICATION_TOKEN"]
    results = await asyncio.gather(*(run_cli(command, env=env) for command in ("doctor", "serve")))
    for result in results:
        assert result.code == 2, result
        (line,) = result.err.strip().splitlines()
        assert "B24_WEBHOOK_URL: still the example value from .env.example" in line
        assert "B24_APPLICATION_TOKEN: still the example value" in line
        assert "your-portal.bitrix24.com" not in result.out  # never "ok ... portal" on it


async def test_audit_show_of_a_known_entry(
    run_cli: RunCli, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    entry = AuditEntry("CONTACT", 5, Decision.NO_MERGE, "no duplicates")
    await AuditLog(redis_client, Keys(redis_namespace)).write(entry)
    shown = await run_cli("audit", "show", entry.id, env=cli_env(None, redis_namespace))
    assert shown.code == 0 and f'"id": "{entry.id}"' in shown.out
