"""Every error the Bitrix24 REST API answers, as one exception hierarchy.

Sources: the Bitrix24 REST docs' "Statuses and System Error Codes" table (on every
method's page, e.g.
https://apidocs.bitrix24.com/api-reference/crm/duplicates/crm-duplicate-find-by-comm.html)
and "REST API Limits" (https://apidocs.bitrix24.com/limits.html)::

    B24Error
    ├── LimitError                 the portal refused to run the call; nothing was done
    │   ├── RateLimited            503 QUERY_LIMIT_EXCEEDED: the portal's leaky bucket
    │   ├── OperatingLimit         429 OPERATION_TIME_LIMIT: one method's time budget
    │   └── Overloaded             503 OVERLOAD_LIMIT: a manual block; never retried
    ├── AuthError                  401 NO_AUTH_FOUND, expired_token …: the webhook is wrong
    │   └── PermissionDenied       403 ACCESS_DENIED, INVALID_CREDENTIALS, insufficient_scope …
    ├── MethodError                any other error answer: ``code`` and ``description``
    │   └── NotFound               the record is gone ("Not found", the code may be "")
    ├── TransientError             5xx, timeouts, dropped connections: a read may be retried
    │   └── BatchLengthExceeded    ERROR_BATCH_LENGTH_EXCEEDED: not run; resent in smaller batches
    ├── OutcomeUnknown             a write whose answer was lost: re-read, never re-send
    └── NotExecuted                a batch sub-call skipped after an earlier one failed (halt)

Every keyword argument has a default, so that an exception can be copied and pickled
(one error of a batch request reaches each of its callers as its own copy).
Messages name the method, the code and the portal's description; they never hold the
webhook URL (its path carries the secret).
"""

from __future__ import annotations

from typing import Any


class B24Error(Exception):
    """Base of every error this client raises for a REST call."""

    def __init__(self, message: str, *, method: str = "") -> None:
        super().__init__(message)
        self.method = method


class LimitError(B24Error):
    """The portal refused the call before running it."""


class RateLimited(LimitError):
    """503 ``QUERY_LIMIT_EXCEEDED``: too many requests for the portal (REST docs: limits)."""


class OperatingLimit(LimitError):
    """429 ``OPERATION_TIME_LIMIT``: ``method`` used its execution budget.

    ``reset_at`` is the unix time the portal named (``time.operating_reset_at``), or the
    client's best guess when the answer carried none; ``None`` when nothing is known.
    """

    def __init__(self, message: str, *, method: str = "", reset_at: float | None = None) -> None:
        super().__init__(message, method=method)
        self.reset_at = reset_at


class Overloaded(LimitError):
    """503 ``OVERLOAD_LIMIT``: REST is blocked by hand; only Bitrix24 support lifts it."""


class AuthError(B24Error):
    """The webhook is not accepted (wrong or revoked code, expired token)."""

    def __init__(self, message: str, *, method: str = "", code: str = "") -> None:
        super().__init__(message, method=method)
        self.code = code


class PermissionDenied(AuthError):
    """The webhook's user or scope may not call this method."""


class MethodError(B24Error):
    """The method answered an error: ``code`` (a string; mergeBatch answers ``0``).

    ``status`` is the HTTP status, or 0 for a sub-call of a batch (which has none).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        code: Any = "",
        description: str = "",
        status: int = 0,
    ) -> None:
        super().__init__(message, method=method)
        self.code = code
        self.description = description
        self.status = status


class NotFound(MethodError):
    """The record asked for does not exist (any more)."""


class TransientError(B24Error):
    """A fault that may pass: a 5xx answer, a timeout, a dropped connection.

    ``sent`` is False only when the request certainly never reached the portal (the
    connection could not be opened), which makes even a write safe to send again.
    """

    def __init__(self, message: str, *, method: str = "", sent: bool = True) -> None:
        super().__init__(message, method=method)
        self.sent = sent


class BatchLengthExceeded(TransientError):
    """``ERROR_BATCH_LENGTH_EXCEEDED``: the portal did not run the call (a batch too long).

    The Bitrix24 source runs a batch's first 50 commands and refuses each further one
    in ``result_error`` with HTTP 200; the docs describe the whole batch refused with
    HTTP 400. Either way nothing was done, so even a write may be sent again
    (``sent`` is False), in a smaller batch.
    """

    def __init__(self, message: str, *, method: str = "", sent: bool = False) -> None:
        super().__init__(message, method=method, sent=sent)


class OutcomeUnknown(B24Error):
    """A write (add, update, delete, mergeBatch …) was sent but its answer was lost.

    It may or may not have happened. The client never sends it again on its own: the
    caller re-reads the records and decides anew.
    """


class NotExecuted(B24Error):
    """A batch sub-call the portal did not run because an earlier one failed (halt=1)."""
