"""The totals of a soak run, from the figures it wrote (``SOAK_REPORT``), as Markdown.

``python -m tests.reliability.summary REPORT.json`` prints the table that
docs/reliability.md quotes: what was done to the service, and what went wrong (the
last rows must all be 0). Exit code 2 when the report cannot be read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# (label, figure key): summed over every test of the run that reported it.
DONE = (
    ("events accepted by the ingress", "events_accepted"),
    ("records checked afterwards (each processed after its last event)", "records_checked"),
    ("merges", "merges"),
    ("user actions on the portal", "user_actions"),
    ("workers killed (SIGKILL)", "kills"),
    ("worker restarts after a kill", "worker_restarts"),
    ("worker exits when Redis vanished (restarted)", "worker_exits"),
    ("workers stopped (SIGTERM)", "worker_sigterms"),
    ("ingress stopped (SIGTERM) and restarted", "ingress_sigterms"),
    ("Redis restarts", "redis_outages"),
    ("events the portal lost (delivery off)", "events_lost"),
    ("events refused while the ingress restarted", "events_refused_while_the_ingress_restarted"),
    ("bad inputs sent to the ingress", "bad_inputs"),
    ("`OPERATION_TIME_LIMIT` refusals", "operating_limit_refusals"),
    ("`OVERLOAD_LIMIT` refusals", "overload_refusals"),
    ("requests reaching the portal while `OVERLOAD_LIMIT` blocked us", "requests_while_blocked"),
)
FAULTS = (
    ("`QUERY_LIMIT_EXCEEDED` answers", "QUERY_LIMIT_EXCEEDED"),
    ("`INTERNAL_SERVER_ERROR` answers", "INTERNAL_SERVER_ERROR"),
    ("connections dropped unanswered", "dropped_connections"),
    ("answers later than the client's read timeout", "answers_past_the_read_timeout"),
)
WRONG = (
    ("events lost", "lost_events"),
    ("merges done twice", "double_merges"),
    ("merges unrecorded or half-way", "unrecorded_merges"),
    ("5xx answers to bad input", "answers_5xx"),
    ("problems found by the invariants", "problems"),
)


def total(tests: Iterable[dict[str, Any]], key: str) -> int:
    return sum(int(figures.get(key, 0)) for figures in tests)


def summary(report: dict[str, dict[str, Any]]) -> str:
    tests = list(report.values())
    faults = [t.get("faults", {}) for t in tests]
    rows = [(label, total(tests, key)) for label, key in DONE]
    rows += [(label, total(faults, key)) for label, key in FAULTS]
    rows += [(f"**{label}**", total(tests, key)) for label, key in WRONG]
    seconds = sum(float(t.get("seconds", 0)) for t in tests)
    lines = [
        f"{len(tests)} tests, {seconds / 60:.0f} minutes",
        "",
        "| | count |",
        "|---|---:|",
        *(f"| {label} | {count:,} |" for label, count in rows),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.reliability.summary REPORT.json", file=sys.stderr)
        return 2
    try:
        report = json.loads(Path(argv[0]).read_text())
        text = summary(report)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        print(f"cannot read the soak report {argv[0]}: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
