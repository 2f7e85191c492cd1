"""An unquoted timestamp in a samples file, or in the YAML file of `explain --lead`, is read by the one
timestamp grammar, as the same text in JSON is: YAML's own, looser timestamp rules (lowercase `t`, one-digit
days and hours, `+5`, seven fraction digits, a space before `Z`) accept nothing the other readers refuse."""

from __future__ import annotations

import json

import pytest

from leadpolicy.cli.main import main
from leadpolicy.language.yamldoc import read_yaml

from .conftest import POLICIES

ACTIVITY = POLICIES / "inbound-activity.policy"
LEAD = "{email: a@bigsoft.io, employees: 300, industry: software}"
NOW = "2026-11-20T12:00:00-05:00"
# each is a timestamp to YAML 1.1 and outside the language's grammar
YAML_ONLY = ["2026-11-18t10:00:00.1234567+5", "2026-11-18t10:00:00Z", "2026-11-18 1:00:00 Z",
             "2026-11-8T10:00:00Z", "2026-11-18T10:00:00+5", "2026-11-18T10:00:00.1234567Z"]
# each is in the grammar: read unquoted as it is read quoted
IN_GRAMMAR = ["2026-11-18T10:00:00-05:00", "2026-11-18T10:00:00Z", "2026-11-18 10:00:00Z", "2026-11-18T10:00:00",
              "2026-11-18T10:00:00.123456+05:00", "2026-11-18"]


def _explain(tmp_path, capsys, at: str, quoted: bool) -> tuple[int, str, str]:
    case = tmp_path / "case.yaml"
    value = json.dumps(at) if quoted else at
    case.write_text(f"lead: {LEAD}\nevents:\n  - {{event: demo_request, at: {value}}}\nnow: {NOW}\n", encoding="utf-8")
    code = main(["explain", str(ACTIVITY), "--lead", str(case), "--format", "json"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("at", YAML_ONLY)
def test_explain_refuses_an_unquoted_timestamp_only_yaml_reads_as_it_refuses_json(tmp_path, capsys, at):
    code, _, err = _explain(tmp_path, capsys, at, quoted=False)
    json_code = main(["explain", str(ACTIVITY), "--lead", json.dumps({"email": "a@bigsoft.io"}),
                      "--events", json.dumps([{"event": "demo_request", "at": at}]), "--now", NOW])
    json_err = capsys.readouterr().err
    assert json_code == 2
    assert code == json_code
    assert f"at: {at!r} is not an ISO 8601 timestamp" in err
    assert f"at: {at!r} is not an ISO 8601 timestamp" in json_err


@pytest.mark.parametrize("at", IN_GRAMMAR)
def test_explain_reads_an_unquoted_timestamp_of_the_grammar_as_the_quoted_one(tmp_path, capsys, at):
    code, out, err = _explain(tmp_path, capsys, at, quoted=False)
    quoted_code, quoted_out, _ = _explain(tmp_path, capsys, at, quoted=True)
    assert (code, quoted_code) == (0, 0), err
    assert json.loads(out)["events"] == json.loads(quoted_out)["events"]
    assert len(json.loads(out)["events"]) == 1


def _samples(tmp_path, at: str) -> str:
    policy = tmp_path / "p.policy"
    policy.write_text(ACTIVITY.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "p.samples.yaml").write_text(
        f"policy: p.policy\nnow: {NOW}\nleads:\n  - name: odd\n    lead: {LEAD}\n"
        f"    events:\n      - {{event: demo_request, at: {at}}}\n    expect: {{stage: sql}}\n", encoding="utf-8")
    return str(policy)


@pytest.mark.parametrize("at", YAML_ONLY)
def test_leadpolicy_test_refuses_an_unquoted_timestamp_only_yaml_reads(tmp_path, capsys, at):
    code = main(["test", _samples(tmp_path, at)])
    out = capsys.readouterr()
    assert code == 1
    assert f"{at!r} is not an ISO 8601 timestamp" in out.out + out.err


@pytest.mark.parametrize("at", ["2026-11-18T10:00:00-05:00", "2026-11-18 10:00:00Z", "2026-11-18"])
def test_leadpolicy_test_reads_an_unquoted_timestamp_of_the_grammar(tmp_path, capsys, at):
    code = main(["test", _samples(tmp_path, at)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err


def test_an_unquoted_timestamp_is_kept_as_written():
    """The value as written is what the one reader reads: nothing dropped on the way (a seventh digit)."""
    data = read_yaml("at: 2026-11-18t10:00:00.1234567+5\nday: 2026-11-18\nwhen: 2026-11-18T10:00:00Z\n")
    assert data == {"at": "2026-11-18t10:00:00.1234567+5", "day": "2026-11-18", "when": "2026-11-18T10:00:00Z"}
