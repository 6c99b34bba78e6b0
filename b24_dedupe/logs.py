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

Personal data is masked (``LOG_PERSONAL_DATA=masked``, the default): in the fields
that carry a record's values (``evidence``, ``excluded``, ``reason`` …, see
:data:`PERSONAL_FIELDS`) every phone number keeps its last four digits
(``+• ••• •••-45-67``) and every e-mail its first letter and domain
(``i•••@example.com``), enough to recognise a value, not to read it. Log stores are
kept longer and read by more people than the audit. ``LOG_PERSONAL_DATA=full`` shows
them whole.

arq logs two lines per job (started, finished), one per deferral and one per health
report; the service's own decision line says more, so those are DEBUG lines here.

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
# The inbound webhook URL carries its secret as a path segment (Bitrix24 REST docs:
# "Webhooks", https://apidocs.bitrix24.com/local-integrations/local-webhooks.html).
_WEBHOOK_SECRET = re.compile(r"(/rest/\d+/)[^/\s?#\"']+")
_PLAIN_RECORD_SIZE = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_RESERVED = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


# Log fields that carry a record's phones and e-mails (the worker's decision line, the
# communications it left out, reasons that quote a value).
PERSONAL_FIELDS = frozenset(
    {"evidence", "excluded", "reason", "value", "values", "phone", "phones", "email", "emails"}
)
MASK = "•"
# A typed value as the worker writes it: ``PHONE:+79991234567``, ``EMAIL:a@b.io``.
_TYPED_VALUE = re.compile(r"^(PHONE|EMAIL|IM|WEB):(.*)$", re.DOTALL)
_EMAIL = re.compile(r"([\w.+'-])[\w.+'-]*@([\w-]+(?:\.[\w-]+)+)")
# Seven digits or more, written with the usual separators; not a date or a time.
_PHONE = re.compile(r"(?<![\w/])\+?\d(?:[\s().-]{0,2}\d){6,}(?![\w/])")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}:\d{2}|^\d{2}\.\d{2}\.\d{4}")


def mask_phone(text: str) -> str:
    """Every digit but the last four masked: ``+7 999 123-45-67`` → ``+• ••• •••-45-67``
    (a short number keeps fewer: at least four digits are always masked)."""
    digits = sum(ch.isdigit() for ch in text)
    shown = 4 if digits >= 8 else max(0, digits - 4)
    seen, out = 0, []
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - shown else MASK)
        else:
            out.append(ch)
    return "".join(out)


def mask_email(text: str) -> str:
    """``ivan.petrov@example.com`` → ``i•••@example.com``."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}{MASK * 3}@{m.group(2)}", text)


def mask_personal_text(text: str) -> str:
    """Phones and e-mails in ``text`` masked; a typed value (``PHONE:…``) masked whole."""
    typed = _TYPED_VALUE.match(text)
    if typed is not None:
        kind, value = typed.groups()
        if kind == "EMAIL" and "@" in value:
            return f"{kind}:{mask_email(value)}"
        if kind == "PHONE":
            return f"{kind}:{mask_phone(value)}"
        return f"{kind}:{value[:1]}{MASK * 3}"
    if "@" in text:
        text = mask_email(text)
    if any(ch.isdigit() for ch in text):
        text = _PHONE.sub(
            lambda m: m.group(0) if _DATE_LIKE.match(m.group(0)) else mask_phone(m.group(0)),
            text,
        )
    return text


class Redactor:
    """Removes secrets from text and from nested fields; masks personal data in the
    fields that carry it (:data:`PERSONAL_FIELDS`) unless ``personal_data="full"``."""

    def __init__(self, secrets: Iterable[str] = (), *, personal_data: str = "masked") -> None:
        self.mask_personal = personal_data != "full"
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
        return {str(key): self.field(str(key), item) for key, item in fields.items()}

    def field(self, name: str, value: Any) -> Any:
        """One named field as it may be shown: redacted, masked, or as it is."""
        if self.is_secret_field(name):
            return REDACTED
        if self.mask_personal and name in PERSONAL_FIELDS:
            return self.personal(value)
        return self.value(value)

    def personal(self, value: Any) -> Any:
        """``value`` with its phones and e-mails masked, keys of mappings too."""
        if isinstance(value, str):
            return mask_personal_text(self.text(value))
        if isinstance(value, Mapping):
            return {self.personal(str(key)): self.personal(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.personal(item) for item in value]
        return self.value(value)


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
                    entry[key] = redactor.field(key, value)
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
            shown = (
                value
                if isinstance(value, str)
                else json.dumps(value, default=str, ensure_ascii=False)
            )
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
    personal_data: str = "masked",
) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``fmt``; replaces earlier handlers.

    Returns the handler (tests read from their own ``stream``).
    """
    if fmt not in ("json", "console"):
        raise ValueError(f"log format must be json or console, not {fmt!r}")
    redactor = Redactor(secrets, personal_data=personal_data)
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
    arq = logging.getLogger("arq.worker")
    if not any(isinstance(f, ArqRoutineFilter) for f in arq.filters):
        arq.addFilter(ArqRoutineFilter())
    return handler


class ArqRoutineFilter(logging.Filter):
    """arq's lines for every job (``→`` started, ``←`` finished, ``↻`` deferred) and its
    periodic health report become DEBUG lines: the worker's own decision line says what
    happened to the record. Shown with ``LOG_LEVEL=DEBUG``."""

    ROUTINE = ("%6.2fs → ", "%6.2fs ← ", "%6.2fs ↻ %s retrying", "recording health")

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.INFO
            and isinstance(record.msg, str)
            and record.msg.startswith(self.ROUTINE)
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


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
        settings.log_level,
        settings.log_format,
        secrets=settings_secrets(settings),
        stream=stream,
        personal_data=settings.log_personal_data,
    )
