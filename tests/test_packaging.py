"""pyproject.toml uses the metadata setuptools takes without a deprecation warning
(issue 17: `project.license` as a table warned three times on every install)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())


def test_the_license_is_an_spdx_expression_for_a_setuptools_that_reads_one() -> None:
    # PEP 639: a string, the SPDX expression; a table ({text = ...}) is deprecated.
    assert PYPROJECT["project"]["license"] == "MIT"
    # setuptools reads the string form from 77 on: the build must not get an older one.
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"] if "setuptools" in r]
    found = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert found and int(found.group(1)) >= 77, setuptools
    assert "License ::" not in " ".join(PYPROJECT["project"].get("classifiers", []))
