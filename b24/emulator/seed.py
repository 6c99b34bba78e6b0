"""Loading a portal's records from a seed file (``--seed FILE``).

The file is JSON: ``{"user_fields": {"CONTACT": {"UF_CRM_X": "Title"}},
"leads": [fields...], "contacts": [...], "companies": [...]}``. A custom field is given
by its title (a single string field) or as ``{"title": "...", "type": "integer",
"multiple": true}`` (:mod:`b24.emulator.user_fields`). Each record is given as
``crm.*.add`` takes it; ``ID``, ``DATE_CREATE`` and ``DATE_MODIFY`` may be set.
Seeding sends no events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from b24.emulator.errors import RestError
from b24.emulator.fields import ENTITY_TYPES
from b24.emulator.portal import Portal
from b24.emulator.user_fields import parse_spec

SECTIONS = {"leads": "LEAD", "contacts": "CONTACT", "companies": "COMPANY"}


class SeedError(ValueError):
    """A seed file that cannot be loaded."""


def read_seed(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SeedError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path} must hold a JSON object")
    return data


def load_seed(portal: Portal, seed: dict[str, Any]) -> int:
    """Add the seed's records; returns how many were added."""
    unknown = set(seed) - set(SECTIONS) - {"user_fields"}
    if unknown:
        raise SeedError(f"unknown seed sections: {', '.join(sorted(unknown))}")
    for name, fields in (seed.get("user_fields") or {}).items():
        if name not in portal.user_fields or not isinstance(fields, dict):
            raise SeedError(f"user_fields.{name} must name LEAD, CONTACT or COMPANY fields")
        for code, definition in fields.items():
            try:
                portal.define_user_field(name, str(code), parse_spec(str(code), definition))
            except ValueError as exc:
                raise SeedError(f"user_fields.{name}.{exc}") from None
    added = 0
    for section, type_name in SECTIONS.items():
        records = seed.get(section) or []
        if not isinstance(records, list):
            raise SeedError(f"{section} must be a list of records")
        for record in records:
            if not isinstance(record, dict):
                raise SeedError(f"each of {section} must be an object")
            try:
                portal.add(ENTITY_TYPES[type_name], record, seed=True, announce=False)
            except (RestError, ValueError) as exc:
                detail = exc.description if isinstance(exc, RestError) else str(exc)
                raise SeedError(f"{section}[{added}]: {detail}") from None
            added += 1
    return added
