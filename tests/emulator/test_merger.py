"""crm.entity.mergeBatch over real HTTP, case by case from ``tests/merger_cases.py``.

Each case creates its records on a fresh emulator (in the case's language, with its
custom fields), merges them, and checks the answer, the survivor, what was deleted,
and the first conflicting field the emulator's stats name. The cases cite the Bitrix24
source lines they follow.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from b24.crm import EntityType, MergeStatus
from b24.emulator.server import RunningEmulator
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call
from tests.merger_cases import CASES, MISSING, MergeCase

NO_SUCH_ID = 987654
DATES = {
    "ru": r"\d\d\.\d\d\.\d{4} \d\d:\d\d",
    "en": r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d [ap]m",
}


async def call(
    http: aiohttp.ClientSession, emulator: RunningEmulator, method: str, params: dict[str, Any]
) -> tuple[int, Any]:
    return await rest_call(http, emulator, method, params)


async def create(
    http: aiohttp.ClientSession, emulator: RunningEmulator, case: MergeCase
) -> list[int]:
    entity = EntityType(case.entity)
    ids = []
    for fields in case.records:
        status, body = await call(http, emulator, entity.methods.add, {"fields": fields})
        assert status == 200, body
        ids.append(int(body["result"]))
    return ids


async def read(
    http: aiohttp.ClientSession, emulator: RunningEmulator, entity: EntityType, entity_id: int
) -> dict[str, Any] | None:
    status, body = await call(http, emulator, entity.methods.get, {"id": entity_id})
    if status == 400 and body.get("error_description") == "Not found":
        return None
    assert status == 200, body
    result: dict[str, Any] = body["result"]
    return result


def shown(record: dict[str, Any], code: str) -> Any:
    value = record.get(code)
    if code in ("PHONE", "EMAIL", "WEB", "IM"):
        return [item["VALUE"] for item in value or []]
    return value


def matches(expected: Any, actual: Any, language: str) -> bool:
    if isinstance(expected, str) and "{date}" in expected:
        pattern = DATES[language].join(re.escape(part) for part in expected.split("{date}"))
        return isinstance(actual, str) and re.fullmatch(pattern, actual) is not None
    return bool(expected == actual)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_merge_case(
    case: MergeCase, start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    seed = {"user_fields": {case.entity: case.user_fields}} if case.user_fields else None
    emulator = await start_emulator(seed=seed, rps=1000.0, burst=1000, language=case.language)
    entity = EntityType(case.entity)
    ids = await create(http, emulator, case)
    before = {i: await read(http, emulator, entity, i) for i in ids}

    def id_at(position: int) -> int:
        return NO_SUCH_ID if position == MISSING else ids[position - 1]

    entity_ids = [id_at(p) for p in case.positions]
    status, body = await call(
        http,
        emulator,
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": entity.type_id, "entityIds": entity_ids}},
    )
    assert status == 200, body
    answer = body["result"]
    assert answer == {
        "STATUS": case.status,
        "ENTITY_IDS": [id_at(p) for p in case.answer_ids],
    }, case.source

    async with http.get(emulator.root + "/_emulator/stats") as response:
        merges = (await response.json())["merges"]
    if case.conflict_field is not None:
        assert merges["conflict_fields"] == {f"{case.entity}.{case.conflict_field}": 1}
    else:
        assert merges["conflict_fields"] == {}

    survivor_position = next(p for p in case.positions if p != MISSING)
    survivor_id = id_at(survivor_position)
    seeds = {id_at(p) for p in case.answer_ids} - {survivor_id}
    after = {i: await read(http, emulator, entity, i) for i in ids}
    if case.status == MergeStatus.CONFLICT:
        assert after == before, "a CONFLICT writes nothing (entitymerger.php:410-436)"
        return
    assert all(after[i] is None for i in seeds), "every seed is deleted"
    survivor = after[survivor_id]
    assert survivor is not None
    for code, expected in case.expected.items():
        actual = shown(survivor, code)
        assert matches(expected, actual, case.language), (code, expected, actual, case.source)
