"""`docs` publishes a policy with its agreed sample cases or not at all: a samples file that `check` fails
(bad-samples) stops `docs` the same way, with the diagnostics and nothing written (exit 1)."""

from __future__ import annotations

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
