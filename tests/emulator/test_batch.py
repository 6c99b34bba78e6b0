"""batch: up to 50 sub-calls, halt, $result references, per-command errors (Bitrix24 REST docs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.conftest import StartEmulator
from tests.emulator.conftest import Rest, rest_call

Ok = Callable[..., Awaitable[Any]]


async def test_results_errors_totals_and_times_by_key(ok: Ok) -> None:
    result = await ok(
        "batch",
        {
            "cmd": {
                "add": "crm.contact.add?fields[NAME]=B&fields[EMAIL][0][VALUE]=b@x.io",
                "get": "crm.contact.get?id=$result[add]",
                "missing": "crm.contact.get?id=99999",
                "list": "crm.contact.list?filter[NAME]=B",
            }
        },
    )
    new_id = result["result"]["add"]
    assert result["result"]["get"]["EMAIL"][0]["VALUE"] == "b@x.io"
    assert result["result"]["get"]["ID"] == str(new_id)
    assert result["result_error"] == {"missing": {"error": "", "error_description": "Not found"}}
    assert result["result_total"] == {"list": 1}
    assert result["result_next"] == []
    assert set(result["result_time"]) == {"add", "get", "missing", "list"}


async def test_reference_into_a_nested_field(ok: Ok) -> None:
    result = await ok(
        "batch",
        {
            "cmd": {
                "add": "crm.contact.add?fields[NAME]=Nested",
                "get": "crm.contact.get?id=$result[add]",
                "copy": (
                    "crm.lead.add?fields[TITLE]=$result[get][NAME]&fields[NAME]=x$result[get][ID]"
                ),
                "lead": "crm.lead.get?id=$result[copy]",
            }
        },
    )
    lead = result["result"]["lead"]
    assert lead["TITLE"] == "Nested"
    assert lead["NAME"] == "x" + str(result["result"]["add"])


async def test_halt_stops_at_the_first_error(ok: Ok) -> None:
    result = await ok(
        "batch",
        {
            "halt": 1,
            "cmd": {
                "a": "crm.contact.get?id=424242",
                "b": "crm.contact.add?fields[NAME]=NeverMade",
            },
        },
    )
    assert list(result["result_error"]) == ["a"]
    assert result["result"] == []
    assert await ok("crm.contact.list", {"filter": {"NAME": "NeverMade"}}) == []


async def test_list_of_commands_answers_lists(ok: Ok) -> None:
    result = await ok("batch", {"cmd": ["crm.enum.settings.mode", "crm.settings.mode.get"]})
    assert isinstance(result["result"], list) and result["result"][1] == 1


async def test_nested_batch_is_refused_per_command(ok: Ok) -> None:
    result = await ok("batch", {"cmd": {"inner": "batch?cmd[x]=crm.settings.mode.get"}})
    assert result["result_error"] == {
        "inner": {
            "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "error_description": "Method is not allowed for batch usage",
        }
    }


LENGTH_EXCEEDED = {
    "error": "ERROR_BATCH_LENGTH_EXCEEDED",
    "error_description": "Max batch length exceeded",
}


async def test_commands_past_fifty_are_not_run(ok: Ok) -> None:
    # rest_provider.php:283-362: the first 50 run, each further one is refused in
    # result_error; the batch answers 200.
    cmd = {f"c{i}": f"crm.contact.add?fields[NAME]=N{i}" for i in range(53)}
    result = await ok("batch", {"cmd": cmd})
    assert len(result["result"]) == 50
    assert result["result_error"] == {f"c{i}": LENGTH_EXCEEDED for i in (50, 51, 52)}
    assert len(await ok("crm.contact.list", {"select": ["ID"]})) == 50


async def test_with_halt_the_first_command_past_fifty_ends_the_batch(ok: Ok) -> None:
    # rest_provider.php:377-380: an error with halt stops the loop
    cmd = {f"c{i}": "crm.settings.mode.get" for i in range(53)}
    result = await ok("batch", {"cmd": cmd, "halt": 1})
    assert result["result_error"] == {"c50": LENGTH_EXCEEDED}


async def test_the_docs_refusal_of_the_whole_batch_can_be_chosen(
    start_emulator: StartEmulator, http: Any
) -> None:
    emulator = await start_emulator(rps=100, burst=100, batch_over_limit="docs")
    cmd = {f"c{i}": "crm.settings.mode.get" for i in range(51)}
    status, body = await rest_call(http, emulator, "batch", {"cmd": cmd})
    assert (status, body) == (400, LENGTH_EXCEEDED)


async def test_form_encoded_batch_counts_as_one_request(
    rest: Rest, ok: Ok, http: Any, emulator: Any
) -> None:
    async with http.delete(emulator.root + "/_emulator/stats"):
        pass
    status, body = await rest(
        "batch", {"cmd": {f"c{i}": "crm.enum.ownertype" for i in range(50)}}, form=True
    )
    assert status == 200 and len(body["result"]["result"]) == 50
    async with http.get(emulator.root + "/_emulator/stats") as response:
        stats = await response.json()
    assert stats["http_requests"] == 1 and stats["batch_requests"] == 1
    assert stats["commands"] == {"crm.enum.ownertype": 50}


async def test_unknown_method_inside_batch(ok: Ok) -> None:
    result = await ok("batch", {"cmd": {"x": "crm.nothing.here"}})
    assert result["result_error"]["x"]["error"] == "ERROR_METHOD_NOT_FOUND"
