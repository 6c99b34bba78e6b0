"""``crm.enum.*``, ``crm.multifield.fields`` and ``crm.settings.mode.get``.

The results are the documented example answers (Bitrix24 REST docs), which are
what a new portal returns; crm.enum.ownertype's example also lists two smart
processes of the docs' portal, kept so that clients meet dynamic types.
"""

from __future__ import annotations

from typing import Any

from b24.emulator.registry import Context, Params, Registry


def _field(kind: str, title: str, *, read_only: bool) -> dict[str, Any]:
    return {
        "type": kind,
        "isRequired": False,
        "isReadOnly": read_only,
        "isImmutable": False,
        "isMultiple": False,
        "isDynamic": False,
        "title": title,
    }


def _items(*names: str) -> list[dict[str, Any]]:
    return [
        {"ID": i, "NAME": name, "SYMBOL_CODE": None, "SYMBOL_CODE_SHORT": None}
        for i, name in enumerate(names)
    ]


def _owner(id_: int, name: str, code: str, short: str) -> dict[str, Any]:
    return {"ID": id_, "NAME": name, "SYMBOL_CODE": code, "SYMBOL_CODE_SHORT": short}


def _plain(id_: int, name: str) -> dict[str, Any]:
    return {"ID": id_, "NAME": name, "SYMBOL_CODE": None, "SYMBOL_CODE_SHORT": None}


MULTIFIELD_FIELDS = {
    "ID": _field("int", "ID", read_only=True),
    "TYPE_ID": _field("string", "Field Type", read_only=True),
    "VALUE": _field("string", "Value", read_only=False),
    "VALUE_TYPE": _field("string", "Value Type", read_only=False),
}

ENUM_FIELDS = {
    "ID": _field("int", "ID", read_only=True),
    "NAME": _field("string", "Name", read_only=True),
    "SYMBOL_CODE": _field("string", "Symbol Code", read_only=True),
    "SYMBOL_CODE_SHORT": _field("string", "Short Symbol Code", read_only=True),
}

OWNER_TYPES = [
    _owner(1, "Lead", "LEAD", "L"),
    _owner(2, "Deal", "DEAL", "D"),
    _owner(3, "Contact", "CONTACT", "C"),
    _owner(4, "Company", "COMPANY", "CO"),
    _owner(5, "Invoice (old version)", "INVOICE", "I"),
    _owner(31, "Invoice", "SMART_INVOICE", "SI"),
    _owner(7, "Estimate", "QUOTE", "Q"),
    _owner(8, "Requisites", "REQUISITE", "RQ"),
    _owner(36, "Document", "SMART_DOCUMENT", "DO"),
    _owner(39, "Company Document", "SMART_B2E_DOC", "SBD"),
    _owner(177, "Equipment Purchase", "DYNAMIC_177", "Tb1"),
    _owner(156, "Purchase", "DYNAMIC_156", "T9c"),
]

ORDER_OWNER_TYPES = [{"attribute": "DYN", "code": "DEAL", "id": 2, "name": "Deal"}]

ADDRESS_TYPES = [
    _plain(11, "Delivery Address"),
    _plain(1, "Actual Address"),
    _plain(6, "Legal Address"),
    _plain(4, "Registration Address"),
    _plain(8, "Correspondence Address"),
    _plain(9, "Beneficiary Address"),
]

SETTINGS_MODES = [_plain(1, "Classic CRM"), _plain(2, "Simple CRM")]

STATIC_RESULTS: dict[str, Any] = {
    "crm.multifield.fields": MULTIFIELD_FIELDS,
    "crm.enum.fields": ENUM_FIELDS,
    "crm.enum.ownertype": OWNER_TYPES,
    "crm.enum.getorderownertypes": ORDER_OWNER_TYPES,
    "crm.enum.addresstype": ADDRESS_TYPES,
    "crm.enum.settings.mode": SETTINGS_MODES,
    "crm.enum.activitytype": _items(
        "", "Meeting", "Call", "Task", "E-mail", "Action", "Custom Action"
    ),
    "crm.enum.activitydirection": _items("", "Incoming", "Outgoing"),
    "crm.enum.activitypriority": _items("", "low", "medium", "high"),
    "crm.enum.activitynotifytype": _items("", "min.", "hr.", "day."),
    "crm.enum.contenttype": _items("", "Plain text", "bbCode", "HTML"),
    "crm.enum.activitystatus": _items("", "Pending", "Completed", "Automatically completed"),
    # No example in the docs: the ID of crm.enum.settings.mode in force; a new portal
    # runs classic CRM (1).
    "crm.settings.mode.get": 1,
}


def _static(result: Any) -> Any:
    def handler(ctx: Context, params: Params) -> Any:
        return result

    return handler


def register(registry: Registry) -> None:
    for name, result in STATIC_RESULTS.items():
        registry.add(name, _static(result))
