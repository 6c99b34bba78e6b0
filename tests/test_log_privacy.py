"""Personal data in the logs (issue 12), and what the worker's log carries per job (13).

Log lines are shipped to log stores, kept long and read widely: phones and e-mails
in them are masked unless ``LOG_PERSONAL_DATA=full``.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from b24_dedupe import logs
from b24_dedupe.settings import Settings

DECISION = {
    "audit_id": "20261127T210501Z-3f9a1c",
    "record": 12,
    "evidence": {"34": ["PHONE:+79991234567", "EMAIL:ivan.petrov@example.com"]},
    "excluded": {"EMAIL:info@shop.example": "generic mailbox", "PHONE:+74951112233": "shared"},
    "reason": "contact 34 shares +7 999 123-45-67 and ivan.petrov@example.com",
    "group": [12, 34],
    "duration": 0.25,
}
RAW = ("79991234567", "ivan.petrov", "74951112233", "999 123", "info@")


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for flag in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, flag, getattr(logging, flag))
    arq = logging.getLogger("arq.worker")
    monkeypatch.setattr(arq, "filters", list(arq.filters))
    yield


def _decision_line(fmt: str, personal_data: str) -> str:
    stream = io.StringIO()
    settings = Settings(_env_file=None, log_format=fmt, log_personal_data=personal_data)
    logs.configure_from_settings(settings, stream=stream)
    logging.getLogger("worker.dedupe").info("decision", extra=DECISION)
    return stream.getvalue()


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_phones_and_emails_are_masked_by_default(restore_logging: None, fmt: str) -> None:
    line = _decision_line(fmt, "masked")
    for raw in RAW:
        assert raw not in line, (raw, line)
    # Enough is left to recognise a value: the last four digits, the first letter and
    # the domain; nothing else of the line changes.
    for kept in ("PHONE:+•••••••4567", "EMAIL:i•••@example.com", "i•••@shop.example"):
        assert kept in line, (kept, line)
    assert "+• ••• •••-45-67" in line and "20261127T210501Z-3f9a1c" in line
    if fmt == "json":
        entry = json.loads(line)
        assert entry["group"] == [12, 34] and entry["record"] == 12
        assert entry["excluded"] == {
            "EMAIL:i•••@shop.example": "generic mailbox",
            "PHONE:+•••••••2233": "shared",
        }


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_log_personal_data_full_shows_them(restore_logging: None, fmt: str) -> None:
    line = _decision_line(fmt, "full")
    for raw in RAW:
        assert raw in line, (raw, line)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("PHONE:+79991234567", "PHONE:+•••••••4567"),
        ("PHONE:12345", "PHONE:••••5"),
        ("EMAIL:a@b.io", "EMAIL:a•••@b.io"),
        ("IM:telegram_handle", "IM:t•••"),
        ("8 (999) 123-45-67", "• (•••) •••-45-67"),
        # Not phones: dates, times, record IDs.
        ("unchanged since 2024-05-01T12:00:01+03:00", "unchanged since 2024-05-01T12:00:01+03:00"),
        ("contacts 261 and 277", "contacts 261 and 277"),
    ],
)
def test_what_a_masked_value_looks_like(text: str, masked: str) -> None:
    assert logs.mask_personal_text(text) == masked


def test_arq_lines_for_each_job_are_debug_lines(restore_logging: None) -> None:
    stream = io.StringIO()
    logs.configure("INFO", "json", stream=stream)
    arq = logging.getLogger("arq.worker")
    arq.info("%6.2fs → %s(%s)%s", 0.1, "abc:dedupe_record", "'CONTACT', 5", "")
    arq.info("%6.2fs ← %s ● %s", 0.2, "abc:dedupe_record", "no_merge")
    arq.info("recording health: %s", "Dec-02 j_complete=1")
    arq.info("Starting worker for %d functions: %s", 1, "dedupe_record")
    lines = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert lines == ["Starting worker for 1 functions: dedupe_record"]
    logs.configure("DEBUG", "json", stream=stream)
    arq.info("%6.2fs ← %s ● %s", 0.2, "abc:dedupe_record", "no_merge")
    assert json.loads(stream.getvalue().splitlines()[-1])["level"] == "DEBUG"
