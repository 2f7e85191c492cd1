"""One rule set for reading a lead's values (semantics.leads.READ_RULES), run row by row through every
reader: LeadReader (explain, the API, the Python engine), the compiled fast path, and DuckDB's conversion
as `leadpolicy score` runs it on CSV, JSON Lines and Parquet. Each must read the same value, or reject the
same row by the same field with the same reason."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

import leadpolicy
from leadpolicy.semantics.codegen import INVALID, compile_evaluator
from leadpolicy.semantics.leads import (
    BLANK,
    KEY_GIVEN_TWICE,
    READ_RULE_CHOICES,
    READ_RULES,
    LeadReader,
    ReadCase,
    read_json,
    read_text_cell,
)
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.batch import BatchOptions, run
from leadpolicy.warehouse.conversion import convert_fields
from leadpolicy.warehouse.lead_rows import plan_columns

from .files import write_csv

NOW = dt.datetime(2026, 11, 20, 17, tzinfo=dt.timezone.utc)
FIELD_OF = {"number": "n", "yes/no": "yn", "date": "d", "timestamp": "ts", "text": "t", "one of": "c"}
COLUMNS = ["id", *FIELD_OF.values()]
POLICY_TEXT = """policy "read-rules" version 1.0.0 {
  owner marketing "M <m@example.com>"
  owner sales "S <s@example.com>"
  lead {
    id text
    n number
    yn yes/no
    d date
    ts timestamp
    t text
    c one of (%s)
  }
  score s {
    +1 when yn
  }
  stages {
    open otherwise owner marketing
  }
}
""" % ", ".join(json.dumps(c) for c in READ_RULE_CHOICES)
# JSON Lines holds a date, timestamp, text or choice as a JSON string, read as a CSV cell's text is; a number
# or yes/no is a JSON number or boolean there, so their text cases are CSV's and Parquet text's alone.
JSON_STRING_KINDS = {"date", "timestamp", "text", "one of"}


@pytest.fixture(scope="module")
def policy(tmp_path_factory) -> leadpolicy.Policy:
    path = tmp_path_factory.mktemp("rules") / "rules.policy"
    path.write_text(POLICY_TEXT, encoding="utf-8")
    return leadpolicy.load(path)


def canonical(kind: str, value: Any) -> str:
    """A read value as ReadCase.read writes it."""
    if value is None or (isinstance(value, str) and value.strip(BLANK) == ""):
        return ""  # SQL keeps a blank text as it is, and every test of it reads it as missing
    if kind == "number":
        return repr(float(value) + 0.0)  # -0.0 is 0.0: equal in every comparison a policy makes
    if kind == "yes/no":
        return "yes" if value else "no"
    if kind == "timestamp":
        return value.astimezone(dt.timezone.utc).isoformat()
    if kind == "date":
        return value.isoformat()
    return str(value)


def expected(case: ReadCase) -> tuple[str, str]:
    return ("read", str(case.read)) if case.problem is None else ("problem", case.problem)


def _id(case: ReadCase) -> str:
    return f"{case.kind}:{case.text!r}"


def _lead(case: ReadCase) -> dict[str, Any]:
    return {"id": "L", FIELD_OF[case.kind]: read_text_cell(case.kind, case.text)}


def test_the_rule_set_covers_every_kind_and_every_rule_readers_have_disagreed_on():
    assert {c.kind for c in READ_RULES} == set(FIELD_OF)
    rules = {c.rule for c in READ_RULES}
    assert {"blank is missing", "year 0/1/9999", "huge numbers", "non-ASCII", "timestamps"} <= rules
    texts = {c.text for c in READ_RULES}
    assert {"2026-11-02T10:00:00+25:00", "2026-11-02T24:00:00", "0000-01-01", "0001-01-01", "9999-12-31"} <= texts
    assert all((c.read is None) != (c.problem is None) for c in READ_RULES)


@pytest.mark.parametrize("case", READ_RULES, ids=_id)
def test_lead_reader_reads_each_case_as_the_rule_set_says(policy, case):
    values, errors = LeadReader(policy.ir).read(_lead(case))
    field = FIELD_OF[case.kind]
    got = ("problem", errors[0].message) if errors else ("read", canonical(case.kind, values[field]))
    assert [e.field for e in errors] == ([field] if case.problem else [])
    assert got == expected(case)


@pytest.mark.parametrize("case", READ_RULES, ids=_id)
def test_the_compiled_fast_path_accepts_exactly_the_cases_the_rule_set_reads(policy, case):
    evaluate, _ = compile_evaluator(policy.ir)
    decided = evaluate(_lead(case), NOW)
    assert (decided is INVALID) == (case.problem is not None)
    if case.problem is None:  # and decides as the interpreter does on the value read
        assert decided[0] == {"s": 1 if case.kind == "yes/no" and case.read == "yes" else 0}
    else:
        with pytest.raises(leadpolicy.LeadError) as caught:
            policy.evaluate(_lead(case), NOW)
        assert [(e.field, e.message) for e in caught.value.errors] == [(FIELD_OF[case.kind], case.problem)]


def _rows(cases: list[ReadCase]) -> list[list[str]]:
    return [[f"L{i}", *(case.text if FIELD_OF[case.kind] == name else "" for name in COLUMNS[1:])]
            for i, case in enumerate(cases)]


def _write(fmt: str, folder: Path, cases: list[ReadCase]) -> Path:
    path = folder / f"leads.{fmt}"
    rows = _rows(cases)
    if fmt == "csv":
        write_csv(path, COLUMNS, rows)
    elif fmt == "jsonl":  # a blank cell is left out of its record: absent, as blank, is missing
        path.write_text("".join(json.dumps({k: v for k, v in zip(COLUMNS, row) if v or k == "id"}) + "\n"
                                for row in rows), encoding="utf-8")
    else:  # Parquet text columns (VARCHAR), read as a CSV cell's text is
        con = duckdb.connect()
        con.execute("CREATE TABLE leads (" + ", ".join(f'"{name}" VARCHAR' for name in COLUMNS) + ")")
        con.executemany("INSERT INTO leads VALUES (" + ", ".join("?" for _ in COLUMNS) + ")",
                        [[cell or None for cell in row] for row in rows])
        con.execute("COPY leads TO ? (FORMAT parquet)", [str(path)])
        con.close()
    return path


def _cases_of(fmt: str) -> list[ReadCase]:
    return [c for c in READ_RULES if fmt != "jsonl" or c.kind in JSON_STRING_KINDS]


def _converted_values(policy: leadpolicy.Policy, path: Path, fmt: str) -> dict[int, dict[str, Any]]:
    """Each good row's values as DuckDB's conversion (the one `score` runs) reads them, by row."""
    stage_db = staging.Staging(policy.ir.timezone)
    try:
        staged = staging.stage(stage_db.con, path, fmt)
        plan = plan_columns(policy.ir, staged.columns)
        convert_fields(stage_db.con, policy.ir.fields, plan.field_column, [], staged.column_types)
        names = list(FIELD_OF.values())
        cursor = stage_db.con.execute('SELECT "#row", ' + ", ".join(f'"{n}"' for n in names) + " FROM typed")
        return {int(row): dict(zip(names, values)) for row, *values in cursor.fetchall()}
    finally:
        stage_db.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_duckdb_conversion_reads_and_rejects_every_case_as_the_rule_set_says(policy, tmp_path, fmt):
    cases = _cases_of(fmt)
    path = _write(fmt, tmp_path, cases)
    result, _, _ = run(policy, BatchOptions(source=path, output=tmp_path / f"scored.{fmt}", now=NOW, engine="duckdb"))
    rejects = {r["row"]: ("problem", r["problem"]) for r in result.rejects}
    assert {r["row"]: r["field"] for r in result.rejects} == {
        i + 1: FIELD_OF[c.kind] for i, c in enumerate(cases) if c.problem is not None}
    values = _converted_values(policy, path, fmt)
    got = {_id(c): rejects.get(i + 1) or ("read", canonical(c.kind, values[i + 1][FIELD_OF[c.kind]]))
           for i, c in enumerate(cases)}
    assert got == {_id(c): expected(c) for c in cases}
    assert result.read == len(cases) == result.scored + result.rejected


def test_a_key_given_twice_is_refused_by_the_json_reader_and_by_json_lines_alike(policy, tmp_path):
    record, key, problem = KEY_GIVEN_TWICE
    with pytest.raises(ValueError, match="given twice") as caught:
        read_json(record)
    assert str(caught.value) == problem
    path = tmp_path / "leads.jsonl"
    path.write_text(record + "\n", encoding="utf-8")
    result, _, _ = run(policy, BatchOptions(source=path, output=tmp_path / "scored.jsonl", now=NOW, engine="duckdb"))
    assert [(r["row"], r["field"], r["problem"]) for r in result.rejects] == [(1, key, problem)]


def test_canonical_numbers_compare_decimals_and_doubles_alike():
    assert canonical("number", Decimal("99999999999999999999")) == canonical("number", 1e20) == "1e+20"
