"""The inbound webhook URL ``https://PORTAL/rest/USER_ID/SECRET/`` and its secret.

The secret sits in the URL's path, so the URL itself is the credential: it is kept
as a :class:`~pydantic.SecretStr`, never shown by ``repr`` or ``str``, and
:meth:`Webhook.scrub` removes it from any text that might hold it (aiohttp puts the
request URL into some of its exception messages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

_PATH = re.compile(r"^/rest/(?P<user_id>\d+)/(?P<secret>[^/]+)/?$")
MASK = "***"


class WebhookURLError(ValueError):
    """A webhook URL that is not ``http(s)://PORTAL/rest/USER_ID/SECRET/``."""


@dataclass(frozen=True, repr=False)
class Webhook:
    """Where REST calls go. ``portal`` (host[:port]) names the portal in Redis keys."""

    portal: str
    user_id: str
    _base: SecretStr
    _secret: SecretStr

    @classmethod
    def parse(cls, url: SecretStr | str) -> Webhook:
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        parts = urlsplit(raw.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookURLError("the webhook URL must start with https://PORTAL/")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise WebhookURLError("the webhook URL must not carry a query, fragment or login")
        match = _PATH.match(parts.path)
        if match is None:
            raise WebhookURLError("the webhook URL's path must be /rest/USER_ID/SECRET/")
        portal = parts.netloc.lower()
        base = f"{parts.scheme}://{portal}/rest/{match['user_id']}/{match['secret']}/"
        return cls(portal, match["user_id"], SecretStr(base), SecretStr(match["secret"]))

    @property
    def origin(self) -> str:
        """``https://portal.bitrix24.com``: the portal's web address, without the secret."""
        return self._base.get_secret_value().split("/rest/", 1)[0]

    def method_url(self, method: str) -> str:
        """The URL of one method (it holds the secret: never log it)."""
        return self._base.get_secret_value() + method

    def scrub(self, text: str) -> str:
        """``text`` with the secret (plain or URL-encoded) masked."""
        secret = self._secret.get_secret_value()
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, MASK)
        return text

    def __repr__(self) -> str:
        return f"Webhook(portal={self.portal!r}, user_id={self.user_id!r})"

    __str__ = __repr__
