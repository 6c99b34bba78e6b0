"""Which fields the merger compares, when a field "has a value", and which resolver it gets.

The REST ``crm.{type}.fields`` answer shows ``isReadOnly`` but not the Hidden and Progress
attributes nor the mergers' own exclusions, so those are written down here per entity
(sheet 2.1, 2.6), from ``CCrm{Lead,Contact,Company}::GetFieldsInfo``
(``modules/crm/classes/general/crm_{lead,contact,company}.php``) and the mergers in
``modules/crm/lib/merger/``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from b24.crm import EntityType
from b24.predict.names import NameField
from b24.predict.php import php_floatval, php_intval
from b24.predict.resolvers import (
    Base,
    FileField,
    IgnoredField,
    OpportunityField,
    Record,
    SourceField,
)
from b24.predict.strings import HtmlField, StringField, TextField
from b24.predict.translit import translit_table

LEAD, CONTACT, COMPANY = EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY

# entitymerger.php:1505-1513 skips ID; the mergers' canMergeEntityField add their own.
# These are skipped before any resolver: an empty target does not take a seed's value.
NOT_MERGED: dict[EntityType, frozenset[str]] = {
    # leadmerger.php:163-174. (Sheet 2.6 lists lead CONTACT_ID and ADDRESS_LOC_ADDR_ID under
    # IgnoredField, leadmerger.php:128-134; canMergeEntityField removes them first.)
    LEAD: frozenset({"ID", "CONTACT_ID", "STATUS_ID", "STATUS_DESCRIPTION", "ADDRESS_LOC_ADDR_ID"}),
    # contactmerger.php:141-149 (COMPANY_ID is deprecated; companies merge as bindings).
    # CATEGORY_ID is not in CCrmContact/CCrmCompany::GetFieldsInfo (sheet 2.1).
    CONTACT: frozenset({"ID", "COMPANY_ID", "CATEGORY_ID"}),
    COMPANY: frozenset({"ID", "CATEGORY_ID"}),
}

# entitymerger.php:1237-1247 skips ReadOnly, Progress and Hidden fields. isReadOnly in the
# REST description is the same ReadOnly attribute (restservice.php:980); these are listed
# too so that a partial field description still skips them.
HIDDEN = frozenset({"FULL_NAME", "BIRTHDAY_SORT"})  # crm_contact.php:246-260, crm_lead.php:244-247
PROGRESS: dict[EntityType, frozenset[str]] = {
    LEAD: frozenset({"STATUS_ID"})
}  # crm_lead.php:259-263
READ_ONLY = frozenset(
    {
        "ID",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "DATE_CREATE",
        "DATE_MODIFY",
        "LEAD_ID",
        "STATUS_SEMANTIC_ID",  # crm_lead.php:267-270
        "MOVED_BY_ID",
        "MOVED_TIME",
        "IS_RETURN_CUSTOMER",
        "DATE_CLOSED",
        "LAST_ACTIVITY_TIME",  # last-activity fields (sheet 2.6)
        "LAST_ACTIVITY_BY",
    }
)

# entitymerger.php:1468-1479: '' is "no value" for these types; 0 for double/integer/user.
EMPTY_STRING_TYPES = frozenset({"string", "char", "datetime", "crm_status", "crm_currency"})
ZERO_TYPES = frozenset({"double", "integer", "user"})
MULTIFIELD_TYPE = "crm_multifield"

# Placeholders that count as no value (contactmerger.php:383-399, companymerger.php:451-467):
# the web-form template (modules/crm/lang/{ru,en}/lib/webform/entity.php, registered by
# contactmerger.php:11 / companymerger.php:11 via Loc::loadMessages) and the unnamed/untitled
# text (modules/crm/lang/{ru,en}/classes/general/crm_{contact,company}.php, loaded by
# crm_{contact,company}.php:2), so Loc::getMessage finds all four in the merge request.
PLACEHOLDERS: dict[str, dict[EntityType, tuple[str, ...]]] = {
    "ru": {CONTACT: ("частное лицо", "Без имени"), COMPANY: ("юридическое лицо", "Без названия")},
    "en": {CONTACT: ("individual", "No name"), COMPANY: ("company", "Untitled")},
}
# The one field per entity the placeholders apply to.
PLACEHOLDER_FIELD: dict[EntityType, str] = {CONTACT: "NAME", COMPANY: "TITLE"}


@dataclass(frozen=True)
class Options:
    """What the verdict depends on besides the records (see :func:`predict_merge`)."""

    entity: EntityType
    language: str = "ru"
    now: datetime | str | None = None
    with_product_rows: Collection[int] = ()
    zero_link_is_value: bool = True
    placeholders: tuple[str, ...] = ()
    translit: Mapping[str, str] = field(default_factory=dict)


def make_options(
    entity: EntityType,
    language: str,
    *,
    now: datetime | str | None,
    with_product_rows: Collection[int],
    zero_link_is_value: bool,
    placeholders: Collection[str] | None,
) -> Options:
    table = translit_table(language)
    if placeholders is None:
        placeholders = PLACEHOLDERS.get(language, {}).get(entity, ())
    return Options(
        entity=entity,
        language=language,
        now=now,
        with_product_rows=frozenset(with_product_rows),
        zero_link_is_value=zero_link_is_value,
        placeholders=tuple(placeholders),
        translit=table,
    )


def is_user_field(code: str, info: Mapping[str, Any]) -> bool:
    return code.startswith("UF_") or bool(info.get("isDynamic"))


def is_multifield(code: str, info: Mapping[str, Any]) -> bool:
    return info.get("type") == MULTIFIELD_TYPE


def is_binding(code: str, info: Mapping[str, Any]) -> bool:
    """CONTACT_IDS, COMPANY_IDS, company CONTACT_ID: Multiple entity fields. The merger's
    record (``GetListEx(['*', 'UF_*'])``, e.g. leadmerger.php:61-76) does not carry them, so
    they are never compared (inference); the bindings are merged as a union instead
    (sheet 3, entitybindingmerger.php:21-129)."""
    return bool(info.get("isMultiple")) and not is_user_field(code, info)


def is_compared(opts: Options, code: str, info: Mapping[str, Any]) -> bool:
    """An entity field the field engine walks (entitymerger.php:1230-1247)."""
    if code in NOT_MERGED[opts.entity] or code in HIDDEN or code in READ_ONLY:
        return False
    if code in PROGRESS.get(opts.entity, frozenset()):
        return False
    return not info.get("isReadOnly")


def field_type(info: Mapping[str, Any]) -> str:
    """``$fieldInfo['TYPE'] ?? 'string'`` (entitymerger.php:1292)."""
    value = info.get("type")
    return value if isinstance(value, str) and value else "string"


def is_link_type(type_id: str) -> bool:
    return type_id.startswith("crm_") and type_id not in EMPTY_STRING_TYPES | {MULTIFIELD_TYPE}


def has_value(opts: Options, code: str, type_id: str, record: Record) -> bool:
    """``EntityMerger::doesFieldHaveValue`` (entitymerger.php:1449-1483) on a REST record."""
    value = record.get(code)
    if value is None:  # isset
        return False
    # contactmerger.php:383-388 / companymerger.php:451-456: strict in_array.
    if PLACEHOLDER_FIELD.get(opts.entity) == code and value in opts.placeholders:
        return False
    if type_id in EMPTY_STRING_TYPES:
        return bool(value != "")
    if type_id == "double":
        return php_floatval(value) != 0.0
    if type_id in ZERO_TYPES:
        return php_intval(value) != 0
    # Other types (date, file, crm_* links, …): only null is empty in PHP. REST shows a NULL
    # date or file as '' (or false), so those stand for null here (predictor choice).
    if value == "" or value is False or value == {} or value == []:
        return False
    # Sheet 2.1 (inference): a stored 0 in a crm_* link counts as a value. Keyword choice.
    return opts.zero_link_is_value or not is_link_type(type_id) or php_intval(value) != 0


def make_resolver(opts: Options, code: str, type_id: str) -> Base:
    """The per-entity ``getFieldConflictResolver`` switch, then the generic rule
    (entitymerger.php:1609-1616: ``string`` -> StringField, else Base). The module event
    ``onGetFieldConflictResolver`` (entitymerger.php:1618-1648) is not modelled."""
    entity = opts.entity
    if entity in (LEAD, CONTACT):
        if code == "NAME":  # contactmerger.php:114-118, leadmerger.php:115-118
            return NameField(
                code,
                related_fields_check=True,
                # only contacts have NAME placeholders (contactmerger.php:117)
                empty_values=opts.placeholders if entity is CONTACT else (),
                translit_table=opts.translit,
            )
        if code in (
            "SECOND_NAME",
            "LAST_NAME",
        ):  # contactmerger.php:120-122, leadmerger.php:120-122
            return NameField(code, translit_table=opts.translit)
        if code == "SOURCE_ID":  # contactmerger.php:127-128, leadmerger.php:150-151
            return SourceField(code)
        if code == "SOURCE_DESCRIPTION":  # contactmerger.php:130-131, leadmerger.php:153-154
            return TextField(code, now=opts.now, language=opts.language)
    if (
        code == "COMMENTS"
    ):  # contactmerger.php:124-125, leadmerger.php:147-148, companymerger.php:439-440
        return HtmlField(code, now=opts.now, language=opts.language)
    if (
        code == "OPENED"
    ):  # contactmerger.php:133-135, leadmerger.php:156-157, companymerger.php:445-446
        return IgnoredField(code)
    if entity is CONTACT and code == "EXPORT":  # contactmerger.php:133
        return IgnoredField(code)
    if entity is LEAD:
        if code in ("TITLE", "ADDRESS_LOC_ADDR_ID", "CONTACT_ID", "TAX_VALUE"):
            return IgnoredField(code)  # leadmerger.php:124-145
        if code == "OPPORTUNITY":  # leadmerger.php:136-141
            return OpportunityField(code, opts.with_product_rows)
    if entity is COMPANY:
        if code == "TITLE":  # companymerger.php:434-437: placeholders, no name rules
            return StringField(code, empty_values=opts.placeholders)
        if code == "BANKING_DETAILS":  # companymerger.php:442-443
            return TextField(code, now=opts.now, language=opts.language)
    if type_id == "string":
        return StringField(code)
    if type_id == "file":
        return FileField(code)
    return Base(code)


def treatment(entity: EntityType, code: str, info: Mapping[str, Any], language: str = "ru") -> str:
    """How Bitrix24's merger treats a field, in a few words (for people: which fields it
    settles itself and which ones a difference in makes it refuse)."""
    if is_multifield(code, info):
        return "united"
    if is_user_field(code, info):
        if info.get("isMultiple"):
            return "united"
    elif is_binding(code, info):
        return "united"
    else:
        opts = make_options(
            entity, language, now=None, with_product_rows=(), zero_link_is_value=True,
            placeholders=None,
        )  # fmt: skip
        if not is_compared(opts, code, info):
            return "not compared"
    opts = make_options(
        entity, language, now=None, with_product_rows=(), zero_link_is_value=True,
        placeholders=None,
    )  # fmt: skip
    resolver = make_resolver(opts, code, field_type(info))
    name = type(resolver).__name__
    return {
        "IgnoredField": "survivor keeps its own",
        "SourceField": "survivor keeps its own",
        "TextField": "joined",
        "HtmlField": "joined",
        "NameField": "names (case, spaces, part of, transliteration)",
        "StringField": "equal after trimming, spaces and case",
        "OpportunityField": "equal (or product rows)",
    }.get(name, "must be equal")
