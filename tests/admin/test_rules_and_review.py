"""Field rules settle what Bitrix24 would refuse; the review queue holds the rest.

The whole service (emulator -> events -> ingress -> Redis -> worker) with a rules file;
the commands run as subprocesses with the environment an administrator would give.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from b24_dedupe.decisions import Decision, Outcome
from b24_dedupe.review import ReviewQueue, ReviewReason
from tests.admin.conftest import RunCli
from tests.admin.test_restore import env_of, values
from tests.worker.conftest import Stack, StartStack

RULES = """
[contact]
POST = "newest"
ASSIGNED_BY_ID = "survivor"
"""


async def two_managers(stack: Stack) -> tuple[int, int]:
    """One person entered twice: another job title since, another manager."""
    first = await stack.add(
        "CONTACT", NAME="Oleg", LAST_NAME="Sidorov", POST="Engineer", ASSIGNED_BY_ID=1,
        PHONE=["+7 (912) 000-11-22"], EMAIL=["oleg@home.example"],
    )  # fmt: skip
    await stack.settle()
    second = await stack.add(
        "CONTACT", NAME="Oleg", LAST_NAME="Sidorov", POST="Chief engineer", ASSIGNED_BY_ID=7,
        PHONE=["8 912 000 11 22"], EMAIL=["oleg@work.example"],
    )  # fmt: skip
    await stack.settle()
    return first, second


async def test_rules_settle_the_fields_then_restore_brings_every_record_back(
    start_stack: StartStack, run_cli: RunCli, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    stack = await start_stack(merge_rules_file=str(rules))
    first, second = await two_managers(stack)
    assert not await stack.exists("CONTACT", second)
    (entry,) = [e for e in await stack.decisions("CONTACT", first) if e.group == [first, second]]
    before_first, before_second = entry.snapshots[str(first)], entry.snapshots[str(second)]
    assert entry.decision == Decision.MERGED, entry.reason
    assert "POST (newest)" in entry.reason and "ASSIGNED_BY_ID (survivor)" in entry.reason
    # Every value written first, with its value before, is in the audit.
    assert entry.writes == {
        str(first): {"POST": {"before": "Engineer", "after": "Chief engineer"}},
        str(second): {"ASSIGNED_BY_ID": {"before": "7", "after": "1"}},
    }
    assert entry.snapshots[str(second)]["ASSIGNED_BY_ID"] == "7"  # stored before the write
    survivor = stack.record("CONTACT", first)
    assert survivor["POST"] == "Chief engineer" and survivor["ASSIGNED_BY_ID"] == "1"
    assert sorted(v for v, _ in values(survivor, "EMAIL")) == [
        "oleg@home.example",
        "oleg@work.example",
    ]
    assert stack.emulator.engine.stats.commands["crm.entity.mergebatch"] == 1

    result = await run_cli("restore", entry.id, env=env_of(stack))
    assert result.code == 0, result.text
    await stack.settle()
    match = re.search(rf"^contact {second} -> (\d+)$", result.out, re.MULTILINE)
    assert match, result.out
    new_id = int(match.group(1))
    restored, survivor = stack.record("CONTACT", new_id), stack.record("CONTACT", first)
    for code in ("NAME", "LAST_NAME", "POST", "ASSIGNED_BY_ID"):
        assert restored[code] == before_second[code], code
        assert survivor[code] == before_first[code], code
    for code in ("PHONE", "EMAIL"):
        assert values(restored, code) == values(before_second, code), code
        assert values(survivor, code) == values(before_first, code), code


async def test_without_rules_the_group_waits_once_and_a_person_merges_it(
    start_stack: StartStack, run_cli: RunCli
) -> None:
    stack = await start_stack()
    first, second = await two_managers(stack)
    # The survivor's own update event looks at the group again: still one group.
    await stack.call("crm.contact.update", {"id": first, "fields": {"COMMENTS": "called"}})
    await stack.settle()
    assert await stack.exists("CONTACT", first) and await stack.exists("CONTACT", second)
    assert stack.emulator.engine.stats.commands["crm.entity.mergebatch"] == 0

    env = env_of(stack)
    listed = await run_cli("review", "list", "--json", env=env)
    assert listed.code == 0, listed.text
    (group,) = [json.loads(line) for line in listed.out.splitlines()]
    assert group["type"] == "contact" and group["records"] == [first, second]
    assert group["reason"] == ReviewReason.RULE
    assert group["fields"] == ["ASSIGNED_BY_ID", "POST"]

    bad = await run_cli("review", "merge", group["id"], "--field", "POST=999", env=env)
    assert bad.code == 2 and "record 999 is not in group" in bad.err
    half = await run_cli("review", "merge", group["id"], "--field", "POST=" + str(second), env=env)
    assert half.code == 1 and Decision.REVIEW in half.out  # ASSIGNED_BY_ID is still open
    merged = await run_cli(
        "review", "merge", group["id"],
        "--field", f"POST={second}", "--field", f"ASSIGNED_BY_ID={second}", env=env,
    )  # fmt: skip
    assert merged.code == 0, merged.text
    assert merged.out.startswith(f"{Decision.MERGED}, {Outcome.SUCCESS}")
    await stack.settle()
    assert not await stack.exists("CONTACT", second)
    survivor = stack.record("CONTACT", first)
    assert (survivor["POST"], survivor["ASSIGNED_BY_ID"]) == ("Chief engineer", "7")
    assert await ReviewQueue(stack.redis, stack.keys).count() == 0
    after = await run_cli("review", "list", env=env)
    assert after.out.strip() == "0 group(s) waiting"


async def test_a_dismissed_group_is_never_merged(start_stack: StartStack, run_cli: RunCli) -> None:
    stack = await start_stack()
    first, second = await two_managers(stack)
    queue = ReviewQueue(stack.redis, stack.keys)
    (group,) = await queue.page()
    dismissed = await run_cli("review", "dismiss", group.id, env=env_of(stack))
    assert dismissed.code == 0 and dismissed.out.startswith(Decision.DISMISSED)
    await stack.call("crm.contact.update", {"id": second, "fields": {"COMMENTS": "again"}})
    await stack.settle()
    entry = await stack.last_decision("CONTACT", second)
    assert entry.decision == Decision.NO_MERGE
    assert entry.excluded[str(first)] == "marked as not duplicates"
    assert await queue.count() == 0


async def test_a_rules_file_that_does_not_fit_is_refused(
    start_stack: StartStack, run_cli: RunCli, tmp_path: Path
) -> None:
    stack = await start_stack()
    env = env_of(stack)
    cases = {
        '[contact]\nPOST = "sometimes"\n': "unknown rule 'sometimes'",
        '[deal]\nTITLE = "survivor"\n': "[deal] is not a record type",
        '[contact]\nPHONE = "survivor"\n': "PHONE is not settled by rules",
        '[contact]\nUF_CRM_NOPE = "survivor"\n': "the portal has no such contact field",
        '[contact]\nDATE_CREATE = "oldest"\n': "read-only on the portal",
        '[contact]\nASSIGNED_BY_ID = "join"\n': '"join" needs a text or multiple field',
        "[contact\n": "not TOML",
    }
    for text, message in cases.items():
        rules = tmp_path / "rules.toml"
        rules.write_text(text)
        result = await run_cli("rules", env={**env, "MERGE_RULES_FILE": str(rules)})
        assert result.code == 2, (text, result.text)
        assert message in result.err and "Traceback" not in result.err, (text, result.err)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES + '[company]\nBANKING_DETAILS = "join"\n')
    shown = await run_cli("rules", "--type", "contact", env={**env, "MERGE_RULES_FILE": str(rules)})
    assert shown.code == 0, shown.text
    lines = {line.split()[0]: line for line in shown.out.splitlines() if line.strip()}
    assert "newest (rules file)" in lines["POST"]
    assert "review (default)" in lines["TYPE_ID"]
    assert "left to Bitrix24" in lines["COMMENTS"] and "joined" in lines["COMMENTS"]
    assert "identity rules (names)" in lines["NAME"]
