"""``StringField`` and the joined text fields (``TextField``, ``HtmlField``).

Sources: ``modules/crm/lib/merger/conflictresolver/stringfield.php``, ``textfield.php``,
``htmlfield.php`` (sheet 2.3 and 2.5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from b24.predict.php import loose_eq, mb_lower, mb_stripos_found, php_rtrim, php_string, php_trim
from b24.predict.resolvers import Base

# stringfield.php:150-153: preg_replace("/[ ]+/u", " ", …) — ASCII spaces only.
_SPACE_RUN = re.compile(r" +")


def remove_spaces(value: str) -> str:
    """``StringField::removeSpaces``: runs of ASCII spaces become one (not tabs, not NBSP)."""
    return _SPACE_RUN.sub(" ", value)


class StringField(Base):
    """``stringfield.php:16-48``: five steps, the first match resolves, changes accumulate.

    1. loose ``==``; 2. seed a placeholder -> ignored, target a placeholder -> takes the seed;
    3. trim, then strip trailing dots (:65-97); 4. collapse ASCII space runs (:99-117);
    5. ``mb_strtolower`` (:119-137). Steps 3 and 4 keep their changes for the later steps
    (PHP by-reference arguments), so "  ООО Ромашка. " resolves with "ооо  ромашка".
    """

    kind: ClassVar[str] = "string"

    def __init__(self, field_id: str, empty_values: Sequence[Any] = ()) -> None:
        super().__init__(field_id)
        self.empty_values: tuple[Any, ...] = tuple(empty_values)  # stringfield.php:9-14

    def resolve_by_value(self, seed_value: Any, target_value: Any) -> tuple[bool, Any, Any]:
        if loose_eq(seed_value, target_value):  # :18-21, Base
            return True, seed_value, target_value
        if self.is_empty(seed_value):  # :22-25
            return True, seed_value, target_value
        if self.is_empty(target_value):  # :26-30
            self.set_new_target_value(seed_value)
            return True, seed_value, target_value
        ok, seed_value, target_value = self.check_trimmed(seed_value, target_value)  # :32-35
        if ok:
            return True, seed_value, target_value
        ok, seed_value, target_value = self.check_redundant_spaces(seed_value, target_value)
        if ok:  # :37-40
            return True, seed_value, target_value
        return self.check_letter_case(seed_value, target_value), seed_value, target_value

    def is_empty(self, value: Any) -> bool:
        """stringfield.php:50-53: ``in_array($value, $emptyValues)`` — loose."""
        return any(loose_eq(value, empty) for empty in self.empty_values)

    def get_seed_value(self) -> str:  # stringfield.php:55-58
        return php_string(super().get_seed_value())

    def get_target_value(self) -> str:  # stringfield.php:60-63
        return php_string(super().get_target_value())

    def check_trimmed(self, seed: str, target: str) -> tuple[bool, str, str]:
        """stringfield.php:65-97."""
        seed, target = php_trim(seed), php_trim(target)
        if seed == target:
            self.set_new_target_value_if_need(seed)
            return True, seed, target
        seed, target = php_rtrim(seed, "."), php_rtrim(target, ".")
        if seed == target:
            self.set_new_target_value_if_need(seed)
            return True, seed, target
        if seed == "":  # a seed of only dots and blanks is ignored
            return True, seed, target
        if target == "":  # a target of only dots and blanks takes the seed's original
            self.set_new_target_value(self.get_seed_value())
            return True, seed, target
        return False, seed, target

    def check_redundant_spaces(self, seed: str, target: str) -> tuple[bool, str, str]:
        """stringfield.php:99-117 (preg_replace never fails on a Python str)."""
        seed, target = remove_spaces(seed), remove_spaces(target)
        if seed == target:
            self.set_new_target_value_if_need(seed)
            return True, seed, target
        return False, seed, target

    def check_letter_case(self, seed: str, target: str) -> bool:
        """stringfield.php:119-137: equal ignoring case; an all-lower-case target takes the
        seed's spelling, but only if that is the seed's original value (:139-148)."""
        lower_target = mb_lower(target)
        if mb_lower(seed) == lower_target:
            if lower_target == target:
                self.set_new_target_value_if_need(seed)
            return True
        return False

    def set_new_target_value_if_need(self, new_value: str) -> None:
        """stringfield.php:139-148: the target takes the normalised form only when the seed
        already was that form ("clean"); otherwise it keeps its own spelling."""
        if new_value == self.get_seed_value():
            self.set_new_target_value(new_value)


def format_separator_time(now: datetime | str | None, language: str) -> str:
    """The date-time in the join separator (textfield.php:46-62).

    Bitrix24 formats "now" in the user's culture: short date + ' ' + short time. The English
    defaults are ``n/j/Y`` and ``g:i a`` (``main/lib/localization/culture.php:93-131`` [M]);
    for ``ru`` we assume ``d.m.Y H:i`` (unconfirmed, sheet 2.5). A ``str`` is used as is.
    """
    if isinstance(now, str):
        return now
    moment = now if now is not None else datetime.now()
    if language == "en":
        hour = moment.hour % 12 or 12
        half = "am" if moment.hour < 12 else "pm"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {half}"
    return moment.strftime("%d.%m.%Y %H:%M")


class TextField(StringField):
    """``textfield.php:11-26``: never refuses. After the StringField steps a seed that is a
    case-insensitive substring of the target changes nothing; otherwise the (normalised)
    seed is appended to the (normalised) target after a separator. Later seeds see the
    joined value (:28-35)."""

    newline: ClassVar[str] = "\n"  # textfield.php:64-67

    def __init__(
        self, field_id: str, *, now: datetime | str | None = None, language: str = "ru"
    ) -> None:
        super().__init__(field_id)
        self.now = now
        self.language = language

    def resolve_by_value(self, seed_value: Any, target_value: Any) -> tuple[bool, Any, Any]:
        ok, seed_value, target_value = super().resolve_by_value(seed_value, target_value)
        if ok:
            return True, seed_value, target_value
        if mb_stripos_found(target_value, seed_value):  # :18-21
            return True, seed_value, target_value
        self.set_new_target_value(self.merged_value(target_value, seed_value))  # :23-25
        return True, seed_value, target_value

    def get_target_value(self) -> str:
        """textfield.php:28-35: the value joined so far."""
        if self.target_changed:
            return php_string(self.new_target_value.get(self.field_id, super().get_target_value()))
        return super().get_target_value()

    def merged_value(self, target: str, seed: str) -> str:  # textfield.php:37-44
        if target == "":
            return seed
        return target + self.separator() + seed

    def separator(self) -> str:
        """textfield.php:46-62: blank line, `` ----- <date time> -----``, newline."""
        nl = self.newline
        return f"{nl}{nl} ----- {format_separator_time(self.now, self.language)} -----{nl}"


class HtmlField(TextField):
    """``htmlfield.php:9-12``: TextField with ``<br>`` for the newline (COMMENTS)."""

    newline: ClassVar[str] = "<br>"
