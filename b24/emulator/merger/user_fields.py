"""Custom fields in a merge (``entitymerger.php:2066-2440``).

"Has a value" is only "set and not null" (:2129-2133). A single field is compared
when two seeds, or the survivor and a seed, have values (:2136-2168): a ``string``
field with the string steps, any other type with PHP ``==`` (so boolean 0 and 1, or
two file ids, conflict); then the survivor keeps its value or takes the first seed's
(:2433-2436). A multiple field never conflicts: the survivor's values, then each
seed's values not yet among them (:2174-2188, :2410-2432).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24.emulator.merger.kinds import ResolverFactory
from b24.emulator.user_fields import UserFieldSpec


def merge_user_fields(
    target: dict[str, Any],
    seeds: Mapping[int, Mapping[str, Any]],
    specs: Mapping[str, UserFieldSpec],
    make_resolver: ResolverFactory,
) -> str | None:
    """Merge into ``target``; the code of the first conflicting field, else None."""
    for code, spec in specs.items():
        valued = {
            seed_id: seed[code] for seed_id, seed in seeds.items() if seed.get(code) is not None
        }
        target_set = target.get(code) is not None
        if not spec.multiple and (len(valued) > 1 or (target_set and valued)):
            seed_ids = list(valued)
            current = dict(target) if target_set else dict(seeds[seed_ids.pop(0)])
            resolver = make_resolver(code, spec.type)
            resolver.set_target(current)
            for seed_id in seed_ids:
                resolver.add_seed(seed_id, seeds[seed_id])
            resolution = resolver.resolve()
            if resolution is None:
                return code
            target.update(resolution.target)
        if not valued:
            continue
        if spec.multiple:
            values: list[Any] = []
            for value in valued.values():
                if isinstance(value, list):
                    # array_diff: a seed's values not yet taken (its own repeats stay)
                    values += [item for item in value if item not in values]
                else:
                    values.append(value)
            current_values = target.get(code)
            if isinstance(current_values, list):
                target[code] = current_values + [v for v in values if v not in current_values]
            else:
                target[code] = values
        elif target.get(code) is None:
            target[code] = next(iter(valued.values()))
    return None
