"""The Bitrix24 client of the service's portal, built from the settings."""

from __future__ import annotations

import redis.asyncio as aioredis

from b24.client import Bitrix24Client, ClientConfig
from b24_dedupe.settings import Settings


def client_config(settings: Settings) -> ClientConfig:
    """The portal's limits and the service's key prefix, as the client takes them."""
    return ClientConfig(
        key_prefix=settings.redis_prefix,
        rps=settings.b24_rps,
        burst=settings.b24_burst,
        max_batch_commands=settings.b24_batch_commands,
        read_timeout=settings.b24_read_timeout_seconds,
    )


def client_from_settings(settings: Settings, redis: aioredis.Redis) -> Bitrix24Client:
    """The client of the service's portal, as the settings describe it."""
    if settings.b24_webhook_url is None:
        raise ValueError("B24_WEBHOOK_URL is not set")
    return Bitrix24Client(settings.b24_webhook_url, redis, config=client_config(settings))
