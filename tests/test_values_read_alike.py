"""One meaning for every value, on every engine: a date or timestamp text (and a JSON record) is read
by one grammar and one range, so the Python reader, the compiled Python, DuckDB's conversion (both
engines of `leadpolicy score`) and both SLA engines accept and reject exactly the same rows, and read
the accepted ones as the same instants (docs/leads.md, "How values are read")."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.warehouse.batch import BatchOptions, EventInput, run

from .conftest import POLICIES
from .files import read_csv, write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
ACTIVITY = leadpolicy.load(POLICIES / "inbound-activity.policy")
B2B = leadpolicy.load(POLICIES / "inbound-b2b.policy")  # last_activity is a timestamp
ENGINES = ["duckdb", "python"]

# (text, read): read is the instant every engine reads, or None when every engine rejects the text
TIMESTAMPS = [
    ("2026-11-02T10:00:00-05:00", "2026-11-02T15:00:00+00:00"),
    ("2026-11-02T10:00:00Z", "2026-11-02T10:00:00+00:00"),
    ("2026-11-02 10:00", "2026-11-02T10:00:00+00:00"),  # no offset: the policy's zone (inbound-b2b: UTC)
    ("2026-11-02", "2026-11-02T00:00:00+00:00"),
    ("2026-11-02T10:00:00.5+0530", "2026-11-02T04:30:00.500000+00:00"),
    ("2026-11-02T10:00:00+05", "2026-11-02T05:00:00+00:00"),
    ("2026-11-02T23:59:59+23:59", "2026-11-02T00:00:59+00:00"),  # the widest offset Python holds
    ("1900-01-01T00:00:00Z", "1900-01-01T00:00:00+00:00"),
    ("9899-12-31T23:59:59Z", "9899-12-31T23:59:59+00:00"),
    ("2026-11-02T24:00:00", None),  # hour 24: DuckDB and PostgreSQL read the next midnight
    ("2026-11-02T10:00:00+25:00", None),  # an offset of a day or more
    ("2026-11-02T10:60:00Z", None),
    ("2026-11-02T10:00:60Z", None),  # a leap second
    ("2026-11-02T10:00:00+05:60", None),  # Python alone reads +06:00
    ("2026-02-30T10:00:00Z", None),
    ("2026-11-02T10Z", None),  # an hour without minutes
    ("0000-01-01T00:00:00Z", None),
    ("0001-01-01T00:00:00Z", None),
    ("1899-12-31T23:59:59Z", None),
    ("9900-01-01T00:00:00Z", None),
    ("9999-12-31T23:59:59", None),
    (" 2026-11-02T10:00:00Z\t", "2026-11-02T10:00:00+00:00"),  # ASCII blanks around a value are not part of it
    ("\u00a02026-11-02T10:00:00Z", None),  # other Unicode spaces are part of the text (Python's strip() drops them)
    ("\u20032026-11-02T10:00:00Z", None),
    ("\u30002026-11-02T10:00:00Z", None),
    ("\x0b2026-11-02T10:00:00Z", None),
    ("2026-11-02T10:00:00Z\u2028", None),
    ("2026-11-02T10:00:00Z\u0085", None),
    ("infinity", None),  # how DuckDB and PostgreSQL write an infinite timestamp: no year, so out of range
    ("-infinity", None),
]


def _instant(value) -> str:
    return value.astimezone(dt.timezone.utc).isoformat()


@pytest.mark.parametrize("text, read", TIMESTAMPS, ids=[t for t, _ in TIMESTAMPS])
def test_a_lead_timestamp_reads_alike_in_python_and_compiled_python(text, read):
    values, errors = B2B._reader.read({"email": "a@b.com", "last_activity": text})
    if read is None:
        assert [e.field for e in errors] == ["last_activity"]
        with pytest.raises(leadpolicy.LeadError):
            B2B.evaluate({"email": "a@b.com", "last_activity": text}, NOW)
    else:
        assert not errors and _instant(values["last_activity"]) == read
        B2B.evaluate({"email": "a@b.com", "last_activity": text}, NOW)


@pytest.mark.parametrize("engine", ENGINES)
def test_lead_timestamps_are_rejected_by_score_exactly_where_the_reader_rejects_them(tmp_path, engine):
    rows = [[f"L{i}", "a@b.com", text] for i, (text, _) in enumerate(TIMESTAMPS)]
    write_csv(tmp_path / "leads.csv", ["id", "email", "last_activity"], rows)
    result, out, _ = run(B2B, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                           engine=engine))
    rejected = {r["row"]: r["field"] for r in result.rejects}
    assert rejected == {i + 1: "last_activity" for i, (_, read) in enumerate(TIMESTAMPS) if read is None}
    assert result.read == result.scored + result.rejected == len(TIMESTAMPS)
    assert [r["id"] for r in read_csv(out)] == [f"L{i}" for i, (_, read) in enumerate(TIMESTAMPS) if read]


@pytest.mark.parametrize("engine", ENGINES)
def test_event_times_are_rejected_by_score_events_exactly_where_the_reader_rejects_them(tmp_path, engine):
    # a lead per row: texts naming one instant are one time, which a second row of one lead would repeat
    write_csv(tmp_path / "leads.csv", ["id", "email"], [[f"L{i}", "a@b.com"] for i in range(len(TIMESTAMPS))])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"],
              [[f"L{i}", "email_click", text] for i, (text, _) in enumerate(TIMESTAMPS)])
    result, _, _ = run(ACTIVITY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                              engine=engine, events=EventInput(tmp_path / "events.csv", "id")))
    events = result.events
    assert events is not None
    rejected = {r["row"]: r["field"] for r in events.rejects}
    assert rejected == {i + 1: "at" for i, (_, read) in enumerate(TIMESTAMPS) if read is None}
    assert events.read == events.used + events.rejected == len(TIMESTAMPS)


def test_sla_engines_reject_and_judge_the_same_rows_of_a_log_with_odd_times(tmp_path, capsys):
    """`sla --engine python` and `--engine duckdb` on one log holding every text of TIMESTAMPS as a
    first touch: the same rows rejected (by field), the same compliance and the same clocks."""
    rows = []
    for i, (text, _) in enumerate(TIMESTAMPS):
        rows.append([f"L{i}", "became_mql", "2026-11-02T09:30:00-05:00", ""])
        rows.append([f"L{i}", "first_touch", text, ""])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], rows)
    reports, rejected, details = {}, {}, {}
    for engine in ENGINES:
        rejects = tmp_path / f"{engine}.rejects.csv"
        details_file = tmp_path / f"{engine}.details.csv"
        code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"),
                     "--now", NOW.isoformat(), "--engine", engine, "--format", "json", "--report-only",
                     "--rejects", str(rejects), "--details", str(details_file)])
        out = capsys.readouterr().out
        assert code == 0, out
        reports[engine] = json.loads(out)
        rejected[engine] = {int(r["row"]): r["field"] for r in read_csv(rejects)} if rejects.exists() else {}
        details[engine] = sorted((r["lead"], r["sla"], r["status"], r["deadline"]) for r in read_csv(details_file))
    want = {2 * i + 2: "at" for i, (_, read) in enumerate(TIMESTAMPS) if read is None}
    # a first touch in the future (9899) is after now, so it is rejected too, on both engines
    assert rejected["python"] == rejected["duckdb"] and set(want) <= set(rejected["python"])
    assert reports["python"]["rows"] == reports["duckdb"]["rows"]
    assert reports["python"]["slas"] == reports["duckdb"]["slas"]
    assert details["python"] == details["duckdb"]


# ---------------------------------------------------------------- a JSON key given twice

TWICE = '{"id": "L1", "email": "a@b.com", "employees": 5, "employees": 6000}'


@pytest.mark.parametrize("engine", ENGINES)
def test_a_json_lines_record_with_a_key_given_twice_is_rejected_by_score(tmp_path, engine):
    """Not 5 on one engine and 6000 on another: the record is rejected, naming the key."""
    (tmp_path / "leads.jsonl").write_text(TWICE + '\n{"id": "L2", "email": "b@c.com", "employees": 5}\n', "utf-8")
    result, out, _ = run(B2B, BatchOptions(source=tmp_path / "leads.jsonl", output=tmp_path / "scored.jsonl", now=NOW,
                                           engine=engine))
    assert [(r["row"], r["field"]) for r in result.rejects] == [(1, "employees")]
    assert "twice" in result.rejects[0]["problem"]
    assert (result.read, result.scored, result.rejected) == (2, 1, 1)
    assert [json.loads(line)["id"] for line in out.read_text("utf-8").splitlines()] == ["L2"]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_event_record_with_a_key_given_twice_is_rejected_by_sla(tmp_path, engine, capsys):
    lines = ['{"lead": "L1", "event": "handed_off", "at": "2026-11-02T10:00:00Z"}',
             '{"lead": "L1", "event": "accepted", "at": "2026-11-19T10:00:00Z", "at": "2026-11-03T10:00:00Z"}']
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    rejects = tmp_path / "rejects.csv"
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.jsonl"), "--now",
                 NOW.isoformat(), "--engine", engine, "--format", "json", "--report-only", "--rejects", str(rejects)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(r["row"], r["field"]) for r in read_csv(rejects)] == [("2", "at")]
    assert report["rows"] == {"read": 2, "used": 1, "rejected": 1, "after_now": 0}


def test_explain_refuses_a_lead_with_a_key_given_twice(capsys):
    code = main(["explain", str(POLICIES / "inbound-b2b.policy"), "--lead", TWICE, "--now", NOW.isoformat()])
    err = capsys.readouterr().err
    assert code == 2 and "'employees' is given twice" in err, err


def test_the_one_json_reader_refuses_a_key_given_twice_at_any_depth():
    from leadpolicy.semantics.leads import read_json

    assert read_json('{"a": {"b": 1}, "c": [{"d": 2}]}') == {"a": {"b": 1}, "c": [{"d": 2}]}
    for text in (TWICE, '{"a": {"b": 1, "b": 2}}', '[{"x": 1, "x": 1}]'):
        with pytest.raises(ValueError, match="given twice"):
            read_json(text)


def test_diff_rejects_leads_with_a_key_given_twice_as_score_does(tmp_path, capsys):
    (tmp_path / "leads.jsonl").write_text(TWICE + "\n", "utf-8")
    policy = str(POLICIES / "inbound-b2b.policy")
    code = main(["diff", policy, policy, "--leads", str(tmp_path / "leads.jsonl")])
    captured = capsys.readouterr()
    assert code == 0 and "'employees' is given twice" in captured.err, captured
    assert [(r["row"], r["field"]) for r in read_csv(tmp_path / "leads.rejects.csv")] == [("1", "employees")]


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_parquet_timestamps_outside_the_years_are_rejected_by_their_utc_date(tmp_path, engine):
    """A typed column has no written form: its UTC date is held to the supported years."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('L1', TIMESTAMPTZ '2026-11-02 10:00:00+00'), "
                "('L2', TIMESTAMPTZ '0001-01-01 00:00:00+00'), ('L3', TIMESTAMPTZ '9999-12-31 23:59:59+00'), "
                "('L4', TIMESTAMPTZ '1899-12-31 23:59:59+00'), ('L5', TIMESTAMPTZ 'infinity'), "
                "('L6', TIMESTAMPTZ '-infinity')) AS v(id, last_activity)")
    con.execute("ALTER TABLE t ADD COLUMN email VARCHAR DEFAULT 'a@b.com'")
    con.execute(f"COPY t TO '{tmp_path / 'leads.parquet'}' (FORMAT parquet)")
    result, out, _ = run(B2B, BatchOptions(source=tmp_path / "leads.parquet", output=tmp_path / "scored.csv", now=NOW,
                                           engine=engine))
    assert sorted((r["row"], r["field"]) for r in result.rejects) == [(row, "last_activity") for row in range(2, 7)]
    assert all("outside the supported years 1900 to 9899" in r["problem"] for r in result.rejects), result.rejects
    assert [r["id"] for r in read_csv(out)] == ["L1"]


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_parquet_dates_outside_the_years_are_rejected(tmp_path, engine):
    import duckdb

    from .engines import policy_from_text

    policy = policy_from_text('policy "d" version 1.0.0 {\n  owner a "A"\n  owner b "B"\n  lead {\n    d date\n  }\n'
                              "  stages {\n    rest otherwise owner a\n  }\n}\n")
    duckdb.connect().execute(f"COPY (SELECT * FROM (VALUES ('L1', DATE '1900-01-01'), ('L2', DATE '0001-01-01'), "
                             f"('L3', DATE '9999-12-31')) AS v(id, d)) TO '{tmp_path / 'leads.parquet'}' "
                             "(FORMAT parquet)")
    result, out, _ = run(policy, BatchOptions(source=tmp_path / "leads.parquet", output=tmp_path / "scored.csv",
                                              now=NOW, engine=engine))
    assert sorted((r["row"], r["field"]) for r in result.rejects) == [(2, "d"), (3, "d")]
    assert [r["id"] for r in read_csv(out)] == ["L1"]


@pytest.mark.parametrize("year", [1900, 1905, 1969])
def test_sla_engines_agree_on_clocks_before_1970(tmp_path, capsys, year):
    """Instants before 1970 are negative epoch microseconds: SQL's % keeps the sign of its dividend, so
    a day or an hour of open time must be found by flooring, as Python's // does."""
    rows = [["L1", "became_mql", f"{year}-03-06T16:30:00-05:00", ""],  # a Friday afternoon: the clock runs on
            ["L1", "first_touch", f"{year}-03-09T10:30:00-05:00", ""],
            ["L2", "handed_off", f"{year}-03-02T10:00:00-05:00", ""],
            ["L2", "accepted", f"{year}-03-05T12:00:00-05:00", ""],
            ["L3", "became_sql", f"{year}-03-03T09:00:00-05:00", ""],
            ["L3", "touch", f"{year}-03-04T09:00:00-05:00", ""]]
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], rows)
    now = f"{year}-03-20T12:00:00-05:00"
    details, reports = {}, {}
    for engine in ENGINES:
        details_file = tmp_path / f"{engine}.details.csv"
        code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--now", now,
                     "--engine", engine, "--format", "json", "--report-only", "--details", str(details_file)])
        out = capsys.readouterr().out
        assert code == 0, out
        reports[engine] = json.loads(out)["slas"]
        details[engine] = sorted(tuple(r.values()) for r in read_csv(details_file))
    assert reports["python"] == reports["duckdb"] and len(details["python"]) >= 3
    assert details["python"] == details["duckdb"]


def test_explain_refuses_a_yaml_lead_with_a_key_given_twice(tmp_path, capsys):
    (tmp_path / "lead.yaml").write_text("email: a@b.com\nemployees: 5\nemployees: 6000\n", "utf-8")
    code = main(["explain", str(POLICIES / "inbound-b2b.policy"), "--lead", str(tmp_path / "lead.yaml"),
                 "--now", NOW.isoformat()])
    err = capsys.readouterr().err
    assert code == 2 and "lead.yaml:3:1" in err and "'employees' is given twice" in err, err


@pytest.mark.parametrize("now", [dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc),
                                 dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone.utc),
                                 dt.datetime(1, 1, 1), dt.datetime(1899, 12, 31, tzinfo=dt.timezone.utc)])
@pytest.mark.parametrize("name", ["inbound-activity", "inbound-b2b"])
def test_the_api_refuses_a_now_outside_the_years_as_a_string_now_is_refused(now, name):
    policy = leadpolicy.load(POLICIES / f"{name}.policy")
    lead = {"email": "ana@bigsoft.io", "employees": 1200}
    with pytest.raises(ValueError, match="outside the supported years"):
        policy.evaluate(lead, now=now)
    with pytest.raises(ValueError, match="outside the supported years"):
        list(policy.evaluate_many([lead], now=now))


@pytest.mark.parametrize("text, read", TIMESTAMPS, ids=[t for t, _ in TIMESTAMPS])
def test_an_api_event_time_is_read_as_a_lead_timestamp_is(text, read):
    events = [{"event": "email_click", "at": text}]
    if read is None:
        with pytest.raises(leadpolicy.LeadError, match="events/1/at"):
            ACTIVITY.evaluate({"email": "a@b.com"}, NOW, events=events)
    else:
        ACTIVITY.evaluate({"email": "a@b.com"}, NOW, events=events)


def _typed_events_parquet(path, times: list[str]) -> None:
    """Events of lead L1 in a typed TIMESTAMPTZ column, one per DuckDB literal of `times`."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = ", ".join(f"('L1', 'email_click', TIMESTAMPTZ '{t}', NULL)" for t in times)
    con.execute(f'COPY (SELECT * FROM (VALUES {rows}) AS v("lead", "event", "at", "reason")) '
                f"TO '{path}' (FORMAT parquet)")


INFINITE = ["2026-11-10 10:00:00+00", "infinity", "-infinity"]


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_parquet_event_times_of_infinity_are_rejected_by_score_events(tmp_path, engine):
    _typed_events_parquet(tmp_path / "events.parquet", INFINITE)
    write_csv(tmp_path / "leads.csv", ["id", "email"], [["L1", "a@b.com"]])
    result, _, _ = run(ACTIVITY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                              engine=engine, events=EventInput(tmp_path / "events.parquet", "id")))
    events = result.events
    assert events is not None
    assert sorted((r["row"], r["field"]) for r in events.rejects) == [(2, "at"), (3, "at")]
    assert all("outside the supported years" in r["problem"] for r in events.rejects), events.rejects
    assert (events.read, events.used, events.rejected) == (3, 1, 2)


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_parquet_event_times_of_infinity_are_rejected_by_sla(tmp_path, engine, capsys):
    _typed_events_parquet(tmp_path / "events.parquet", ["2026-11-02 10:00:00+00", "infinity", "-infinity"])
    rejects = tmp_path / "rejects.csv"
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.parquet"), "--now",
                 NOW.isoformat(), "--engine", engine, "--format", "json", "--report-only", "--rejects", str(rejects)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["rows"] == {"read": 3, "used": 1, "rejected": 2, "after_now": 0}
    found = read_csv(rejects)
    assert [(r["row"], r["field"]) for r in found] == [("2", "at"), ("3", "at")]
    assert all("outside the supported years" in r["problem"] for r in found), found


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_parquet_event_times_of_infinity_are_rejected_by_feedback(tmp_path, engine, capsys):
    _typed_events_parquet(tmp_path / "events.parquet", INFINITE)
    write_csv(tmp_path / "leads.csv", ["id", "email", "industry"], [["L1", "a@b.com", "software"]])
    code = main(["feedback", str(POLICIES / "inbound-activity.policy"), "--leads", str(tmp_path / "leads.csv"),
                 "--events", str(tmp_path / "events.parquet"), "--as-of", "2026-11-01T00:00:00Z",
                 "--now", NOW.isoformat(), "--by", "industry", "--engine", engine, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = json.loads(captured.out)["rows"]
    assert (rows["events_read"], rows["events_used"], rows["events_rejected"]) == (3, 1, 2), rows


# ---------------------------------------------------------------- one JSON grammar (RFC 8259) for every reader

NOT_RFC_JSON = [
    '{"id": "T1", "email": "a@b.com", "employees": 500,}',  # a trailing comma
    '{"id": "T2", "email": "a@b.com", "tags": [1, 2,]}',
    '{"id": "D2", "email": "a@b.com", "extra": {"x": 1, "x": 2}}',  # a key given twice, nested
    '{"id": "D3", "email": "a@b.com", "extra": [{"x": 1, "x": 2}]}',
    '{"id": "N1", "email": "a@b.com", "extra": NaN}',  # not a JSON number
    '{"id": "N2", "email": "a@b.com", "extra": -Infinity}',
]
RFC_JSON = ['{"id": "OK1", "email": "a@b.com", "extra": {"x": 1, "y": [{"x": 2}, {"x": 3}]}, "note": "a,}"}',
            '{"id": "OK2", "email": "a@b.com", "note": "NaN, Infinity and {nested}, {"}']


@pytest.mark.parametrize("engine", ENGINES)
def test_json_lines_records_that_are_not_rfc_8259_json_are_rejected_by_row(tmp_path, engine):
    (tmp_path / "leads.jsonl").write_text("\n".join(NOT_RFC_JSON + RFC_JSON) + "\n", "utf-8")
    result, out, _ = run(B2B, BatchOptions(source=tmp_path / "leads.jsonl", output=tmp_path / "scored.jsonl", now=NOW,
                                           engine=engine))
    assert sorted(r["row"] for r in result.rejects) == list(range(1, len(NOT_RFC_JSON) + 1)), result.rejects
    assert (result.read, result.scored) == (len(NOT_RFC_JSON + RFC_JSON), len(RFC_JSON))
    assert [json.loads(line)["id"] for line in out.read_text("utf-8").splitlines()] == ["OK1", "OK2"]


@pytest.mark.parametrize("engine", ENGINES)
def test_event_records_that_are_not_rfc_8259_json_are_rejected_by_sla(tmp_path, engine, capsys):
    lines = ['{"lead": "L1", "event": "became_mql", "at": "2026-11-02T10:00:00Z",}',
             '{"lead": "L1", "event": "became_mql", "at": "2026-11-02T11:00:00Z", "x": {"a": 1, "a": 2}}',
             '{"lead": "L1", "event": "became_mql", "at": "2026-11-02T12:00:00Z", "x": {"a": 1}}']
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    rejects = tmp_path / "rejects.csv"
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.jsonl"), "--now",
                 NOW.isoformat(), "--engine", engine, "--format", "json", "--report-only", "--rejects", str(rejects)])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["rows"] == {"read": 3, "used": 1, "rejected": 2, "after_now": 0}
    assert [r["row"] for r in read_csv(rejects)] == ["1", "2"]


@pytest.mark.parametrize("line", NOT_RFC_JSON)
def test_explain_refuses_the_records_json_lines_reject(line, capsys):
    code = main(["explain", str(POLICIES / "inbound-b2b.policy"), "--lead", line, "--now", NOW.isoformat()])
    err = capsys.readouterr().err
    assert code == 2 and "--lead: " in err and "is not a field" not in err, err  # refused as it is read


# ---------------------------------------------------------------- a JSON value is read by its JSON type

JSON_LEADS = [
    {"email": "a@b.com", "employees": 12, "last_activity": " 2026-11-02T10:00:00Z ", "demo_requested": True},
    {"email": "a@b.com", "employees": "12"},
    {"email": "a@b.com", "employees": " 12 "},
    {"email": "a@b.com", "employees": "1e3"},
    {"email": "a@b.com", "employees": "-0"},
    {"email": "a@b.com", "employees": ""},
    {"email": "a@b.com", "demo_requested": "yes"},
    {"email": "a@b.com", "last_activity": 20261102},
    {"email": "a@b.com", "last_activity": "\t2026-11-02\n"},
    {"email": 5},
    {"email": True},
    {"email": "a@b.com", "job_title": [1, 2]},
]


@pytest.mark.parametrize("engine", ENGINES)
def test_json_lines_values_are_read_by_their_json_type_as_the_api_reads_them(tmp_path, engine):
    """score on JSON Lines rejects exactly the leads the one reader (explain, the API) rejects, by the
    same field and reason."""
    want = {}
    for row, lead in enumerate(JSON_LEADS, start=1):
        for error in B2B._reader.read(lead)[1]:
            want[row, error.field] = error.message
    assert {row for row, _ in want} == {2, 3, 4, 5, 7, 8, 10, 11, 12}  # the table says what it tests
    lines = [json.dumps({"id": f"L{i}", **lead}) for i, lead in enumerate(JSON_LEADS, start=1)]
    (tmp_path / "leads.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    result, _, _ = run(B2B, BatchOptions(source=tmp_path / "leads.jsonl", output=tmp_path / "scored.jsonl", now=NOW,
                                         engine=engine))
    assert {(r["row"], r["field"]): r["problem"] for r in result.rejects} == want


# ---------------------------------------------------------------- sla --leads: bad and repeated lead rows

@pytest.mark.parametrize("engine", ENGINES)
def test_sla_leads_rejects_bad_and_repeated_lead_rows_and_counts_the_clocks_they_leave_untiered(tmp_path, engine,
                                                                                                capsys):
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry"],
              [["L1", "ana@bigsoft.io", "5000", "software"], ["L2", "b@b.io", "many", "software"],
               ["L3", "c@b.io", "10", "software"], [" L3", "c@b.io", "6000", "software"]])
    rows = []
    for lead in ("L1", "L2", "L3", "L4"):
        rows += [[lead, "became_mql", "2026-11-02T10:00:00-05:00", ""],
                 [lead, "first_touch", "2026-11-02T10:30:00-05:00", ""]]
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], rows)
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--leads",
                 str(tmp_path / "leads.csv"), "--now", NOW.isoformat(), "--engine", engine, "--format", "json",
                 "--report-only"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["leads"] == {"read": 4, "used": 1, "rejected": 3}
    assert report["tier_fallbacks"] == {"clocks": 3, "no record": 1, "rejected record": 2}
    assert "3 clock(s) took the otherwise tier" in captured.err
    rejected = {(r["row"], r["field"]): r["problem"] for r in read_csv(tmp_path / "leads.rejects.csv")}
    assert set(rejected) == {("2", "employees"), ("3", "id"), ("4", "id")}
    assert "row 4" in rejected["3", "id"] and "row 3" in rejected["4", "id"]


def test_sla_leads_tier_fallbacks_are_the_same_on_both_engines(tmp_path, capsys):
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees"], [["L1", "a@b.io", "x"], ["L2", "a@b.io", "9"]])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"],
              [[lead, "became_mql", "2026-11-02T10:00:00-05:00", ""] for lead in ("L1", "L2", "L9")])
    reports = {}
    for engine in ENGINES:
        assert main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--leads",
                     str(tmp_path / "leads.csv"), "--now", NOW.isoformat(), "--engine", engine, "--format", "json",
                     "--report-only"]) == 0
        reports[engine] = json.loads(capsys.readouterr().out)
    assert reports["python"] == reports["duckdb"]
    assert reports["python"]["tier_fallbacks"] == {"clocks": 2, "no record": 1, "rejected record": 1}


def test_sla_auto_reads_a_log_far_before_now_with_the_python_engine(tmp_path, capsys, monkeypatch):
    """The SQL engine holds a calendar row per day up to --now: a span it cannot hold is refused (exit 2)
    when it is asked for, and `--engine auto` reads the log with the Python engine instead."""
    from leadpolicy.cli.commands import sla

    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"],
              [["L1", "became_mql", "2026-11-02T10:00:00Z", ""]])
    args = ["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--now",
            "2600-01-01T00:00:00Z", "--format", "json", "--report-only"]
    assert main([*args, "--engine", "python"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main([*args, "--engine", "duckdb"]) == 2
    assert "--engine python" in capsys.readouterr().err
    monkeypatch.setattr(sla, "AUTO_DUCKDB_BYTES", 0)  # auto would pick SQL
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == want and want["slas"]["speed_to_lead"]["breached"] == 1


def test_both_sla_engines_write_the_same_rejects_with_the_values_as_given(tmp_path, capsys):
    """The same reason and the row's values as written (lead ids untrimmed, times unnormalised, a NUL
    kept), whichever engine rejected the row."""
    rows = [["A", "became_mql", "2026-11-02T10:00:00Z", ""],
            ["A", "first_touch", "2026-02-29T10:00:00Z", ""],  # no such day
            [" D2", "first_touch", "2026-11-02 10:00-05:00", ""],  # a stop with no start before it
            ["B", "became_mql", "2030-01-01T00:00:00Z", ""],  # after now: a good row no clock sees (docs/leads.md)
            [" B ", "became_mql", "2026-11-02T10:00:00Z", ""],
            ["B", "became_mql", "2026-11-02 10:00:00Z", ""],  # the same event as the row before
            ["N\x00L", "became_mql", "2026-11-02T10:00:00Z", ""],
            ["N\x00L", "first_touch", "2026-02-29", ""]]
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], rows)
    found = {}
    for engine in ENGINES:
        rejects = tmp_path / f"{engine}.rejects.csv"
        assert main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--now",
                     NOW.isoformat(), "--engine", engine, "--format", "json", "--report-only", "--rejects",
                     str(rejects)]) == 0
        capsys.readouterr()
        found[engine] = read_csv(rejects)
    assert found["python"] == found["duckdb"]
    by_row = {int(r["row"]): r for r in found["python"]}
    assert sorted(by_row) == [2, 3, 6, 8]
    assert "is not a real timestamp" in by_row[2]["problem"] and "is not a real timestamp" in by_row[8]["problem"]
    assert (by_row[3]["lead"], by_row[3]["at"]) == (" D2", "2026-11-02 10:00-05:00")
    assert (by_row[6]["lead"], by_row[6]["at"]) == ("B", "2026-11-02 10:00:00Z")
    assert by_row[8]["lead"] == "N\x00L"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_day_that_does_not_exist_is_not_a_real_date_on_every_engine(tmp_path, engine):
    write_csv(tmp_path / "leads.csv", ["id", "email", "last_activity"],
              [["L1", "a@b.com", "2026-02-29T10:00:00Z"], ["L2", "a@b.com", "2026-02-29"]])
    result, _, _ = run(B2B, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                         engine=engine))
    assert [r["problem"] for r in result.rejects] == ["'2026-02-29T10:00:00Z' is not a real timestamp",
                                                      "'2026-02-29' is not a real timestamp"]
