"""The merger's field resolvers, as ``crm/lib/merger/conflictresolver/*.php`` define them.

A resolver is given the target (the survivor, or the first valued seed when the
survivor has no value) and the valued seeds, compares each seed with the target and
either fails (the merge is a CONFLICT) or succeeds, possibly with a new target value.
PHP passes the compared values by reference, so each step sees the values the step
before normalised: here every ``resolve_by_value`` returns ``(ok, seed, target)``.

- :class:`Base` (``base.php``): PHP loose ``==`` with the original target value;
- :class:`StringField` (``stringfield.php``): equality, placeholders, trim and
  trailing dots, runs of spaces, letter case; the target keeps its own spelling;
- :class:`TextField`, :class:`HtmlField` (``textfield.php``, ``htmlfield.php``): the
  string steps, then a seed inside the target is dropped, else it is appended after a
  separator; never a conflict;
- :class:`IgnoredField`, :class:`SourceField` (``ignoredfield.php``,
  ``sourcefield.php``): never a conflict; the target keeps its value;
- :class:`OpportunityField` (``opportunityfield.php``): lead OPPORTUNITY.

The name rules (``namefield.php``) are in :mod:`b24.emulator.merger.names`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b24.emulator.merger import php

Row = Mapping[str, Any]
Step = tuple[bool, Any, Any]


@dataclass
class Resolution:
    """A successful resolve: the target's new values (``{}`` when it keeps its own)."""

    target: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


class Base:
    """``base.php``: a seed resolves when it equals the target (PHP ``==``, :100-103)."""

    def __init__(self, field_id: str) -> None:
        self.field_id = field_id
        self.seeds: dict[int, Row] = {}
        self.target: Row = {}
        self.cur_seed_id: int | None = None
        self.target_changed = False
        self.new_target: dict[str, Any] = {}

    def set_target(self, target: Row) -> None:
        self.target = target

    def add_seed(self, seed_id: int, seed: Row) -> None:
        self.seeds[seed_id] = seed

    def resolve(self) -> Resolution | None:
        """``resolve()`` (:45-67): None when a seed cannot be resolved."""
        self.target_changed = False
        if not self.seeds:
            return Resolution()
        if self.do_resolve():
            return Resolution(self.get_new_target_value(), self.target_changed)
        return None

    def do_resolve(self) -> bool:
        """:69-84: every seed against the target, as it is read anew for each seed."""
        for seed_id in list(self.seeds):
            self.cur_seed_id = seed_id
            target_value = self.get_target_value()
            seed_value = self.get_seed_value()
            if not self.resolve_by_value(seed_value, target_value)[0]:
                return False
        return True

    def get_seed(self) -> Row:
        assert self.cur_seed_id is not None
        return self.seeds.get(self.cur_seed_id) or {}

    def get_target(self) -> Row:
        return self.target

    def resolve_by_value(self, seed: Any, target: Any) -> Step:
        return php.loose_equals(seed, target), seed, target

    def get_seed_value(self) -> Any:
        assert self.cur_seed_id is not None
        return self.seeds[self.cur_seed_id].get(self.field_id)

    def get_target_value(self) -> Any:
        return self.target.get(self.field_id)

    def get_new_target_value(self) -> dict[str, Any]:
        return dict(self.new_target) if self.target_changed else {}

    def set_new_target_value(self, value: Any, field_id: str | None = None) -> None:
        """:133-141: only a value of the resolver's own field marks the target changed."""
        if field_id is None:
            field_id = self.field_id
            self.target_changed = True
        self.new_target[field_id] = value


class StringField(Base):
    """``stringfield.php``: the steps of :16-48, each on the values the step before left."""

    def __init__(self, field_id: str, empty_values: tuple[str, ...] = ()) -> None:
        super().__init__(field_id)
        self.empty_values = empty_values

    def resolve_by_value(self, seed: Any, target: Any) -> Step:
        if php.loose_equals(seed, target):
            return True, seed, target
        if self.is_empty(seed):
            return True, seed, target
        if self.is_empty(target):
            # if target is empty, just use seed value
            self.set_new_target_value(seed)
            return True, seed, target
        for check in (self.check_trimmed, self.check_redundant_spaces, self.check_letter_case):
            ok, seed, target = check(seed, target)
            if ok:
                return True, seed, target
        return False, seed, target

    def is_empty(self, value: Any) -> bool:
        """:50-53: a placeholder (``in_array``, loose)."""
        return any(php.loose_equals(value, empty) for empty in self.empty_values)

    def get_seed_value(self) -> str:
        return php.to_string(super().get_seed_value())

    def get_target_value(self) -> str:
        return php.to_string(super().get_target_value())

    def check_trimmed(self, seed: str, target: str) -> Step:
        """:65-97: trim, then trailing dots; an emptied seed is ignored."""
        seed, target = php.trim(seed), php.trim(target)
        if seed == target:
            self.set_new_target_value_if_need(seed)
            return True, seed, target
        # check if difference is in dot at the end
        seed, target = seed.rstrip("."), target.rstrip(".")
        if seed == target:
            self.set_new_target_value_if_need(seed)
            return True, seed, target
        if seed == "":
            return True, seed, target
        if target == "":
            self.set_new_target_value(self.get_seed_value())
            return True, seed, target
        return False, seed, target

    def check_redundant_spaces(self, seed: str, target: str) -> Step:
        """:99-117: runs of ASCII spaces (not tabs or NBSP) count as one."""
        seed, target = self.remove_spaces(seed), self.remove_spaces(target)
        if seed == target:
            self.set_new_target_value_if_need(seed)
            return True, seed, target
        return False, seed, target

    def check_letter_case(self, seed: str, target: str) -> Step:
        """:119-137: equal but for case; an all lower-case target takes a clean seed."""
        if php.lower(seed) == php.lower(target):
            if php.lower(target) == target:
                self.set_new_target_value_if_need(seed)
            return True, seed, target
        return False, seed, target

    def set_new_target_value_if_need(self, new_value: str) -> None:
        """:139-148: only when the seed's original value already is the clean form."""
        if new_value == self.get_seed_value():
            self.set_new_target_value(new_value)

    @staticmethod
    def remove_spaces(value: str) -> str:
        return re.sub(" +", " ", value)


class TextField(StringField):
    """``textfield.php``: joined, never a conflict (SOURCE_DESCRIPTION, BANKING_DETAILS)."""

    new_line = "\n"

    def __init__(self, field_id: str, separator_date: Callable[[], str]) -> None:
        super().__init__(field_id)
        self.separator_date = separator_date

    def resolve_by_value(self, seed: Any, target: Any) -> Step:
        ok, seed, target = super().resolve_by_value(seed, target)
        if ok:
            return True, seed, target
        if php.stripos(target, seed):
            return True, seed, target
        # always be resolved successfully
        self.set_new_target_value(self.get_merged_value(target, seed))
        return True, seed, target

    def get_target_value(self) -> str:
        """:28-35: the target as joined so far."""
        if self.target_changed:
            return php.to_string(self.new_target.get(self.field_id, super().get_target_value()))
        return super().get_target_value()

    def get_merged_value(self, target: str, seed: str) -> str:
        if target == "":
            return seed
        return target + self.get_separator() + seed

    def get_separator(self) -> str:
        """:46-62: a blank line, `` ----- <date time> -----``, a new line."""
        new_line = self.new_line
        return f"{new_line}{new_line} ----- {self.separator_date()} -----{new_line}"


class HtmlField(TextField):
    """``htmlfield.php``: COMMENTS, joined with ``<br>`` for a new line."""

    new_line = "<br>"


class IgnoredField(Base):
    """``ignoredfield.php``: always resolved; the target keeps its value."""

    need_write_to_history = False
    need_update_target_if_empty = False

    def resolve(self) -> Resolution | None:
        if self.need_write_to_history or self.need_update_target_if_empty:
            return super().resolve()
        # in simple cases just resolve successfully
        return Resolution()

    def resolve_by_value(self, seed: Any, target: Any) -> Step:
        if not php.loose_equals(seed, target) and php.to_bool(seed):
            new_value = self.get_new_target_value().get(self.field_id, "")
            if (
                not php.to_bool(new_value)
                and not php.to_bool(target)
                and self.need_update_target_if_empty
            ):
                self.set_new_target_value(seed)
            # else: a differing seed is written to the survivor's history (not emulated)
        return True, seed, target


class SourceField(IgnoredField):
    """``sourcefield.php``: SOURCE_ID; a differing source goes to the history only."""

    need_write_to_history = True
    need_update_target_if_empty = True


class OpportunityField(Base):
    """``opportunityfield.php:25-73``: lead OPPORTUNITY, compared as floats.

    Different sums resolve only when neither side is entered by hand and either has
    product rows; the emulator keeps no product rows, so different sums conflict.
    """

    def resolve_by_value(self, seed: Any, target: Any) -> Step:
        if php.loose_equals(seed, target):
            return True, seed, target
        seed_rows: list[Any] = []  # the emulator has no product rows
        target_rows: list[Any] = []
        seed_manual = self.get_seed().get("IS_MANUAL_OPPORTUNITY") == "Y"
        target_manual = self.get_target().get("IS_MANUAL_OPPORTUNITY") == "Y"
        if not seed_manual and not target_manual and (seed_rows or target_rows):
            return True, seed, target
        return False, seed, target

    def get_seed_value(self) -> float:
        return php.floatval(super().get_seed_value())

    def get_target_value(self) -> float:
        return php.floatval(super().get_target_value())
