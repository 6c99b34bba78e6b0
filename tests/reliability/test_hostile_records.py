"""Records with hostile content go through the worker processes and into the audit.

Names of 100 000 characters, control characters, HTML, emoji, e-mails that are not
e-mails, and a customer with 3 000 phones and 500 e-mails whose twin carries one of
them: findbycomm is asked 20 values at a time (hundreds of calls, packed into
batches), the merge locks every one of the group's values in one script, and the
audit entry holds both records whole. The workers must not crash (no restart), the
merge must happen once, and the audit must read back exactly as the records were,
through the ``b24-dedupe audit`` command too.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from b24.emulator.fields import ENTITY_TYPES
from b24_dedupe.decisions import Decision
from commands.main import build_parser
from tests.reliability.conftest import Cluster, StartCluster, elapsed

CONTACT = ENTITY_TYPES["CONTACT"]
WILD = "<script>alert('x')</script><img src=x onerror=alert(1)>\x00\x07\x1b[31m\u202e😀🇷🇺"
MANY_PHONES = 3000
MANY_EMAILS = 500


def phones(count: int, first: int = 0) -> list[dict[str, str]]:
    return [
        {"VALUE": f"+7 (901) {n // 10000:03d}-{n % 10000 // 100:02d}-{n % 100:02d}"}
        for n in range(first, first + count)
    ]


async def audit_command(cluster: Cluster, *args: str) -> str:
    code, out = await cluster.command("audit", *args)
    assert code == 0, out
    return out


async def test_hostile_records_go_through_without_crash_or_a_corrupt_audit(
    start_cluster: StartCluster, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    cluster = await start_cluster(workers=2, job_timeout_seconds=60)
    portal = cluster.emulator.engine.portal
    many = portal.add(
        CONTACT,
        {
            "NAME": "Mnogo" + WILD,
            "LAST_NAME": "Telefonov",
            "COMMENTS": "long " * 20_000,
            "PHONE": phones(MANY_PHONES),
            "EMAIL": [{"VALUE": f"box{n}@many.example"} for n in range(MANY_EMAILS)],
        },
    )
    twin = portal.add(
        CONTACT,
        {"NAME": "Mnogo" + WILD, "PHONE": phones(1, first=MANY_PHONES - 1)},
    )
    hostile = [
        {"NAME": "N" * 100_000, "PHONE": [{"VALUE": "9" * 10_000}]},
        {"NAME": WILD, "EMAIL": [{"VALUE": "😀@😀"}, {"VALUE": "not an e-mail"}]},
        {"NAME": "\x00", "PHONE": [{"VALUE": "\x00\x01+7 (902) 000-00-01\x7f"}]},
        {"NAME": "Tab\tNew\nLine\r", "EMAIL": [{"VALUE": " A\x00@b.example "}]},
        {"NAME": "&lt;b&gt;", "LAST_NAME": '"; DROP TABLE b_crm_contact; --'},
        {"NAME": "\ud7ff\ue000\uffff", "PHONE": [{"VALUE": "+7 (903) 555-00-11 доб. 😀"}]},
    ]
    ids = [portal.add(CONTACT, fields) for fields in hostile]
    # the same hostile values once more: duplicates of hostile records
    ids += [portal.add(CONTACT, fields) for fields in hostile[1:]]
    findings = await cluster.finish()
    assert findings.problems == [], "\n".join(findings.problems)
    assert cluster.worker_exits == []  # no worker died
    stats = await cluster.control("/_emulator/stats")
    assert not portal.exists(CONTACT, twin) and portal.exists(CONTACT, many)
    audit = await cluster.audit()
    (merge,) = [e for e in audit if e.decision == Decision.MERGED and twin in e.group]
    assert merge.snapshots[str(many)]["NAME"] == "Mnogo" + WILD
    assert len(merge.snapshots[str(many)]["PHONE"]) == MANY_PHONES
    survivor = portal.get(CONTACT, many)
    assert len(survivor["PHONE"]) == MANY_PHONES and survivor["NAME"] == "Mnogo" + WILD
    # The audit reads back whole through the command an administrator uses.
    shown = json.loads(await audit_command(cluster, "--json", "show", merge.id))
    assert shown == json.loads(merge.to_json())
    listed = (await audit_command(cluster, "--json", "list")).rstrip("\n").split("\n")
    assert len(listed) == min(50, len(audit)) and all(json.loads(line) for line in listed)
    exported = list(csv.DictReader(io.StringIO(await audit_command(cluster, "export"))))
    assert len(exported) == len(audit)
    figures.update(
        seconds=elapsed(started),
        hostile_records=len(ids) + 2,
        findbycomm_calls=stats["commands"].get("crm.duplicate.findbycomm", 0),
        portal_requests=stats["http_requests"],
        audit_entry_bytes=len(merge.to_json()),
        decisions=findings.decisions,
    )


def test_audit_options_before_the_action_are_kept() -> None:
    # argparse lets an action's own option defaults overwrite the ones given before it.
    parser = build_parser()
    for argv in (["audit", "--json", "list"], ["audit", "list", "--json"], ["audit", "--json"]):
        assert parser.parse_args(argv).json, argv
    assert parser.parse_args(["audit", "--json", "show", "x"]).json
    assert parser.parse_args(["audit", "--limit", "5", "list"]).limit == 5
    assert not parser.parse_args(["audit", "show", "x"]).json
    assert parser.parse_args(["audit"]).limit == 50
