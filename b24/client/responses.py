"""From an HTTP answer to a result or an exception: pure, no I/O.

:func:`read_answer` maps ``(status, body)`` of one REST request onto an
:class:`Answer` or raises the matching :mod:`b24.client.errors` exception;
:func:`read_batch` splits a ``batch`` answer into one outcome per sub-call
(the HTTP status stays 200 when sub-calls fail; Bitrix24 REST docs: batch,
https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from b24.client import errors

# The REST docs' "Statuses and System Error Codes" table, on every method's page.
_AUTH_CODES = frozenset({"NO_AUTH_FOUND", "EXPIRED_TOKEN", "INVALID_TOKEN", "WRONG_AUTH_TYPE"})
_PERMISSION_CODES = frozenset(
    {"ACCESS_DENIED", "INVALID_CREDENTIALS", "INSUFFICIENT_SCOPE", "USER_ACCESS_ERROR"}
)
_TRANSIENT_CODES = frozenset({"INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"})
# A 500 that no retry mends: the portal is closed or gone.
_PERMANENT_CODES = frozenset({"PORTAL_DELETED"})
# As portals answer (the emulator follows them): a missing entity is reported with an
# empty code; mergeBatch says
# "Owner was not found" with code 0. Other codes naming "not found" are about the
# method or its arguments (ERROR_METHOD_NOT_FOUND, "Field not found").
_NOT_FOUND_CODES = frozenset({"", "0", "NOT_FOUND", "ERROR_NOT_FOUND"})


@dataclass(frozen=True)
class Timing:
    """The ``time`` block: the method's operating time in the window and its reset."""

    operating: float | None = None
    operating_reset_at: float | None = None
    processing: float | None = None


@dataclass(frozen=True)
class Answer:
    """One successful call: ``result``, and ``total``/``next`` for list methods."""

    result: Any
    total: int | None = None
    next: int | None = None
    timing: Timing | None = None


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _integer(raw: Any) -> int | None:
    number = _number(raw)
    return None if number is None else int(number)


def read_timing(raw: Any) -> Timing | None:
    if not isinstance(raw, Mapping):
        return None
    return Timing(
        operating=_number(raw.get("operating")),
        operating_reset_at=_number(raw.get("operating_reset_at")),
        processing=_number(raw.get("processing")),
    )


def error_for(
    status: int, code: Any, description: Any, *, method: str, timing: Timing | None = None
) -> errors.B24Error:
    """The exception for an error answer. ``status`` is 0 for a batch sub-call."""
    code_text = "" if code is None else str(code)
    upper = code_text.upper()
    text = "" if description is None else str(description)
    label = code_text or (f"HTTP {status}" if status else "error")
    message = f"{method}: {label} {text}".rstrip()
    if upper == "QUERY_LIMIT_EXCEEDED":
        return errors.RateLimited(message, method=method)
    if upper == "OPERATION_TIME_LIMIT":
        reset_at = timing.operating_reset_at if timing is not None else None
        return errors.OperatingLimit(message, method=method, reset_at=reset_at or None)
    if upper == "OVERLOAD_LIMIT":
        return errors.Overloaded(message, method=method)
    if upper == "ERROR_BATCH_LENGTH_EXCEEDED":
        # A command past the portal's batch length, or a whole batch refused for it:
        # not run either way (rest_provider.php:356-362; docs: batch).
        return errors.BatchLengthExceeded(message, method=method)
    if upper in _PERMISSION_CODES or (status == 403 and upper not in _AUTH_CODES):
        return errors.PermissionDenied(message, method=method, code=code_text)
    if upper in _AUTH_CODES or status == 401:
        return errors.AuthError(message, method=method, code=code_text)
    if upper in _TRANSIENT_CODES or (status >= 500 and upper not in _PERMANENT_CODES):
        return errors.TransientError(message, method=method)
    kind = errors.MethodError
    if upper in _NOT_FOUND_CODES and "not found" in text.lower():
        kind = errors.NotFound
    return kind(message, method=method, code=code, description=text, status=status)


def _unreadable(status: int, method: str, what: str) -> errors.B24Error:
    message = f"{method}: HTTP {status} with {what}"
    if status >= 500 or 200 <= status < 300:
        return errors.TransientError(message, method=method)
    return errors.MethodError(
        message, method=method, code=f"HTTP_{status}", description=what, status=status
    )


def read_answer(status: int, body: bytes | str, *, method: str) -> Answer:
    """The answer of one request, or raise its :class:`~b24.client.errors.B24Error`."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _unreadable(status, method, "a body that is not JSON") from None
    if not isinstance(document, Mapping):
        raise _unreadable(status, method, "a JSON body that is not an object")
    timing = read_timing(document.get("time"))
    if "error" in document:
        raise error_for(
            status,
            document.get("error"),
            document.get("error_description"),
            method=method,
            timing=timing,
        )
    if not 200 <= status < 300 or "result" not in document:
        raise _unreadable(status, method, "neither result nor error")
    return Answer(
        result=document["result"],
        total=_integer(document.get("total")),
        next=_integer(document.get("next")),
        timing=timing,
    )


def _php_array(raw: Any) -> Mapping[str, Any]:
    """PHP's json_encode turns an empty or 0..n-1 keyed array into a JSON list."""
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, list):
        return {str(index): value for index, value in enumerate(raw)}
    return {}


def read_batch(answer: Answer, methods: Mapping[str, str]) -> dict[str, Answer | errors.B24Error]:
    """One outcome per sub-call of a ``batch`` answer; ``methods`` maps key → method."""
    body = answer.result if isinstance(answer.result, Mapping) else {}
    results = _php_array(body.get("result"))
    failures = _php_array(body.get("result_error"))
    totals = _php_array(body.get("result_total"))
    nexts = _php_array(body.get("result_next"))
    times = _php_array(body.get("result_time"))
    outcomes: dict[str, Answer | errors.B24Error] = {}
    for key, method in methods.items():
        timing = read_timing(times.get(key))
        failure = failures.get(key)
        if failure is not None:
            failure = failure if isinstance(failure, Mapping) else {"error": failure}
            outcomes[key] = error_for(
                0,
                failure.get("error"),
                failure.get("error_description"),
                method=method,
                timing=timing,
            )
        elif key in results:
            outcomes[key] = Answer(
                result=results[key],
                total=_integer(totals.get(key)),
                next=_integer(nexts.get(key)),
                timing=timing,
            )
        else:
            outcomes[key] = errors.NotExecuted(
                f"{method}: not run, an earlier command of the batch failed", method=method
            )
    return outcomes


@dataclass(frozen=True)
class Page:
    """One page of a list method: its rows, ``total`` and ``next`` (absent with start=-1)."""

    items: list[Any]
    total: int | None = None
    next: int | None = None

    @classmethod
    def from_answer(cls, answer: Answer, *, method: str) -> Page:
        if not isinstance(answer.result, list):
            raise errors.MethodError(
                f"{method}: the result is not a list of rows",
                method=method,
                code="UNEXPECTED_ANSWER",
                description="the result is not a list of rows",
            )
        return cls(answer.result, answer.total, answer.next)
