"""Tests of b24.predict; shared field descriptions and record builders.

The field descriptions mirror ``crm.{type}.fields``: ``CCrm{Lead,Contact,Company}::
GetFieldsInfo`` in order, hidden fields left out (restservice.php:963-985), then the
multifields and some user fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from b24.crm import EntityType
from b24.predict import Verdict, predict_merge

LEAD, CONTACT, COMPANY = EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY

# A fixed "now" for the separator of joined text fields.
NOW = datetime(2025, 1, 2, 15, 4)
SEP_HTML = "<br><br> ----- 02.01.2025 15:04 -----<br>"
SEP_TEXT = "\n\n ----- 02.01.2025 15:04 -----\n"

_ADDRESS = [
    "ADDRESS",
    "ADDRESS_2",
    "ADDRESS_CITY",
    "ADDRESS_POSTAL_CODE",
    "ADDRESS_REGION",
    "ADDRESS_PROVINCE",
    "ADDRESS_COUNTRY",
    "ADDRESS_COUNTRY_CODE",
]
_UTM = ["UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM"]
_READ_ONLY = {
    "ID",
    "HAS_PHONE",
    "HAS_EMAIL",
    "HAS_IMOL",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "LEAD_ID",
    "STATUS_SEMANTIC_ID",
    "MOVED_BY_ID",
    "MOVED_TIME",
    "IS_RETURN_CUSTOMER",
    "DATE_CLOSED",
}
_MULTIPLE = {"CONTACT_IDS", "COMPANY_IDS"}


def _describe(spec: list[tuple[str, str]], *, company_contact_multiple: bool = False) -> dict:
    fields: dict[str, dict[str, Any]] = {}
    for code, type_id in spec:
        fields[code] = {
            "type": type_id,
            "isReadOnly": code in _READ_ONLY,
            "isMultiple": code in _MULTIPLE or (company_contact_multiple and code == "CONTACT_ID"),
            "isDynamic": False,
        }
    for code in ("PHONE", "EMAIL", "WEB", "IM"):
        fields[code] = {
            "type": "crm_multifield",
            "isReadOnly": False,
            "isMultiple": True,
            "isDynamic": False,
        }
    for code, type_id, multiple in USER_FIELDS:
        fields[code] = {
            "type": type_id,
            "isReadOnly": False,
            "isMultiple": multiple,
            "isDynamic": True,
        }
    return fields


USER_FIELDS = [
    ("UF_CRM_STR", "string", False),
    ("UF_CRM_INT", "integer", False),
    ("UF_CRM_BOOL", "boolean", False),
    ("UF_CRM_ENUM", "enumeration", False),
    ("UF_CRM_FILE", "file", False),
    ("UF_CRM_TAGS", "string", True),
    ("UF_CRM_FILES", "file", True),
]

# crm_contact.php:225-372 (FULL_NAME, BIRTHDAY_SORT hidden)
CONTACT_FIELDS = _describe(
    [
        ("ID", "integer"),
        ("HONORIFIC", "crm_status"),
        ("NAME", "string"),
        ("SECOND_NAME", "string"),
        ("LAST_NAME", "string"),
        ("PHOTO", "file"),
        ("BIRTHDATE", "date"),
        ("TYPE_ID", "crm_status"),
        ("SOURCE_ID", "crm_status"),
        ("SOURCE_DESCRIPTION", "string"),
        ("POST", "string"),
        *[(code, "string") for code in _ADDRESS],
        ("ADDRESS_LOC_ADDR_ID", "integer"),
        ("COMMENTS", "string"),
        ("OPENED", "char"),
        ("EXPORT", "char"),
        ("HAS_PHONE", "char"),
        ("HAS_EMAIL", "char"),
        ("HAS_IMOL", "char"),
        ("ASSIGNED_BY_ID", "user"),
        ("CREATED_BY_ID", "user"),
        ("MODIFY_BY_ID", "user"),
        ("DATE_CREATE", "datetime"),
        ("DATE_MODIFY", "datetime"),
        ("COMPANY_ID", "crm_company"),
        ("COMPANY_IDS", "crm_company"),
        ("LEAD_ID", "crm_lead"),
        ("ORIGINATOR_ID", "string"),
        ("ORIGIN_ID", "string"),
        ("ORIGIN_VERSION", "string"),
        ("FACE_ID", "integer"),
        *[(code, "string") for code in _UTM],
    ]
)

# crm_lead.php:220-393
LEAD_FIELDS = _describe(
    [
        ("ID", "integer"),
        ("TITLE", "string"),
        ("HONORIFIC", "crm_status"),
        ("NAME", "string"),
        ("SECOND_NAME", "string"),
        ("LAST_NAME", "string"),
        ("BIRTHDATE", "date"),
        ("COMPANY_TITLE", "string"),
        ("SOURCE_ID", "crm_status"),
        ("SOURCE_DESCRIPTION", "string"),
        ("STATUS_ID", "crm_status"),
        ("STATUS_DESCRIPTION", "string"),
        ("STATUS_SEMANTIC_ID", "string"),
        ("POST", "string"),
        *[(code, "string") for code in _ADDRESS],
        ("ADDRESS_LOC_ADDR_ID", "integer"),
        ("CURRENCY_ID", "crm_currency"),
        ("OPPORTUNITY", "double"),
        ("IS_MANUAL_OPPORTUNITY", "char"),
        ("OPENED", "char"),
        ("COMMENTS", "string"),
        ("HAS_PHONE", "char"),
        ("HAS_EMAIL", "char"),
        ("HAS_IMOL", "char"),
        ("ASSIGNED_BY_ID", "user"),
        ("CREATED_BY_ID", "user"),
        ("MODIFY_BY_ID", "user"),
        ("MOVED_BY_ID", "user"),
        ("DATE_CREATE", "datetime"),
        ("DATE_MODIFY", "datetime"),
        ("MOVED_TIME", "datetime"),
        ("COMPANY_ID", "crm_company"),
        ("CONTACT_ID", "crm_contact"),
        ("CONTACT_IDS", "crm_contact"),
        ("IS_RETURN_CUSTOMER", "char"),
        ("DATE_CLOSED", "datetime"),
        ("ORIGINATOR_ID", "string"),
        ("ORIGIN_ID", "string"),
        *[(code, "string") for code in _UTM],
    ]
)

# crm_company.php:214-384
COMPANY_FIELDS = _describe(
    [
        ("ID", "integer"),
        ("TITLE", "string"),
        ("COMPANY_TYPE", "crm_status"),
        ("LOGO", "file"),
        *[(code, "string") for code in _ADDRESS],
        ("ADDRESS_LOC_ADDR_ID", "integer"),
        ("ADDRESS_LEGAL", "string"),
        *[("REG_" + code, "string") for code in _ADDRESS],
        ("REG_ADDRESS_LOC_ADDR_ID", "integer"),
        ("BANKING_DETAILS", "string"),
        ("INDUSTRY", "crm_status"),
        ("EMPLOYEES", "crm_status"),
        ("CURRENCY_ID", "crm_currency"),
        ("REVENUE", "double"),
        ("OPENED", "char"),
        ("COMMENTS", "string"),
        ("HAS_PHONE", "char"),
        ("HAS_EMAIL", "char"),
        ("HAS_IMOL", "char"),
        ("IS_MY_COMPANY", "char"),
        ("ASSIGNED_BY_ID", "user"),
        ("CREATED_BY_ID", "user"),
        ("MODIFY_BY_ID", "user"),
        ("DATE_CREATE", "datetime"),
        ("DATE_MODIFY", "datetime"),
        ("CONTACT_ID", "crm_contact"),
        ("LEAD_ID", "crm_lead"),
        ("ORIGINATOR_ID", "string"),
        ("ORIGIN_ID", "string"),
        ("ORIGIN_VERSION", "string"),
        *[(code, "string") for code in _UTM],
    ],
    company_contact_multiple=True,
)

FIELDS = {LEAD: LEAD_FIELDS, CONTACT: CONTACT_FIELDS, COMPANY: COMPANY_FIELDS}


def rec(record_id: int, **values: Any) -> dict[str, Any]:
    """A record as crm.*.get shows it: ``ID`` as a string, the given fields as they are."""
    return {"ID": str(record_id), **values}


def phone(value: str, value_type: str = "WORK", entry_id: int = 0) -> dict[str, Any]:
    return {"ID": str(entry_id), "VALUE_TYPE": value_type, "VALUE": value, "TYPE_ID": "PHONE"}


def predict(entity: EntityType, records: list[dict[str, Any]], **options: Any) -> Verdict:
    """predict_merge with the test field description and the fixed separator time."""
    options.setdefault("now", NOW)
    return predict_merge(entity, records, FIELDS[entity], **options)


def check(
    verdict: Verdict,
    status: str,
    merged: dict[str, Any] | None = None,
    conflicts: list[str] | None = None,
) -> None:
    """The status, a subset of the merged fields and (optionally) the refusing fields."""
    assert verdict.status == status, verdict
    for code, value in (merged or {}).items():
        assert verdict.merged.get(code) == value, (code, verdict.merged.get(code), verdict)
    if conflicts is not None:
        assert [c.code for c in verdict.conflicts] == conflicts, verdict.conflicts
