"""One REST call as data: its method, its parameters, whether it may run twice.

A call is *idempotent* (a read) when sending it again cannot change the portal:
``get``, ``list``, ``fields``, ``findbycomm`` and the ``crm.enum.*`` lookups. Any
other method is taken for a write (add, update, delete, mergeBatch, register …),
which the client never re-sends once it may have reached the portal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from b24.phpquery import encode_php_query

_READ_ACTIONS = ("get", "list", "fields", "findbycomm")
_READ_PREFIXES = ("crm.enum.",)


def method_key(method: str) -> str:
    """Method names are case-insensitive on a portal; state is kept under lower case."""
    return method.strip().lower()


def is_read(method: str) -> bool:
    """Whether ``method`` only reads (sending it twice does no harm)."""
    key = method_key(method)
    action = key.rsplit(".", 1)[-1]
    return key.startswith(_READ_PREFIXES) or action.startswith(_READ_ACTIONS)


@dataclass(frozen=True)
class Command:
    """``method`` with ``params`` as the REST API takes them (a JSON object)."""

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return method_key(self.method)

    def query(self) -> str:
        """The command as a ``batch`` sub-call: ``crm.contact.get?id=5`` (REST docs: batch)."""
        encoded = encode_php_query(self.params)
        return f"{self.method}?{encoded}" if encoded else self.method


def method_of_query(query: str) -> str:
    """The method of a prepared batch sub-call ``method?query``."""
    return query.partition("?")[0].strip()
