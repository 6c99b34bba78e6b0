"""Every cURL (webhook) example in the docs runs verbatim against the emulator.

The examples are read from shared/bitrix24-docs at test time, so a new page in the
docs is a new test; only the address, user id and secret are filled in.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from b24.crm import MergeStatus
from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator

DOCS = Path(__file__).resolve().parents[3] / "shared" / "bitrix24-docs"
ORIGINAL = DOCS / "crm-auxiliary-duplicates-enums.original.txt"
WEBHOOK_MARK = "**put_your_webhook_here**"


def webhook_examples() -> list[str]:
    """The cURL (Webhook) commands of the docs, one shell command each."""
    if not ORIGINAL.exists():
        return []
    lines = ORIGINAL.read_text(encoding="utf-8").splitlines()
    commands = []
    for index, line in enumerate(lines):
        if not line.startswith("curl "):
            continue
        parts = []
        for following in lines[index : index + 20]:
            parts.append(following.strip())
            if following.startswith("https://"):
                break
        command = " ".join(p for p in parts if p != "\\").replace(" \\", "")
        if WEBHOOK_MARK in command:
            commands.append(command)
    return commands


EXAMPLES = webhook_examples()


def _method(command: str) -> str:
    return command.rsplit("/", 1)[-1]


@pytest.fixture
async def prepared_portal(start_emulator: StartEmulator) -> RunningEmulator:
    """A portal holding what the examples refer to: contacts 100-102, volatile field 101."""
    seed = {
        "contacts": [
            {"ID": i, "NAME": "Doc", "PHONE": [{"VALUE": "1234567"}]} for i in (100, 101, 102)
        ]
    }
    emulator = await start_emulator(rps=100, burst=100, seed=seed)
    emulator.engine.context.volatile.registered[101] = (3, "ADDRESS")
    return emulator


def test_the_docs_hold_the_examples() -> None:
    if not ORIGINAL.exists():
        pytest.skip("shared/bitrix24-docs is not beside the checkout")
    methods = {_method(c) for c in EXAMPLES}
    assert {
        "crm.duplicate.findbycomm",
        "crm.entity.mergeBatch",
        "crm.multifield.fields",
        "crm.duplicate.volatileType.register",
        "crm.enum.activitystatus",
    } <= methods
    assert len(EXAMPLES) == 18


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("command", EXAMPLES, ids=[_method(c) for c in EXAMPLES])
async def test_example_runs_verbatim(prepared_portal: RunningEmulator, command: str) -> None:
    filled = (
        command.replace("https://**put_your_bitrix24_address**", prepared_portal.root)
        .replace("**put_your_user_id_here**", str(prepared_portal.config.user_id))
        .replace(WEBHOOK_MARK, prepared_portal.config.secret)
    )
    filled = re.sub(r"^curl ", "curl -s --max-time 10 ", filled)
    process = await _run(filled)
    body = json.loads(process.stdout)
    assert "error" not in body, body
    assert "result" in body and "time" in body
    if _method(command) == "crm.entity.mergeBatch":
        assert body["result"] == {"STATUS": MergeStatus.SUCCESS, "ENTITY_IDS": [101, 102]}
    if _method(command) == "crm.duplicate.findbycomm":
        assert body["result"] == {"CONTACT": [100, 101, 102]}


async def _run(command: str) -> subprocess.CompletedProcess[str]:
    process = await asyncio.create_subprocess_shell(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr
    return subprocess.CompletedProcess(command, 0, stdout.decode(), stderr.decode())
