"""``b24-dedupe restore``: the whole service merges two contacts, the administrator
restores the one deleted, and the service leaves it alone afterwards.

Emulator -> events -> ingress -> Redis -> worker, all real; the command runs as a
subprocess with the environment an administrator would give it.
"""

from __future__ import annotations

import re

from b24_dedupe.audit import AuditEntry
from b24_dedupe.decisions import Decision, Outcome
from tests.admin.conftest import RunCli, cli_env
from tests.worker.conftest import Stack, StartStack


def env_of(stack: Stack) -> dict[str, str]:
    return cli_env(
        stack.emulator.webhook_url,
        stack.settings.redis_prefix,
        B24_RPS=str(stack.settings.b24_rps),
        B24_BURST=str(stack.settings.b24_burst),
    )


async def merged_pair(stack: Stack) -> tuple[int, int, AuditEntry]:
    """Two records of one person, merged by the service: (survivor, deleted, entry)."""
    first = await stack.add(
        "CONTACT", NAME="Ivan", LAST_NAME="Petrov", PHONE=["+7 (999) 123-45-67"]
    )
    await stack.settle()
    second = await stack.add(
        "CONTACT",
        NAME="Ivan",
        LAST_NAME="Petrov",
        POST="Engineer",
        COMMENTS="met at the fair",
        UF_CRM_1750854801="vip",
        PHONE=["89991234567"],
        EMAIL=["ivan@example.com"],
        WEB=[{"VALUE": "https://ivan.example", "VALUE_TYPE": "HOME"}],
    )
    await stack.settle()
    assert not await stack.exists("CONTACT", second)
    entry = await stack.last_decision("CONTACT", second)
    assert entry.decision == Decision.MERGED and entry.outcome["deleted"] == [second]
    return first, second, entry


def values(record: dict[str, object], code: str) -> list[tuple[object, object]]:
    items = record.get(code) or []
    assert isinstance(items, list)
    return [(item["VALUE"], item["VALUE_TYPE"]) for item in items]


async def test_restore_recreates_the_deleted_record(
    start_stack: StartStack, run_cli: RunCli
) -> None:
    stack = await start_stack()
    first, second, entry = await merged_pair(stack)
    snapshot = entry.snapshots[str(second)]

    result = await run_cli("restore", entry.id, env=env_of(stack))
    assert result.code == 0, result.text
    match = re.search(rf"^contact {second} -> (\d+)$", result.out, re.MULTILINE)
    assert match, result.out
    new_id = int(match.group(1))
    assert new_id != second
    await stack.settle()

    # The record is back, with its fields and every phone, e-mail and website.
    assert await stack.exists("CONTACT", new_id) and await stack.exists("CONTACT", first)
    restored = stack.record("CONTACT", new_id)
    for code in ("NAME", "LAST_NAME", "POST", "COMMENTS", "UF_CRM_1750854801", "ASSIGNED_BY_ID"):
        assert restored[code] == snapshot[code], code
    assert values(restored, "PHONE") == [("89991234567", "WORK")]
    assert values(restored, "EMAIL") == [("ivan@example.com", "WORK")]
    assert values(restored, "WEB") == [("https://ivan.example", "HOME")]
    # Fields the portal sets are its own, not copied from the snapshot.
    assert restored["ID"] == str(new_id) and restored["HAS_PHONE"] == "Y"
    assert restored["PHONE"][0]["ID"] != snapshot["PHONE"][0]["ID"]

    # The service saw the new record and, as told, did not merge it again.
    decision = await stack.last_decision("CONTACT", new_id)
    assert decision.decision == Decision.NO_MERGE
    assert decision.excluded[str(first)] == "marked as not duplicates"

    # The restore is in the audit, naming the merge it undid.
    (restore_entry,) = [
        e for e in await stack.decisions("CONTACT", first) if e.decision == Decision.RESTORED
    ]
    assert restore_entry.outcome == {
        "status": Outcome.SUCCESS,
        "restored_from": entry.id,
        "created": {str(second): new_id},
        "survivor_reset": ["COMMENTS", "EMAIL", "POST", "UF_CRM_1750854801", "WEB"],
    }
    # The survivor is as it was before the merge: what the merge gave it is taken back.
    survivor, before = stack.record("CONTACT", first), entry.snapshots[str(first)]
    for code in ("NAME", "LAST_NAME", "POST", "COMMENTS", "UF_CRM_1750854801"):
        assert (survivor.get(code) or "") == (before.get(code) or ""), code
    for code in ("PHONE", "EMAIL", "WEB"):
        assert values(survivor, code) == values(before, code), code
    assert restore_entry.group == [first, new_id]
    assert restore_entry.snapshots[str(new_id)]["NAME"] == "Ivan"
    assert f"audit entry {restore_entry.id}: restored, SUCCESS" in result.out

    # A second restore of the same merge is refused: it would make a duplicate.
    again = await run_cli("restore", entry.id, env=env_of(stack))
    assert again.code == 2
    assert f"merge {entry.id} was restored already" in again.err and "--force" in again.err
    assert sorted(stack.emulator.engine.portal.records["CONTACT"]) == [first, new_id]


async def test_dry_run_changes_nothing(start_stack: StartStack, run_cli: RunCli) -> None:
    stack = await start_stack()
    first, second, entry = await merged_pair(stack)
    before = await stack.audit.latest(1000)

    result = await run_cli("restore", entry.id, "--dry-run", env=env_of(stack))
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert lines[0] == f"would create contact {second} again (with a new ID):"
    assert "  PHONE: 89991234567 (WORK)" in lines
    assert "  EMAIL: ivan@example.com (WORK)" in lines
    assert "  UF_CRM_1750854801: vip" in lines
    (left_out,) = [line for line in lines if "left out, set by the portal" in line]
    for code in ("ID", "DATE_CREATE", "CREATED_BY_ID", "HAS_PHONE"):
        assert code in left_out.split(": ", 1)[1].split(", ")
    assert not any(line.startswith(("  ID:", "  DATE_CREATE:")) for line in lines)

    assert sorted(stack.emulator.engine.portal.records["CONTACT"]) == [first]
    assert [e.id for e in await stack.audit.latest(1000)] == [e.id for e in before]


async def test_refuses_what_is_not_a_successful_merge(
    start_stack: StartStack, run_cli: RunCli
) -> None:
    stack = await start_stack()
    lonely = await stack.add("CONTACT", NAME="Olga", PHONE=["+7 912 000-11-22"])
    await stack.settle()
    entry = await stack.last_decision("CONTACT", lonely)
    assert entry.decision == Decision.NO_MERGE

    result = await run_cli("restore", entry.id, env=env_of(stack))
    assert result.code == 2
    assert f"audit entry {entry.id} cannot be restored" in result.err
    assert "not a successful merge (decision no_merge" in result.err

    missing = await run_cli("restore", "20990101T000000Z-000000", env=env_of(stack))
    assert missing.code == 2 and "no audit entry 20990101T000000Z-000000" in missing.err
    assert sorted(stack.emulator.engine.portal.records["CONTACT"]) == [lonely]
    assert not [e for e in await stack.audit.latest(1000) if e.decision == Decision.RESTORED]
