"""Logging for every process of the service, configured once at start-up.

``LOG_FORMAT=json`` (the default) writes one JSON object per line with the stable
keys ``ts``, ``level``, ``logger``, ``msg``, then the record's extra fields in
the order given, then ``exc`` for an exception; ``LOG_FORMAT=console`` writes
the same as one short line for humans. Structured fields go in ``extra``::

    log.info("event accepted", extra={"event": "ONCRMLEADADD", "outcome": "enqueued"})

Secrets never reach the output: a field whose name says it holds one (``token``,
``secret``, ``password``, ``authorization``, ``webhook_url`` …) is replaced by
``[redacted]`` at any depth, every secret value registered with :func:`configure`
(the application tokens, the inbound webhook URL) is cut out of any text, and so
is the secret part of any ``/rest/USER_ID/SECRET/`` path.

Use: ``configure_from_settings(settings)`` in the command that starts the process
(or ``configure(level, fmt, secrets=..., stream=...)``). It replaces the root
logger's handlers, and turns off collecting caller file/line, thread and process
names for every record (neither format shows them).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Mapping
from typing import IO, Any

from aiohttp.http_exceptions import HttpProcessingError

from b24_dedupe.settings import Settings

REDACTED = "[redacted]"
SECRET_FIELD = re.compile(
    r"token|secret|passw|authorization|api_?key|webhook_url|cookie", re.IGNORECASE
)
# The inbound webhook URL carries its secret as a path segment (facts.md).
_WEBHOOK_SECRET = re.compile(r"(/rest/\d+/)[^/\s?#\"']+")
_PLAIN_RECORD_SIZE = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_RESERVED = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


class Redactor:
    """Removes secrets from text and from nested fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so that a secret containing another is cut whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        # One search tells whether a text needs any work (most do not).
        self._suspect = re.compile(
            "|".join([*(re.escape(secret) for secret in self.secrets), "/rest/"])
        )
        self._secret_keys: dict[str, bool] = {}  # field names repeat: decide each once

    def is_secret_field(self, name: str) -> bool:
        known = self._secret_keys.get(name)
        if known is None:
            known = bool(SECRET_FIELD.search(name))
            if len(self._secret_keys) < 10_000:
                self._secret_keys[name] = known
        return known

    def text(self, text: str) -> str:
        if self._suspect.search(text) is None:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if "/rest/" in text:
            text = _WEBHOOK_SECRET.sub(r"\1" + REDACTED, text)
        return text

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value)
        if value is None or kind is int or kind is float or kind is bool:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.fields(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item) for item in value]
        return self.text(str(value))

    def fields(self, fields: Mapping[Any, Any]) -> dict[str, Any]:
        return {
            str(key): REDACTED if self.is_secret_field(str(key)) else self.value(item)
            for key, item in fields.items()
        }


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields passed with ``extra=`` (anything a plain LogRecord does not have)."""
    return {key: value for key, value in record.__dict__.items() if key not in _RESERVED}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, extras, ``exc``."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        redactor = self.redactor
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": redactor.text(record.getMessage()),
        }
        attributes = record.__dict__
        if len(attributes) > _PLAIN_RECORD_SIZE:  # extras were given
            for key, value in attributes.items():
                if key not in _RESERVED and key not in entry:
                    secret = redactor.is_secret_field(key)
                    entry[key] = REDACTED if secret else redactor.value(value)
        if record.exc_info:
            entry["exc"] = redactor.text(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["exc"] = redactor.text(self.formatStack(record.stack_info))
        return _JSON.encode(entry)


class ConsoleFormatter(logging.Formatter):
    """``12:00:01.234 INFO  webhooks_in event accepted event=ONCRMLEADADD``."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        parts = [
            f"{clock}.{int(record.msecs):03d}",
            f"{record.levelname:<5}",
            record.name,
            self.redactor.text(record.getMessage()),
        ]
        for key, value in self.redactor.fields(extra_fields(record)).items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            parts.append(f"{key}={shown}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.redactor.text(self.formatException(record.exc_info))
        return line


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
_last_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """``2024-05-01T12:00:01.234Z`` (UTC); the seconds part is formatted once per second."""
    global _last_second
    second = int(created)
    if _last_second[0] != second:
        _last_second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_last_second[1]}.{int((created - second) * 1000):03d}Z"


def configure(
    level: str = "INFO",
    fmt: str = "json",
    *,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``fmt``; replaces earlier handlers.

    Returns the handler (tests read from their own ``stream``).
    """
    if fmt not in ("json", "console"):
        raise ValueError(f"log format must be json or console, not {fmt!r}")
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else ConsoleFormatter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Neither format shows the caller's file, thread or process: skip collecting them
    # (the "Optimization" section of the logging HOWTO).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiohttp's access log repeats what the service logs itself, in another format.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientFaultFilter) for f in server.filters):
        server.addFilter(ClientFaultFilter())
    return handler


class ClientFaultFilter(logging.Filter):
    """aiohttp logs each request it cannot parse (a line too long, a bad header, bytes
    that are not HTTP) at ERROR with a traceback. That is the client's fault, answered
    400: one WARNING line without the traceback, so that anyone on the internet cannot
    fill the error log. Errors of our own handlers stay as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        if isinstance(fault, HttpProcessingError) and 400 <= (fault.code or 0) < 500:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "bad HTTP request from %s: %s"
            record.args = (remote, _one_line(str(fault)))
            record.exc_info = record.exc_text = None
        return True


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings, for :func:`configure`."""
    secrets = list(settings.application_tokens())
    if settings.b24_application_token is not None:
        secrets.append(settings.b24_application_token.get_secret_value())
    if settings.b24_webhook_url is not None:
        url = settings.b24_webhook_url.get_secret_value()
        secrets.append(url)
        match = _WEBHOOK_SECRET.search(url)
        if match:
            secrets.append(url[len(match.group(1)) + match.start() : match.end()])
    if "@" in settings.redis_url:  # redis://user:password@host
        credentials = settings.redis_url.split("//", 1)[-1].rsplit("@", 1)[0]
        secrets.append(credentials.split(":", 1)[-1])
    return secrets


def configure_from_settings(
    settings: Settings, *, stream: IO[str] | None = None
) -> logging.Handler:
    """:func:`configure` with ``LOG_LEVEL``, ``LOG_FORMAT`` and the settings' secrets."""
    return configure(
        settings.log_level, settings.log_format, secrets=settings_secrets(settings), stream=stream
    )
