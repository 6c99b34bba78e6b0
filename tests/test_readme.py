"""The README stays true: its quick start and its table of every setting."""

from __future__ import annotations

from pathlib import Path

from b24_dedupe.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [
        name.upper() for name in Settings.model_fields if f"| `{name.upper()}` |" not in README
    ]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```", 2)[1]
    assert quick.split() == ["make", "run", "make", "test"]
