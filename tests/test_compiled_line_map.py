"""Generated Python maps back to its policy: an exception from generated code names the policy file, line and
rule; tracebacks and profiles show the generated lines under a name that says which policy they came from."""

from __future__ import annotations

import cProfile
import datetime as dt
import importlib.util
import pstats
import traceback

import pytest

import leadpolicy
from leadpolicy import runtime
from leadpolicy.semantics.codegen import generate, module_source
from leadpolicy.semantics.linemap import places

from .conftest import POLICIES

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY = POLICIES / "inbound-b2b.policy"
LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "email_clicks": 3}


def line_of(text: str) -> int:
    """The policy file's line holding `text` (exactly one)."""
    lines = [n for n, line in enumerate(POLICY.read_text("utf-8").splitlines(), 1) if text in line]
    assert len(lines) == 1, lines
    return lines[0]


def broken_floor_units(value: object) -> int:
    raise ZeroDivisionError("a helper of generated code failed")


def test_an_exception_inside_generated_code_names_the_policy_line_and_rule(monkeypatch):
    monkeypatch.setattr(runtime, "floor_units", broken_floor_units)  # read when the policy is compiled
    policy = leadpolicy.load(POLICY)
    with pytest.raises(ZeroDivisionError) as caught:
        policy.evaluate(LEAD, NOW)
    notes = caught.value.__notes__
    assert len(notes) == 1
    assert f"{POLICY}:{line_of('per email_clicks')}: score engagement, rule Email clicks" in notes[0]
    text = "".join(traceback.format_exception(caught.value))
    assert f"generated from {POLICY}" in text  # the frame's file names the policy
    assert "floor_units(v" in text  # linecache gives the generated line's text


def test_the_line_map_covers_every_rule_stage_and_grade_entry():
    policy = leadpolicy.load(POLICY)
    line_map = generate(policy.ir, places(policy.tree)).line_map
    parts = {part for _, part in line_map.values()}
    for score in policy.ir.scores:
        assert {f"score {score.name}, rule {r.label}" for r in score.rules} <= parts
    assert {f"stage {s.name}" for s in policy.ir.stages} <= parts
    assert {f"grade {g.name}, entry {e.label}" for g in policy.ir.grades for e in g.entries} <= parts
    # every part of this policy (it has no events) has its line, one the policy file has
    count = len(POLICY.read_text("utf-8").splitlines())
    assert all(0 < line <= count for line, _ in line_map.values())


def test_a_profile_of_generated_code_names_the_policy_file():
    policy = leadpolicy.load(POLICY)
    profile = cProfile.Profile()
    profile.runcall(policy.evaluate, LEAD, NOW)
    files = {filename for filename, _, function in pstats.Stats(profile).stats if function == "evaluate"}
    assert any(f"generated from {POLICY}" in name for name in files), files


def test_a_standalone_module_carries_the_line_map_as_data(tmp_path, monkeypatch):
    policy = leadpolicy.load(POLICY)
    text = module_source(policy.ir, places(policy.tree), "policies/inbound-b2b.policy")
    path = tmp_path / "compiled_policy.py"
    path.write_text(text, "utf-8")
    spec = importlib.util.spec_from_file_location("compiled_policy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.decide(LEAD, NOW)["stage"] == policy.evaluate(LEAD, NOW).stage
    # each mapped line of the module is a line of its `evaluate`, and the map names the rule's policy line
    lines = text.splitlines()
    start = lines.index("def evaluate(lead, now, events=()):") + 1
    assert all(line > start for line in module.LINE_MAP)
    assert module.LINE_MAP[next(n for n, line in enumerate(lines, 1) if n > start and "floor_units(v" in line)] == (
        line_of("per email_clicks"), "score engagement, rule Email clicks")
    monkeypatch.setattr(module, "floor_units", broken_floor_units)
    with pytest.raises(ZeroDivisionError) as caught:
        module.decide(LEAD, NOW)
    assert f"policies/inbound-b2b.policy:{line_of('per email_clicks')}" in caught.value.__notes__[0]
