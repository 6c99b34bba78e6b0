"""``crm.duplicate.findbycomm`` and ``crm.entity.mergeBatch``.

findbycomm is in :mod:`b24.emulator.findbycomm`, the merger's decisions in
:mod:`b24.emulator.merger`. Here: mergeBatch as the REST action runs it
(``crm/lib/controller/action/entity/mergebatchaction.php``) and the merger writes it
(``crm/lib/merger/entitymerger.php:346-529``).

- ``params[entityTypeId]`` is cast to int; 0 (missing, or a name such as "CONTACT") is
  "The parameter entityTypeId is required." (:24-29). A type without a factory is
  OWNER_NOT_FOUND "Owner was not found" (:50-56); deals, quotes and smart invoices
  have one, but this portal holds none of them.
- ``params[entityIds]`` are cast to int and those that do not exist are dropped, order
  and repeats kept (:58, :113-130); none left, "The parameter entityIds does not
  contains valid elements."; one, "...must contains at least two elements." (the
  source's spelling; the docs write "contain"). Validation errors are HTTP 400 with
  ``error`` 0 (``restmanager.php:180-189,345-356``).
- The first id left survives; ``ENTITY_IDS`` is the rest, also on CONFLICT and ERROR
  (:71-110). The merger drops seeds equal to the survivor (``entitymerger.php:353-364``)
  but deletes a repeated seed twice: the second delete fails, the answer is ERROR after
  the merge is done (``merge_repeated_seed``).
- CONFLICT writes nothing. SUCCESS updates the survivor (one UPDATE event, a fresh
  DATE_MODIFY even when no field changed), then per seed re-points its children at the
  survivor and deletes it (one DELETE event each) (:467-528).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from b24.crm import EntityType, MergeStatus
from b24.emulator.errors import RestError
from b24.emulator.fields import ENTITY_TYPES_BY_ID
from b24.emulator.findbycomm import findbycomm
from b24.emulator.merger import php
from b24.emulator.merger.language import language
from b24.emulator.merger.merge import MergePlan, plan_merge
from b24.emulator.registry import Context, Params, Registry

# Types with a factory (entitymergerfactory.php:42-73) that this portal holds none of.
_EMPTY_TYPES = frozenset({2, 7, 31})
# A merge's rebind (contactmerger.php:266-305, companymerger.php:284-327): the children
# the emulator keeps as a field pointing at their parent.
_CHILDREN: dict[str, tuple[tuple[EntityType, str], ...]] = {
    "CONTACT": ((EntityType.LEAD, "CONTACT_ID"),),
    "COMPANY": ((EntityType.CONTACT, "COMPANY_ID"), (EntityType.LEAD, "COMPANY_ID")),
}


def _validation(description: str) -> RestError:
    return RestError(400, 0, description)


def _id_list(raw: Any) -> list[Any] | None:
    if isinstance(raw, Mapping):
        return list(raw.values())
    if isinstance(raw, list):
        return raw
    return None


def merge_batch(ctx: Context, params: Params) -> dict[str, Any]:
    merge = params.get("params")
    if merge is None:
        raise _validation("Could not find value for parameter {params}")
    if isinstance(merge, list):
        merge = {str(i): v for i, v in enumerate(merge)}
    if not isinstance(merge, Mapping):
        raise _validation(
            f"Invalid value {{{merge}}} to match with parameter {{params}}. "
            "Should be value of type array."
        )
    type_id = php.intval(merge.get("entityTypeId"))
    if type_id == 0:
        raise _validation("The parameter entityTypeId is required.")
    raw_ids = _id_list(merge.get("entityIds"))
    entity = ENTITY_TYPES_BY_ID.get(type_id)
    if entity is None and type_id not in _EMPTY_TYPES:
        raise RestError(400, "OWNER_NOT_FOUND", "Owner was not found")
    if raw_ids is None:
        # Inference: filterExistsItems(array $ids) given null is a TypeError, whose
        # message becomes the error (main/lib/engine/controller.php:988-991).
        raise _validation(
            "Bitrix\\Crm\\Controller\\Action\\Entity\\MergeBatchAction::filterExistsItems(): "
            "Argument #2 ($ids) must be of type array, null given"
        )
    ids = [php.intval(raw) for raw in raw_ids]
    if ctx.config.merge_repeated_seed == "drop":
        ids = list(dict.fromkeys(ids))
    if entity is None:
        existing: list[int] = []
    else:
        existing = [i for i in ids if i > 0 and ctx.portal.exists(entity, i)]
    if not existing:
        raise _validation("The parameter entityIds does not contains valid elements.")
    if len(existing) < 2:
        raise _validation("The parameter entityIds must contains at least two elements.")
    assert entity is not None
    target_id, entity_ids = existing[0], existing[1:]
    status = _merge(ctx, entity, target_id, entity_ids)
    return {"STATUS": status, "ENTITY_IDS": entity_ids}


def _merge(ctx: Context, entity: EntityType, target_id: int, entity_ids: list[int]) -> str:
    """``EntityMerger::mergeBatch``; the answer's STATUS."""
    portal, config = ctx.portal, ctx.config
    seed_ids = [i for i in entity_ids if i != target_id]
    if not seed_ids:
        return MergeStatus.SUCCESS  # nothing to merge: the merger returns at once
    unique_seeds = list(dict.fromkeys(seed_ids))
    lang = language(config.language)

    def separator_date() -> str:
        moment = datetime.fromtimestamp(portal.clock(), portal.tz)
        return lang.separator_date(moment, config.merge_separator_date_format)

    plan = plan_merge(
        entity.name,
        portal.raw(entity, target_id),
        [portal.raw(entity, i) for i in unique_seeds],
        user_fields={
            code: portal.user_field_spec(entity.name, code)
            for code in portal.user_fields[entity.name]
        },
        lang=lang,
        separator_date=separator_date,
        zero_link_is_value=config.merge_zero_link_is_value,
        compare_utm=config.merge_compare_utm,
    )
    if plan.status != MergeStatus.SUCCESS:
        ctx.merges.note(entity.name, [target_id, *entity_ids], plan.status, plan.conflict_field)
        return plan.status
    _write(ctx, entity, target_id, plan)
    for seed_id in seed_ids:
        if config.merge_rebind_children:
            for child, code in _CHILDREN.get(entity.name, ()):
                moved = portal.repoint(child, code, seed_id, target_id)
                if config.merge_rebind_events:
                    for child_id in moved:
                        portal.announce_update(child, child_id)
        if not portal.exists(entity, seed_id):
            # A repeated seed: its second delete fails (DELETE_FAILED) after the merge.
            ctx.merges.note(entity.name, [target_id, *entity_ids], MergeStatus.ERROR)
            return MergeStatus.ERROR
        portal.delete(entity, seed_id)
    ctx.merges.note(entity.name, [target_id, *entity_ids], MergeStatus.SUCCESS)
    return MergeStatus.SUCCESS


def _write(ctx: Context, entity: EntityType, target_id: int, plan: MergePlan) -> None:
    """The survivor's update: its changed fields and new multifield entries, one event.

    CREATED_BY_ID and DATE_CREATE stay; MODIFY_BY_ID and DATE_MODIFY are fresh
    (contactmerger.php:225-242); the update runs, and so fires, even with no change.
    """
    fields: dict[str, Any] = dict(plan.changes)
    fields.update(plan.new_items)
    if fields or ctx.config.merge_update_unchanged:
        ctx.portal.update(entity, target_id, fields)


def register(registry: Registry) -> None:
    registry.add("crm.duplicate.findbycomm", findbycomm)
    registry.add("crm.entity.mergeBatch", merge_batch)
