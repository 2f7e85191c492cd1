"""A `one of` value is read as text is compared: folded, then held as its declared spelling (docs/language.md).
The decisions on every engine are in tests/semantics/cases.yaml; here, what a user reads: the reasons a value
is refused, what `leadpolicy score` writes back, and a default spelled in another case."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from leadpolicy.semantics.interpreter import evaluate as interpret
from leadpolicy.warehouse.batch import BatchOptions, run

from .engines import policy_from_text

POLICY = policy_from_text('''policy "regions" version 1.0.0 {
  owner a "A"
  owner b "B"
  lead {
    email text
    region one of ("EMEA", "Zürich", "NA")
    segment one of ("smb", "Enterprise") default "enterprise"
  }
  score s {
    +1 when region = "emea"
    +10 when segment = "ENTERPRISE"
  }
  stages {
    hot when s >= 1 owner b
    rest otherwise owner a
  }
}
''')
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


def test_the_reader_holds_the_declared_spelling():
    values, errors = POLICY._reader.read({"region": "ZÜRICH", "segment": "SMB"})
    assert not errors and values["region"] == "Zürich" and values["segment"] == "smb"


def test_a_default_spelled_in_another_case_is_held_as_declared():
    values, errors = POLICY._reader.read({"region": "na"})
    assert not errors and values["segment"] == "Enterprise"
    decision = interpret(POLICY.ir, values, NOW)
    assert decision.scores["s"].value == 10


@pytest.mark.parametrize("value", ["EMAE", "emae", " EMEA"])
def test_a_value_still_not_a_choice_is_refused_with_a_hint(value):
    _, errors = POLICY._reader.read({"region": value})
    assert [e.field for e in errors] == ["region"]
    assert 'did you mean "EMEA"?' in errors[0].message


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_writes_the_input_spelling_and_decides_on_the_declared_one(engine, tmp_path):
    source = tmp_path / "leads.csv"
    rows = [("a@x.io", "emea", "SMB"), ("b@x.io", "ZÜRICH", ""), ("c@x.io", "EMAE", "smb")]
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "region", "segment"])
        writer.writerows(rows)
    out = tmp_path / "scored.csv"
    result, _, _ = run(POLICY, BatchOptions(source=source, output=out, now=NOW, engine=engine,
                                            rejects=tmp_path / "rejects.csv"))
    with out.open(newline="", encoding="utf-8") as handle:
        scored = list(csv.DictReader(handle))
    assert [(r["email"], r["region"], r["segment"]) for r in scored] == [rows[0][:2] + ("SMB",),
                                                                         rows[1][:2] + ("",)]
    assert [(r["s"], r["stage"]) for r in scored] == [("1", "hot"), ("10", "hot")]  # the default counts
    assert [(r["row"], r["field"]) for r in result.rejects] == [(3, "region")]
    assert 'did you mean "EMEA"?' in result.rejects[0]["problem"]
