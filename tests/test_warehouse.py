"""SQL and batch scoring: DuckDB and the Python evaluator agree on every lead and every reject."""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.warehouse.batch import BatchOptions, run
from leadpolicy.warehouse.lead_rows import BatchError
from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

from .conftest import FIXTURES, POLICIES, golden
from .files import read_csv, write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY_OBJECTS = {name: leadpolicy.load(POLICIES / f"{name}.policy") for name in ("inbound-b2b", "product-led")}
DECISIONS = {name: [s.name for s in p.ir.scores] + [g.name for g in p.ir.grades] + ["stage", "owner",
                                                                                                  "route"]
             for name, p in POLICY_OBJECTS.items()}


def test_sql_golden_for_duckdb():
    # One full query as text; the other dialects are held construct by construct (test_sql_dialects.py).
    sql = compile_sql(POLICY_OBJECTS["inbound-b2b"].ir, "duckdb", "leads", NOW)
    golden(FIXTURES / "sql" / "inbound-b2b.duckdb.sql", sql)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark", "snowflake", "bigquery"])
def test_every_dialects_full_query_parses_back(dialect):
    import sqlglot

    for policy in POLICY_OBJECTS.values():
        tree = sqlglot.parse_one(compile_sql(policy.ir, dialect, "leads", NOW), read=dialect)
        names = {a.alias.lower() for a in tree.find_all(sqlglot.exp.Alias)}
        assert {"stage", "owner", "route"} <= names


def test_sql_is_deterministic_and_quotes_everything():
    ir = POLICY_OBJECTS["product-led"].ir
    assert compile_sql(ir, "duckdb", "leads", NOW) == compile_sql(ir, "duckdb", "leads", NOW)


BY_LOCAL_DATE = """
policy "by-local-date" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  lead {
    seen timestamp
  }
  score s {
    +1 when seen >= 2026-01-01
  }
  stages {
    mql when s > 0 owner sales
    lead otherwise owner marketing
  }
}
"""


def test_constructs_a_dialect_cannot_express_raise():
    policy = leadpolicy.load(POLICIES / "inbound-b2b.policy")
    loaded = load_policy_text(BY_LOCAL_DATE, "by-local-date.policy")
    assert not loaded.has_errors, loaded.diagnostics
    with pytest.raises(UnsupportedError, match="timestamp with a date"):
        compile_sql(lower(loaded.policy), "duckdb", "leads", NOW)
    with pytest.raises(UnsupportedError, match="unknown dialect"):
        compile_sql(policy.ir, "mysql", "leads", NOW)


def read_output(path):
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def decisions_of(rows, names):
    return [{k: (None if row.get(k) in ("", None) else str(row[k])) for k in names} for row in rows]


CELLS = {
    "text": st.sampled_from(["", "  ", "\t", "VP Sales", "vp of sales", "Head of Growth", "CHIEF of staff", "Engineer",
                             "sam@gmail.com", "SAM@GMAIL.COM", "x@competitor.com", "ana@bigsoft.io", "DE", "de",
                             "Uk", "US", "fabrik.de", "Ünïcödé", "O'Brien \"quoted\""]),
    "number": st.one_of(st.integers(-5, 2000).map(str), st.sampled_from(
        ["", " 12 ", "50", "199", "200", "199.5", "1000", "1e3", "7.9", "-0.5", "abc", "NaN", "inf", "1_000", "0x10"])),
    "yes/no": st.sampled_from(["", "yes", "no", "YES", "true", "False", "y", "n", "1", "0", "maybe", " yes "]),
    "date": st.one_of(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).map(str),
                      st.sampled_from(["", "2026-02-30", "yesterday", "2026-11-20T10:00:00"])),
    "timestamp": st.one_of(
        st.datetimes(dt.datetime(2026, 6, 1), dt.datetime(2026, 12, 31)).map(lambda d: d.isoformat()),
        st.datetimes(dt.datetime(2026, 6, 1), dt.datetime(2026, 12, 31), timezones=st.sampled_from(
            [dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=5, minutes=30))])
        ).map(lambda d: d.isoformat()),
        st.sampled_from(["", "2026-11-01T01:30:00", "2026-03-08T02:30:00", "2026-10-25T02:30:00", "2026-11-20",
                         "2026-11-20 08:00:00+00", "2026-11-20T12:00:00Z", "yesterday",
                         "2026-11-20T12:00:00.1234567"])),
}


@st.composite
def lead_rows(draw, policy):
    fields = policy.ir.fields
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        row = []
        for f in fields:
            if f.type == "one of":
                cell = draw(st.one_of(st.sampled_from(list(f.choices) + [""]), CELLS["text"]))
            else:
                cell = draw(CELLS[f.type])
            row.append(cell)
        rows.append(row)
    return [f.name for f in fields], rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_duckdb_and_python_agree_on_generated_leads(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(POLICY_OBJECTS)))
    policy = POLICY_OBJECTS[name]
    header, rows = data.draw(lead_rows(policy))
    now = data.draw(st.sampled_from([NOW, dt.datetime.fromisoformat("2026-12-31T23:59:59+00:00")]))
    tmp = tmp_path_factory.mktemp("batch")
    source = tmp / "leads.csv"
    write_csv(source, header, rows)
    outcomes = {}
    for engine in ("duckdb", "python"):
        result, out, _ = run(policy, BatchOptions(source=source, output=tmp / f"{engine}.csv", now=now, engine=engine))
        assert result.read == len(rows) == result.scored + result.rejected
        outcomes[engine] = (decisions_of(read_output(out), DECISIONS[name]),
                            sorted({(r["row"], r["field"]) for r in result.rejects}))
    assert outcomes["duckdb"] == outcomes["python"]


@pytest.mark.parametrize("name", sorted(POLICY_OBJECTS))
def test_every_sample_lead_scores_the_same_in_duckdb(tmp_path, name):
    from leadpolicy.language.yamldoc import to_json_value
    from leadpolicy.testing.harness import load_samples

    policy = POLICY_OBJECTS[name]
    doc, _ = load_samples(POLICIES / f"{name}.samples.yaml")
    cases = [c for c in doc.data["leads"] if "invalid" not in c["expect"]]
    source = tmp_path / "leads.jsonl"
    # JSON Lines values keep their JSON types, as the API reads them (a number as text would be rejected)
    source.write_text("".join(json.dumps({k: to_json_value(v) for k, v in c["lead"].items()}) + "\n"
                              for c in cases))
    result, out, _ = run(policy, BatchOptions(source=source, output=tmp_path / "out.jsonl",
                                              now=policy.instant(doc.data["now"]), engine="duckdb"))
    assert result.rejected == 0
    for case, row in zip(cases, read_output(out)):
        for key, want in case["expect"].items():
            if key != "fired":
                assert row[key] == want, (case["name"], key)


def test_formats_in_and_out_and_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "leads.csv"
    write_csv(source, ["email", "employees", "demo_requested", "crm_id"],
              [["ana@bigsoft.io", "1200", "yes", "A1"], ["", "3", "no", "A2"]])
    duckdb.sql("COPY (SELECT * FROM read_csv('leads.csv', all_varchar = true)) TO 'leads.parquet' (FORMAT parquet)")
    policy_path = str(POLICIES / "inbound-b2b.policy")
    for src, out in (("leads.csv", "a.parquet"), ("leads.parquet", "b.jsonl"), ("leads.parquet", "c.csv")):
        code = main(["score", policy_path, src, "-o", out, "--now", "2026-11-20T12:00:00-05:00"])
        printed = capsys.readouterr().out
        assert code == 0 and "read 2, scored 1, rejected 1" in printed
        assert "row 2: email: is required but missing" in printed
    rows = duckdb.sql("SELECT crm_id, stage, route FROM 'a.parquet'").fetchall()
    assert rows == [("A1", "nurture", None)]  # fit 30: size points only
    assert read_output(tmp_path / "b.jsonl")[0]["crm_id"] == "A1"
    (reject,) = read_csv(tmp_path / "leads.rejects.csv")
    assert (reject["row"], reject["field"], reject["problem"]) == ("2", "email", "is required but missing")


def test_bad_inputs_are_clear_errors_and_leave_no_output(tmp_path):
    policy = POLICY_OBJECTS["inbound-b2b"]
    fake = tmp_path / "leads.parquet"
    fake.write_text("email\nx@y.io\n")
    with pytest.raises(BatchError, match="cannot read as parquet"):
        run(policy, BatchOptions(source=fake, output=tmp_path / "out.csv", now=NOW))
    with pytest.raises(BatchError, match="no such file"):
        run(policy, BatchOptions(source=tmp_path / "nope.csv", output=tmp_path / "out.csv", now=NOW))
    with pytest.raises(BatchError, match="cannot tell the format"):
        run(policy, BatchOptions(source=tmp_path / "leads.txt", output=tmp_path / "out.csv", now=NOW))
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".*tmp"))


def test_a_missing_required_column_rejects_every_row(tmp_path):
    source = tmp_path / "leads.csv"
    write_csv(source, ["employees"], [["5"], ["6"]])
    result, _, rejects = run(POLICY_OBJECTS["inbound-b2b"], BatchOptions(source=source, output=tmp_path / "out.csv",
                                                                         now=NOW))
    assert (result.read, result.scored, result.rejected) == (2, 0, 2)
    assert rejects is not None and "email,is required but missing" in rejects.read_text()


def test_output_is_atomic_when_the_run_fails(tmp_path, monkeypatch):
    import leadpolicy.outputs as outputs

    source = tmp_path / "leads.csv"
    write_csv(source, ["email"], [["a@b.io"]])
    out = tmp_path / "out.csv"
    out.write_text("previous good output\n")

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.os, "replace", broken)
    with pytest.raises(KeyboardInterrupt):
        run(POLICY_OBJECTS["inbound-b2b"], BatchOptions(source=source, output=out, now=NOW))
    assert out.read_text() == "previous good output\n"
    assert [p.name for p in tmp_path.iterdir()] == sorted(["leads.csv", "out.csv"]) or \
        sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv", "out.csv"]


def test_rows_after_a_malformed_csv_record_keep_their_record_numbers(tmp_path):
    source = tmp_path / "leads.csv"
    source.write_text("email,employees\na@b.io,5\nbad,row,extra\nc@d.io,lots\ne@f.io,7\n")
    result, _, _ = run(POLICY_OBJECTS["inbound-b2b"], BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW))
    assert sorted((r["row"], r["field"]) for r in result.rejects) == [(2, ""), (3, "employees")]


def _parsed_back(dialect: str):
    import sqlglot

    text = compile_sql(POLICY_OBJECTS["inbound-b2b"].ir, dialect, "crm.leads", NOW)
    return text, sqlglot.parse_one(text, read=dialect)


def test_bigquery_sql_parses_back_and_multiplies_bignumeric():
    from sqlglot import exp

    text, tree = _parsed_back("bigquery")
    types = {t.this for t in tree.find_all(exp.DataType)}
    assert exp.DataType.Type.BIGDECIMAL in types and exp.DataType.Type.DECIMAL not in types
    assert "-- BigQuery: decimals are BIGNUMERIC" in text


def test_snowflake_sql_parses_back_with_upper_case_quoted_names():
    from sqlglot import exp

    text, tree = _parsed_back("snowflake")
    quoted = {i.name for i in tree.find_all(exp.Identifier) if i.quoted}
    assert {"EMAIL", "EMPLOYEES", "FIT", "FIT_GRADE", "STAGE", "OWNER", "ROUTE"} <= quoted
    assert all(name == name.upper() for name in quoted)
    assert "TIMESTAMP_NTZ (Snowflake's default) would be read as UTC" in text


def test_a_batch_run_is_described_by_name_and_cannot_change_once_made(tmp_path):
    """batch.run's options are keyword-only (no more reading which positional argument is the rejects file)
    and frozen (a run's description is not changed under it)."""
    import dataclasses

    with pytest.raises(TypeError):
        BatchOptions(tmp_path / "leads.csv", NOW)  # type: ignore[misc]  # positional: refused by design
    options = BatchOptions(source=tmp_path / "leads.csv", now=NOW)
    assert (options.engine, options.output, options.events) == ("duckdb", None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.engine = "python"  # type: ignore[misc]  # frozen: refused by design
