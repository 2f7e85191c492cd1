"""What every command shares: an unknown flag shows that command's usage, `check` finds the project from a
folder inside it, and the README says what `scripts/test` installs (issue 24)."""

from __future__ import annotations

import json
import shutil

import pytest

from leadpolicy.cli import commands
from leadpolicy.cli.main import main

from .components import DEBIAN_PACKAGES
from .conftest import POLICIES, ROOT

B2B = str(POLICIES / "inbound-b2b.policy")


def _code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize("argv", [
    ["explain", B2B, "--lead", "{}", "--bogus"], ["score", B2B, "leads.csv", "--bogus"], ["check", "--bogus"],
    ["sla", B2B, "events.csv", "--bogus", "x"], ["diff", B2B, B2B, "--bogus"], ["docs", "--bogus"],
    ["backtest", B2B, B2B, "--leads", "l.csv", "--events", "e.csv", "--as-of", "2026-11-01", "--bogus"],
])
def test_an_unknown_flag_shows_the_usage_of_its_command(argv, capsys):
    assert _code(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: leadpolicy {argv[0]} "), err
    assert "unrecognized arguments: --bogus" in err


def test_every_command_is_covered_by_the_unknown_flag_rule(capsys):
    for name in commands.NAMES:
        assert _code([name, "--bogus"]) == 2
        assert capsys.readouterr().err.startswith(f"usage: leadpolicy {name} ")


def _project(tmp_path, settings: str):
    (tmp_path / "policies").mkdir()
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(POLICIES / name, tmp_path / "policies" / name)
    (tmp_path / "pyproject.toml").write_text(settings, "utf-8")
    return tmp_path / "policies"


@pytest.mark.parametrize("settings", ["[tool.leadpolicy]\nmin-coverage = 10\n",
                                      '[tool.leadpolicy]\npaths = ["policies"]\n'])
def test_check_inside_policies_finds_the_project_root(tmp_path, monkeypatch, capsys, settings):
    inside = _project(tmp_path, settings)
    (inside / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", "utf-8")  # not leadpolicy's
    monkeypatch.chdir(inside)
    assert main(["check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in report["policies"]] == ["inbound-b2b"]


def test_check_from_a_deeper_folder_uses_the_projects_floor(tmp_path, monkeypatch, capsys):
    inside = _project(tmp_path, "[tool.leadpolicy]\nmin-coverage = 100\n")
    (inside / "notes").mkdir()
    monkeypatch.chdir(inside / "notes")
    code = main(["check", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in report["policies"]] == ["inbound-b2b"]
    assert code == (0 if report["policies"][0]["coverage"] == 100 else 1)


def test_the_readme_names_everything_scripts_test_installs():
    packages = list(DEBIAN_PACKAGES)  # what scripts/test installs under CI=true when it is missing
    readme = (ROOT / "README.md").read_text("utf-8")
    paragraph = readme[readme.index("bash scripts/test"):]
    paragraph = paragraph[:paragraph.index("\n\n", paragraph.index("installs"))]
    names = {"chromium": "Chromium", "postgresql": "PostgreSQL", "openjdk-17-jre-headless": "Java",
             "nodejs": "Node.js"}
    assert packages and set(packages) <= set(names), f"name the new package in this test: {packages}"
    for package in packages:
        assert names[package] in paragraph, f"README's scripts/test paragraph does not name {names[package]}"


@pytest.mark.parametrize("command", ["check", "test", "ci", "fmt"])
def test_no_policies_folder_and_no_project_says_what_to_give(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no policies/ and no pyproject.toml with [tool.leadpolicy] here or above
    assert main([command]) in (1, 2)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "policies: unreadable-file: no such file or directory" in text
    assert "hint: give the policy files or folders to read" in text and "[tool.leadpolicy]" in text
