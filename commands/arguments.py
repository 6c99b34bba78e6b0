"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse

from b24.crm import EntityType, RecordRef

# How record types are written on the command line: lead, contact, company.
ENTITY_CHOICES = sorted(t.value.lower() for t in EntityType)


def positive_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a record ID") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a record ID")
    return value


def positive_int(text: str) -> int:
    """A count such as ``--limit``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def record_ref(text: str) -> RecordRef:
    """``contact:12``."""
    try:
        return RecordRef.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes ENTITY:ID, such as contact:12, not {text!r}"
        ) from None
