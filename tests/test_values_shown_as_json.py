"""A lead value of the wrong kind is shown in messages as the JSON it was written as (`[1, 2]`, `true`,
`{"a": 1}`), never as Python prints it (`True`, `{'a': 1}`), by explain, test and score on both engines."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from leadpolicy.cli.main import main

from .conftest import POLICIES

B2B = str(POLICIES / "inbound-b2b.policy")
PYTHON_FORMS = ("{'", "['", "True", "False", "None", "dict", "got list [")

# (lead values on top of a valid email, field, what the message says about the value)
ROWS = [
    ({"employees": {"a": 1}}, "employees", 'got a JSON object {"a": 1}'),
    ({"employees": [1, 2]}, "employees", "got a list [1, 2]"),
    ({"employees": True}, "employees", "got yes/no true"),
    ({"employees": "abc"}, "employees", "got text 'abc'"),
    ({"email": ["a"]}, "email", 'expected text, got a list ["a"]'),
    ({"email": False}, "email", "expected text, got yes/no false"),
    ({"email": 20261102}, "email", "expected text, got a number 20261102"),  # events' words for a kind
    ({"industry": ["software"]}, "industry", '["software"] is not one of'),
    ({"industry": {"x": "é"}}, "industry", '{"x": "é"} is not one of'),
    ({"industry": "Sofware"}, "industry", "'Sofware' is not one of"),
    ({"demo_requested": [None]}, "demo_requested", "got a list [null]"),
]


def _no_python_forms(message: str) -> None:
    assert not [form for form in PYTHON_FORMS if form in message], message


@pytest.mark.parametrize(("values", "field", "says"), ROWS)
def test_explain_shows_the_value_as_json(capsys, values, field, says):
    code = main(["explain", B2B, "--lead", json.dumps({"email": "a@b.de", **values})])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{field}: " in err and says in err, err
    _no_python_forms(err)


def test_a_samples_case_shows_the_value_as_json(tmp_path, capsys):
    samples = tmp_path / "b2b.samples.yaml"
    samples.write_text(yaml.safe_dump({
        "policy": B2B, "now": "2026-11-20T12:00:00-05:00",
        "leads": [{"name": "a list for a choice", "lead": {"email": "a@b.de", "industry": ["software"]},
                   "expect": {"fit": 0}}]}), "utf-8")
    code = main(["test", str(samples)])
    out = "".join(capsys.readouterr())
    assert code == 1
    assert '["software"] is not one of: software' in out and 'did you mean "software"' in out, out
    _no_python_forms(out)


def _score_problems(tmp_path, capsys, engine: str) -> dict[int, tuple[str, str]]:
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps({"email": "a@b.de", **values}) + "\n" for values, _, _ in ROWS), "utf-8")
    rejects = tmp_path / f"rejects-{engine}.csv"
    code = main(["score", B2B, str(leads), "--engine", engine, "--now", "2026-11-20T12:00:00-05:00",
                 "-o", str(tmp_path / f"out-{engine}.csv"), "--rejects", str(rejects)])
    capsys.readouterr()
    assert code == 0
    with rejects.open(encoding="utf-8", newline="") as handle:
        return {int(r["row"]): (r["field"], r["problem"]) for r in csv.DictReader(handle)}


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_rejects_show_the_value_as_json(tmp_path, capsys, engine):
    problems = _score_problems(tmp_path, capsys, engine)
    assert sorted(problems) == list(range(1, len(ROWS) + 1))  # every row is rejected
    for row, (_, field, says) in enumerate(ROWS, start=1):
        assert problems[row][0] == field and says in problems[row][1], problems[row]
        _no_python_forms(problems[row][1])


def test_both_engines_word_a_jsonl_rejects_alike(tmp_path, capsys):
    assert _score_problems(tmp_path, capsys, "python") == _score_problems(tmp_path, capsys, "duckdb")
