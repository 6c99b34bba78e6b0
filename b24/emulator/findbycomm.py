"""``crm.duplicate.findbycomm`` as the source runs it (restservice.php:9977-10093).

- ``type`` (also ``TYPE``, ``Type``): EMAIL or PHONE in any case; missing, "Communication
  type is not defined."; other, "Communication type 'X' is not supported in current
  context." (:9991-10002).
- ``values`` (also ``VALUES``, ``Values``, ``arValues``): a non-empty array, else
  "Communication values is not defined." (:10004-10008).
- ``ENTITY_TYPE`` (also ``entity_type``, ``EntityType``, ``arEntityType``): LEAD, CONTACT,
  COMPANY in any case, or L, C, CO (``crm_owner_type.php:265-432``); DEAL or D, "Deal is
  not supported in current context."; another type the portal knows (QUOTE, I...) finds
  nothing; missing or unknown, every type (:10010-10017).
- Each value (:10022-10058): not a string or empty, skipped; equal to an earlier one
  (phones by code, e-mails as written, case-sensitive), skipped without counting; else
  its code is looked up, at most 20 index rows across the types searched, leads first
  then contacts then companies, each by id (:10047, ``duplicatecommunicationcriterion.php:
  757-820``); after 20 counted values the rest are ignored without a word.
- The answer joins the rows per type in value order, each id once (:10060-10089);
  nothing found is ``[]``.

Errors are RestExceptions without a code: HTTP 400, ``error`` "" and the message in
``error_description`` (``findbycomm_errors="docs"`` answers the docs' example instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24.emulator.comm_index import TYPE_ORDER
from b24.emulator.errors import RestError
from b24.emulator.phones import EMAIL, PHONE, query_code, same_query_value
from b24.emulator.registry import Context, Params

# CCrmOwnerType::ResolveID: the names and abbreviations of the three types searched...
_SEARCHED = {
    "LEAD": "LEAD",
    "L": "LEAD",
    "CONTACT": "CONTACT",
    "C": "CONTACT",
    "COMPANY": "COMPANY",
    "CO": "COMPANY",
}
_DEAL = frozenset({"DEAL", "D"})
# ...and of the other types it knows: a search limited to one of them finds nothing.
_OTHER_TYPES = frozenset(
    {
        "INVOICE", "I", "ACTIVITY", "QUOTE", "Q", "ORDER", "O", "ORDER_SHIPMENT", "OS",
        "ORDER_PAYMENT", "OP", "REQUISITE", "RQ", "DEAL_CATEGORY", "DC", "DEAL_RECURRING",
        "INVOICE_RECURRING", "CUSTOM_ACTIVITY_TYPE", "CAT", "CALL_LIST", "SUS_LEAD", "SL",
        "SUS_DEAL", "SD", "SUS_CONTACT", "SUS_COMPANY", "SUS_QUOTE", "SUS_INVOICE",
        "SUS_ORDER", "SUS_ACTIVITY", "SCORING", "SMART_INVOICE", "SI", "SUS_SMART_INVOICE",
        "SSI", "BANK_DETAIL", "BD", "SMART_DOCUMENT", "DO", "SUS_SMART_DOCUMENT", "SSD",
        "SMART_B2E_DOC", "SBD", "SUS_SMART_B2E_DOC", "SSB", "STORE_DOCUMENT",
        "SHIPMENT_DOCUMENT", "SYSTEM", "SYS", "AGENT_CONTRACT",
    }
)  # fmt: skip

# Texts of the docs' example, for findbycomm_errors="docs".
_DOCS_ERRORS = {
    "Communication type is not defined.": (
        "Communication type is not defined",
        "Parameter 'type' is required.",
    ),
    "Communication values is not defined.": (
        "Communication values is not defined",
        "Parameter 'values' is required.",
    ),
}


def _error(ctx: Context, message: str) -> RestError:
    if ctx.config.findbycomm_errors == "docs":
        code, description = _DOCS_ERRORS.get(message, (message.rstrip("."), message))
        return RestError(400, code, description)
    return RestError(400, "", message)


def _param(params: Params, *names: str) -> Any:
    """The first of ``names`` that is set (PHP ``isset``: present and not null)."""
    for name in names:
        if params.get(name) is not None:
            return params[name]
    return None


def searched_types(raw: Any) -> tuple[str, ...] | None:
    """The types an ENTITY_TYPE searches; None for DEAL."""
    name = str(raw if raw is not None else "").strip().upper()
    if name in _DEAL:
        return None
    if name in _SEARCHED:
        return (_SEARCHED[name],)
    if name in _OTHER_TYPES or name.startswith(("DYNAMIC_", "SUS_DYNAMIC_")):
        return ()
    return TYPE_ORDER


def findbycomm(ctx: Context, params: Params) -> Any:
    config = ctx.config
    comm_type = str(_param(params, "type", "TYPE", "Type") or "").upper()
    if comm_type not in (EMAIL, PHONE):
        if comm_type == "":
            raise _error(ctx, "Communication type is not defined.")
        raise _error(ctx, f"Communication type '{comm_type}' is not supported in current context.")
    values = _param(params, "values", "VALUES", "Values", "arValues")
    if isinstance(values, Mapping):
        values = list(values.values())
    if not isinstance(values, list) or not values:
        raise _error(ctx, "Communication values is not defined.")
    types = searched_types(
        _param(params, "ENTITY_TYPE", "entity_type", "EntityType", "arEntityType")
    )
    if types is None:
        raise _error(ctx, "Deal is not supported in current context.")

    limit = config.findbycomm_max_values
    counted: list[str] = []
    for value in values:
        if not isinstance(value, str) or value == "":
            continue
        if any(same_query_value(comm_type, value, earlier) for earlier in counted):
            continue
        counted.append(value)
        if len(counted) >= limit and config.findbycomm_over_limit != "error":
            break
    if len(counted) > limit:
        # findbycomm_over_limit="error": the emulator's earlier reading of the docs.
        raise RestError(
            400, "Too many communication values", f"The maximum number of values is {limit}."
        )

    found: dict[str, list[int]] = {}
    index = ctx.portal.communications
    for value in counted:
        rows = index.find(
            comm_type, query_code(comm_type, value), types, config.findbycomm_rows_per_value
        )
        for name, entity_id in rows:
            ids = found.setdefault(name, [])
            if entity_id not in ids:
                ids.append(entity_id)
    # Bitrix24 REST docs (crm.duplicate.findbycomm): no match is an empty array, not an object.
    return found if found else []
