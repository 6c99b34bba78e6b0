"""``crm.duplicate.findbycomm`` and ``crm.entity.mergeBatch`` as documented.

Sources: shared/bitrix24-docs/crm-auxiliary-duplicates-enums.md (the two method
pages) and facts.md (phone matching, "no match returns []").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24.crm import EntityType
from b24.emulator.errors import RestError
from b24.emulator.fields import (
    ENTITY_TYPES,
    ENTITY_TYPES_BY_ID,
    FIELDS,
    is_user_editable,
)
from b24.emulator.phones import normalise_communication
from b24.emulator.portal import Record
from b24.emulator.registry import Context, Params, Registry

# findbycomm searches and answers in this order; the "20 or more hides the other
# types" rule (docs) cuts the types after the one that reached the threshold.
FINDBYCOMM_ORDER = ("LEAD", "CONTACT", "COMPANY")

# crm.enum.ownertype names for the types mergeBatch knows but this portal holds none of.
_OTHER_TYPE_NAMES = {
    2: "Deal",
    5: "Invoice (old version)",
    7: "Estimate",
    8: "Requisites",
    31: "Invoice",
    36: "Document",
    39: "Company Document",
}


def _as_list(raw: Any) -> list[Any]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, Mapping):
        return list(raw.values())
    if isinstance(raw, list):
        return raw
    return [raw]


def findbycomm(ctx: Context, params: Params) -> Any:
    comm_type = str(params.get("type") or "").strip()
    if not comm_type:
        raise RestError(400, "Communication type is not defined", "Parameter 'type' is required.")
    comm_type = comm_type.upper()
    if comm_type not in ("PHONE", "EMAIL"):
        raise RestError(
            400,
            f"Communication type '{comm_type}' is not supported in current context",
            "An unsupported communication type was specified.",
        )
    values = [str(v) for v in _as_list(params.get("values")) if not isinstance(v, dict | list)]
    values = [v for v in values if v.strip()]
    if not values:
        raise RestError(
            400, "Communication values is not defined", "Parameter 'values' is required."
        )
    limit = ctx.config.findbycomm_max_values
    if len(values) > limit:
        if ctx.config.findbycomm_over_limit == "truncate":
            values = values[:limit]
        else:
            # Docs: "Maximum number of values — 20"; the answer past it is not documented.
            raise RestError(
                400, "Too many communication values", f"The maximum number of values is {limit}."
            )
    entity_filter = str(params.get("entity_type") or "").strip().upper()
    if entity_filter and entity_filter not in ENTITY_TYPES:
        # Docs silent; an unknown type is refused like an unknown communication type.
        raise RestError(
            400,
            f"Entity type '{entity_filter}' is not supported in current context",
            "An unsupported entity type was specified.",
        )
    result: dict[str, list[int]] = {}
    for name in FINDBYCOMM_ORDER:
        if entity_filter and name != entity_filter:
            continue
        ids = sorted(ctx.portal.communications.find(comm_type, values, name))
        if ids:
            result[name] = ids
        if len(ids) >= ctx.config.findbycomm_hide_threshold:
            break
    # facts.md: no match is an empty array, not an object.
    return result if result else []


def _merge_error(description: str) -> RestError:
    # The docs' example answers error 0 with the text in error_description.
    return RestError(400, 0, description)


def _entity_ids(raw: Any) -> list[int]:
    ids: list[int] = []
    for item in _as_list(raw):
        try:
            value = int(str(item).strip())
        except (TypeError, ValueError):
            continue
        if value > 0 and value not in ids:
            ids.append(value)
    return ids


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _conflicting_fields(ctx: Context, entity: EntityType, records: list[Record]) -> list[str]:
    codes = [c for c in FIELDS[entity.name] if is_user_editable(entity, c)]
    codes += list(ctx.portal.user_fields[entity.name])
    conflicts = []
    for code in codes:
        if code in ctx.config.merge_survivor_fields:
            continue
        values = {str(r.get(code)).strip() for r in records if not _is_empty(r.get(code))}
        if len(values) > 1:
            conflicts.append(code)
    return conflicts


def merge_batch(ctx: Context, params: Params) -> dict[str, Any]:
    merge = params.get("params")
    if not isinstance(merge, Mapping):
        merge = {}
    raw_type = merge.get("entityTypeId")
    if raw_type in (None, ""):
        raise _merge_error("The parameter entityTypeId is required.")
    try:
        type_id = int(str(raw_type))
    except ValueError:
        raise _merge_error("The parameter entityTypeId is required.") from None
    raw_ids = merge.get("entityIds")
    ids = _entity_ids(raw_ids)
    if not ids:
        raise _merge_error("The parameter entityIds does not contain valid elements.")
    if len(ids) < 2:
        raise _merge_error("The parameter entityIds must contain at least two elements.")
    entity = ENTITY_TYPES_BY_ID.get(type_id)
    if entity is None:
        name = _OTHER_TYPE_NAMES.get(type_id, str(type_id))
        # The emulated portal holds leads, contacts and companies only.
        raise _merge_error(f"Entity type {name} is not supported")
    if not all(ctx.portal.exists(entity, i) for i in ids):
        raise _merge_error("Owner was not found")
    records = [ctx.portal.raw(entity, i) for i in ids]
    if _conflicting_fields(ctx, entity, records):
        # Nothing changes on a conflict; the manual merge form takes it from here.
        return {"STATUS": "CONFLICT", "ENTITY_IDS": []}
    survivor, others = records[0], records[1:]
    for other in others:
        for code, value in other.items():
            if code in ("PHONE", "EMAIL", "WEB", "IM"):
                continue
            if (
                (is_user_editable(entity, code) or code in ctx.portal.user_fields[entity.name])
                and _is_empty(survivor.get(code))
                and not _is_empty(value)
            ):
                survivor[code] = value
        for type_id_name in ("PHONE", "EMAIL", "WEB", "IM"):
            known = {
                normalise_communication(type_id_name, i["VALUE"])
                for i in survivor.get(type_id_name) or []
            }
            fresh = []
            for item in other.get(type_id_name) or []:
                key = normalise_communication(type_id_name, item["VALUE"])
                if key not in known:
                    known.add(key)
                    fresh.append(item)
            ctx.portal.add_items(survivor, type_id_name, fresh)
    ctx.portal.touch(entity, survivor)
    ctx.portal.announce_update(entity, ids[0])
    for other_id in ids[1:]:
        ctx.portal.delete(entity, other_id)
    return {"STATUS": "SUCCESS", "ENTITY_IDS": ids[1:]}


def register(registry: Registry) -> None:
    registry.add("crm.duplicate.findbycomm", findbycomm)
    registry.add("crm.entity.mergeBatch", merge_batch)
