"""Field descriptions of leads, contacts and companies (``crm.*.fields``).

The set follows docs:api-reference/crm/{leads,contacts,companies}/crm-*-fields,
trimmed to the fields a CRM record commonly carries. ``isReadOnly`` fields are set
by the portal. How the merger treats each field is in :mod:`b24.emulator.merger.kinds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24.crm import EntityType
from b24.emulator.user_fields import UserFieldSpec, describe

# crm.multifield.fields (docs, "Get Description of Multiple Fields").
MULTIFIELD_VALUE_TYPES: dict[str, tuple[str, ...]] = {
    "PHONE": ("WORK", "MOBILE", "FAX", "HOME", "PAGER", "MAILING", "OTHER"),
    "EMAIL": ("WORK", "HOME", "MAILING", "OTHER"),
    "WEB": ("WORK", "HOME", "FACEBOOK", "VK", "LIVEJOURNAL", "TWITTER", "OTHER"),
    "IM": ("SKYPE", "ICQ", "MSN", "JABBER", "TELEGRAM", "VIBER", "IMOL", "OTHER"),
}


LEAD, CONTACT, COMPANY = EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY
ENTITY_TYPES: dict[str, EntityType] = {t.name: t for t in EntityType}
ENTITY_TYPES_BY_ID: dict[int, EntityType] = {t.type_id: t for t in EntityType}


def _f(
    kind: str,
    title: str,
    *,
    ro: bool = False,
    req: bool = False,
    multi: bool = False,
    immutable: bool = False,
) -> dict[str, Any]:
    return {
        "type": kind,
        "isRequired": req,
        "isReadOnly": ro,
        "isImmutable": immutable,
        "isMultiple": multi,
        "isDynamic": False,
        "title": title,
    }


_COMMON_HEAD = {
    "ID": _f("integer", "ID", ro=True),
}
_PERSON = {
    "HONORIFIC": _f("crm_status", "Salutation"),
    "NAME": _f("string", "Name"),
    "SECOND_NAME": _f("string", "Second name"),
    "LAST_NAME": _f("string", "Last name"),
    "BIRTHDATE": _f("date", "Date of birth"),
    "POST": _f("string", "Position"),
}
_ADDRESS = {
    "ADDRESS": _f("string", "Address"),
    "ADDRESS_2": _f("string", "Address (line 2)"),
    "ADDRESS_CITY": _f("string", "City"),
    "ADDRESS_POSTAL_CODE": _f("string", "Zip"),
    "ADDRESS_REGION": _f("string", "Region"),
    "ADDRESS_PROVINCE": _f("string", "State / Province"),
    "ADDRESS_COUNTRY": _f("string", "Country"),
}
# Leads and contacts have a source; companies have none (crm_company.php:214-384).
_SOURCE = {
    "SOURCE_ID": _f("crm_status", "Source"),
    "SOURCE_DESCRIPTION": _f("string", "Source information"),
}
_COMMON_TAIL = {
    "OPENED": _f("char", "Available to everyone"),
    "COMMENTS": _f("string", "Comment"),
    "ASSIGNED_BY_ID": _f("user", "Responsible person"),
    "CREATED_BY_ID": _f("user", "Created by", ro=True),
    "MODIFY_BY_ID": _f("user", "Modified by", ro=True),
    "DATE_CREATE": _f("datetime", "Created on", ro=True),
    "DATE_MODIFY": _f("datetime", "Modified on", ro=True),
    "HAS_PHONE": _f("char", "Has phone", ro=True),
    "HAS_EMAIL": _f("char", "Has email", ro=True),
    "HAS_IMOL": _f("char", "Has Open Channel", ro=True),
    "ORIGINATOR_ID": _f("string", "External source"),
    "ORIGIN_ID": _f("string", "Item ID in data source"),
    "UTM_SOURCE": _f("string", "Ad system"),
    "UTM_MEDIUM": _f("string", "Medium"),
    "UTM_CAMPAIGN": _f("string", "Ad campaign UTM"),
    "UTM_CONTENT": _f("string", "Campaign contents"),
    "UTM_TERM": _f("string", "Campaign search term"),
    "PHONE": _f("crm_multifield", "Phone", multi=True),
    "EMAIL": _f("crm_multifield", "E-mail", multi=True),
    "WEB": _f("crm_multifield", "Website", multi=True),
    "IM": _f("crm_multifield", "Messenger", multi=True),
}

FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "LEAD": {
        **_COMMON_HEAD,
        "TITLE": _f("string", "Lead name"),
        **_PERSON,
        "COMPANY_TITLE": _f("string", "Company name"),
        "COMPANY_ID": _f("crm_company", "Company"),
        "CONTACT_ID": _f("crm_contact", "Contact"),
        "IS_RETURN_CUSTOMER": _f("char", "Repeat lead", ro=True),
        "STATUS_ID": _f("crm_status", "Stage"),
        "STATUS_DESCRIPTION": _f("string", "Additional information"),
        "STATUS_SEMANTIC_ID": _f("string", "Status details", ro=True),
        "CURRENCY_ID": _f("crm_currency", "Currency"),
        "OPPORTUNITY": _f("double", "Total"),
        "IS_MANUAL_OPPORTUNITY": _f("char", "Manual calculation mode"),
        "DATE_CLOSED": _f("datetime", "Completed on", ro=True),
        **_ADDRESS,
        **_SOURCE,
        **_COMMON_TAIL,
    },
    "CONTACT": {
        **_COMMON_HEAD,
        **_PERSON,
        "TYPE_ID": _f("crm_status", "Contact type"),
        "COMPANY_ID": _f("crm_company", "Company"),
        "LEAD_ID": _f("crm_lead", "Lead", ro=True),
        "EXPORT": _f("char", "Included in export"),
        **_ADDRESS,
        **_SOURCE,
        **_COMMON_TAIL,
    },
    "COMPANY": {
        **_COMMON_HEAD,
        "TITLE": _f("string", "Company name", req=True),
        "COMPANY_TYPE": _f("crm_status", "Company type"),
        "INDUSTRY": _f("crm_status", "Industry"),
        "EMPLOYEES": _f("crm_status", "Employees"),
        "CURRENCY_ID": _f("crm_currency", "Currency"),
        "REVENUE": _f("double", "Annual revenue"),
        "BANKING_DETAILS": _f("string", "Payment details"),
        "LEAD_ID": _f("crm_lead", "Lead", ro=True),
        **_ADDRESS,
        **_COMMON_TAIL,
    },
}

# Lead stages (crm.status.list ENTITY_ID=STATUS on a new portal) and their semantics:
# P = in progress, S = success, F = failure.
LEAD_STATUS_SEMANTICS = {
    "NEW": "P",
    "IN_PROCESS": "P",
    "PROCESSED": "P",
    "CONVERTED": "S",
    "JUNK": "F",
}


def field_descriptions(
    entity: EntityType, user_fields: Mapping[str, UserFieldSpec]
) -> dict[str, Any]:
    """``crm.*.fields`` result: the standard fields plus the portal's UF_CRM_* fields."""
    result = dict(FIELDS[entity.name])
    for code, spec in user_fields.items():
        result[code] = describe(spec)
    return result
