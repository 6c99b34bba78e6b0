"""What the review page needs from the settings, read once at start-up."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from b24.client.config import ClientConfig
from b24.client.webhook import Webhook, WebhookURLError
from b24_dedupe.keys import Keys
from b24_dedupe.merge_rules import MergeRules, load_rules
from b24_dedupe.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigurationError(ValueError):
    """A setting the review page cannot start with; the message names it."""


def proxy_networks(raw: str) -> tuple[Network, ...]:
    """``REVIEW_TRUSTED_PROXIES``: ``127.0.0.1, 10.0.0.0/8`` as networks."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"REVIEW_TRUSTED_PROXIES: {item!r} is not an address or a network "
                "(write e.g. 127.0.0.1 or 172.16.0.0/12)"
            ) from None
    return tuple(networks)


@dataclass(frozen=True)
class ReviewConfig:
    """The page's view of the settings. The password is kept only as its SHA-256."""

    keys: Keys
    password_digest: bytes = field(repr=False)
    trusted_proxies: tuple[Network, ...] = ()
    session_seconds: float = 12 * 3600
    action_timeout: float = 120.0
    rules: MergeRules = field(default_factory=MergeRules)
    # The portal's web address for links (``https://x.bitrix24.com``), and its name in
    # the client's Redis keys (host[:port]); empty when B24_WEBHOOK_URL is not set.
    portal_url: str = ""
    portal: str = ""
    rps: float = 2.0
    burst: int = 50
    operating_limit: float = ClientConfig.operating_limit
    dry_run: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewConfig:
        password = settings.review_password
        if password is None or not password.get_secret_value().strip():
            raise ConfigurationError(
                "REVIEW_PASSWORD is not set: the review page does not start without a "
                "password (set it in the environment or .env, at least 8 characters)"
            )
        if len(password.get_secret_value()) < 8:
            raise ConfigurationError("REVIEW_PASSWORD is too short: use at least 8 characters")
        portal_url = portal = ""
        if settings.b24_webhook_url is not None:
            try:
                webhook = Webhook.parse(settings.b24_webhook_url)
            except WebhookURLError as exc:
                raise ConfigurationError(f"B24_WEBHOOK_URL: {exc}") from None
            portal_url, portal = webhook.origin, webhook.portal
        return cls(
            keys=Keys(settings.redis_prefix),
            password_digest=hashlib.sha256(password.get_secret_value().encode()).digest(),
            trusted_proxies=proxy_networks(settings.review_trusted_proxies),
            session_seconds=settings.review_session_hours * 3600,
            action_timeout=settings.review_action_timeout_seconds,
            rules=load_rules(settings.merge_rules_file),
            portal_url=portal_url,
            portal=portal,
            rps=settings.b24_rps,
            burst=settings.b24_burst,
            dry_run=settings.merge_mode == "dry-run",
        )

    def trusts(self, address: str | None) -> bool:
        """Whether ``address`` is a reverse proxy whose forwarded headers are believed."""
        if not address or not self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)
