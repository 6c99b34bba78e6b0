"""Each field as the merger sees it: its PHP type, whether it is compared, its resolver.

The fields are those of ``CCrm{Lead,Contact,Company}::GetFieldsInfo`` that the
emulator keeps, in that order (``crm_lead.php:216-403``, ``crm_contact.php:218-381``,
``crm_company.php:214-384``): the merger walks them in this order and stops at the
first conflict (``entitymerger.php:1230-1325``).

- skipped: ``ID``, fields with the ReadOnly, Progress or Hidden attribute
  (:1232-1247), and per type: lead ``CONTACT_ID``, ``STATUS_ID``, ``STATUS_DESCRIPTION``
  (``leadmerger.php:163-174``), contact ``COMPANY_ID`` (``contactmerger.php:141-149``);
  the lead's contact and the contact's company merge as bindings instead;
- "has a value" by type (:1449-1483): ``''`` is empty for string, char, datetime,
  crm_status, crm_currency; 0 for double, integer, user; for date, file and crm_* links
  only null is (the emulator reads ``''`` there as null: the database stores none);
  a contact NAME or company TITLE that is a placeholder is empty (:383-399, :451-467);
- the resolver (:1609-1616 and each merger's ``getFieldConflictResolver``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from b24.emulator.merger import php
from b24.emulator.merger.language import Language
from b24.emulator.merger.names import NameField
from b24.emulator.merger.resolvers import (
    Base,
    HtmlField,
    IgnoredField,
    OpportunityField,
    SourceField,
    StringField,
    TextField,
)

SKIP = "skip"  # ReadOnly, Progress, Hidden, or excluded by the type's merger


@dataclass(frozen=True)
class FieldKind:
    code: str
    php_type: str
    skip: bool = False


def _fields(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[FieldKind, ...]:
    return tuple(FieldKind(spec[0], spec[1], len(spec) > 2) for spec in specs)


_ADDRESS = (
    ("ADDRESS", "string"),
    ("ADDRESS_2", "string"),
    ("ADDRESS_CITY", "string"),
    ("ADDRESS_POSTAL_CODE", "string"),
    ("ADDRESS_REGION", "string"),
    ("ADDRESS_PROVINCE", "string"),
    ("ADDRESS_COUNTRY", "string"),
)
_UTM = (
    ("UTM_SOURCE", "string"),
    ("UTM_MEDIUM", "string"),
    ("UTM_CAMPAIGN", "string"),
    ("UTM_CONTENT", "string"),
    ("UTM_TERM", "string"),
)
_STAMPS = (
    ("HAS_PHONE", "char", SKIP),
    ("HAS_EMAIL", "char", SKIP),
    ("HAS_IMOL", "char", SKIP),
    ("ASSIGNED_BY_ID", "user"),
    ("CREATED_BY_ID", "user", SKIP),
    ("MODIFY_BY_ID", "user", SKIP),
    ("DATE_CREATE", "datetime", SKIP),
    ("DATE_MODIFY", "datetime", SKIP),
)

FIELD_KINDS: dict[str, tuple[FieldKind, ...]] = {
    "LEAD": _fields(
        ("ID", "integer", SKIP),
        ("TITLE", "string"),
        ("HONORIFIC", "crm_status"),
        ("NAME", "string"),
        ("SECOND_NAME", "string"),
        ("LAST_NAME", "string"),
        ("BIRTHDATE", "date"),
        ("COMPANY_TITLE", "string"),
        ("SOURCE_ID", "crm_status"),
        ("SOURCE_DESCRIPTION", "string"),
        ("STATUS_ID", "crm_status", SKIP),  # Progress; the survivor keeps its stage
        ("STATUS_DESCRIPTION", "string", SKIP),
        ("STATUS_SEMANTIC_ID", "string", SKIP),
        ("POST", "string"),
        *_ADDRESS,
        ("CURRENCY_ID", "crm_currency"),
        ("OPPORTUNITY", "double"),
        ("IS_MANUAL_OPPORTUNITY", "char"),
        ("OPENED", "char"),
        ("COMMENTS", "string"),
        *_STAMPS,
        ("COMPANY_ID", "crm_company"),
        ("CONTACT_ID", "crm_contact", SKIP),  # a binding (leadmerger.php:212-216)
        ("IS_RETURN_CUSTOMER", "char", SKIP),
        ("DATE_CLOSED", "datetime", SKIP),
        ("ORIGINATOR_ID", "string"),
        ("ORIGIN_ID", "string"),
        *_UTM,
    ),
    "CONTACT": _fields(
        ("ID", "integer", SKIP),
        ("HONORIFIC", "crm_status"),
        ("NAME", "string"),
        ("SECOND_NAME", "string"),
        ("LAST_NAME", "string"),
        ("BIRTHDATE", "date"),
        ("TYPE_ID", "crm_status"),
        ("SOURCE_ID", "crm_status"),
        ("SOURCE_DESCRIPTION", "string"),
        ("POST", "string"),
        *_ADDRESS,
        ("COMMENTS", "string"),
        ("OPENED", "char"),
        ("EXPORT", "char"),
        *_STAMPS,
        ("COMPANY_ID", "crm_company", SKIP),  # a binding (contactmerger.php:151-157)
        ("LEAD_ID", "crm_lead", SKIP),
        ("ORIGINATOR_ID", "string"),
        ("ORIGIN_ID", "string"),
        *_UTM,
    ),
    "COMPANY": _fields(
        ("ID", "integer", SKIP),
        ("TITLE", "string"),
        ("COMPANY_TYPE", "crm_status"),
        *_ADDRESS,
        ("BANKING_DETAILS", "string"),
        ("INDUSTRY", "crm_status"),
        ("EMPLOYEES", "crm_status"),
        ("CURRENCY_ID", "crm_currency"),
        ("REVENUE", "double"),
        ("OPENED", "char"),
        ("COMMENTS", "string"),
        *_STAMPS,
        ("LEAD_ID", "crm_lead", SKIP),
        ("ORIGINATOR_ID", "string"),
        ("ORIGIN_ID", "string"),
        *_UTM,
    ),
}

_EMPTY_STRING_TYPES = frozenset({"string", "char", "datetime", "crm_status", "crm_currency"})
_LINK_TYPES = frozenset({"crm_company", "crm_contact", "crm_lead", "crm"})


UTM_FIELDS = frozenset(code for code, _ in _UTM)


def placeholders(entity_name: str, lang: Language) -> tuple[str, ...]:
    """The values that count as no value: contact NAME, company TITLE."""
    if entity_name == "CONTACT":
        return lang.contact_placeholders
    if entity_name == "COMPANY":
        return lang.company_placeholders
    return ()


def placeholder_field(entity_name: str) -> str | None:
    return {"CONTACT": "NAME", "COMPANY": "TITLE"}.get(entity_name)


def has_value(
    entity_name: str,
    kind: FieldKind,
    row: Mapping[str, Any],
    lang: Language,
    *,
    zero_link_is_value: bool,
) -> bool:
    """``doesFieldHaveValue`` (entitymerger.php:1449-1483)."""
    value = row.get(kind.code)
    if value is None:
        return False
    if kind.code == placeholder_field(entity_name) and value in placeholders(entity_name, lang):
        return False
    kind_type = kind.php_type
    if kind_type in _EMPTY_STRING_TYPES:
        return bool(value != "")
    if kind_type == "double":
        return php.floatval(value) != 0.0
    if kind_type in ("integer", "user"):
        return php.intval(value) != 0
    # date, file, crm_* links: only null is empty; the database keeps no ''.
    if value == "":
        return False
    if kind_type in _LINK_TYPES and not zero_link_is_value:
        return php.intval(value) != 0
    return True


ResolverFactory = Callable[[str, str], Base]


def resolver_factory(
    entity_name: str, lang: Language, separator_date: Callable[[], str]
) -> ResolverFactory:
    """``getFieldConflictResolver($fieldId, $type)`` of the type's merger."""
    empty_values = placeholders(entity_name, lang)

    def make(field_id: str, php_type: str) -> Base:
        if entity_name == "LEAD":
            # leadmerger.php:101-161
            if field_id == "NAME":
                return NameField(field_id, lang, related=True)
            if field_id in ("SECOND_NAME", "LAST_NAME"):
                return NameField(field_id, lang)
            if field_id in ("TITLE", "ADDRESS_LOC_ADDR_ID", "CONTACT_ID", "TAX_VALUE", "OPENED"):
                return IgnoredField(field_id)
            if field_id == "OPPORTUNITY":
                return OpportunityField(field_id)
            if field_id == "COMMENTS":
                return HtmlField(field_id, separator_date)
            if field_id == "SOURCE_ID":
                return SourceField(field_id)
            if field_id == "SOURCE_DESCRIPTION":
                return TextField(field_id, separator_date)
        elif entity_name == "CONTACT":
            # contactmerger.php:100-139
            if field_id == "NAME":
                return NameField(field_id, lang, related=True, empty_values=empty_values)
            if field_id in ("SECOND_NAME", "LAST_NAME"):
                return NameField(field_id, lang)
            if field_id == "COMMENTS":
                return HtmlField(field_id, separator_date)
            if field_id == "SOURCE_ID":
                return SourceField(field_id)
            if field_id == "SOURCE_DESCRIPTION":
                return TextField(field_id, separator_date)
            if field_id in ("EXPORT", "OPENED"):
                return IgnoredField(field_id)
        elif entity_name == "COMPANY":
            # companymerger.php:420-449: no name rules for TITLE
            if field_id == "TITLE":
                return StringField(field_id, empty_values)
            if field_id == "COMMENTS":
                return HtmlField(field_id, separator_date)
            if field_id == "BANKING_DETAILS":
                return TextField(field_id, separator_date)
            if field_id == "OPENED":
                return IgnoredField(field_id)
        # entitymerger.php:1609-1616
        if php_type == "string":
            return StringField(field_id)
        return Base(field_id)

    return make
