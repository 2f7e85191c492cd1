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


def test_test_coverage_of_unreadable_samples_says_it_was_not_measured(tmp_path, capsys, monkeypatch):
    _unreadable_samples(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["test", "inbound-b2b.policy", "--coverage"]) == 1
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("coverage ")]
    assert line == "coverage inbound-b2b.samples.yaml: not measured, no case could run (the errors above say why)"


def test_readable_samples_below_the_floor_still_give_low_coverage(tmp_path, capsys):
    policy = _unreadable_samples(tmp_path)
    samples = tmp_path / "inbound-b2b.samples.yaml"
    samples.write_text(samples.read_text().replace(BROKEN_YAML, ""))
    assert main(["check", str(policy), "--min-coverage", "99", "--format", "json"]) == 1
    diags = json.loads(capsys.readouterr().out)["diagnostics"]
    low = [d for d in diags if d["code"] == "low-coverage"]
    assert len(low) == 1 and low[0]["message"].startswith("sample coverage 70.8% is below the floor of 99.0%")


SELF_POLICY = '''policy "t" version 1.0.0 {
  title "T"
  owner marketing "M"
  owner sales "S"
  lead {
    email text required
    employees number
  }
  score size {
    +5 when employees >= 10
  }
  score fit {
    +5 when employees >= 10
    RULE
  }
  grade tier from fit {
    GRADE
    "B" otherwise
  }
  stages {
    sql when fit >= 5 owner sales
    nurture otherwise owner marketing
  }
}
'''


def _diagnostics_of(rule: str, grade: str = '"A" when fit >= 5') -> list[tuple[str, str, int, str | None]]:
    from leadpolicy.semantics.loading import load_policy_text

    text = SELF_POLICY.replace("RULE", rule).replace("GRADE", grade)
    loaded = load_policy_text(text, "t.policy")
    return [(d.code, d.message, d.span.line, d.hint) for d in loaded.diagnostics if d.is_error]


@pytest.mark.parametrize("rule", ["+5 when fit >= 10", "+1 per fit up to 5"])
def test_a_score_that_reads_itself_is_told_so(rule):
    [(code, message, line, hint)] = _diagnostics_of(rule)
    assert code == "used-before-defined" and line == 14
    assert message == 'score "fit" reads itself: a score\'s rules cannot use the score they add up to'
    assert hint is not None and "move" not in hint
    assert "a score defined above fit" in hint and "a new score below fit" in hint


def test_a_grade_that_reads_itself_is_told_so():
    [(code, message, line, hint)] = _diagnostics_of("+1 when employees >= 50", '"A" when tier = "B"')
    assert code == "used-before-defined" and line == 17
    assert message == 'grade "tier" reads itself: a grade\'s entries cannot use the grade they choose'
    assert hint is not None and "move" not in hint


def test_a_score_used_above_its_definition_is_still_told_to_move():
    from leadpolicy.semantics.loading import load_policy_text

    text = SELF_POLICY.replace("+5 when employees >= 10\n  }\n  score fit", "+5 when fit >= 10\n  }\n  score fit")
    loaded = load_policy_text(text.replace("RULE", "").replace("GRADE", '"A" when fit >= 5'), "t.policy")
    [(code, message, hint)] = [(d.code, d.message, d.hint) for d in loaded.diagnostics if d.is_error]
    assert code == "used-before-defined" and message == 'score "fit" is used before it is defined'
    assert hint == "move the score fit (line 12) above this use"


def test_serve_names_a_broken_policys_real_diagnostic_in_its_log_and_listing(tmp_path):
    from .conftest import POLICIES
    from .test_serve import Server

    folder = tmp_path / "served"
    folder.mkdir()
    policy = (POLICIES / "inbound-b2b.policy").read_text()
    (folder / "inbound-b2b.policy").write_text(policy.replace("employees >= 200", "employes >= 200"))
    (folder / "broken.policy").write_text("SECRET-LINE-42 policy {\n")  # not a policy: still never shown
    shutil.copy(POLICIES / "inbound-activity.policy", folder)  # one that serves, so the service is ready
    server = Server(folder)
    try:
        status, listing = server.call("GET", "/v1/policies")
        assert status == 200 and isinstance(listing, dict)
        errors = {entry["source"]: entry["error"] for entry in listing["not_loaded"]}
        expected = ('inbound-b2b.policy:24:14: unknown-name: unknown name "employes"; '
                    'hint: did you mean "employees"?')
        assert any(line.endswith(expected) for line in errors["inbound-b2b.policy"]), errors
        log = server.log.read_text()
        assert "not loaded: " in log and expected in log
        meaning = "A condition names something that is not a lead field"
        assert meaning not in json.dumps(listing) and meaning not in log
        assert any(line.endswith("broken.policy:1:1: syntax-error: " + _meaning("syntax-error"))
                   for line in errors["broken.policy"])
        assert "SECRET-LINE-42" not in json.dumps(listing) + log
    finally:
        server.stop()


def _meaning(code: str) -> str:
    from leadpolicy.language.diagnostics import CODES

    return CODES[code][1]
