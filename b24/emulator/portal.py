"""The emulated portal's CRM data: leads, contacts and companies in memory.

Records are stored the way the REST API shows them (REST docs: big data): IDs and
scalar values as strings, multifields as lists of ``{ID, VALUE_TYPE, VALUE, TYPE_ID}``
with IDs unique across the portal. Every add, update and delete is announced to the
listeners, which turn them into outbound events.

Each type's records are a :class:`RecordStore` (``{id: record}`` that also keeps its
IDs ascending, for ``crm.*.list`` by ``>ID``). :meth:`Portal.add_many` seeds a large
portal fast; a contact costs about 1.6 KB here plus its communications in the
findbycomm index (docs/emulator.md, "A large portal").
"""

from __future__ import annotations

import copy
import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from b24.crm import MULTIFIELDS, EntityType
from b24.emulator import errors
from b24.emulator.comm_index import CommunicationIndex
from b24.emulator.fields import (
    FIELDS,
    LEAD_STATUS_SEMANTICS,
    MULTIFIELD_VALUE_TYPES,
)
from b24.emulator.record_store import RecordStore
from b24.emulator.user_fields import UserFieldSpec, stored_value

Record = dict[str, Any]
ChangeListener = Callable[[str, EntityType, int], None]

# The docs' volatileType example shows a custom string field with this code.
DEFAULT_USER_FIELDS = {"UF_CRM_1750854801": "String"}

# Each value type as one string object, so that a million items do not each hold a copy.
_VALUE_TYPES = {
    type_id: {value_type: value_type for value_type in value_types}
    for type_id, value_types in MULTIFIELD_VALUE_TYPES.items()
}
# add_many shares equal scalar values (names, dates) between records, up to this many.
_SHARED_VALUES = 200_000


def parse_offset(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def scalar_to_string(value: Any) -> str | None:
    """PHP stores what it is given as a string: true is "1", false and null are ""."""
    if type(value) is str:
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return None
    return str(value)


class Portal:
    """The CRM store of one portal."""

    def __init__(
        self,
        *,
        user_id: int = 1,
        utc_offset: str = "+03:00",
        user_fields: Mapping[str, Mapping[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.user_id = user_id
        self.tz = parse_offset(utc_offset)
        self.clock = clock
        self.records: dict[str, RecordStore] = {name: RecordStore() for name in FIELDS}
        self._next_id: dict[str, int] = dict.fromkeys(FIELDS, 1)
        self._next_multifield_id = 1
        self.user_fields: dict[str, dict[str, str]] = {
            name: dict((user_fields or {}).get(name, DEFAULT_USER_FIELDS)) for name in FIELDS
        }
        # The type of a custom field given one (seed ``user_fields``); else a single string.
        self.user_field_specs: dict[str, dict[str, UserFieldSpec]] = {name: {} for name in FIELDS}
        self.listeners: list[ChangeListener] = []
        self.communications = CommunicationIndex()
        self._now: tuple[int, str] = (-1, "")

    # -- time ---------------------------------------------------------------
    def now_iso(self) -> str:
        # The same second gives the same string object: records added together share it.
        second = int(self.clock())
        if self._now[0] != second:
            stamp = datetime.fromtimestamp(second, self.tz).isoformat()
            self._now = (second, stamp)
        return self._now[1]

    # -- reading ------------------------------------------------------------
    def get(self, entity: EntityType, entity_id: int) -> Record:
        record = self.records[entity.name].get(entity_id)
        if record is None:
            raise errors.not_found()
        return self.present(entity, record)

    def exists(self, entity: EntityType, entity_id: int) -> bool:
        return entity_id in self.records[entity.name]

    def raw(self, entity: EntityType, entity_id: int) -> Record:
        """The stored record itself (for merging); raises Not found."""
        record = self.records[entity.name].get(entity_id)
        if record is None:
            raise errors.not_found()
        return record

    def iter_records(self, entity: EntityType) -> Iterator[Record]:
        return iter(self.records[entity.name].values())

    def present(self, entity: EntityType, record: Record) -> Record:
        """The record as ``get`` shows it: every field, multifields only when present."""
        shown: Record = {}
        for code in FIELDS[entity.name]:
            if code in MULTIFIELDS:
                items = record.get(code) or []
                if items:
                    shown[code] = copy.deepcopy(items)
            else:
                shown[code] = record.get(code)
        for code in self.user_fields[entity.name]:
            shown[code] = record.get(code)
        return shown

    # -- writing ------------------------------------------------------------
    def add(
        self,
        entity: EntityType,
        fields: Mapping[str, Any],
        *,
        seed: bool = False,
        announce: bool = True,
    ) -> int:
        """Create a record. ``seed`` lets ID and dates come from the caller."""
        if not isinstance(fields, Mapping):
            raise errors.invalid_argument("Parameter 'fields' must be an object.")
        entity_id = self._insert(entity, fields, seed=seed, now=self.now_iso())
        if announce:
            self._announce("ADD", entity, entity_id)
        return entity_id

    def add_many(self, entity: EntityType, records: Iterable[Mapping[str, Any]]) -> int:
        """Seed records in bulk: each as ``add(entity, fields, seed=True, announce=False)``.

        Equal scalar values (a first name, a date) are stored once and shared, so a
        large seed takes less memory than the same records added one by one. Every
        index (IDs, communications) is kept as ``add`` keeps it. Returns the count.
        """
        now = self.now_iso()
        shared: dict[str, str] = {}
        added = 0
        # The records hold no reference cycles: the cyclic collector, run again and
        # again over a growing heap, would only double the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for fields in records:
                if not isinstance(fields, Mapping):
                    raise errors.invalid_argument("Parameter 'fields' must be an object.")
                self._insert(entity, fields, seed=True, now=now, shared=shared)
                added += 1
        finally:
            if collecting:
                gc.enable()
        return added

    def _insert(
        self,
        entity: EntityType,
        fields: Mapping[str, Any],
        *,
        seed: bool,
        now: str,
        shared: dict[str, str] | None = None,
    ) -> int:
        name = entity.name
        store = self.records[name]
        entity_id = self._next_id[name]
        if seed and fields.get("ID") not in (None, ""):
            entity_id = int(fields["ID"])
            if entity_id in store:
                raise errors.invalid_argument(f"ID {entity_id} is taken.")
        if name == "COMPANY" and not str(fields.get("TITLE") or "").strip():
            # Docs silent on the text; a company needs a name (crm.company.fields isRequired).
            raise errors.RestError(400, "", 'The "Company name" field is required.')
        self._next_id[name] = max(self._next_id[name], entity_id + 1)
        user = str(self.user_id)
        record: Record = {"ID": str(entity_id)}
        self._apply_scalars(entity, record, fields)
        for code in MULTIFIELDS:
            record[code] = self._new_items(code, fields.get(code))
        record.setdefault("ASSIGNED_BY_ID", user)
        record.setdefault("OPENED", "Y")
        record["CREATED_BY_ID"] = user
        record["MODIFY_BY_ID"] = user
        record["DATE_CREATE"] = now
        record["DATE_MODIFY"] = now
        if seed:
            for code in ("DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"):
                if fields.get(code):
                    record[code] = str(fields[code])
        if name == "LEAD":
            record.setdefault("STATUS_ID", "NEW")
            record["IS_RETURN_CUSTOMER"] = "N"
        self._derive(entity, record)
        if shared is not None:
            for code, value in record.items():
                if type(value) is str and code != "ID":
                    kept = shared.get(value)
                    if kept is not None:
                        record[code] = kept
                    elif len(shared) < _SHARED_VALUES:
                        shared[value] = value
        store[entity_id] = record
        self.communications.put(name, entity_id, record)
        return entity_id

    def update(self, entity: EntityType, entity_id: int, fields: Mapping[str, Any]) -> None:
        if not isinstance(fields, Mapping):
            raise errors.invalid_argument("Parameter 'fields' must be an object.")
        record = self.raw(entity, entity_id)
        self._apply_scalars(entity, record, fields)
        for code in MULTIFIELDS:
            if code in fields:
                record[code] = self._updated_items(code, record.get(code) or [], fields[code])
        self.touch(entity, record)
        self._announce("UPDATE", entity, entity_id)

    def touch(self, entity: EntityType, record: Record) -> None:
        record["DATE_MODIFY"] = self.now_iso()
        record["MODIFY_BY_ID"] = str(self.user_id)
        self._derive(entity, record)
        self.communications.put(entity.name, int(record["ID"]), record)

    def delete(self, entity: EntityType, entity_id: int) -> None:
        self.raw(entity, entity_id)
        del self.records[entity.name][entity_id]
        self.communications.remove(entity.name, entity_id)
        self._announce("DELETE", entity, entity_id)

    def announce_update(self, entity: EntityType, entity_id: int) -> None:
        self._announce("UPDATE", entity, entity_id)

    # -- helpers ------------------------------------------------------------
    def _announce(self, action: str, entity: EntityType, entity_id: int) -> None:
        for listener in self.listeners:
            listener(f"{entity.event_prefix}{action}", entity, entity_id)

    def _apply_scalars(self, entity: EntityType, record: Record, fields: Mapping[str, Any]) -> None:
        name = entity.name
        known = FIELDS[name]
        for code, value in fields.items():
            if code in MULTIFIELDS:
                continue
            desc = known.get(code)
            if desc is None:
                # Unknown keys are ignored, as the portal does; UF fields must exist.
                if code not in self.user_fields[name]:
                    continue
            elif desc["isReadOnly"]:
                continue
            else:
                record[code] = scalar_to_string(value)
                continue
            record[code] = stored_value(self.user_field_spec(name, code), value)

    def _derive(self, entity: EntityType, record: Record) -> None:
        record["HAS_PHONE"] = "Y" if record.get("PHONE") else "N"
        record["HAS_EMAIL"] = "Y" if record.get("EMAIL") else "N"
        ims = record.get("IM")
        record["HAS_IMOL"] = "Y" if ims and any(i.get("VALUE_TYPE") == "IMOL" for i in ims) else "N"
        if entity.name == "LEAD":
            status = record.get("STATUS_ID") or "NEW"
            record["STATUS_SEMANTIC_ID"] = LEAD_STATUS_SEMANTICS.get(status, "P")

    def _item(self, type_id: str, item: Mapping[str, Any]) -> dict[str, str] | None:
        value = scalar_to_string(item.get("VALUE"))
        if value is None or value.strip() == "":
            return None
        # Docs silent: the portal files an unknown value type under OTHER.
        value_type = _VALUE_TYPES[type_id].get(
            scalar_to_string(item.get("VALUE_TYPE")) or "WORK", "OTHER"
        )
        new_id = self._next_multifield_id
        self._next_multifield_id += 1
        return {"ID": str(new_id), "VALUE_TYPE": value_type, "VALUE": value, "TYPE_ID": type_id}

    @staticmethod
    def _as_items(raw: Any) -> list[Mapping[str, Any]]:
        if type(raw) is not list:  # the common case first, without the ABC check
            if raw is None:
                return []
            if isinstance(raw, Mapping):
                raw = list(raw.values())
            elif not isinstance(raw, list):
                return []
        return [item for item in raw if type(item) is dict or isinstance(item, Mapping)]

    def _new_items(self, type_id: str, raw: Any) -> list[dict[str, str]]:
        items: list[dict[str, str]] = []
        if not raw:
            return items
        for item in self._as_items(raw):
            made = self._item(type_id, item)
            if made is not None:
                items.append(made)
        return items

    def _updated_items(
        self, type_id: str, current: list[dict[str, str]], raw: Any
    ) -> list[dict[str, str]]:
        """Update semantics: ID+VALUE changes, ID+empty VALUE (or DELETE=Y) deletes, no ID adds."""
        result = [dict(item) for item in current]
        by_id = {item["ID"]: item for item in result}
        for change in self._as_items(raw):
            item_id = scalar_to_string(change.get("ID"))
            if item_id:
                target = by_id.get(item_id)
                if target is None:
                    continue  # an ID of another record's item is ignored
                value = scalar_to_string(change.get("VALUE"))
                if str(change.get("DELETE", "")).upper() == "Y" or not (value or "").strip():
                    result.remove(target)
                    del by_id[item_id]
                    continue
                target["VALUE"] = value or ""
                if change.get("VALUE_TYPE"):
                    value_type = str(change["VALUE_TYPE"])
                    allowed = MULTIFIELD_VALUE_TYPES[type_id]
                    target["VALUE_TYPE"] = value_type if value_type in allowed else "OTHER"
            else:
                made = self._item(type_id, change)
                if made is not None:
                    result.append(made)
        return result

    def add_items(self, record: Record, type_id: str, values: list[dict[str, str]]) -> None:
        """Append copies of other records' items with fresh IDs (used by merges)."""
        items = record.setdefault(type_id, [])
        for value in values:
            made = self._item(type_id, value)
            if made is not None:
                items.append(made)

    # -- custom field types and a merge's rebind (b24.emulator.user_fields, .duplicates) --
    def user_field_spec(self, entity_name: str, code: str) -> UserFieldSpec:
        spec = self.user_field_specs[entity_name].get(code)
        return spec or UserFieldSpec(self.user_fields[entity_name].get(code, code))

    def define_user_field(self, entity_name: str, code: str, spec: UserFieldSpec) -> None:
        self.user_fields[entity_name][code] = spec.title
        self.user_field_specs[entity_name][code] = spec

    def repoint(self, entity: EntityType, code: str, old_id: int, new_id: int) -> list[int]:
        """Every record whose ``code`` is ``old_id`` gets ``new_id``, quietly (no event, no
        DATE_MODIFY): a merge moving a deleted seed's children to the survivor. Returns
        their ids."""
        old, new, moved = str(old_id), str(new_id), []
        for entity_id, record in self.records[entity.name].items():
            if record.get(code) == old:
                record[code] = new
                moved.append(entity_id)
        return moved
