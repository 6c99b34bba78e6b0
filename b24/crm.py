"""Bitrix24 CRM facts, each written once: record types, their ids, methods and events.

Sources (public Bitrix24 REST docs): ``crm.enum.ownertype`` (type ids),
``api-reference/crm/{leads,contacts,companies}`` (methods and events),
``crm.multifield.fields`` (multiple communication fields), ``crm.duplicate.findbycomm``
and ``crm.entity.mergeBatch``.

An :class:`EntityType` is a ``str`` (``"CONTACT"``), so it is stored, compared and
printed as the REST API spells it, and everything written before it existed still reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# crm.duplicate.findbycomm, crm.entity.mergeBatch and the field-description methods.
FIND_BY_COMM = "crm.duplicate.findbycomm"
MERGE_BATCH = "crm.entity.mergeBatch"
MULTIFIELD_FIELDS = "crm.multifield.fields"
USERFIELD_TYPES = "crm.userfield.types"
SETTINGS_MODE = "crm.settings.mode.get"
BATCH = "batch"

# The multiple fields every lead, contact and company has (crm.multifield.fields).
MULTIFIELDS: tuple[str, ...] = ("PHONE", "EMAIL", "WEB", "IM")
# The two kinds of communication crm.duplicate.findbycomm searches.
COMMUNICATION_TYPES: tuple[str, ...] = ("PHONE", "EMAIL")
# findbycomm: at most 20 values are looked at per call (crm-auxiliary-duplicates docs).
FIND_BY_COMM_MAX_VALUES = 20


class MergeStatus(enum.StrEnum):
    """``crm.entity.mergeBatch``'s ``STATUS`` (docs: crm.entity.mergeBatch)."""

    SUCCESS = "SUCCESS"
    CONFLICT = "CONFLICT"  # a field the merger's rules do not settle: nothing written
    ERROR = "ERROR"  # any other failure of the merger
    NOT_FOUND = "NOT_FOUND"  # the survivor vanished while the request ran


class Change(enum.StrEnum):
    """What an outbound CRM event says happened to a record."""

    ADD = "ADD"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(frozen=True)
class Methods:
    """The REST methods of one record type (``crm.contact.get`` …)."""

    add: str
    get: str
    update: str
    delete: str
    list: str
    fields: str


class EntityType(enum.StrEnum):
    """A CRM record type this service deduplicates, as the REST API names it."""

    LEAD = "LEAD"
    CONTACT = "CONTACT"
    COMPANY = "COMPANY"

    @property
    def type_id(self) -> int:
        """``crm.enum.ownertype`` id: ``entityTypeId`` of mergeBatch and userfield methods."""
        return _TYPE_IDS[self]

    @property
    def label(self) -> str:
        """``crm.enum.ownertype`` NAME: ``Lead``, ``Contact``, ``Company``."""
        return self.value.capitalize()

    @property
    def methods(self) -> Methods:
        return _METHODS[self]

    @property
    def method_prefix(self) -> str:
        """``crm.contact``."""
        return f"crm.{self.value.lower()}"

    @property
    def event_prefix(self) -> str:
        """``ONCRMCONTACT``: the event names are this plus ``ADD``, ``UPDATE``, ``DELETE``."""
        return f"ONCRM{self.value}"

    def event(self, change: Change) -> str:
        return f"{self.event_prefix}{change.value}"

    @property
    def path(self) -> str:
        """The record type in the portal's web addresses: ``/crm/contact/...``."""
        return self.value.lower()

    def details_path(self, entity_id: int) -> str:
        """The record's card in the portal (``/crm/contact/details/12/``)."""
        return f"/crm/{self.path}/details/{entity_id}/"

    def merge_path(self, ids: list[int]) -> str:
        """Bitrix24's manual merge form for these records (``/crm/contact/merge/?id=1,2``)."""
        return f"/crm/{self.path}/merge/?id=" + ",".join(str(i) for i in ids)

    @classmethod
    def parse(cls, raw: str) -> EntityType:
        """``contact``, ``CONTACT`` → :attr:`CONTACT`; :class:`ValueError` otherwise."""
        try:
            return cls(raw.strip().upper())
        except ValueError:
            raise ValueError(
                f"unknown record type {raw!r}: one of {', '.join(t.lower() for t in cls)}"
            ) from None

    @classmethod
    def by_type_id(cls, type_id: int) -> EntityType | None:
        return _BY_TYPE_ID.get(type_id)


_TYPE_IDS: dict[str, int] = {"LEAD": 1, "CONTACT": 3, "COMPANY": 4}
_BY_TYPE_ID: dict[int, EntityType] = {_TYPE_IDS[t]: t for t in EntityType}
_METHODS: dict[str, Methods] = {
    t: Methods(
        **{
            action: f"crm.{t.value.lower()}.{action}"
            for action in ("add", "get", "update", "delete", "list", "fields")
        }
    )
    for t in EntityType
}

# Every CRM record event, by name: ``ONCRMCONTACTUPDATE`` → (CONTACT, UPDATE).
CRM_EVENTS: dict[str, tuple[EntityType, Change]] = {
    t.event(change): (t, change) for t in EntityType for change in Change
}


@dataclass(frozen=True, slots=True, order=True)
class RecordRef:
    """One CRM record: its type and id (``CONTACT:12``)."""

    entity: EntityType
    id: int

    def __post_init__(self) -> None:
        # ``RecordRef("CONTACT", "12")`` as read from JSON or a job's arguments.
        entity: object = self.entity
        if not isinstance(entity, EntityType):
            object.__setattr__(self, "entity", EntityType(str(entity).upper()))
        number: object = self.id
        if not isinstance(number, int):
            object.__setattr__(self, "id", int(str(number)))

    def __str__(self) -> str:
        return f"{self.entity.value}:{self.id}"

    @classmethod
    def parse(cls, raw: str) -> RecordRef:
        """``contact:12`` or ``CONTACT:12``; :class:`ValueError` otherwise."""
        kind, sep, number = raw.partition(":")
        if not sep or not number.strip().isdigit() or int(number) <= 0:
            raise ValueError(f"{raw!r} is not a record: write it as TYPE:ID, e.g. contact:12")
        return cls(EntityType.parse(kind), int(number))
