"""Samples files: every agreed case passes; bad samples files and failing cases are reported clearly."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pytest
import yaml

from leadpolicy.language.formatter import format_policy
from leadpolicy.language.parser import parse_text
from leadpolicy.testing.harness import run_samples
from leadpolicy.testing.junit import junit_xml

from .conftest import FIXTURES, POLICIES, REFERENCE_COPY, ROOT
from .yaml_work import count_yaml_work

SAMPLES = sorted(POLICIES.glob("*.samples.yaml"))
REFERENCE = ROOT.parent / "shared" / "design" / "examples"


def _cases(path):
    run = run_samples(path)
    assert not run.diagnostics, run.diagnostics
    return run.cases


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_agreed_case_passes(path):
    cases = _cases(path)
    assert cases
    failing = {c.name: c.failures for c in cases if c.failing}
    assert not failing
    assert all(c.passed for c in cases)


# (reference, cases, of which timelines)
REFERENCES = [("inbound-b2b", 17, 8), ("inbound-activity", 18, 11)]


@pytest.mark.parametrize("name, total, timelines", REFERENCES, ids=[r[0] for r in REFERENCES])
def test_reference_examples_pass_as_written(tmp_path, name, total, timelines):
    source = REFERENCE if REFERENCE.exists() else REFERENCE_COPY
    for file in (f"{name}.policy", f"{name}.samples.yaml"):
        shutil.copy(source / file, tmp_path / file)
    cases = _cases(tmp_path / f"{name}.samples.yaml")
    assert len(cases) == total and sum(c.kind == "timeline" for c in cases) == timelines
    failing = {c.name: c.failures for c in cases if not c.passed}
    assert not failing
    result = subprocess.run([sys.executable, "-m", "leadpolicy", "check", f"{name}.policy"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [r[0] for r in REFERENCES])
def test_the_reference_copy_is_byte_for_byte_the_shared_one(name):
    if not REFERENCE.exists():
        pytest.skip("the shared design folder is not beside this checkout")
    for file in (f"{name}.policy", f"{name}.samples.yaml"):
        assert (REFERENCE_COPY / file).read_bytes() == (REFERENCE / file).read_bytes()


@pytest.mark.parametrize("name", [r[0] for r in REFERENCES])
def test_the_policy_in_policies_is_the_reference_formatted_and_keeps_every_agreed_case(name):
    reference = (REFERENCE_COPY / f"{name}.policy").read_text()
    parsed = parse_text(reference)
    assert (POLICIES / f"{name}.policy").read_text() == format_policy(parsed.policy, parsed.comments)
    ours = yaml.safe_load((POLICIES / f"{name}.samples.yaml").read_text())
    agreed = yaml.safe_load((REFERENCE_COPY / f"{name}.samples.yaml").read_text())
    for section in ("leads", "timelines"):
        for case in agreed[section]:
            assert case in ours[section], case["name"]
    assert {k: v for k, v in ours.items() if k not in ("leads", "timelines")} == \
        {k: v for k, v in agreed.items() if k not in ("leads", "timelines")}


def test_failures_show_expected_actual_and_why():
    run = run_samples(FIXTURES / "samples" / "wrong.samples.yaml")
    by_name = {c.name: c for c in run.cases}
    wrong = by_name["expects the wrong stage and a wrong fired list"]
    assert wrong.status == "failed"
    assert wrong.failures == [
        'stage: expected "mql", got "sql"',
        'fired fit: expected "Mid-market or larger", got "Core industry", "Mid-market or larger"',
    ]
    assert "stage sql (owner sales): demo_requested is yes and fit 50 >= 50" in wrong.explanation
    unknown = by_name["expects a decision that does not exist"]
    assert unknown.status == "error" and 'did you mean "stage"?' in unknown.failures[0]
    typo = by_name["a lead with a typo in a field name"]
    assert typo.status == "error" and "employes: is not a field of this policy" in typo.failures[0]
    pending = by_name["wrong status"]
    assert pending.failures == ["speed_to_lead: expected met, got pending"]
    event = by_name["unknown event"]
    assert event.failures == ["event 1: event: unknown event 'became_sqll' (did you mean \"became_sql\"?)"]
    assert not run.ok


@pytest.mark.parametrize("name,expected", [
    ("badschema", [(4, "leads/0: 'expect' is a required property"),
                   (6, "leads/1: 'expect' is a required property"),
                   (8, "leads/1: unknown key 'expcet'"),
                   (13, "timelines/0/expect/speed_to_lead: 'late' is not a status: met, breached or pending")]),
    ("badyaml", [(5, "not valid YAML: expected ',' or '}', but got '<stream end>'")]),
    ("nopolicy", [(1, "policy file 'nowhere.policy' not found")]),
])
def test_bad_samples_files_are_reported_by_line(name, expected):
    run = run_samples(FIXTURES / "samples" / f"{name}.samples.yaml")
    assert [(d.span.line, d.message) for d in run.diagnostics] == expected
    assert all(d.code == "bad-samples" for d in run.diagnostics)
    assert not run.cases and not run.ok


def test_coverage_lists_what_no_case_covers():
    run = run_samples(REFERENCE_COPY / "inbound-b2b.samples.yaml")
    uncovered = {(i.kind, i.what) for i in run.coverage if not i.covered}
    assert ("boundary", "fit = 50") in uncovered
    assert ("boundary", "employees = 200") not in uncovered  # a case has exactly 200
    assert all(i.covered for i in run.coverage if i.kind in ("rule", "stage", "route"))
    assert run.coverage_percent == pytest.approx(100 * 17 / 24, abs=0.1)


def test_coverage_notices_a_rule_no_case_fires(tmp_path):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    (tmp_path / "p.samples.yaml").write_text(
        "policy: p.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
        "  - name: one lead\n    lead: {email: a@b.io}\n    expect: {stage: nurture}\n")
    run = run_samples(tmp_path / "p.samples.yaml")
    uncovered = {(i.kind, i.what) for i in run.coverage if not i.covered}
    assert ("rule", "fit: Decision maker") in uncovered
    assert ("stage", "sql") in uncovered
    assert ("route", "mql, sql -> na-sdr") in uncovered
    assert ("stage", "nurture") not in uncovered


def test_a_case_without_now_is_an_error_not_a_pass(tmp_path):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    (tmp_path / "p.samples.yaml").write_text(
        "policy: p.policy\nleads:\n  - name: no clock\n    lead: {email: a@b.io}\n    expect: {stage: nurture}\n")
    case = run_samples(tmp_path / "p.samples.yaml").cases[0]
    assert case.status == "error" and "no `now`" in case.failures[0]


def test_invalid_expectation_checks_the_rejected_fields(tmp_path):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    (tmp_path / "p.samples.yaml").write_text(
        "policy: p.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
        "  - name: rejected\n    lead: {employees: lots}\n    expect: {invalid: [employees, email]}\n"
        "  - name: not rejected\n    lead: {email: a@b.io}\n    expect: {invalid: [email]}\n")
    first, second = run_samples(tmp_path / "p.samples.yaml").cases
    assert first.passed
    assert second.status == "failed" and second.failures == ["invalid: expected email, got none"]


def test_junit_report_names_failures():
    run = run_samples(FIXTURES / "samples" / "wrong.samples.yaml")
    xml = junit_xml([run])
    suite = xml.find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "2" and suite.get("errors") == "3"
    failure = suite.find("testcase/failure")
    assert 'stage: expected "mql", got "sql"' in failure.get("message")


def test_a_yaml_alias_bomb_is_refused_at_the_alias_that_crosses_the_cap(tmp_path, monkeypatch):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "inbound-b2b.policy")
    bomb = "policy: inbound-b2b.policy\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    (tmp_path / "inbound-b2b.samples.yaml").write_text(bomb)
    work = count_yaml_work(monkeypatch)  # 9^9 values: with no cap, the first of them walked fails the test
    run = run_samples(tmp_path / "inbound-b2b.samples.yaml")
    assert work.walked == 0, work  # read up to the alias that crosses the cap, nothing expanded
    # refused at the alias whose values cross the cap (line 7, the first *e of f), not by reading on
    assert [(d.code, d.span.line, d.span.column) for d in run.diagnostics] == [("bad-samples", 7, 8)]
    assert "more than 100,000 values" in run.diagnostics[0].message


def test_decay_of_100_percent_is_no_decay_before_the_first_period(tmp_path):
    from leadpolicy.semantics.interpreter import evaluate

    from .engines import policy_from_text

    policy = policy_from_text('policy "d" version 1.0.0 {\n  owner a "A"\n  owner b "B"\n  lead {\n    seen timestamp\n'
                              '  }\n  score s {\n    +10 when seen is present\n    decay 100% every 7 days since seen\n'
                              '  }\n  stages {\n    rest otherwise owner a\n  }\n}\n')
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
    for seen, want in (("2026-11-19T12:00:00Z", 10), ("2026-11-25T12:00:00Z", 10), ("2026-11-01T12:00:00Z", 0)):
        values, _ = policy._reader.read({"seen": seen})
        assert evaluate(policy.ir, values, now).scores["s"].value == want
        assert policy.evaluate({"seen": seen}, now).scores["s"] == want
