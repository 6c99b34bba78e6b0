"""REST errors as the portal answers them: ``{"error": CODE, "error_description": TEXT}``."""

from __future__ import annotations

from typing import Any


class RestError(Exception):
    """An error answer. ``code`` is usually a string; mergeBatch answers ``0`` (docs)."""

    def __init__(self, status: int, code: Any, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description}


# The common errors table of the docs (Bitrix24 REST docs: errors common to all methods).
def no_auth() -> RestError:
    return RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")


def method_not_found() -> RestError:
    # Not in the seed's table; the status and code are named in the issue and
    # the text is what portals answer.
    return RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")


def query_limit() -> RestError:
    return RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")


def overload(status: int = 503) -> RestError:
    # The docs' table says 503; the source's OAuth error path defaults to 401
    # (EmulatorConfig.overload_status).
    return RestError(status, "OVERLOAD_LIMIT", "REST API is blocked due to overload")


def internal_error() -> RestError:
    return RestError(500, "INTERNAL_SERVER_ERROR", "Internal server error")


def operation_time_limit() -> RestError:
    # Bitrix24 REST docs (limits): HTTP 429 OPERATION_TIME_LIMIT; the text is the portal's.
    return RestError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")


def batch_method_not_allowed() -> RestError:
    return RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")


def batch_length_exceeded() -> RestError:
    return RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")


def not_found() -> RestError:
    # REST docs (crm.*.get): a missing entity is commonly HTTP 400 with an empty code.
    return RestError(400, "", "Not found")


def invalid_id() -> RestError:
    # Docs silent here; portals answer a missing or non-numeric id of get/update/delete so.
    return RestError(400, "", "ID is not defined or invalid.")


def invalid_argument(description: str) -> RestError:
    return RestError(400, "INVALID_ARG_VALUE", description)
