"""``crm.duplicate.volatileType.fields|list|register|unregister`` (docs, volatileType pages)."""

from __future__ import annotations

from typing import Any

from b24.emulator import errors
from b24.emulator.errors import RestError
from b24.emulator.fields import ENTITY_TYPES_BY_ID
from b24.emulator.registry import Context, Params, Registry

# Standard fields offered for duplicate search. The docs' example lists TITLE and
# ADDRESS for leads and names requisite fields such as RQ.DE.NAME; the rest of the
# portal's list is not documented, so this is a plausible subset.
STANDARD_FIELDS: dict[int, dict[str, str]] = {
    1: {
        "TITLE": "Lead Name",
        "ADDRESS": "Address",
        "POST": "Position",
        "SOURCE_DESCRIPTION": "Source information",
    },
    3: {"ADDRESS": "Address", "POST": "Position", "RQ.DE.NAME": "Name (Germany)"},
    4: {"ADDRESS": "Address", "BANKING_DETAILS": "Payment details", "RQ.DE.NAME": "Name (Germany)"},
}


def _available(ctx: Context, type_id: int) -> dict[str, str]:
    entity = ENTITY_TYPES_BY_ID[type_id]
    return {**STANDARD_FIELDS[type_id], **ctx.portal.user_fields[entity.name]}


def _type_id(params: Params, *, required: bool) -> int | None:
    raw = params.get("entityTypeId")
    if raw in (None, ""):
        if required:
            raise errors.invalid_argument("Parameter 'entityTypeId' is required.")
        return None
    try:
        type_id = int(str(raw))
    except ValueError:
        raise errors.invalid_argument("Parameter 'entityTypeId' is invalid.") from None
    if type_id not in STANDARD_FIELDS:
        # Docs: only 1, 3 and 4 are possible; another type has no such field.
        raise RestError(400, "Field not found", "The specified field was not found.")
    return type_id


def fields(ctx: Context, params: Params) -> list[dict[str, Any]]:
    wanted = _type_id(params, required=False)
    result = []
    for type_id in STANDARD_FIELDS:
        if wanted is not None and type_id != wanted:
            continue
        for code, title in _available(ctx, type_id).items():
            result.append({"entityTypeId": type_id, "fieldCode": code, "fieldTitle": title})
    return result


def list_(ctx: Context, params: Params) -> list[dict[str, Any]]:
    return [
        {"id": rid, "entityTypeId": type_id, "fieldCode": code}
        for rid, (type_id, code) in sorted(ctx.volatile.registered.items())
    ]


def register(ctx: Context, params: Params) -> dict[str, int]:
    type_id = _type_id(params, required=True)
    assert type_id is not None
    code = str(params.get("fieldCode") or "").strip()
    if code not in _available(ctx, type_id):
        raise RestError(400, "Field not found", "The specified field was not found.")
    for rid, entry in ctx.volatile.registered.items():
        if entry == (type_id, code):
            # Docs silent on registering a field twice: the existing record is returned.
            return {"id": rid}
    if len(ctx.volatile.registered) >= ctx.config.volatile_max_types:
        raise RestError(
            400,
            "MAX_TYPES_COUNT_EXCEEDED",
            "The maximum number of custom field types in the duplicate search has been exceeded.",
        )
    rid = ctx.volatile.next_id
    ctx.volatile.next_id += 1
    ctx.volatile.registered[rid] = (type_id, code)
    return {"id": rid}


def unregister(ctx: Context, params: Params) -> bool:
    try:
        rid = int(str(params.get("id")))
    except ValueError:
        rid = -1
    if rid not in ctx.volatile.registered:
        raise RestError(400, "TYPE_IS_NOT_ASSIGNED", "This type is not assigned.")
    del ctx.volatile.registered[rid]
    return True


def register_methods(registry: Registry) -> None:
    registry.add("crm.duplicate.volatileType.fields", fields)
    registry.add("crm.duplicate.volatileType.list", list_)
    registry.add("crm.duplicate.volatileType.register", register)
    registry.add("crm.duplicate.volatileType.unregister", unregister)
