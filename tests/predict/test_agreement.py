"""The worker's predictor and the emulator's merger agree, case by case.

Two implementations of Bitrix24's merger, written apart from the same Bitrix24
source (``b24.predict`` and ``b24.emulator``; import-linter keeps them apart): each
case of ``tests/merger_cases.py`` is created on an emulator, read back as the worker
reads records (``crm.*.get``, ``crm.*.fields``), predicted, then merged for real. The
verdict, the first refusing field and the survivor's fields must be the same.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from b24.crm import EntityType, MergeStatus
from b24.predict import predict_merge
from tests.conftest import StartEmulator
from tests.emulator.test_merger import NO_SUCH_ID, call, create, matches, read, shown
from tests.merger_cases import CASES, MISSING, MergeCase

# Bindings to other records (a contact's company, a lead's contact) are moved by the
# merger's rebind step, not by its field rules; the worker needs no prediction of them.
BINDINGS = frozenset({"COMPANY_ID", "CONTACT_ID", "COMPANY_IDS", "CONTACT_IDS"})


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_prediction_agrees_with_the_emulator(
    case: MergeCase, start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    seed = {"user_fields": {case.entity: case.user_fields}} if case.user_fields else None
    emulator = await start_emulator(seed=seed, rps=1000.0, burst=1000, language=case.language)
    entity = EntityType(case.entity)
    ids = await create(http, emulator, case)
    status, body = await call(http, emulator, entity.methods.fields, {})
    assert status == 200, body
    fields: dict[str, Any] = body["result"]

    def id_at(position: int) -> int:
        return NO_SUCH_ID if position == MISSING else ids[position - 1]

    entity_ids = [id_at(p) for p in case.positions]
    # The worker passes the records that exist, in the request's order (repeats kept).
    read_back = [await read(http, emulator, entity, i) for i in entity_ids]
    records = [r for r in read_back if r is not None]
    verdict = predict_merge(entity, records, fields, language=case.language)

    status, body = await call(
        http,
        emulator,
        "crm.entity.mergeBatch",
        {"params": {"entityTypeId": entity.type_id, "entityIds": entity_ids}},
    )
    assert status == 200, body
    answer = body["result"]
    assert verdict.status == answer["STATUS"] == case.status, (verdict.reason, case.source)
    if case.conflict_field is not None:
        # The merger stops at the first refusing field; the prediction lists them all.
        assert case.conflict_field == verdict.conflicts[0].code, case.source
    if case.status != MergeStatus.SUCCESS:
        return
    assert verdict.survivor == id_at(next(p for p in case.positions if p != MISSING))
    survivor = await read(http, emulator, entity, verdict.survivor)
    assert survivor is not None
    for code, expected in case.expected.items():
        if code in BINDINGS:
            continue
        predicted, actual = shown(verdict.merged, code), shown(survivor, code)
        if isinstance(expected, str) and "{date}" in expected:
            # A joined text carries the moment of the merge in the portal's time zone.
            assert matches(expected, predicted, case.language), (code, predicted, case.source)
        else:
            assert predicted == actual, (code, predicted, actual, case.source)
