"""The pytest plugin: plain `pytest` in a policy repository runs each sample case as a test."""

from __future__ import annotations

import shutil

from .conftest import FIXTURES, POLICIES


def test_plain_pytest_collects_one_item_per_case(pytester):
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml", "product-led.policy", "product-led.samples.yaml"):
        shutil.copy(POLICIES / name, pytester.path / name)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=41)


def test_failures_are_readable(pytester):
    shutil.copy(FIXTURES / "samples" / "ref.policy", pytester.path / "ref.policy")
    shutil.copy(FIXTURES / "samples" / "wrong.samples.yaml", pytester.path / "wrong.samples.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=5)
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
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*bad-samples: not valid YAML*"])
