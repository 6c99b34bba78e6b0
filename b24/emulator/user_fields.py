"""The portal's custom fields (``UF_CRM_*``): a type, a multiple flag, stored values.

A seed file names them per record type, each either by its title alone (a single
string field) or as ``{"title": "...", "type": "integer", "multiple": true}``
(docs/emulator.md, "Seed files"). ``crm.*.fields`` describes them with that type and
``isMultiple``; ``crm.*.add``/``update`` store a single field's value as a string and
a multiple field's values as a list of strings; the merger compares them by type
(``entitymerger.php:2066-2440``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# USER_TYPE_IDs a portal offers for CRM fields (crm.userfield.types).
USER_FIELD_TYPES = frozenset(
    {
        "string",
        "integer",
        "double",
        "boolean",
        "date",
        "datetime",
        "enumeration",
        "file",
        "url",
        "money",
        "address",
        "employee",
        "crm",
        "crm_status",
        "iblock_element",
        "iblock_section",
        "resourcebooking",
    }
)


@dataclass(frozen=True)
class UserFieldSpec:
    title: str
    type: str = "string"
    multiple: bool = False


def parse_spec(code: str, raw: Any) -> UserFieldSpec:
    """A seed's definition: a title, or ``{"title", "type", "multiple"}``."""
    if isinstance(raw, Mapping):
        kind = str(raw.get("type") or "string")
        if kind not in USER_FIELD_TYPES:
            known = ", ".join(sorted(USER_FIELD_TYPES))
            raise ValueError(f"{code}: unknown user field type {kind!r}: one of {known}")
        multiple = raw.get("multiple", False)
        if not isinstance(multiple, bool):
            raise ValueError(f"{code}: 'multiple' must be true or false")
        return UserFieldSpec(str(raw.get("title") or code), kind, multiple)
    return UserFieldSpec(str(raw))


def _scalar(spec: UserFieldSpec, value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    if spec.type == "boolean":
        if isinstance(value, bool):
            return "1" if value else "0"
        text = str(value).strip()
        if text == "":
            return None
        return "1" if text.upper() in ("1", "Y", "TRUE") else "0"
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    # Inference: an empty value is stored as NULL, so it reads back as no value.
    return None if text == "" else text


def stored_value(spec: UserFieldSpec, value: Any) -> str | list[str] | None:
    """What ``crm.*.add``/``update`` keep: a string (or None), or a list for a multiple field."""
    if not spec.multiple:
        return _scalar(spec, value)
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, list):
        value = [] if value in (None, "") else [value]
    values = [_scalar(spec, item) for item in value]
    return [item for item in values if item is not None]


def describe(spec: UserFieldSpec) -> dict[str, Any]:
    """One entry of ``crm.*.fields`` for a custom field."""
    return {
        "type": spec.type,
        "isRequired": False,
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": spec.multiple,
        "isDynamic": True,
        "title": spec.title,
        "listLabel": spec.title,
        "formLabel": spec.title,
        "filterLabel": spec.title,
    }
