"""Bitrix24 outbound events: parse and verify one delivery, free of I/O.

Bitrix24 REST docs, "Outbound Webhook"
(https://apidocs.bitrix24.com/local-integrations/local-webhooks.html): the portal POSTs
each event once, form-encoded as PHP writes it (``event``, ``event_handler_id``,
``data[FIELDS][ID]``, ``ts``, ``auth[domain]``, ``auth[member_id]``,
``auth[application_token]`` …), and never resends it. The docs print the same
structure as JSON for readability, so a JSON body of that shape is read too.

:func:`parse_event` takes the request's headers and body bytes and the accepted
application tokens, and returns an :class:`Event` or raises one of::

    EventRejected            (status, reason)
    ├── MalformedEvent       400  not an event of the documented structure
    ├── Unauthenticated      401  application token missing or not accepted
    ├── BodyTooLarge         413  body past the limit
    └── UnsupportedMediaType 415  neither form-encoded nor JSON

Order of checks: media type, size, decoding, token, then the event's structure.
The token is checked before the structure, so that a caller without the token
learns nothing about what a valid event looks like.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote_plus

from b24.crm import CRM_EVENTS, Change, EntityType, RecordRef

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# An event has about ten fields; a few hundred means the body is not an event.
MAX_FIELDS = 100
# Record IDs are positive integers (a MySQL INT, strings in the REST answers).
MAX_ID_DIGITS = 18


@dataclass(frozen=True, slots=True)
class Event:
    """One verified delivery. ``entity`` and ``entity_id`` are ``None`` for events
    other than the nine CRM record events (they are acknowledged and ignored)."""

    name: str
    entity: EntityType | None
    change: Change | None
    entity_id: int | None
    member_id: str | None
    domain: str | None
    handler_id: str | None = None
    ts: str | None = None

    @property
    def is_record_event(self) -> bool:
        return self.entity is not None

    @property
    def record(self) -> RecordRef | None:
        """The record a CRM record event is about."""
        if self.entity is None or self.entity_id is None:
            return None
        return RecordRef(self.entity, self.entity_id)


class EventRejected(Exception):
    """A delivery that is not accepted; ``status`` is the HTTP answer."""

    status: ClassVar[int] = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedEvent(EventRejected):
    status = 400


class Unauthenticated(EventRejected):
    status = 401


class BodyTooLarge(EventRejected):
    status = 413


class UnsupportedMediaType(EventRejected):
    status = 415


def media_type(content_type: str | None) -> str:
    """``application/x-www-form-urlencoded; charset=utf-8`` -> the bare, lower-case type."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def check_media_type(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind not in (FORM, JSON):
        raise UnsupportedMediaType(f"content type must be {FORM} or {JSON}, not {kind or 'none'}")
    return kind


def check_length(length: int | None, max_body_bytes: int) -> None:
    """Refuse a declared or actual body length past the limit."""
    if length is not None and length > max_body_bytes:
        raise BodyTooLarge(f"body larger than {max_body_bytes} bytes")


def parse_event(
    headers: Mapping[str, str],
    body: bytes,
    tokens: Sequence[str],
    *,
    max_body_bytes: int,
) -> Event:
    """Read and verify one delivery; raise an :class:`EventRejected` otherwise.

    ``headers`` may be any mapping; the content type is looked up case-insensitively.
    ``tokens`` are the accepted application tokens (several during a rotation).
    """
    kind = check_media_type(_header(headers, "content-type"))
    check_length(len(body), max_body_bytes)
    fields = _json_fields(body) if kind == JSON else _form_fields(body)
    if not token_accepted(fields.get("auth[application_token]"), tokens):
        raise Unauthenticated("application token missing or not accepted")
    return _event_of(fields)


def token_accepted(candidate: object, tokens: Iterable[str]) -> bool:
    """Constant-time compare with each accepted token (docs:local-integrations/local-webhooks)."""
    if not isinstance(candidate, str) or not candidate:
        return False
    given = candidate.encode("utf-8", "surrogatepass")
    accepted = False
    for token in tokens:
        # No early exit: the time taken does not tell which token matched.
        accepted |= hmac.compare_digest(given, token.encode("utf-8"))
    return accepted


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, item in headers.items():
        if key.lower() == name:
            return item
    return None


# The fields an event is read from (REST docs: outbound webhooks, "What the Handler Receives").
EVENT_KEYS = (
    "event",
    "event_handler_id",
    "data[FIELDS][ID]",
    "ts",
    "auth[domain]",
    "auth[member_id]",
    "auth[application_token]",
)

# Both encodings are read into one flat mapping keyed as PHP names the fields
# (``data[FIELDS][ID]``): an event is a handful of known keys, so the body is not
# built into nested arrays first (b24.phpquery does that, at several times the cost).


def _form_fields(body: bytes) -> dict[str, str]:
    """``a[b]=c&...`` -> ``{"a[b]": "c"}`` for the keys an event uses; later duplicates
    win, as in PHP. Other values (the endpoints …) are not decoded at all."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("body is not valid UTF-8") from None
    pieces = text.split("&")
    if len(pieces) > MAX_FIELDS:
        raise MalformedEvent(f"more than {MAX_FIELDS} fields")
    raw: dict[str, str] = {}
    for piece in pieces:
        if piece:
            key, _, value = piece.partition("=")
            raw[_unquote(key)] = value
    return {key: _unquote(raw[key]) for key in EVENT_KEYS if key in raw}


def _unquote(text: str) -> str:
    """``unquote_plus``, skipped for the common text that needs none of it."""
    if "%5" in text:  # the brackets of every nested key; decoding them first changes nothing
        text = text.replace("%5B", "[").replace("%5D", "]")
    if "%" in text or "+" in text:
        return unquote_plus(text)
    return text


def _json_fields(body: bytes) -> dict[str, Any]:
    """``{"a": {"b": "c"}}`` -> ``{"a[b]": "c"}``, three levels deep (an event needs no more)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # also past int's digit limit, or too deep
        raise MalformedEvent("body is not valid JSON") from None
    if not isinstance(document, dict):
        raise MalformedEvent("body is not a JSON object")
    fields: dict[str, Any] = {}
    _flatten(document, "", fields, depth=3)
    return fields


def _flatten(node: dict[str, Any], prefix: str, into: dict[str, Any], depth: int) -> None:
    for key, value in node.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            if depth > 1:
                _flatten(value, name, into, depth - 1)
        else:
            into[name] = value


def _event_of(fields: Mapping[str, Any]) -> Event:
    name = fields.get("event")
    if not isinstance(name, str) or not name.strip():
        raise MalformedEvent("event name missing")
    name = name.strip().upper()
    # The nine record events: docs:api-reference/crm/{leads,contacts,companies}/events
    known = CRM_EVENTS.get(name)
    entity, change = known if known is not None else (None, None)
    return Event(
        name=name,
        entity=entity,
        change=change,
        entity_id=_record_id(fields.get("data[FIELDS][ID]")) if known is not None else None,
        member_id=_optional_text(fields.get("auth[member_id]")),
        domain=_optional_text(fields.get("auth[domain]")),
        handler_id=_optional_text(fields.get("event_handler_id")),
        ts=_optional_text(fields.get("ts")),
    )


def _record_id(raw: Any) -> int:
    if raw is None:
        raise MalformedEvent("data[FIELDS][ID] missing")
    if isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        raise MalformedEvent("data[FIELDS][ID] is not a number")
    # str.isdigit accepts other scripts' digits; IDs are ASCII.
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS:
        raise MalformedEvent("data[FIELDS][ID] is not a positive integer")
    entity_id = int(text)
    if entity_id <= 0:
        raise MalformedEvent("data[FIELDS][ID] is not a positive integer")
    return entity_id


def _optional_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
