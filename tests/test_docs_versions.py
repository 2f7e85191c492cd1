"""Version numbers the docs state are the ones the code has.

docs/api.md says which `format_version` an artifact holds and what each format added; a new IR node bumps
`ir.FORMAT_VERSION` (docs/internals.md, "Adding a construct"), and nothing else would catch the page still
stating the old number.
"""

from __future__ import annotations

import re

from leadpolicy.semantics import ir

from .conftest import ROOT

API = ROOT / "docs" / "api.md"
STATED = re.compile(r"`format_version` \(`\[(\d+), (\d+)\]`\)")
ADDED = re.compile(r"\b[Ff]ormat (\d+)\.(\d+)(?: \([^)]*\))? added\b")


def stated_versions(text: str) -> list[list[int]]:
    return [[int(major), int(minor)] for major, minor in STATED.findall(text)]


def versions_said_to_add(text: str) -> set[tuple[int, int]]:
    return {(int(major), int(minor)) for major, minor in ADDED.findall(text)}


def test_the_api_page_states_the_format_version_artifacts_are_written_with():
    assert stated_versions(API.read_text("utf-8")) == [list(ir.FORMAT_VERSION)], (
        "docs/api.md states another format_version than ir.FORMAT_VERSION: change it there too")


def test_the_api_page_says_what_each_minor_format_of_this_major_added():
    major, minor = ir.FORMAT_VERSION
    missing = {(major, m) for m in range(minor + 1)} - versions_said_to_add(API.read_text("utf-8"))
    assert not missing, f"docs/api.md does not say what format {sorted(missing)} added: add a line"

