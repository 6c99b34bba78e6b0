"""The conflict resolvers' common machinery and the simple ones (Base, Ignored, Source,
Opportunity).

Each class mirrors one PHP class of ``modules/crm/lib/merger/conflictresolver/``. PHP passes
the compared values by reference and later steps see the earlier steps' changes; here
``resolve_by_value`` returns ``(resolved, seed_value, target_value)`` with the changed values
instead. A fresh resolver is made for every field, as ``getFieldConflictResolver`` does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from b24.predict.php import loose_eq, php_floatval, php_intval, php_string, php_truthy

Record = Mapping[str, Any]


@dataclass
class Result:
    """``conflictresolver/result.php``: success, the target's new values, history lines."""

    success: bool = True
    target: dict[str, Any] = field(default_factory=dict)
    target_changed: bool = False
    history: dict[str, list[str]] = field(default_factory=dict)


class Base:
    """``conflictresolver/base.php``: loose ``==`` of each seed with the original target."""

    kind: ClassVar[str] = "equality"

    def __init__(self, field_id: str) -> None:
        self.field_id = field_id
        self.seeds: dict[int, Record] = {}
        self.target: Record = {}
        self.cur_seed_id: int | None = None
        self.target_changed = False
        self.new_target_value: dict[str, Any] = {}
        self.history_items: dict[str, list[str]] = {}

    def set_target(self, target: Record) -> None:  # base.php:35-38
        self.target = target

    def add_seed(self, seed_id: int, seed: Record) -> None:  # base.php:40-43
        self.seeds[seed_id] = seed

    def resolve(self) -> Result:
        """base.php:45-67."""
        self.target_changed = False
        if not self.seeds:
            return Result()
        if self.do_resolve():
            return Result(
                success=True,
                target=self.get_new_target_value(),
                target_changed=self.target_changed,
                history={k: list(v) for k, v in self.history_items.items()},
            )
        return Result(success=False)

    def do_resolve(self) -> bool:
        """base.php:69-84: every seed against the target; the first failure fails all."""
        for seed_id in list(self.seeds):
            self.cur_seed_id = seed_id
            target_value = self.get_target_value()
            seed_value = self.get_seed_value()
            if not self.resolve_by_value(seed_value, target_value)[0]:
                return False
        return True

    def get_seed(self) -> Record:  # base.php:86-93
        assert self.cur_seed_id is not None
        return self.seeds.get(self.cur_seed_id, {})

    def get_target(self) -> Record:  # base.php:95-98
        return self.target

    def resolve_by_value(self, seed_value: Any, target_value: Any) -> tuple[bool, Any, Any]:
        """base.php:100-103: ``$seedValue == $targetValue`` (PHP loose, "01" == "1")."""
        return loose_eq(seed_value, target_value), seed_value, target_value

    def get_seed_value(self) -> Any:  # base.php:105-112
        assert self.cur_seed_id is not None
        return self.seeds[self.cur_seed_id].get(self.field_id)

    def get_target_value(self) -> Any:  # base.php:114-117
        return self.target.get(self.field_id)

    def get_new_target_value(self) -> dict[str, Any]:  # base.php:124-131
        return dict(self.new_target_value) if self.target_changed else {}

    def set_new_target_value(self, value: Any, field_id: str | None = None) -> None:
        """base.php:133-141: only a change of the resolver's own field marks the target
        changed; a related field (NAME's LAST_NAME) rides along with it."""
        if field_id is None:
            field_id = self.field_id
            self.target_changed = True
        self.new_target_value[field_id] = value

    def add_history_item(self, field_id: str, value: str) -> None:  # base.php:162-169
        self.history_items.setdefault(field_id, []).append(value)


class FileField(Base):
    """Base equality on file ids.

    Not a Bitrix24 class: the merger compares the stored file id (``PHOTO``, ``LOGO``, file
    user fields), while the REST record shows ``{"id": …, "showUrl": …}``. So two pictures
    conflict (sheet 2.2) and the same file id does not.
    """

    def get_seed_value(self) -> Any:
        return file_id(super().get_seed_value())

    def get_target_value(self) -> Any:
        return file_id(super().get_target_value())


def file_id(value: Any) -> Any:
    """The file id behind a REST file value (``{"id": "12", …}`` -> ``"12"``)."""
    if isinstance(value, Mapping):
        return value.get("id", value.get("ID"))
    return value


class IgnoredField(Base):
    """``conflictresolver/ignoredfield.php``: never refuses; the target keeps its value."""

    need_write_to_history = False
    need_update_target_if_empty = False

    def resolve(self) -> Result:
        """ignoredfield.php:12-20: in the plain case resolved without looking."""
        if self.need_write_to_history or self.need_update_target_if_empty:
            return super().resolve()
        return Result()

    def resolve_by_value(self, seed_value: Any, target_value: Any) -> tuple[bool, Any, Any]:
        """ignoredfield.php:22-38."""
        if not loose_eq(seed_value, target_value) and php_truthy(seed_value):
            new_target = self.get_new_target_value().get(self.field_id, "")
            if (
                not php_truthy(new_target)
                and not php_truthy(target_value)
                and self.need_update_target_if_empty
            ):
                self.set_new_target_value(seed_value)
            elif not loose_eq(new_target, seed_value) and self.need_write_to_history:
                self.add_history_item(self.field_id, self.history_item(seed_value))
        return True, seed_value, target_value

    def history_item(self, value: Any) -> str:  # ignoredfield.php:50-53
        return php_string(value)


class SourceField(IgnoredField):
    """``conflictresolver/sourcefield.php:14-29``: like Ignored, but a differing seed source
    becomes a history line (the source's name in the portal; here its id)."""

    need_write_to_history = True
    need_update_target_if_empty = True


class OpportunityField(Base):
    """``conflictresolver/opportunityfield.php:25-73`` (lead OPPORTUNITY).

    Equal amounts (as floats, :93-101) resolve. Otherwise resolved only if neither lead has
    IS_MANUAL_OPPORTUNITY = 'Y' and one of the two has product rows (the amount is then
    recomputed from the merged rows, leadmerger.php:305-335). crm.lead.get does not show
    product rows, so the caller says which leads have them.
    """

    kind: ClassVar[str] = "opportunity"

    def __init__(self, field_id: str, with_product_rows: Collection[int] = ()) -> None:
        super().__init__(field_id)
        self.with_product_rows = with_product_rows

    def get_seed_value(self) -> float:
        return php_floatval(super().get_seed_value())

    def get_target_value(self) -> float:
        return php_floatval(super().get_target_value())

    def resolve_by_value(self, seed_value: Any, target_value: Any) -> tuple[bool, Any, Any]:
        if loose_eq(seed_value, target_value):
            return True, seed_value, target_value
        seed, target = self.get_seed(), self.get_target()
        seed_rows = php_intval(seed.get("ID")) in self.with_product_rows
        target_rows = php_intval(target.get("ID")) in self.with_product_rows
        seed_manual = seed.get("IS_MANUAL_OPPORTUNITY") == "Y"
        target_manual = target.get("IS_MANUAL_OPPORTUNITY") == "Y"
        resolved = not seed_manual and not target_manual and (seed_rows or target_rows)
        return resolved, seed_value, target_value
