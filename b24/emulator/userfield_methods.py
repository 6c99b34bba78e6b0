"""``crm.{lead,contact,company}.userfield.add`` and ``.list``: custom fields made at run time.

Bitrix24 REST docs (crm.contact.userfield.add): ``fields[FIELD_NAME]`` (the portal
puts ``UF_CRM_`` before it unless it is there), ``fields[USER_TYPE_ID]`` (string by
default), ``fields[MULTIPLE]`` Y/N, ``fields[EDIT_FORM_LABEL]``; the answer is the new
field's id. The error texts here are the emulator's own (docs/emulator.md): a field
that exists already, a missing or malformed name, an unknown type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from b24.emulator.errors import RestError
from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.registry import Context, Handler, Params, Registry
from b24.emulator.user_fields import USER_FIELD_TYPES, UserFieldSpec

_NAME = re.compile(r"^[A-Z0-9_]{1,13}$")
PREFIX = "UF_CRM_"


def _add(entity_name: str) -> Handler:
    def add(ctx: Context, params: Params) -> int:
        fields = params.get("fields")
        if not isinstance(fields, Mapping):
            raise RestError(400, "ERROR_CORE", "Parameter 'fields' is required.")
        name = str(fields.get("FIELD_NAME") or "").strip().upper()
        name = name[len(PREFIX) :] if name.startswith(PREFIX) else name
        if not _NAME.match(name):
            raise RestError(
                400, "ERROR_CORE", "FIELD_NAME must be 1-13 Latin letters, digits or '_'."
            )
        code = PREFIX + name
        if code in ctx.portal.user_fields[entity_name]:
            raise RestError(400, "ERROR_CORE", f"The field {code} exists already.")
        kind = str(fields.get("USER_TYPE_ID") or "string")
        if kind not in USER_FIELD_TYPES:
            raise RestError(400, "ERROR_CORE", f"Unknown USER_TYPE_ID {kind!r}.")
        label = fields.get("EDIT_FORM_LABEL") or fields.get("LABEL") or code
        if isinstance(label, Mapping):
            label = next(iter(label.values()), code)
        multiple = str(fields.get("MULTIPLE") or "N").upper() == "Y"
        ctx.portal.define_user_field(entity_name, code, UserFieldSpec(str(label), kind, multiple))
        return len(ctx.portal.user_fields[entity_name]) + 100

    return add


def _list(entity_name: str) -> Handler:
    def list_(ctx: Context, params: Params) -> list[dict[str, Any]]:
        answer = []
        for code in ctx.portal.user_fields[entity_name]:
            spec = ctx.portal.user_field_spec(entity_name, code)
            answer.append(
                {
                    "FIELD_NAME": code,
                    "USER_TYPE_ID": spec.type,
                    "MULTIPLE": "Y" if spec.multiple else "N",
                    "EDIT_FORM_LABEL": spec.title,
                }
            )
        return answer

    return list_


def register(registry: Registry) -> None:
    for entity in ENTITY_TYPES.values():
        registry.add(f"{entity.method_prefix}.userfield.add", _add(entity.name))
        registry.add(f"{entity.method_prefix}.userfield.list", _list(entity.name))
