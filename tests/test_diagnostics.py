"""Golden diagnostics: one bad policy per code, rendered exactly as a user sees them."""

from __future__ import annotations

import json

import pytest

from leadpolicy.language.diagnostics import CODES, Diagnostic, codes_markdown, render, render_all
from leadpolicy.language.parser import parse_file, parse_text
from leadpolicy.semantics.loading import load_policy

from .conftest import FIXTURES, ROOT, golden

BAD = sorted((FIXTURES / "diagnostics").glob("*.policy"))
# Codes proven by tests elsewhere, because they need more than one policy file.
ELSEWHERE = {"unreadable-file": "test_unreadable_files", "bad-samples": "test_samples.py",
             "untested": "test_cli.py::test_check_fails_for_untested_policy",
             "bad-approvals": "test_governance.py", "not-approved": "test_governance.py",
             "version-not-bumped": "test_governance.py", "bad-ref": "test_governance.py",
             "effective-unapproved": "test_governance.py", "not-formatted": "test_governance.py",
             "low-coverage": "test_cli.py::test_a_coverage_floor_failure_is_a_diagnostic_everywhere",
             "no-sql-form": "test_batch_inputs.py::test_a_policy_without_sql_form_is_said_by_check_and_score",
             # check's proofs, not the loader's checks (issue 27)
             "guarantee-violated": "test_prove.py::test_check_reports_a_violated_guarantee_at_its_line_with_the_"
                                   "counterexample",
             "guarantee-unknown": "test_prove.py::test_check_warns_guarantee_unknown_and_fails_with_strict",
             "route-gap": "test_route_gap.py::test_check_warns_route_gap_at_the_route_with_a_lead_that_reproduces_it",
             # a samples run's, in SARIF and in the language server
             "sample-failed": "test_ci_formats.py::test_sarif_follows_the_oasis_schema_and_githubs_rules"}


def _render(path) -> str:
    loaded = load_policy(path.relative_to(ROOT).as_posix())
    return render_all(loaded.diagnostics, {loaded.file: loaded.source}) + "\n"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_golden_diagnostics(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = _render(path)
    golden(path.with_suffix(".expected"), text)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_fixture_reports_its_own_code(path):
    loaded = load_policy(path)
    codes = [d.code for d in loaded.diagnostics]
    assert path.stem in codes, f"{path.name} should report {path.stem}, got {codes}"


def test_every_code_has_a_test():
    fixtures = {p.stem for p in BAD}
    untested = set(CODES) - fixtures - set(ELSEWHERE)
    assert not untested, f"codes without a golden fixture: {sorted(untested)}"


def test_codes_are_documented_in_one_table():
    doc = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    assert codes_markdown() in doc, "docs/diagnostics.md is out of date: regenerate the table from CODES"


def test_unreadable_files(tmp_path):
    binary = tmp_path / "binary.policy"
    binary.write_bytes(b"policy \x00\x01\x02")
    latin1 = tmp_path / "latin1.policy"
    latin1.write_bytes('policy "x" version 1.0.0 {\n  title "Caf\xe9"\n}\n'.encode("latin-1"))
    missing = tmp_path / "missing.policy"
    results = {p.name: parse_file(p).diagnostics for p in (binary, latin1, missing, tmp_path)}
    for name, diags in results.items():
        assert [d.code for d in diags] == ["unreadable-file"], name
    assert "binary" in results["binary.policy"][0].message
    assert results["latin1.policy"][0].span.line == 2
    assert "0xe9" in results["latin1.policy"][0].message
    assert "no such file" in results["missing.policy"][0].message


def test_render_format_is_file_line_col_code_message_line_caret_hint():
    source = 'policy "x" version 1.0.0 {\n  score s { +1 when a == 3 }\n}\n'
    diag = parse_text(source, "x.policy").diagnostics[0]
    lines = render(diag, source).splitlines()
    assert lines[0] == "x.policy:2:24: syntax-error: unexpected '='"
    assert lines[1] == "      score s { +1 when a == 3 }"
    assert lines[2] == "    " + " " * 23 + "^"
    assert lines[3] == "    hint: compare with a single ="


def test_json_form_carries_code_and_span():
    loaded = load_policy(FIXTURES / "diagnostics" / "unknown-name.policy")
    data = json.loads(json.dumps([d.as_dict() for d in loaded.diagnostics]))
    assert data[0]["code"] == "unknown-name"
    assert (data[0]["line"], data[0]["column"]) == (17, 14)
    assert data[0]["hint"] == 'did you mean "employees"?'


def test_unregistered_code_is_refused():
    with pytest.raises(ValueError):
        Diagnostic("no-such-code", "x", "f")


def test_all_errors_are_reported_in_one_run(tmp_path):
    text = (FIXTURES / "diagnostics" / "unknown-name.policy").read_text()
    text = text.replace("owner sales\n", "owner seles\n")
    choices = 'industry one of ("software", "retail")'
    text = text.replace(choices, choices + "\n    email number")
    path = tmp_path / "many.policy"
    path.write_text(text)
    codes = sorted(d.code for d in load_policy(path).diagnostics)
    assert codes == ["duplicate-name", "unknown-name", "unknown-team"]


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x1c", "\x85", "\u2029"])
def test_line_separators_inside_a_line_do_not_shift_the_excerpt(separator):
    from leadpolicy.language.diagnostics import render_all
    from leadpolicy.semantics.loading import load_policy_text

    text = (f'policy "t" version 1.0.0 {{\n  title "a{separator}b"\n  owner a "A"\n  owner b "B"\n'
            '  lead {\n    n numbr\n  }\n  stages {\n    rest otherwise owner a\n  }\n}\n')
    loaded = load_policy_text(text, "t.policy")
    out = render_all(loaded.diagnostics, {"t.policy": text})
    assert out.splitlines()[:3] == ["t.policy:6:7: syntax-error: unexpected 'numbr'", "        n numbr",
                                    "          ^^^^^"]
