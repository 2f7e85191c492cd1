"""The pytest plugin: plain `pytest` in a policy repository runs each sample case as a test."""

from __future__ import annotations

import shutil

from .conftest import FIXTURES, POLICIES


def test_plain_pytest_collects_one_item_per_case(pytester):
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml", "product-led.policy", "product-led.samples.yaml"):
        shutil.copy(POLICIES / name, pytester.path / name)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=43)  # 41 cases and a check of each of the 2 policies


def test_failures_are_readable(pytester):
    shutil.copy(FIXTURES / "samples" / "ref.policy", pytester.path / "ref.policy")
    shutil.copy(FIXTURES / "samples" / "wrong.samples.yaml", pytester.path / "wrong.samples.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=6)  # 5 cases, and ref.policy itself: its own samples file is missing
    result.stdout.fnmatch_lines([
        "*failed: expects the wrong stage and a wrong fired list*",
        '*stage: expected "mql", got "sql"*',
        "*because:*",
        "*route enterprise-ae: employees 1200 >= 1000*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_broken_samples_file_is_one_failing_item(pytester):
    shutil.copy(FIXTURES / "samples" / "ref.policy", pytester.path / "ref.policy")
    shutil.copy(FIXTURES / "samples" / "badyaml.samples.yaml", pytester.path / "badyaml.samples.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)  # the samples file, and ref.policy (untested)
    result.stdout.fnmatch_lines(["*bad-samples: not valid YAML*"])


def test_a_broken_or_untested_policy_fails_plain_pytest_with_its_diagnostics(pytester):
    text = (POLICIES / "inbound-b2b.policy").read_text()
    (pytester.path / "lonely.policy").write_text(text)  # no samples file
    (pytester.path / "broken.policy").write_text(text.replace("employees >= 200", "employes >= 200"))
    shutil.copy(POLICIES / "inbound-b2b.samples.yaml", pytester.path / "broken.samples.yaml")
    samples = pytester.path / "broken.samples.yaml"
    samples.write_text(samples.read_text().replace("policy: inbound-b2b.policy", "policy: broken.policy"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 3  # the lonely policy, the broken policy, and the samples that need it
    out = result.stdout.str()
    assert "lonely.policy: untested: no samples file: create lonely.samples.yaml" in out
    assert out.count("unknown-name") >= 2 and 'did you mean "employees"?' in out and "^^^" in out
    assert "Traceback" not in out


def test_case_names_with_dots_show_as_written(pytester):
    shutil.copy(FIXTURES / "samples" / "ref.policy", pytester.path / "ref.policy")
    (pytester.path / "ref.samples.yaml").write_text(
        "policy: ref.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
        "  - name: v2.1 rules. A 1.5x lead...\n    lead: {email: a@b.io}\n    expect: {stage: nurture}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.stdout.fnmatch_lines(["*::lead: v2.1 rules. A 1.5x lead... PASSED*"])
