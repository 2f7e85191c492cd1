"""What a new user found in check's and serve's messages (session 13): a samples file that cannot be read
gives no coverage verdict, a score that reads itself is named as such, and serve reports a policy it did not
load by its real diagnostic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import REFERENCE_COPY

BROKEN_YAML = "leads:\n  - name: [unclosed\n"


def _unreadable_samples(folder: Path) -> Path:
    """The reference policy beside its samples file, whose end no longer parses as YAML."""
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(REFERENCE_COPY / name, folder / name)
    samples = folder / "inbound-b2b.samples.yaml"
    samples.write_text(samples.read_text() + BROKEN_YAML)
    return folder / "inbound-b2b.policy"


@pytest.mark.parametrize("command", ["check", "test"])
def test_unreadable_samples_give_bad_samples_and_no_coverage_verdict(tmp_path, capsys, command):
    policy = _unreadable_samples(tmp_path)
    assert main([command, str(policy), "--min-coverage", "90", "--format", "json"]) == 1
    codes = [d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]]
    assert "bad-samples" in codes and "low-coverage" not in codes  # check also warns never-true, as ever
    assert main([command, str(policy), "--min-coverage", "90"]) == 1
    out = capsys.readouterr().out
    assert "bad-samples: not valid YAML" in out
    assert "low-coverage" not in out and "None" not in out


def test_readable_samples_below_the_floor_still_give_low_coverage(tmp_path, capsys):
    policy = _unreadable_samples(tmp_path)
    samples = tmp_path / "inbound-b2b.samples.yaml"
    samples.write_text(samples.read_text().replace(BROKEN_YAML, ""))
    assert main(["check", str(policy), "--min-coverage", "99", "--format", "json"]) == 1
    diags = json.loads(capsys.readouterr().out)["diagnostics"]
    low = [d for d in diags if d["code"] == "low-coverage"]
    assert len(low) == 1 and low[0]["message"].startswith("sample coverage 70.8% is below the floor of 99.0%")
