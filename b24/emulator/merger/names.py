"""``namefield.php``: NAME, SECOND_NAME and LAST_NAME of leads and contacts.

The string steps first (:64-72); SECOND_NAME and LAST_NAME stop at their success.
With at most ten valued seeds every seed is first checked against every other seed,
changing nothing (:29-62); then each seed against the target. NAME adds the related
field rule (:159-242): a first or last name in the wrong field, a full name packed
into one field, the same names but for runs of spaces; a full swap of two filled
names is not among them. Then a seed inside the target or the target inside the seed
(:114-127), then transliteration (:129-157).
"""

from __future__ import annotations

from typing import Any

from b24.emulator.merger import php
from b24.emulator.merger.language import Language
from b24.emulator.merger.resolvers import Step, StringField
from b24.emulator.merger.translit import translit


class NameField(StringField):
    MAX_SEED_TO_CHECK_COUNT = 10

    def __init__(
        self,
        field_id: str,
        lang: Language,
        *,
        related: bool = False,
        empty_values: tuple[str, ...] = (),
    ) -> None:
        super().__init__(field_id, empty_values)
        self.lang = lang
        self.related = related
        self.skip_resolve = False
        self.skip_set_new_target = False

    def set_new_target_value(self, value: Any, field_id: str | None = None) -> None:
        if self.skip_set_new_target:
            return
        super().set_new_target_value(value, field_id)

    def do_resolve(self) -> bool:
        if len(self.seeds) > self.MAX_SEED_TO_CHECK_COUNT:
            # if seeds count is too large, will use only StringField resolves
            self.skip_resolve = True
            return super().do_resolve()
        # will only check, modifying seeds data is forbidden
        self.skip_set_new_target = True
        for pair_target_id in list(self.seeds):
            self.cur_seed_id = pair_target_id
            target_value: Any = self.get_seed_value()
            for seed_id in list(self.seeds):
                if seed_id == pair_target_id:
                    continue
                self.cur_seed_id = seed_id
                seed_value = self.get_seed_value()
                # The target value is passed by reference: the next pair sees it normalised.
                ok, _, target_value = self.resolve_by_value(seed_value, target_value)
                if not ok:
                    return False
        self.skip_set_new_target = False
        self.cur_seed_id = None
        return super().do_resolve()

    def resolve_by_value(self, seed: Any, target: Any) -> Step:
        parent_ok, seed, target = super().resolve_by_value(seed, target)
        # related fields check can redefine resolve results, so we can't exit here
        if parent_ok and not self.related:
            return True, seed, target
        if self.skip_resolve:
            return parent_ok, seed, target
        if self.related and self.check_related_fields(seed, target):
            return True, seed, target
        if parent_ok:
            return True, seed, target
        if self.is_empty(seed):
            return True, seed, target
        if self.is_empty(target):
            self.set_new_target_value(seed)
            return True, seed, target
        if self.check_substring(seed, target):
            return True, seed, target
        if self.check_translit(seed, target):
            return True, seed, target
        return False, seed, target

    def check_substring(self, seed: str, target: str) -> bool:
        """:114-127: a seed inside the target stays out; a target inside the seed grows."""
        if php.stripos(target, seed):
            return True
        if php.stripos(seed, target):
            self.set_new_target_value(self.get_seed_value())
            return True
        return False

    def check_translit(self, seed: str, target: str) -> bool:
        """:129-157: equal once transliterated; a Latin target takes the original seed."""
        seed_latin = translit(seed, self.lang)
        target_latin = translit(target, self.lang)
        if seed_latin == target_latin:
            if php.lower(target) == target_latin:
                # if target is translited, use seed instead
                self.set_new_target_value_if_need(seed)
            return True
        return False

    def check_related_fields(self, seed_value: str, target_value: str) -> bool:
        """:159-242. LAST_NAME comes from the resolver's target even in the pair pass."""
        seed, target = self.get_seed(), self.get_target()
        seed_last_original = php.to_string(seed.get("LAST_NAME"))
        target_last_original = php.to_string(target.get("LAST_NAME"))
        seed_last = php.lower(php.trim(seed_last_original))
        target_last = php.lower(php.trim(target_last_original))
        seed_name = php.lower(seed_value)
        target_name = php.lower(target_value)

        # Name or last name in the wrong field
        if seed_last == "" and seed_name == target_last:
            return True
        if seed_name == "" and seed_last == target_name:
            return True
        if target_last == "" and target_name == seed_last:
            self._take_seed_names(seed_last_original)
            return True
        if target_name == "" and target_last == seed_name:
            self._take_seed_names(seed_last_original)
            return True

        # Name and last name in the same field
        if seed_last == "" and seed_name in (
            f"{target_name} {target_last}",
            f"{target_last} {target_name}",
        ):
            return True
        if seed_name == "" and seed_last in (
            f"{target_name} {target_last}",
            f"{target_last} {target_name}",
        ):
            return True
        if target_last == "" and target_name in (
            f"{seed_name} {seed_last}",
            f"{seed_last} {seed_name}",
        ):
            self._take_seed_names(seed_last_original)
            return True
        if target_name == "" and target_last in (
            f"{seed_name} {seed_last}",
            f"{seed_last} {seed_name}",
        ):
            self._take_seed_names(seed_last_original)
            return True

        return self.check_redundant_spaces_in_all_fields(
            seed_value,
            php.trim(seed_last_original),
            target_value,
            php.trim(target_last_original),
        )

    def _take_seed_names(self, seed_last_original: str) -> None:
        self.set_new_target_value(self.get_seed_value())
        self.set_new_target_value(seed_last_original, "LAST_NAME")

    def check_redundant_spaces_in_all_fields(
        self, seed_name: str, seed_last: str, target_name: str, target_last: str
    ) -> bool:
        """:253-285: both names equal once runs of spaces are one space."""
        seed_name_spaced = self.remove_spaces(seed_name)
        seed_last_spaced = self.remove_spaces(seed_last)
        target_name_spaced = self.remove_spaces(target_name)
        target_last_spaced = self.remove_spaces(target_last)
        if seed_name_spaced == target_name_spaced and seed_last_spaced == target_last_spaced:
            if target_last != target_last_spaced:
                self.set_new_target_value(target_name)
                self.set_new_target_value(target_last_spaced, "LAST_NAME")
            if target_name != target_name_spaced:
                self.set_new_target_value(target_name_spaced)
            return True
        return False
