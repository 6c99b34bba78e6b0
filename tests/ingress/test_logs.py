"""b24_dedupe.logs: one JSON object per line, stable keys, secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from b24_dedupe import logs
from b24_dedupe.settings import Settings

WEBHOOK = "https://portal.bitrix24.ru/rest/1/k3yk3yk3yk3y/"


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for flag in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, flag, getattr(logging, flag))
    yield


def record(msg: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    log_record = logging.LogRecord(
        "b24.test", logging.INFO, __file__, 1, msg, args or ("you",), None
    )
    log_record.__dict__.update(extra)
    return log_record


def test_json_lines_have_stable_keys_first_then_extras_in_order() -> None:
    line = logs.JsonFormatter().format(record(outcome="enqueued", entity_id=5, ok=True))
    entry = json.loads(line)
    assert "\n" not in line
    assert list(entry) == ["ts", "level", "logger", "msg", "outcome", "entity_id", "ok"]
    assert entry["level"] == "INFO"
    assert entry["logger"] == "b24.test"
    assert entry["msg"] == "hello you"
    assert entry["ts"].endswith("Z") and len(entry["ts"]) == len("2024-05-01T12:00:01.234Z")
    assert (entry["outcome"], entry["entity_id"], entry["ok"]) == ("enqueued", 5, True)


def test_an_extra_cannot_overwrite_a_stable_key() -> None:
    entry = json.loads(logs.JsonFormatter().format(record(ts="forged")))
    assert entry["ts"] != "forged"


def test_exceptions_are_one_field_of_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failing = record()
        failing.exc_info = sys.exc_info()
    line = logs.JsonFormatter().format(failing)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc"]


def test_fields_named_like_secrets_are_redacted_at_any_depth() -> None:
    entry = json.loads(
        logs.JsonFormatter().format(
            record(
                application_token="t0k3n-value",
                auth={"application_token": "t0k3n-value", "domain": "portal.bitrix24.ru"},
                headers=[{"Authorization": "Bearer abc"}],
                b24_webhook_url=WEBHOOK,
            )
        )
    )
    assert entry["application_token"] == logs.REDACTED
    assert entry["auth"] == {"application_token": logs.REDACTED, "domain": "portal.bitrix24.ru"}
    assert entry["headers"] == [{"Authorization": logs.REDACTED}]
    assert entry["b24_webhook_url"] == logs.REDACTED


def test_registered_secrets_and_webhook_paths_are_cut_out_of_any_text() -> None:
    formatter = logs.JsonFormatter(logs.Redactor(["s3cr3t-token"]))
    line = formatter.format(
        record(
            "calling %s with %s",
            WEBHOOK + "crm.lead.get",
            "s3cr3t-token",
            detail="echo s3cr3t-token",
            url="https://x.bitrix24.ru/rest/12/abcdef/batch?x=1",
        )
    )
    assert "s3cr3t-token" not in line
    assert "k3yk3yk3yk3y" not in line
    assert "abcdef" not in line
    entry = json.loads(line)
    assert (
        entry["msg"] == f"calling https://portal.bitrix24.ru/rest/1/{logs.REDACTED}/crm.lead.get "
        f"with {logs.REDACTED}"
    )
    assert entry["url"] == f"https://x.bitrix24.ru/rest/12/{logs.REDACTED}/batch?x=1"


def test_console_format_is_one_readable_line() -> None:
    line = logs.ConsoleFormatter(logs.Redactor(["s3cr3t-token"])).format(
        record(outcome="enqueued", token="s3cr3t-token", n=3)
    )
    assert " INFO  b24.test hello you outcome=enqueued token=[redacted] n=3" in line
    assert "s3cr3t-token" not in line


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(("fmt", "starts"), [("json", "{"), ("console", "")])
def test_configure_sends_every_logger_through_one_handler(fmt: str, starts: str) -> None:
    stream = io.StringIO()
    logs.configure("WARNING", fmt, secrets=["hidden-value"], stream=stream)
    logging.getLogger("anything").info("not shown")
    logging.getLogger("anything").warning("shown: hidden-value")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(starts)
    assert "hidden-value" not in lines[0]
    assert "shown: [redacted]" in lines[0]


def test_configure_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="json or console"):
        logs.configure("INFO", "xml", stream=io.StringIO())


@pytest.mark.usefixtures("restore_logging")
def test_configure_from_settings_redacts_every_secret_in_the_settings() -> None:
    settings = Settings(
        b24_application_token=SecretStr("first-token-1, second-token-2"),
        b24_webhook_url=SecretStr(WEBHOOK),
        redis_url="redis://user:redis-pass-9@127.0.0.1:6391/0",
        log_level="DEBUG",
    )
    stream = io.StringIO()
    logs.configure_from_settings(settings, stream=stream)
    logging.getLogger("x").debug(
        "first-token-1 second-token-2 %s %s redis-pass-9 k3yk3yk3yk3y", WEBHOOK, settings.redis_url
    )
    text = stream.getvalue()
    for secret in ("first-token-1", "second-token-2", "k3yk3yk3yk3y", "redis-pass-9"):
        assert secret not in text
    assert json.loads(text)["level"] == "DEBUG"
