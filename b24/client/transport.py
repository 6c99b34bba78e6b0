"""Sending one REST request over HTTP: a JSON body, timeouts, one aiohttp session.

Network failures become :class:`~b24.client.errors.TransientError` with the secret
scrubbed from the message; the aiohttp exception is neither chained nor kept as
context, because some of them carry the request URL (and with it the secret).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from b24.client.errors import TransientError
from b24.client.webhook import Webhook


class Transport:
    """POSTs ``{webhook}{method}`` with a JSON body; answers ``(status, body)``.

    The session is made on first use inside the running loop (or given, and then not
    closed here), so that one process keeps one connection pool to the portal.
    """

    def __init__(
        self,
        webhook: Webhook,
        *,
        connect_timeout: float,
        read_timeout: float,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._webhook = webhook
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._session = session
        self._owns_session = session is None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                json_serialize=lambda value: json.dumps(value, ensure_ascii=False),
                headers={"Accept": "application/json"},
            )
            self._owns_session = True
        return self._session

    async def post(self, method: str, params: Mapping[str, Any]) -> tuple[int, bytes]:
        session = self._session_now()
        try:
            async with session.post(
                self._webhook.method_url(method), json=dict(params), timeout=self._timeout
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            fault = self._fault(method, exc, "connect timeout", sent=False)
        except aiohttp.ClientConnectorError as exc:
            fault = self._fault(method, exc, "cannot connect", sent=False)
        except TimeoutError as exc:
            fault = self._fault(method, exc, "read timeout", sent=True)
        except (aiohttp.ClientError, OSError) as exc:
            fault = self._fault(method, exc, "connection lost", sent=True)
        # Raised outside the except clauses, so that the aiohttp exception (whose text
        # may hold the URL) is not even kept as __context__.
        raise fault

    def _fault(self, method: str, exc: BaseException, what: str, *, sent: bool) -> TransientError:
        detail = self._webhook.scrub(str(exc))
        text = f"{method}: {what} ({type(exc).__name__}{': ' + detail if detail else ''})"
        return TransientError(text, method=method, sent=sent)

    async def close(self) -> None:
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()
        self._session = None
