"""``crm.lead|contact|company.add|get|update|delete|list|fields``."""

from __future__ import annotations

from typing import Any

from b24.crm import EntityType
from b24.emulator import errors
from b24.emulator.fields import ENTITY_TYPES, field_descriptions
from b24.emulator.listing import Page, list_records
from b24.emulator.registry import Context, Handler, Params, Registry


def record_id(params: Params) -> int:
    """The ``id`` parameter; portals accept ``id`` and ``ID``."""
    raw = params.get("id", params.get("ID"))
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise errors.invalid_id() from None
    if value <= 0:
        raise errors.invalid_id()
    return value


def _fields(params: Params) -> Any:
    fields = params.get("fields", params.get("FIELDS"))
    if fields is None:
        # Docs silent on the text; portals refuse an add/update without fields.
        raise errors.invalid_argument("Parameter 'fields' is required.")
    if isinstance(fields, list) and not fields:
        fields = {}  # PHP sends an empty object as []
    return fields


def _handlers(entity: EntityType) -> dict[str, Handler]:
    def add(ctx: Context, params: Params) -> int:
        return ctx.portal.add(entity, _fields(params))

    def get(ctx: Context, params: Params) -> dict[str, Any]:
        return ctx.portal.get(entity, record_id(params))

    def update(ctx: Context, params: Params) -> bool:
        ctx.portal.update(entity, record_id(params), _fields(params))
        return True

    def delete(ctx: Context, params: Params) -> bool:
        ctx.portal.delete(entity, record_id(params))
        return True

    def list_(ctx: Context, params: Params) -> Page:
        return list_records(
            entity,
            ctx.portal.records[entity.name],
            params,
            user_fields=ctx.portal.user_fields[entity.name],
            tz=ctx.portal.tz,
            page_size=ctx.config.list_page_size,
        )

    def fields(ctx: Context, params: Params) -> dict[str, Any]:
        portal = ctx.portal
        specs = {c: portal.user_field_spec(entity.name, c) for c in portal.user_fields[entity.name]}
        return field_descriptions(entity, specs)

    return {
        "add": add,
        "get": get,
        "update": update,
        "delete": delete,
        "list": list_,
        "fields": fields,
    }


def register(registry: Registry) -> None:
    for entity in ENTITY_TYPES.values():
        for action, handler in _handlers(entity).items():
            registry.add(f"{entity.method_prefix}.{action}", handler)
