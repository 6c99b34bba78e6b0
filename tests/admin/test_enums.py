"""``b24-dedupe enums``: crm.enum.* and crm.multifield.fields, as the portal answers them."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from b24.emulator.server import RunningEmulator
from commands.enums import ENUMS
from tests.admin.conftest import RunCli, cli_env


async def rest(http: aiohttp.ClientSession, emulator: RunningEmulator, method: str) -> Any:
    async with http.post(emulator.webhook_url + method, json={}) as response:
        return (await response.json())["result"]


async def test_json_is_what_the_portal_answers(
    run_cli: RunCli,
    emulator: RunningEmulator,
    redis_namespace: str,
    redis_client: aioredis.Redis,
    http: aiohttp.ClientSession,
) -> None:
    env = cli_env(emulator.webhook_url, redis_namespace)
    result = await run_cli("enums", "--json", env=env)
    assert result.code == 0, result.text
    printed = json.loads(result.out)
    assert list(printed) == [method for method, _ in ENUMS.values()]
    for method, value in printed.items():
        assert value == await rest(http, emulator, method), method

    chosen = json.loads((await run_cli("enums", "ownertype", "multifield", "--json", env=env)).out)
    assert list(chosen) == ["crm.enum.ownertype", "crm.multifield.fields"]


async def test_tables(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> None:
    env = cli_env(emulator.webhook_url, redis_namespace)
    result = await run_cli("enums", "ownertype", "multifield", env=env)
    assert result.code == 0, result.text
    ownertype, multifield = result.out.strip().split("\n\n")
    lines = ownertype.splitlines()
    assert lines[0] == "crm.enum.ownertype: CRM object types (entityTypeId)"
    assert lines[1].split() == ["ID", "NAME", "SYMBOL_CODE", "SYMBOL_CODE_SHORT"]
    assert ["3", "Contact", "CONTACT", "C"] in [line.split() for line in lines[2:]]
    rows = {line.split()[0]: line.split() for line in multifield.splitlines()[2:]}
    assert multifield.splitlines()[1].split() == [
        "FIELD", "TYPE", "TITLE", "READ-ONLY", "REQUIRED", "MULTIPLE"
    ]  # fmt: skip
    assert rows["ID"][-3:] == ["yes", "no", "no"]  # an item's ID is the portal's
    assert rows["VALUE_TYPE"][-3:] == ["no", "no", "no"]

    every = await run_cli("enums", env=env)
    assert every.code == 0
    headings = [block.splitlines()[0].split(":")[0] for block in every.out.strip().split("\n\n")]
    assert headings == [method for method, _ in ENUMS.values()]


async def test_unknown_name_exit_2(run_cli: RunCli, redis_namespace: str) -> None:
    result = await run_cli("enums", "dealstage", env=cli_env(None, redis_namespace))
    assert result.code == 2 and "'dealstage' is not one of: ownertype" in result.err
