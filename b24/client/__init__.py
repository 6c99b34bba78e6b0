"""An asyncio Bitrix24 REST client that keeps within the portal's limits.

See :class:`Bitrix24Client` and docs/client.md.
"""

from b24.client.client import Bitrix24Client
from b24.client.commands import Command, is_read
from b24.client.config import ClientConfig
from b24.client.errors import (
    AuthError,
    B24Error,
    BatchLengthExceeded,
    LimitError,
    MethodError,
    NotExecuted,
    NotFound,
    OperatingLimit,
    OutcomeUnknown,
    Overloaded,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from b24.client.listing import walk_by_id
from b24.client.responses import Answer, Page, Timing
from b24.client.webhook import Webhook, WebhookURLError

__all__ = [
    "Answer",
    "AuthError",
    "B24Error",
    "BatchLengthExceeded",
    "Bitrix24Client",
    "ClientConfig",
    "Command",
    "LimitError",
    "MethodError",
    "NotExecuted",
    "NotFound",
    "OperatingLimit",
    "OutcomeUnknown",
    "Overloaded",
    "Page",
    "PermissionDenied",
    "RateLimited",
    "Timing",
    "TransientError",
    "Webhook",
    "WebhookURLError",
    "is_read",
    "walk_by_id",
]
