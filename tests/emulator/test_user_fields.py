"""Custom fields with a type and a multiple flag (seed ``user_fields``), over real HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from b24.emulator.portal import Portal
from b24.emulator.seed import SeedError, load_seed
from tests.conftest import StartEmulator
from tests.emulator.conftest import rest_call

SEED = {
    "user_fields": {
        "CONTACT": {
            "UF_CRM_TAGS": {"title": "Tags", "type": "string", "multiple": True},
            "UF_CRM_SCORE": {"title": "Score", "type": "integer"},
            "UF_CRM_VIP": {"title": "VIP", "type": "boolean"},
            "UF_CRM_NOTE": "Note",
        }
    }
}


async def _ok(http: aiohttp.ClientSession, emulator: Any, method: str, params: Any) -> Any:
    status, body = await rest_call(http, emulator, method, params)
    assert status == 200 and "error" not in body, body
    return body["result"]


async def test_fields_describe_type_and_multiple(
    start_emulator: StartEmulator, http: aiohttp.ClientSession
) -> None:
    emulator = await start_emulator(seed=SEED, rps=100, burst=100)
    fields = await _ok(http, emulator, "crm.contact.fields", {})
    assert (fields["UF_CRM_TAGS"]["type"], fields["UF_CRM_TAGS"]["isMultiple"]) == ("string", True)
    assert (fields["UF_CRM_SCORE"]["type"], fields["UF_CRM_SCORE"]["isMultiple"]) == (
        "integer",
        False,
    )
    assert fields["UF_CRM_VIP"]["type"] == "boolean"
    assert fields["UF_CRM_NOTE"]["title"] == "Note" and fields["UF_CRM_NOTE"]["type"] == "string"
    assert fields["UF_CRM_1750854801"]["isDynamic"] is True  # the default field stays


@pytest.mark.parametrize("form", [False, True])
async def test_multiple_values_are_stored_as_lists(
    start_emulator: StartEmulator, http: aiohttp.ClientSession, form: bool
) -> None:
    emulator = await start_emulator(seed=SEED, rps=100, burst=100)
    fields = {"NAME": "A", "UF_CRM_TAGS": ["a", "b"], "UF_CRM_SCORE": 5, "UF_CRM_VIP": "Y"}
    status, body = await rest_call(http, emulator, "crm.contact.add", {"fields": fields}, form=form)
    assert status == 200, body
    new_id = body["result"]
    record = await _ok(http, emulator, "crm.contact.get", {"id": new_id})
    assert record["UF_CRM_TAGS"] == ["a", "b"]
    assert (record["UF_CRM_SCORE"], record["UF_CRM_VIP"]) == ("5", "1")
    await _ok(http, emulator, "crm.contact.update", {"id": new_id, "fields": {"UF_CRM_TAGS": "c"}})
    assert (await _ok(http, emulator, "crm.contact.get", {"id": new_id}))["UF_CRM_TAGS"] == ["c"]
    rows = await _ok(http, emulator, "crm.contact.list", {"select": ["ID", "UF_CRM_TAGS"]})
    assert rows == [{"ID": str(new_id), "UF_CRM_TAGS": ["c"]}]


def test_a_bad_user_field_definition_is_a_seed_error() -> None:
    with pytest.raises(SeedError, match="unknown user field type"):
        load_seed(Portal(), {"user_fields": {"LEAD": {"UF_CRM_X": {"type": "color"}}}})
    with pytest.raises(SeedError, match="multiple"):
        load_seed(Portal(), {"user_fields": {"LEAD": {"UF_CRM_X": {"multiple": "yes"}}}})
