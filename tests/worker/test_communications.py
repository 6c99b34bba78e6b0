"""Normalising phones and e-mails, and what is never evidence."""

from __future__ import annotations

import pytest

from worker.communications import Communication, EvidenceRules, evidence, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+7 (999) 123-45-67",
        "89991234567",
        "79991234567",
        "8 999 123 45 67 доб. 12",
        "+7 999 123-45-67 ext 5",
    ],
)
def test_phone_formats_normalise_alike(raw: str) -> None:
    assert normalise_phone(raw, "RU") == "+79991234567"


def test_region_decides_national_numbers() -> None:
    assert normalise_phone("030 1234567", "DE") == "+49301234567"


def test_unparseable_phone_falls_back_to_digits() -> None:
    assert normalise_phone("12-34", "RU") == "1234"


def test_evidence_excludes_generic_mailboxes_and_shared_numbers() -> None:
    rules = EvidenceRules.build("RU", ["info", "sales"], ["+7 495 000-00-00"])
    record = {
        "PHONE": [{"VALUE": "8 (495) 000-00-00"}, {"VALUE": "+7 999 123 45 67"}],
        "EMAIL": [{"VALUE": " Info@Acme.io "}, {"VALUE": "Anna@Acme.io"}],
    }
    usable, excluded = evidence(record, rules)
    assert set(usable) == {
        Communication("PHONE", "+79991234567"),
        Communication("EMAIL", "anna@acme.io"),
    }
    assert excluded == {
        Communication("PHONE", "+74950000000"): "shared number",
        Communication("EMAIL", "info@acme.io"): "generic mailbox",
    }


def test_hostile_values_do_not_break_normalising() -> None:
    rules = EvidenceRules.build("RU", [], [])
    record = {
        "PHONE": [{"VALUE": "<script>"}, {"VALUE": "☎" * 5000}, "not a dict"],
        "EMAIL": "not a list",
    }
    usable, excluded = evidence(record, rules)
    assert usable == {} and excluded == {}
