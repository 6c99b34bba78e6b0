"""``b24-dedupe fields`` against the emulator's ``crm.duplicate.volatileType.*``."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from b24.emulator.server import RunningEmulator
from tests.admin.conftest import RunCli, cli_env

# The emulator's custom field on every entity type (b24.emulator.portal).
CUSTOM = "UF_CRM_1750854801"


async def rest(
    http: aiohttp.ClientSession, emulator: RunningEmulator, method: str, **params: Any
) -> Any:
    async with http.post(emulator.webhook_url + method, json=params) as response:
        body = await response.json()
    assert "error" not in body, body
    return body["result"]


@pytest.fixture
def env(
    emulator: RunningEmulator, redis_namespace: str, redis_client: aioredis.Redis
) -> dict[str, str]:
    return cli_env(emulator.webhook_url, redis_namespace)


async def test_add_list_and_remove_a_field(
    run_cli: RunCli, env: dict[str, str], emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    empty = await run_cli("fields", "list", env=env)
    assert empty.code == 0
    assert empty.out.splitlines() == [
        "no fields registered for duplicate search",
        "0 of 7 fields in use (leads, contacts and companies together)",
    ]

    added = await run_cli("fields", "add", "contact", CUSTOM.lower(), env=env)
    assert added.code == 0, added.text
    (registered,) = await rest(http, emulator, "crm.duplicate.volatileType.list")
    assert registered["entityTypeId"] == 3 and registered["fieldCode"] == CUSTOM
    assert added.out.startswith(f"added contact {CUSTOM} (String) as ID {registered['id']};")

    listed = await run_cli("fields", env=env)  # `list` is the default action
    header, row, usage = listed.out.splitlines()
    assert header.split() == ["ID", "ENTITY", "FIELD", "TITLE"]
    assert row.split() == [str(registered["id"]), "contact", CUSTOM, "String"]
    assert usage.startswith("1 of 7 fields in use")

    as_json = json.loads((await run_cli("fields", "list", "--json", env=env)).out)
    assert as_json == {
        "limit": 7,
        "used": 1,
        "fields": [
            {
                "id": registered["id"],
                "entity": "contact",
                "entityTypeId": 3,
                "fieldCode": CUSTOM,
                "fieldTitle": "String",
            }
        ],
    }

    again = await run_cli("fields", "add", "contact", CUSTOM, env=env)
    assert again.code == 0 and "already in use as ID" in again.out
    assert len(await rest(http, emulator, "crm.duplicate.volatileType.list")) == 1

    removed = await run_cli("fields", "remove", str(registered["id"]), env=env)
    assert removed.code == 0, removed.text
    assert removed.out.startswith(f"removed ID {registered['id']} (contact {CUSTOM})")
    assert await rest(http, emulator, "crm.duplicate.volatileType.list") == []


async def test_available_fields_of_one_entity_type(
    run_cli: RunCli, env: dict[str, str], emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    registered = await rest(
        http, emulator, "crm.duplicate.volatileType.register", entityTypeId=1, fieldCode="TITLE"
    )
    result = await run_cli("fields", "available", "--entity", "lead", "--json", env=env)
    assert result.code == 0, result.text
    rows = json.loads(result.out)
    offered = await rest(http, emulator, "crm.duplicate.volatileType.fields", entityTypeId=1)
    assert [r["fieldCode"] for r in rows] == [o["fieldCode"] for o in offered]
    assert {r["entity"] for r in rows} == {"lead"}
    in_use = {r["fieldCode"]: r["inUse"] for r in rows}
    assert in_use["TITLE"] == registered["id"] and in_use[CUSTOM] is None

    table = await run_cli("fields", "available", env=env)
    assert any(
        line.split()[:2] == ["company", "BANKING_DETAILS"] for line in table.out.splitlines()
    )


async def test_the_limit_of_seven(
    run_cli: RunCli, env: dict[str, str], emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    offered = await rest(http, emulator, "crm.duplicate.volatileType.fields")
    for field in offered[:7]:
        await rest(
            http,
            emulator,
            "crm.duplicate.volatileType.register",
            entityTypeId=field["entityTypeId"],
            fieldCode=field["fieldCode"],
        )
    spare = next(f for f in offered[7:] if f["entityTypeId"] == 4)
    result = await run_cli("fields", "add", "company", spare["fieldCode"], env=env)
    assert result.code == 1
    assert "all 7 fields are in use; remove one first" in result.err
    assert len(await rest(http, emulator, "crm.duplicate.volatileType.list")) == 7
    listed = await run_cli("fields", "list", env=env)
    assert listed.out.splitlines()[-1].startswith("7 of 7 fields in use")


async def test_wrong_arguments_exit_2(run_cli: RunCli, env: dict[str, str]) -> None:
    unknown = await run_cli("fields", "add", "contact", "UF_CRM_NOSUCH", env=env)
    assert unknown.code == 2
    assert "UF_CRM_NOSUCH is not offered for the duplicate search of contacts" in unknown.err
    no_entity = await run_cli("fields", "add", "deal", "TITLE", env=env)
    assert no_entity.code == 2 and "invalid choice: 'deal'" in no_entity.err
    not_an_id = await run_cli("fields", "remove", "abc", env=env)
    assert not_an_id.code == 2 and "'abc' is not a field ID" in not_an_id.err
    not_registered = await run_cli("fields", "remove", "99999", env=env)
    assert not_registered.code == 2
    assert "no field in the duplicate search has ID 99999" in not_registered.err
    for args in (("fields", "--help"), ("fields", "add", "--help")):
        helped = await run_cli(*args, env=env)
        assert helped.code == 0 and helped.out.startswith("usage: b24-dedupe fields")


async def test_without_a_webhook_exit_2(run_cli: RunCli, redis_namespace: str) -> None:
    result = await run_cli("fields", env=cli_env(None, redis_namespace))
    assert result.code == 2 and "B24_WEBHOOK_URL is not set" in result.err


async def test_a_refused_webhook_exit_2(
    run_cli: RunCli, emulator: RunningEmulator, redis_namespace: str
) -> None:
    wrong = emulator.webhook_url.replace(emulator.config.secret, "stale-secret-7")
    result = await run_cli("fields", env=cli_env(wrong, redis_namespace))
    assert result.code == 2
    assert f"portal 127.0.0.1:{emulator.port}: the webhook is not accepted" in result.err
    assert "stale-secret-7" not in result.text
