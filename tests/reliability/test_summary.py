"""The soak report's totals (tests.reliability.summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.summary import main, summary


def test_totals_add_up_over_the_tests() -> None:
    report = {
        "kills": {"events_accepted": 10, "kills": 3, "lost_events": 0, "seconds": 60},
        "portal": {"events_accepted": 5, "faults": {"dropped_connections": 4}, "seconds": 60},
        "fuzz": {"bad_inputs": 1000, "answers_5xx": 1, "seconds": 60},
    }
    text = summary(report)
    assert text.startswith("3 tests, 3 minutes")
    assert "| events accepted by the ingress | 15 |" in text
    assert "| connections dropped unanswered | 4 |" in text
    assert "| bad inputs sent to the ingress | 1,000 |" in text
    assert "| **5xx answers to bad input** | 1 |" in text


def test_an_unreadable_report_is_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing.json")]) == 2
    (tmp_path / "bad.json").write_text(json.dumps({"t": {"kills": "many"}}))
    assert main([str(tmp_path / "bad.json")]) == 2
    assert "cannot read the soak report" in capsys.readouterr().err
    assert main([]) == 2
