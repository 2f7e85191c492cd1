"""A broken CSV record (a quote opened and never closed) costs that record only, on every engine and
wherever leads are read: the physical line that opens the quote is rejected, and reading resumes on the
next line (docs/warehouse.md, "Broken records")."""

from __future__ import annotations

import datetime as dt

import pytest

import leadpolicy
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.batch import BatchOptions, run
from leadpolicy.warehouse.lead_rows import lead_records

from .conftest import POLICIES
from .files import read_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY = leadpolicy.load(POLICIES / "inbound-b2b.policy")
ENGINES = ["duckdb", "python"]

HOSTILE = {
    "one unterminated quote": 'email,employees\n"a,b@b.io",5\n"unterminated@b.io,5\nc@b.io,2\n',
    "several unterminated quotes": 'email,employees\n"a,b@b.io",5\n"x@b.io,5\n"y@b.io,6\nz@b.io,7\n"w,8\nv,9\n',
    "text after a closing quote": 'email,employees\n"a"b@b.io,5\nc@b.io,6\n',
    "a quote left open at the end": 'email,employees\nc@b.io,6\n"open',
    "a quoted line break and a broken line": 'email,employees\n"multi\nline@b.io",8\n"bad,1\nd@b.io,9\n',
    "broken quotes and wrong widths": 'email,employees\n"x,1\nq@b.io,1,2\n"y,2\nr@b.io\ns@b.io,3\n',
    "windows line ends": 'email,employees\r\n"a,b@b.io",5\r\n"broken,5\r\nc@b.io,2\r\n',
}


def _score(tmp_path, text: str, engine: str):
    source = tmp_path / f"{engine}.csv"
    source.write_text(text, "utf-8")
    result, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / f"{engine}.out.csv", now=NOW,
                                              engine=engine))
    return result, read_csv(out)


@pytest.mark.parametrize("engine", ENGINES)
def test_only_the_line_that_opens_an_unterminated_quote_is_rejected(tmp_path, engine):
    source = tmp_path / "leads.csv"
    source.write_text('email,employees\n"a,b@b.io",5\n"unterminated@b.io,5\nc@b.io,2\n', "utf-8")
    result, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW, engine=engine))
    rows = read_csv(out)
    assert [(r["email"], r["employees"]) for r in rows] == [("a,b@b.io", "5"), ("c@b.io", "2")]
    assert [(r["row"], r["field"]) for r in result.rejects] == [(2, "")]
    assert "quote" in result.rejects[0]["problem"]
    assert (result.read, result.scored, result.rejected) == (3, 2, 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_several_broken_lines_are_each_rejected_and_the_file_is_still_read(tmp_path, engine):
    result, rows = _score(tmp_path, HOSTILE["several unterminated quotes"], engine)
    assert [r["email"] for r in rows] == ["a,b@b.io", "z@b.io", "v"]
    assert [r["row"] for r in result.rejects] == [2, 3, 5]
    assert result.read == result.scored + result.rejected == 6


@pytest.mark.parametrize("name", HOSTILE)
def test_both_engines_read_and_reject_the_same_records(tmp_path, name):
    (a, rows_a), (b, rows_b) = (_score(tmp_path, HOSTILE[name], engine) for engine in ENGINES)
    assert rows_a == rows_b
    assert sorted((r["row"], r["field"], r["problem"]) for r in a.rejects) == \
        sorted((r["row"], r["field"], r["problem"]) for r in b.rejects)
    assert a.read == a.scored + a.rejected and (a.read, a.scored) == (b.read, b.scored)
    assert not any(r["email"].startswith('"') for r in rows_a)  # never a literal quote read as data


@pytest.mark.parametrize("text", [
    'email,employees\n"a,b@b.io",5\nc@b.io,6\n',
    'email,employees\n"multi\nline@b.io",8\nq@b.io,1,2\nr@b.io\ns@b.io,3\n',
    'email,employees\n"say ""hi""@b.io",1\nx@b.io",2\n"",\n',
])
def test_the_record_by_record_reader_agrees_with_duckdb_on_files_without_broken_quotes(tmp_path, text):
    """The recovering reader (used once DuckDB finds a broken quote) and DuckDB's own read agree row
    for row, number for number, on files DuckDB reads by itself."""
    import duckdb

    path = tmp_path / "leads.csv"
    path.write_text(text, "utf-8")
    staged = {}
    for how in ("duckdb", "records"):
        con = duckdb.connect()
        reader = staging.stage_csv if how == "duckdb" else staging.stage_csv_records
        found = reader(con, path, "raw")
        rows = con.execute(f"SELECT * FROM raw ORDER BY {staging.ROW}").fetchall()
        staged[how] = (found.columns, [(p["row"], p["problem"]) for p in found.problems], rows)
    assert staged["duckdb"] == staged["records"]


def test_the_lead_records_of_sla_and_feedback_keep_the_good_leads_around_a_broken_one(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text('id,email,employees\nL1,"a,b@b.io",5\nL2,"unterminated@b.io,5\nL3,c@b.io,2\n', "utf-8")
    records = lead_records(POLICY.ir, path)
    assert sorted(records) == ["L1", "L3"]
    assert records["L1"]["email"] == "a,b@b.io"


def test_a_broken_line_is_shown_as_written(tmp_path):
    import duckdb

    path = tmp_path / "events.csv"
    path.write_text('lead,event,at\nL1,a,2026-11-02T10:00:00Z\n"L2,b,2026-11-02T10:00:00Z\nL3,c,x\n', "utf-8")
    found = staging.stage(duckdb.connect(), path, "csv")
    assert [(p["row"], p["raw"]) for p in found.problems] == [(2, '"L2,b,2026-11-02T10:00:00Z')]


# One CRLF line in a file of LF lines (or the other way round): a CR before LF is part of the line end.
MIXED_LINE_ENDS = {
    "csv": ('id,email,employees\nL1,a@b.io,5\r\nL2,b@b.io,6\nL3,c@b.io,7\n', "leads.csv"),
    "csv, crlf header": ('id,email,employees\r\nL1,a@b.io,5\nL2,"b\r\n@b.io",6\r\nL3,c@b.io,7\n', "leads.csv"),
    "jsonl": ('{"id": "L1", "email": "a@b.io", "employees": 5}\r\n{"id": "L2", "email": "b@b.io", "employees": 6}\n'
              '{"id": "L3", "email": "c@b.io", "employees": 7}\n', "leads.jsonl"),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", MIXED_LINE_ENDS)
def test_a_file_mixing_crlf_and_lf_line_ends_is_read_normally(tmp_path, name, engine):
    text, file_name = MIXED_LINE_ENDS[name]
    source = tmp_path / file_name
    source.write_bytes(text.encode("utf-8"))
    result, out, _ = run(POLICY, BatchOptions(source=source, output=tmp_path / "out.csv", now=NOW, engine=engine))
    rows = read_csv(out)
    assert (result.read, result.scored, result.rejected) == (3, 3, 0), result.rejects
    assert [(r["id"], r["employees"]) for r in rows] == [("L1", "5"), ("L2", "6"), ("L3", "7")]
    assert rows[1]["email"] == ("b\r\n@b.io" if "header" in name else "b@b.io")  # a quoted line end is kept
    assert sorted(lead_records(POLICY.ir, source)) == ["L1", "L2", "L3"]


def test_an_event_log_mixing_crlf_and_lf_line_ends_is_read_by_sla(tmp_path, capsys):
    import json

    from leadpolicy.cli.main import main

    (tmp_path / "events.csv").write_bytes(b"lead,event,at\nA,became_mql,2026-11-02T10:00:00Z\r\n"
                                          b"A,first_touch,2026-11-02T11:00:00Z\nB,became_mql,2026-11-02T10:00:00Z\n")
    for engine in ENGINES:
        code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--now",
                     NOW.isoformat(), "--engine", engine, "--format", "json", "--report-only"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert json.loads(captured.out)["rows"] == {"read": 3, "used": 3, "rejected": 0, "after_now": 0}


@pytest.mark.parametrize(("text", "tables", "problems"), [
    ('email,employees\n"multi\nline@b.io",8\nq@b.io,1\n', [], []),
    ('email,employees\n"multi\nline@b.io",8\nq@b.io,1,2\nr@b.io,3\n', ["raw", "raw_csv_rows", "raw_line_map"], [2]),
])
def test_a_csv_read_whole_is_staged_as_a_view_of_the_file_and_one_with_bad_lines_as_a_table(tmp_path, text, tables,
                                                                                              problems):
    """A CSV DuckDB reads whole is not copied into the staging database (the rows are a view of the file,
    numbered by record); one with a line DuckDB cannot read is, numbered around that line."""
    import duckdb

    path = tmp_path / "leads.csv"
    path.write_text(text, "utf-8")
    con = duckdb.connect()
    found = staging.stage(con, path, "csv")
    stored = [name for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                                              "ORDER BY table_name").fetchall()]
    rows = con.execute(f'SELECT {staging.ROW}, "#0", "#1" FROM raw').fetchall()
    assert (stored, [p["row"] for p in found.problems]) == (tables, problems)
    assert found.columns == ["email", "employees"]
    assert rows == [(1, "multi\nline@b.io", "8"), (2, "q@b.io", "1")] if not problems else [
        (1, "multi\nline@b.io", "8"), (3, "r@b.io", "3")]
