"""The backfill's state on disk: rows and values, groups over shared values, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from b24.crm import EntityType
from worker.backfill.state import (
    DECIDE,
    READ,
    OutcomeRow,
    ScanState,
    StateMismatch,
    TypeProgress,
    value_hash,
)

CONTACT = EntityType.CONTACT
OWNER = {"portal": "p.example", "prefix": "t:", "mode": "dry-run", "types": "CONTACT"}


def record(rid: int, *values: str) -> tuple[int, bytes, list[int]]:
    return rid, json.dumps({"ID": str(rid)}).encode(), [value_hash(v) for v in values]


def test_values_link_records_into_groups_and_shared_values_link_nothing(tmp_path: Path) -> None:
    state = ScanState.open(tmp_path / "s.sqlite", owner=OWNER)
    progress = state.progress(CONTACT)
    assert progress.phase == READ
    switchboard = "PHONE:+74951000000"
    rows = [
        record(1, "PHONE:+79990000001", "EMAIL:a@x.io"),
        record(2, "EMAIL:a@x.io"),  # 1-2 by e-mail
        record(3, "PHONE:+79990000003", "EMAIL:c@x.io"),
        record(4, "PHONE:+79990000003"),  # 3-4 by phone
        record(5, "EMAIL:c@x.io", "PHONE:+79990000005"),  # 3-5: one group 3, 4, 5
        record(6, "PHONE:+79990000006"),  # alone
    ]
    rows += [record(100 + n, switchboard, f"EMAIL:r{n}@x.io") for n in range(5)]
    state.store(progress, rows[:4], read=4, last_id=4)
    state.store(progress, rows[4:], read=12, last_id=104)  # 6 rows with no evidence
    assert (progress.read, progress.stored, progress.last_id) == (16, 11, 104)
    state.build_groups(progress, shared_threshold=5)
    assert progress.phase == DECIDE
    assert [ids for _, ids in state.pending_groups(CONTACT)] == [[1, 2], [3, 4, 5]]
    assert progress.shared_values == 1  # the switchboard: 5 records, the threshold
    assert state.shared_hashes(CONTACT) == {value_hash(switchboard)}
    assert state.rows(CONTACT, [2, 5, 99]) == {2: {"ID": "2"}, 5: {"ID": "5"}}

    state.finish_group(
        progress, 1, [OutcomeRow("CONTACT", "would_merge", [1, 2], 1, "same identity")]
    )
    assert [gid for gid, _ in state.pending_groups(CONTACT)] == [2]
    assert state.tally(CONTACT).merged == 1
    state.close()

    # Reopened (a killed scan restarted): the same phase, groups and counts.
    again = ScanState.open(tmp_path / "s.sqlite", owner=OWNER)
    resumed = again.progress(CONTACT)
    assert (resumed.phase, resumed.groups, resumed.groups_done) == (DECIDE, 2, 1)
    assert [gid for gid, _ in again.pending_groups(CONTACT)] == [2]
    assert [o.group for o in again.outcomes()] == [[1, 2]]
    again.close()


def test_a_decision_made_again_after_a_restart_is_listed_once(tmp_path: Path) -> None:
    state = ScanState.open(tmp_path / "s.sqlite", owner=OWNER)
    progress = TypeProgress(CONTACT, phase=DECIDE, groups=1)
    merged = OutcomeRow("CONTACT", "merged", [1, 2], 1, "same identity", audit_id="a1")
    state.add_outcome(1, merged)  # kept before the kill
    state.add_outcome(1, OutcomeRow("CONTACT", "merged", [1, 2], 1, "same", audit_id="a2"))
    state.finish_group(progress, 1, [])
    assert [o.audit_id for o in state.outcomes()] == ["a1"]


def test_a_state_of_another_scan_is_refused_and_a_finished_one_starts_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    state = ScanState.open(path, owner=OWNER)
    progress = state.progress(CONTACT)
    state.store(progress, [record(1, "EMAIL:a@x.io")], read=1, last_id=1)
    state.close()
    with pytest.raises(StateMismatch, match=r"mode 'dry-run'.*--restart"):
        ScanState.open(path, owner={**OWNER, "mode": "auto"})
    restarted = ScanState.open(path, owner={**OWNER, "mode": "auto"}, restart=True)
    assert restarted.progress(CONTACT).last_id == 0
    restarted.finish()
    restarted.close()
    fresh = ScanState.open(path, owner=OWNER)  # finished: a new scan begins
    assert fresh.progress(CONTACT).read == 0 and fresh.meta()["mode"] == "dry-run"
    fresh.close()


def test_value_hashes_are_64_bit_and_stable() -> None:
    h = value_hash("PHONE:+79991234567")
    assert h == value_hash("PHONE:+79991234567") and -(2**63) <= h < 2**63
    assert h != value_hash("PHONE:+79991234568")
