"""The merge engine: ``crm.entity.mergeBatch`` from the request to the verdict.

Sources: ``modules/crm/lib/controller/action/entity/mergebatchaction.php`` (the action),
``modules/crm/lib/merger/entitymerger.php`` (``mergeBatch`` :346-436, the field engine
``mergeEntityFieldsBatch`` :1168-1330, multifields :1535-1601, user fields :2066-2440).
The real merger throws at the first refusing field; this one notes it, leaves that field
as it was, and goes on, so that every refusing field is reported.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from b24.crm import MULTIFIELDS, EntityType, MergeStatus
from b24.predict.fields import (
    Options,
    field_type,
    has_value,
    is_binding,
    is_compared,
    is_multifield,
    is_user_field,
    make_options,
    make_resolver,
)
from b24.predict.multifields import merge_multifields
from b24.predict.php import php_intval, php_string
from b24.predict.resolvers import Record
from b24.predict.userfields import is_multiple, seed_value_map, uf_is_set, union_multiple
from b24.predict.verdict import FieldConflict, Verdict

FieldInfos = Mapping[str, Mapping[str, Any]]


def predict_merge(
    entity: EntityType,
    records: Sequence[Mapping[str, Any]],
    fields: FieldInfos,
    *,
    language: str = "ru",
    now: datetime | str | None = None,
    with_product_rows: Collection[int] = (),
    zero_link_is_value: bool = True,
    placeholders: Collection[str] | None = None,
) -> Verdict:
    """Predict what ``crm.entity.mergeBatch`` does with these records.

    ``records``: the existing records in the order of ``entityIds`` (repeats included), as
    ``crm.{type}.get`` shows them. ``fields``: the ``crm.{type}.fields`` answer.

    Keyword choices (where the sheet is unsure):

    - ``language``: the portal language, ``ru`` or ``en``: the transliteration table
      (namefield.php:129-157) and the placeholder texts.
    - ``now``: the date-time in the separator of joined text fields (a ``datetime``, or the
      exact text); default: the current time.
    - ``with_product_rows``: ids of leads that have product rows (lead OPPORTUNITY,
      opportunityfield.php:25-73); crm.lead.get does not show them.
    - ``zero_link_is_value``: a ``crm_*`` link holding 0 counts as a value (sheet 2.1,
      inference); False treats it as empty.
    - ``placeholders``: the contact NAME / company TITLE texts counted as empty; default: the
      portal language's web-form and "unnamed"/"untitled" texts (fields.py PLACEHOLDERS).
    """
    opts = make_options(
        entity,
        language,
        now=now,
        with_product_rows=with_product_rows,
        zero_link_is_value=zero_link_is_value,
        placeholders=placeholders,
    )
    # mergebatchaction.php:113-130: ids cast to int; a non-positive id cannot exist.
    present = [(php_intval(record.get("ID")), record) for record in records]
    present = [(rid, record) for rid, record in present if rid > 0]
    if not present:  # mergebatchaction.php:58-63 (HTTP 400)
        return Verdict(MergeStatus.ERROR, None, [], reason="entityIds has no existing record")
    if len(present) < 2:  # mergebatchaction.php:65-69: repeats count here (HTTP 400)
        return Verdict(MergeStatus.ERROR, None, [], reason="fewer than two existing records")

    target_id, target_record = present[0]  # mergebatchaction.php:72
    seed_map: dict[int, Record] = {}
    for rid, record in present[1:]:  # entitymerger.php:353-359,416-420: target and repeats out
        if rid != target_id and rid not in seed_map:
            seed_map[rid] = record
    seeds = list(seed_map)
    original = copy.deepcopy(dict(target_record))
    if not seeds:  # entitymerger.php:361-364: nothing to merge, the action says SUCCESS
        return Verdict(
            MergeStatus.SUCCESS, target_id, [], [], original, "only the target's own id repeated"
        )

    targ: dict[str, Any] = copy.deepcopy(dict(target_record))
    conflicts: list[FieldConflict] = []
    _merge_entity_fields(opts, fields, target_id, targ, seed_map, conflicts)
    _merge_bindings(fields, targ, seed_map)
    type_ids = [code for code in MULTIFIELDS] + [
        code
        for code, info in fields.items()
        if is_multifield(code, info) and code not in MULTIFIELDS
    ]
    targ.update(merge_multifields(target_record, list(seed_map.values()), type_ids))
    _merge_user_fields(opts, fields, target_id, targ, seed_map, conflicts)

    if conflicts:
        refused = ", ".join(f"{c.code} ({c.kind})" for c in conflicts)
        return Verdict(
            MergeStatus.CONFLICT, target_id, seeds, conflicts, original, f"refused: {refused}"
        )
    repeated = len(present) - 1 - sum(1 for rid, _ in present[1:] if rid == target_id)
    if repeated > len(seeds):
        # entitymerger.php:353-359 keeps a repeated seed in $seedIDs (only $seedMap is keyed
        # by id), and :482-485 deletes each entry: the second delete of one id fails
        # (contactmerger.php:243-258 DELETE_FAILED) after the merge took effect: ERROR.
        return Verdict(
            MergeStatus.ERROR, target_id, seeds, [], targ, "a repeated seed: DELETE_FAILED"
        )
    changed = [code for code in targ if targ.get(code) != original.get(code)]
    reason = f"{len(seeds)} record(s) merge into {target_id}"
    reason += f"; changed: {', '.join(changed)}" if changed else "; no field changes"
    return Verdict(MergeStatus.SUCCESS, target_id, seeds, [], targ, reason)


def _merge_entity_fields(
    opts: Options,
    fields: FieldInfos,
    target_id: int,
    targ: dict[str, Any],
    seed_map: Mapping[int, Record],
    conflicts: list[FieldConflict],
) -> None:
    """entitymerger.php:1229-1325 in ASK_USER mode, field by field in GetFieldsInfo order
    (the REST description keeps that order). ``targ`` changes as it goes: NAME may set
    LAST_NAME before LAST_NAME is looked at."""
    for code, info in fields.items():
        if is_user_field(code, info) or is_multifield(code, info) or is_binding(code, info):
            continue
        if not is_compared(opts, code, info):
            continue
        type_id = field_type(info)
        targ_flag = has_value(opts, code, type_id, targ)  # :1269
        seed_values = {  # :1271-1280
            sid: seed[code]
            for sid, seed in seed_map.items()
            if has_value(opts, code, type_id, seed)
        }
        if not seed_values:  # :1282-1285: the target keeps its value
            continue
        if targ_flag or len(seed_values) > 1:  # :1287: compare (one lone seed is copied)
            current_ids = list(seed_values)
            # :1290: an empty target is stood in for by the first valued seed
            current_targ = dict(targ) if targ_flag else seed_map[current_ids.pop(0)]
            resolver = make_resolver(opts, code, type_id)
            resolver.set_target(current_targ)
            for sid in current_ids:
                resolver.add_seed(sid, seed_map[sid])
            result = resolver.resolve()
            if not result.success:  # :1300-1308 CONFLICT_OCCURRED
                values = {target_id: targ[code]} if targ_flag else {}
                values.update(seed_values)
                conflicts.append(FieldConflict(code, values, resolver.kind))
                continue
            targ_flag = targ_flag or result.target_changed  # :1309
            targ.update(result.target)  # :1310, array_merge
        if not targ_flag:  # :1321-1324: the first valued seed, in request order
            targ[code] = copy.deepcopy(seed_values[next(iter(seed_values))])


def _merge_bindings(
    fields: FieldInfos, targ: dict[str, Any], seed_map: Mapping[int, Record]
) -> None:
    """Contact->companies, company->contacts, lead->contacts: a union, target first
    (entitymerger.php:2604-2624, sheet 3). Only lists the records show are touched."""
    for code, info in fields.items():
        if not is_binding(code, info) or is_multifield(code, info):
            continue
        merged = list(targ[code]) if isinstance(targ.get(code), list) else []
        seen = {php_string(item) for item in merged}
        touched = False
        for seed in seed_map.values():
            items = seed.get(code)
            if not isinstance(items, list):
                continue
            for item in items:
                if php_string(item) not in seen:
                    merged.append(item)
                    seen.add(php_string(item))
                    touched = True
        if touched:
            targ[code] = merged


def _merge_user_fields(
    opts: Options,
    fields: FieldInfos,
    target_id: int,
    targ: dict[str, Any],
    seed_map: Mapping[int, Record],
    conflicts: list[FieldConflict],
) -> None:
    """entitymerger.php:2108-2438 without the merge-form map."""
    for code, info in fields.items():
        if not is_user_field(code, info):
            continue
        multiple = is_multiple(info)
        type_id = field_type(info)
        seed_values = seed_value_map(code, seed_map)
        targ_set = uf_is_set(targ.get(code))
        # :2136: a single field is compared when >= 2 seeds, or the target and a seed, are set
        if not multiple and (len(seed_values) > 1 or (targ_set and seed_values)):
            current_ids = list(seed_values)
            current_targ = dict(targ) if targ_set else seed_map[current_ids.pop(0)]
            # :2141: the same per-entity switch, then string -> StringField, else Base
            resolver = make_resolver(opts, code, type_id)
            resolver.set_target(current_targ)
            for sid in current_ids:
                resolver.add_seed(sid, seed_map[sid])
            result = resolver.resolve()
            if not result.success:  # :2151-2159
                values = {target_id: targ[code]} if targ_set else {}
                values.update(seed_values)
                conflicts.append(FieldConflict(code, values, "user_field"))
                continue
            targ.update(result.target)  # :2160
        if not seed_values:
            continue
        if not multiple:  # :2262-2270 (file), :2433-2436: only an unset target takes one
            if not uf_is_set(targ.get(code)):
                targ[code] = copy.deepcopy(seed_values[next(iter(seed_values))])
            continue
        merged = union_multiple(
            targ.get(code), list(seed_values.values()), is_file=type_id == "file"
        )
        if merged is not None:
            targ[code] = copy.deepcopy(merged)
