"""The portal's field descriptions (``crm.{type}.fields``), read once and kept a while.

Bitrix24's merger decides per field by the field's type; the portal's own user fields
(``UF_CRM_*``) are known only from this answer. It changes when an administrator adds
a field, so a process reads it again after :data:`REFRESH_SECONDS`.
"""

from __future__ import annotations

import time
from typing import Any

from b24.client import Bitrix24Client
from b24.crm import EntityType

REFRESH_SECONDS = 600.0
Descriptions = dict[str, dict[str, Any]]


class FieldDescriptions:
    def __init__(self, client: Bitrix24Client, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._client = client
        self._refresh = refresh_seconds
        self._cache: dict[EntityType, tuple[float, Descriptions]] = {}

    async def of(self, entity: EntityType) -> Descriptions:
        """``crm.{type}.fields`` of ``entity``; one request per type per refresh period."""
        cached = self._cache.get(entity)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._refresh:
            return cached[1]
        answer = await self._client.call(entity.methods.fields)
        descriptions: Descriptions = {
            str(code): dict(info) for code, info in (answer or {}).items() if isinstance(info, dict)
        }
        self._cache[entity] = (now, descriptions)
        return descriptions
