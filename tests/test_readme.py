"""The README and the docs stay true: the quick start, the table of every setting and
its defaults, and no reference to a document that is not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

from b24_dedupe.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [
        name.upper() for name in Settings.model_fields if f"| `{name.upper()}` |" not in README
    ]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```", 2)[1]
    assert quick.split() == ["make", "run", "make", "test"]


def _table_defaults() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+) \|", README, re.MULTILINE)
    return {name: cell.strip() for name, cell in rows}


def test_the_readme_states_the_defaults_the_code_has() -> None:
    # Issue 14: the docs said WORKER_CONCURRENCY defaults to 20, the code had 50.
    wrong = []
    for name, cell in _table_defaults().items():
        field = Settings.model_fields.get(name.lower())
        if field is None or cell == "—" or "…" in cell:
            continue
        default = field.default
        default = getattr(default, "get_secret_value", lambda d=default: d)()
        shown = cell.strip("`")
        same = (
            float(shown) == float(default)
            if isinstance(default, int | float) and not isinstance(default, bool)
            else shown == str(default)
        )
        if not same:
            wrong.append(f"{name}: README {shown}, code {default}")
    assert wrong == []


def test_the_docs_state_the_worker_concurrency_the_code_has() -> None:
    default = Settings.model_fields["worker_concurrency"].default
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    stated = re.findall(r"`WORKER_CONCURRENCY` jobs at once \((\d+)\)", operations)
    assert stated == [str(default)]
    for text in (README, operations, (DOCS / "performance.md").read_text(encoding="utf-8")):
        assert not re.search(r"WORKER_CONCURRENCY[^.\n]{0,40}\(the default\)", text) or (
            f"WORKER_CONCURRENCY={default}` (the default)" in text
        )


# Issue 14: documents that are not in the repository (facts.md, ../shared/...) must not
# be cited; the public Bitrix24 REST docs and our own docs are.
UNREACHABLE = re.compile(r"facts\.md|\.\./shared|shared/bitrix24-docs|docs:limits|docs:settings")
OURS = [
    ROOT / "README.md",
    *sorted(DOCS.glob("*.md")),
    *sorted((ROOT / "b24" / "client").glob("*.py")),
    ROOT / "b24" / "events.py",
    *sorted((ROOT / "webhooks_in").glob("*.py")),
    *sorted((ROOT / "commands").rglob("*.py")),
]


def test_no_reference_to_a_document_a_reader_does_not_have() -> None:
    cited = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in OURS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNREACHABLE.search(line)
    ]
    assert cited == []
