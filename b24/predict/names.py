"""``NameField``: NAME, SECOND_NAME and LAST_NAME of leads and contacts (sheet 2.4).

Source: ``modules/crm/lib/merger/conflictresolver/namefield.php``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from b24.predict.php import mb_lower, mb_stripos_found, php_string, php_trim
from b24.predict.strings import StringField, remove_spaces
from b24.predict.translit import translit

# namefield.php:9: more valued seeds than this -> StringField steps only.
MAX_SEED_TO_CHECK_COUNT = 10


class NameField(StringField):
    """StringField steps, then (NAME only) the related-field rule, placeholders, substring
    and transliteration; seeds are first checked pairwise against each other."""

    kind: ClassVar[str] = "name"

    def __init__(
        self,
        field_id: str,
        *,
        related_fields_check: bool = False,
        empty_values: Sequence[Any] = (),
        translit_table: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(field_id, empty_values)
        self.related_fields_check = related_fields_check  # namefield.php:15-18
        # None = LANGUAGE_ID undefined: no transliteration step (namefield.php:131-134).
        self.translit_table = translit_table
        self.skip_resolve = False
        self.skip_set_new_target = False

    def set_new_target_value(self, value: Any, field_id: str | None = None) -> None:
        """namefield.php:20-27: nothing is changed during the pairwise pass."""
        if self.skip_set_new_target:
            return
        super().set_new_target_value(value, field_id)

    def do_resolve(self) -> bool:
        """namefield.php:29-62."""
        if len(self.seeds) > MAX_SEED_TO_CHECK_COUNT:
            self.skip_resolve = True  # :31-36: StringField steps only
            return super().do_resolve()
        # :38-57: every ordered pair of seeds, without changing anything. The pair's "target"
        # value is read once and keeps the normalisation of each comparison (by reference);
        # the related-field rule still reads LAST_NAME from the real target (getTarget()).
        self.skip_set_new_target = True
        for pair_target_id in list(self.seeds):
            self.cur_seed_id = pair_target_id
            pair_target_value: Any = self.get_seed_value()
            for seed_id in list(self.seeds):
                if seed_id == pair_target_id:
                    continue
                self.cur_seed_id = seed_id
                ok, _, pair_target_value = self.resolve_by_value(
                    self.get_seed_value(), pair_target_value
                )
                if not ok:
                    return False
        self.skip_set_new_target = False
        self.cur_seed_id = None
        return super().do_resolve()  # :61, each seed against the original target

    def resolve_by_value(self, seed_value: Any, target_value: Any) -> tuple[bool, Any, Any]:
        """namefield.php:64-112."""
        parent_ok, seed_value, target_value = super().resolve_by_value(seed_value, target_value)
        # :68-72 related fields can still rewrite the result, so NAME goes on
        if parent_ok and not self.related_fields_check:
            return True, seed_value, target_value
        if self.skip_resolve:  # :74-77
            return parent_ok, seed_value, target_value
        if self.related_fields_check and self.check_related_fields(seed_value, target_value):
            return True, seed_value, target_value  # :79-82
        if parent_ok:
            return True, seed_value, target_value
        if self.is_empty(seed_value):  # :89-92, on the normalised value this time
            return True, seed_value, target_value
        if self.is_empty(target_value):  # :94-98
            self.set_new_target_value(seed_value)
            return True, seed_value, target_value
        if self.check_substring(seed_value, target_value):  # :100-103
            return True, seed_value, target_value
        return self.check_translit(seed_value, target_value), seed_value, target_value

    def check_substring(self, seed: str, target: str) -> bool:
        """namefield.php:114-127: seed inside target -> keep; target inside seed -> the
        target takes the seed's (longer) original. "Ann" and "Joanna" resolve."""
        if mb_stripos_found(target, seed):
            return True
        if mb_stripos_found(seed, target):
            self.set_new_target_value(self.get_seed_value())
            return True
        return False

    def check_translit(self, seed: str, target: str) -> bool:
        """namefield.php:129-157: equal transliterations resolve; a target that already is
        its own transliteration (Latin) takes the seed's spelling if the seed is clean."""
        if self.translit_table is None:
            return False
        seed_latin = translit(seed, self.translit_table)
        target_latin = translit(target, self.translit_table)
        if seed_latin == target_latin:
            if mb_lower(target) == target_latin:
                self.set_new_target_value_if_need(seed)
            return True
        return False

    def check_related_fields(self, seed_value: str, target_value: str) -> bool:
        """namefield.php:159-242: NAME compared together with LAST_NAME.

        A full swap (NAME/LAST_NAME = Ivan/Petrov vs Petrov/Ivan, all four filled) matches
        none of these rules (:172-229) and so is not resolved here.
        """
        seed, target = self.get_seed(), self.get_target()
        seed_last_original = php_string(seed.get("LAST_NAME"))  # :163-164, isset -> string
        target_last_original = php_string(target.get("LAST_NAME"))
        seed_last = mb_lower(php_trim(seed_last_original))
        target_last = mb_lower(php_trim(target_last_original))
        seed_name = mb_lower(seed_value)
        target_name = mb_lower(target_value)

        # :172-194 a part in the wrong field
        if seed_last == "" and seed_name == target_last:
            return True
        if seed_name == "" and seed_last == target_name:
            return True
        if (target_last == "" and target_name == seed_last) or (
            target_name == "" and target_last == seed_name
        ):
            self.take_seed_name(seed_last_original)
            return True

        # :196-229 first and last name packed in one field
        def packed(value: str, first: str, last: str) -> bool:
            return value in (f"{first} {last}", f"{last} {first}")

        if seed_last == "" and packed(seed_name, target_name, target_last):
            return True
        if seed_name == "" and packed(seed_last, target_name, target_last):
            return True
        if (target_last == "" and packed(target_name, seed_name, seed_last)) or (
            target_name == "" and packed(target_last, seed_name, seed_last)
        ):
            self.take_seed_name(seed_last_original)
            return True

        # :231-239
        return self.check_redundant_spaces_in_all_fields(
            seed_value, php_trim(seed_last_original), target_value, php_trim(target_last_original)
        )

    def take_seed_name(self, seed_last_original: str) -> None:
        """namefield.php:184-185 etc.: the incomplete target takes NAME and LAST_NAME."""
        self.set_new_target_value(self.get_seed_value())
        self.set_new_target_value(seed_last_original, "LAST_NAME")

    def check_redundant_spaces_in_all_fields(
        self, seed_name: str, seed_last: str, target_name: str, target_last: str
    ) -> bool:
        """namefield.php:253-285: both parts equal once space runs are collapsed; the target
        takes the collapsed forms of its own values."""
        seed_name_c, seed_last_c = remove_spaces(seed_name), remove_spaces(seed_last)
        target_name_c, target_last_c = remove_spaces(target_name), remove_spaces(target_last)
        if seed_name_c == target_name_c and seed_last_c == target_last_c:
            if target_last != target_last_c:
                self.set_new_target_value(target_name)
                self.set_new_target_value(target_last_c, "LAST_NAME")
            if target_name != target_name_c:
                self.set_new_target_value(target_name_c)
            return True
        return False
