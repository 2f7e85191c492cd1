"""`docs` publishes a policy with its agreed sample cases or not at all: a samples file that `check` fails
(bad-samples) stops `docs` the same way, with the diagnostics and nothing written (exit 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

BOMB = "".join(f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}" if i else '"lol"'] * 9) + "]\n" for i in range(10))
CASE = ("now: 2026-11-20T12:00:00-05:00\nleads:\n  - name: c\n    lead: {email: a@b.io, employees: 10, "
        "industry: software, source: webinar}\n    expect: {stage: nurture}\n")
SAMPLES = {
    "naming another policy": "policy: other.policy\n" + CASE,
    "an alias bomb": BOMB + "policy: p.policy\n" + CASE,
}


@pytest.mark.parametrize("what", list(SAMPLES))
def test_docs_refuses_a_policy_whose_samples_check_fails(tmp_path: Path, capsys, monkeypatch, what):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "other.policy")
    (tmp_path / "p.samples.yaml").write_text(SAMPLES[what], "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "p.policy"]) == 1
    checked = capsys.readouterr()
    assert "bad-samples" in checked.out + checked.err
    code = main(["docs", "p.policy", "-o", str(tmp_path / "site")])
    said = capsys.readouterr()
    assert code == 1, said
    assert "p.samples.yaml" in said.out + said.err and "bad-samples" in said.out + said.err
    assert not (tmp_path / "site").exists()



HEAD = "policy: p.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
PASSES = "  - name: passes\n    lead: {email: a@b.io}\n    expect: {stage: nurture}\n"
ERRS = ("  - name: names an undeclared event\n    lead: {email: b@b.io}\n"
        "    events:\n      - {event: bogus, at: 2026-11-19T10:00:00Z}\n    expect: {stage: nurture}\n")
DIFFERS = "  - name: differs\n    lead: {email: c@b.io}\n    expect: {stage: sql}\n"


def _with_samples(tmp_path: Path, monkeypatch, text: str) -> None:
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path / "p.policy")
    (tmp_path / "p.samples.yaml").write_text(text, "utf-8")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("cases", "line"), [(PASSES + ERRS + DIFFERS, 7), (ERRS, 4)])
def test_docs_refuses_a_policy_whose_sample_case_errors(tmp_path: Path, capsys, monkeypatch, cases, line):
    _with_samples(tmp_path, monkeypatch, HEAD + cases)
    assert main(["test", "p.samples.yaml", "--format", "json"]) == 1
    tested = json.loads(capsys.readouterr().out)
    assert [c["status"] for c in tested["cases"] if c["name"] == "names an undeclared event"] == ["error"]
    code = main(["docs", "p.policy", "-o", str(tmp_path / "site")])
    said = capsys.readouterr()
    assert code == 1, said
    assert f"p.samples.yaml:{line}" in said.out + said.err and "bogus" in said.out + said.err
    assert not (tmp_path / "site").exists()


def test_docs_keeps_a_case_that_differs_on_the_page(tmp_path: Path, capsys, monkeypatch):
    _with_samples(tmp_path, monkeypatch, HEAD + PASSES + DIFFERS)
    assert main(["docs", "p.policy", "-o", str(tmp_path / "site")]) == 0
    markdown = (tmp_path / "site" / "docs" / "policies" / "inbound-activity.md").read_text("utf-8")
    assert "**passes**" in markdown and "**differs**" in markdown
    assert "differs from the agreement" in markdown
