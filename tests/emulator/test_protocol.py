"""How requests reach methods: paths, verbs, parameter encodings, auth, the envelope."""

from __future__ import annotations

import aiohttp

from b24.emulator.server import RunningEmulator
from tests.emulator.conftest import Rest

TIME_KEYS = {
    "start",
    "finish",
    "duration",
    "processing",
    "date_start",
    "date_finish",
    "operating_reset_at",
    "operating",
}


async def test_success_envelope_has_result_and_time(rest: Rest) -> None:
    status, body = await rest("crm.contact.add", {"fields": {"NAME": "Anna"}})
    assert status == 200
    assert isinstance(body["result"], int)
    assert set(body["time"]) == TIME_KEYS
    assert body["time"]["finish"] >= body["time"]["start"]
    assert body["time"]["date_start"].endswith("+03:00")


async def test_json_suffix_get_and_query_string(
    http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    url = emulator.webhook_url + "crm.contact.add.json?fields[NAME]=Query&fields[LAST_NAME]=Str"
    async with http.get(url) as response:
        assert response.status == 200
        new_id = (await response.json())["result"]
    async with http.get(emulator.webhook_url + f"crm.contact.get?id={new_id}") as response:
        record = (await response.json())["result"]
    assert (record["NAME"], record["LAST_NAME"]) == ("Query", "Str")


async def test_form_body_with_php_keys(
    http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = (
        "fields[NAME]=Form&fields[PHONE][0][VALUE]=%2B7+999+000-11-22"
        "&fields[PHONE][0][VALUE_TYPE]=MOBILE&fields[EMAIL][][VALUE]=f@example.com"
    )
    async with http.post(
        emulator.webhook_url + "crm.lead.add",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        new_id = (await r.json())["result"]
    async with http.post(
        emulator.webhook_url + "crm.lead.get",
        data=f"id={new_id}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        lead = (await r.json())["result"]
    assert lead["PHONE"][0]["VALUE"] == "+7 999 000-11-22"
    assert lead["PHONE"][0]["VALUE_TYPE"] == "MOBILE"
    assert lead["EMAIL"][0]["VALUE"] == "f@example.com"


async def test_body_wins_over_query_string(
    http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    url = emulator.webhook_url + "crm.contact.add?fields[NAME]=FromQuery"
    async with http.post(url, json={"fields": {"NAME": "FromBody"}}) as r:
        new_id = (await r.json())["result"]
    async with http.get(emulator.webhook_url + f"crm.contact.get?id={new_id}") as r:
        assert (await r.json())["result"]["NAME"] == "FromBody"


async def test_method_names_are_case_insensitive(rest: Rest) -> None:
    status, body = await rest("CRM.Duplicate.VolatileType.List")
    assert status == 200
    assert body["result"] == []


async def test_wrong_secret_is_401_no_auth_found(
    http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    url = emulator.root + "/rest/1/not-the-secret/crm.contact.list"
    async with http.post(url) as response:
        assert response.status == 401
        assert await response.json() == {
            "error": "NO_AUTH_FOUND",
            "error_description": "Wrong authorization data",
        }
    async with http.post(emulator.root + f"/rest/2/{emulator.config.secret}/crm.contact.list") as r:
        assert r.status == 401


async def test_unknown_method_is_404(rest: Rest) -> None:
    status, body = await rest("crm.contact.fly")
    assert status == 404
    assert body["error"] == "ERROR_METHOD_NOT_FOUND"


async def test_broken_json_is_a_400_with_reason(
    http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    async with http.post(
        emulator.webhook_url + "crm.contact.list",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert "JSON" in (await response.json())["error_description"]


async def test_secret_is_not_in_answers(rest: Rest, emulator: RunningEmulator) -> None:
    _, body = await rest("crm.contact.get", {"id": 999})
    assert emulator.config.secret not in str(body)
