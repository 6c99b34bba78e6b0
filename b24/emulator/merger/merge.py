"""One merge decided in memory: ``EntityMerger::mergeBatch`` (``entitymerger.php:346-529``).

:func:`plan_merge` takes the survivor ("target") and the seeds as the database holds
them and answers what the survivor becomes, or the first field that conflicts. Nothing
is written here: the merger writes only after every field, binding and custom field
is resolved (:410-436 checks, :458-485 writes), so a CONFLICT changes nothing.

Order (:434-436): the entity fields (:1168-1330), then bindings and multifields
(:1535-1601), then custom fields (:2066-2440).

Entity fields, for each field the type does not skip (:1269-1324): no valued seed,
the survivor keeps its value; an empty survivor and one valued seed, the seed's value
is copied without comparison; otherwise the field's resolver compares every valued
seed with the survivor (or, when the survivor is empty, with the first valued seed)
and a failure is a CONFLICT; if the resolver set nothing and the survivor was empty,
the first valued seed's value is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from b24.crm import MergeStatus
from b24.emulator.merger import php
from b24.emulator.merger.kinds import (
    FIELD_KINDS,
    UTM_FIELDS,
    ResolverFactory,
    has_value,
    resolver_factory,
)
from b24.emulator.merger.language import Language
from b24.emulator.merger.multifields import merge_multifields
from b24.emulator.merger.user_fields import merge_user_fields
from b24.emulator.user_fields import UserFieldSpec

Row = Mapping[str, Any]

# The bindings the emulator keeps as one field: the survivor keeps its own, or takes the
# first seed's (the union of bindings, target first, makes the first one primary:
# entitybindingmerger.php:21-129, contactmerger.php:151-157, leadmerger.php:212-216).
BINDING_FIELDS = {"CONTACT": "COMPANY_ID", "LEAD": "CONTACT_ID"}


@dataclass
class MergePlan:
    """What a merge does: SUCCESS with the survivor's new values, or CONFLICT at a field."""

    status: str
    conflict_field: str | None = None
    # Fields whose value changes on the survivor (custom fields included).
    changes: dict[str, Any] = field(default_factory=dict)
    # Multifield entries appended to the survivor, by type.
    new_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def merge_entity_fields(
    entity_name: str,
    target: dict[str, Any],
    seeds: Mapping[int, Row],
    make_resolver: ResolverFactory,
    lang: Language,
    *,
    zero_link_is_value: bool,
    compare_utm: bool = True,
) -> str | None:
    """``mergeEntityFieldsBatch`` in ASK_USER mode; the first conflicting field, else None."""
    for kind in FIELD_KINDS[entity_name]:
        if kind.skip or (not compare_utm and kind.code in UTM_FIELDS):
            continue

        def valued(row: Row, kind: Any = kind) -> bool:
            return has_value(entity_name, kind, row, lang, zero_link_is_value=zero_link_is_value)

        target_valued = valued(target)
        values = {seed_id: seed[kind.code] for seed_id, seed in seeds.items() if valued(seed)}
        if not values:
            continue
        if target_valued or len(values) > 1:
            seed_ids = list(values)
            current = dict(target) if target_valued else dict(seeds[seed_ids.pop(0)])
            resolver = make_resolver(kind.code, kind.php_type)
            resolver.set_target(current)
            for seed_id in seed_ids:
                resolver.add_seed(seed_id, seeds[seed_id])
            resolution = resolver.resolve()
            if resolution is None:
                return kind.code
            target_valued = target_valued or resolution.changed
            target.update(resolution.target)
        if not target_valued:
            target[kind.code] = next(iter(values.values()))
    return None


def merge_bindings(entity_name: str, target: dict[str, Any], seeds: Sequence[Row]) -> None:
    code = BINDING_FIELDS.get(entity_name)
    if code is None or php.intval(target.get(code)) > 0:
        return
    for seed in seeds:
        if php.intval(seed.get(code)) > 0:
            target[code] = seed[code]
            return


def plan_merge(
    entity_name: str,
    target: Row,
    seeds: Sequence[Row],
    *,
    user_fields: Mapping[str, UserFieldSpec],
    lang: Language,
    separator_date: Callable[[], str],
    zero_link_is_value: bool = True,
    compare_utm: bool = True,
) -> MergePlan:
    """Decide the merge of ``seeds`` (each once, in order) into ``target``."""
    merged: dict[str, Any] = dict(target)
    seed_map = {int(seed["ID"]): seed for seed in seeds}
    make_resolver = resolver_factory(entity_name, lang, separator_date)
    conflict = merge_entity_fields(
        entity_name,
        merged,
        seed_map,
        make_resolver,
        lang,
        zero_link_is_value=zero_link_is_value,
        compare_utm=compare_utm,
    )
    if conflict is not None:
        return MergePlan(MergeStatus.CONFLICT, conflict)
    merge_bindings(entity_name, merged, list(seed_map.values()))
    new_items = merge_multifields(merged, list(seed_map.values()))
    conflict = merge_user_fields(merged, seed_map, user_fields, make_resolver)
    if conflict is not None:
        return MergePlan(MergeStatus.CONFLICT, conflict)
    changes = {code: value for code, value in merged.items() if target.get(code) != value}
    return MergePlan(MergeStatus.SUCCESS, changes=changes, new_items=new_items)
