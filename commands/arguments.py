"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse

from b24.crm import EntityType

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
