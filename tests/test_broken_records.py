"""One bad record never loses a file: a JSON Lines file whose every record gives a key twice, and a CSV file
mixing a quoted carriage return, a quoted line feed and a quote never closed, are read record by record on
every command and engine, each bad record a reject by row (rows in = rows out + rows rejected)."""

from __future__ import annotations

import json

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv, write_csv

ACTIVITY = str(POLICIES / "inbound-activity.policy")
B2B = str(POLICIES / "inbound-b2b.policy")
NOW = "2026-11-20T12:00:00-05:00"
ENGINES = ["python", "duckdb"]

EVERY_KEY_TWICE = "".join(json.dumps(record).replace('"at": "X"', pair) + "\n" for record, pair in [
    ({"lead": "L1", "event": "became_sql", "at": "X"},
     '"at": "2026-11-18T10:00:00-05:00", "at": "2026-11-18T10:00:00-05:00"'),
    ({"lead": "L1", "event": "demo_request", "at": "X"},
     '"at": "2026-11-18T10:00:00-05:00", "at": "2026-01-01T00:00:00Z"'),
])
# A real CR inside quotes, a real LF inside quotes, a quote never closed (record 3).
MIXED_EVENTS = ('lead,event,at\nL1,demo_request,"2026-11-18T10:00:00-05:00\r"\n'
                '"L1\n",email_click,2026-11-19T11:00:00-05:00\nL1,"email_click,2026-11-19T13:00:00-05:00\n')
MIXED_LEADS = ('email,employees\na@bigsoft.io,"300\r"\n"b@bigsoft.io\n",20\n"c@bigsoft.io,5\nd@bigsoft.io,7\n')


def _sla(capsys, tmp_path, events, engine):
    rejects = tmp_path / f"{engine}.rejects.csv"
    code = main(["sla", ACTIVITY, str(events), "--now", NOW, "--engine", engine, "--format", "json",
                 "--report-only", "--rejects", str(rejects)])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    assert "lacks column" not in captured.err and "cannot read" not in captured.err, captured.err
    return json.loads(captured.out)["rows"], read_csv(rejects)


def _score_with_events(capsys, tmp_path, events):
    leads = tmp_path / "leads.csv"
    write_csv(leads, ["id", "email", "employees", "industry"], [["L1", "a@bigsoft.io", "300", "software"]])
    event_rejects = tmp_path / "events.rejects.csv"
    code = main(["score", ACTIVITY, str(leads), "--events", str(events), "--now", NOW, "-o",
                 str(tmp_path / "out.csv"), "--events-rejects", str(event_rejects)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return read_csv(tmp_path / "out.csv"), read_csv(event_rejects)


@pytest.mark.parametrize("engine", ENGINES)
def test_sla_rejects_each_record_with_a_key_given_twice_when_no_record_is_clean(capsys, tmp_path, engine):
    events = tmp_path / "events.jsonl"
    events.write_text(EVERY_KEY_TWICE, "utf-8")
    rows, rejects = _sla(capsys, tmp_path, events, engine)
    assert (rows["read"], rows["used"], rows["rejected"]) == (2, 0, 2)
    assert [(int(r["row"]), r["field"]) for r in rejects] == [(1, "at"), (2, "at")]
    assert all("given twice" in r["problem"] for r in rejects)


def test_score_events_rejects_each_record_with_a_key_given_twice_when_no_record_is_clean(capsys, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(EVERY_KEY_TWICE, "utf-8")
    scored, rejects = _score_with_events(capsys, tmp_path, events)
    assert [r["email"] for r in scored] == ["a@bigsoft.io"]
    assert [(int(r["row"]), r["field"]) for r in rejects] == [(1, "at"), (2, "at")]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_lone_lead_record_with_a_key_given_twice_is_rejected_without_losing_the_columns(capsys, tmp_path,
                                                                                           engine):
    leads = tmp_path / "leads.jsonl"
    leads.write_text('{"email": "a@bigsoft.io", "email": "b@bigsoft.io", "employees": 5}\n', "utf-8")
    rejects = tmp_path / "rejects.csv"
    code = main(["score", B2B, str(leads), "--now", NOW, "--engine", engine, "-o", str(tmp_path / "out.jsonl"),
                 "--rejects", str(rejects)])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    assert "field email is not a column" not in err and "field employees is not a column" not in err, err
    assert [(int(r["row"]), r["field"]) for r in read_csv(rejects)] == [(1, "email")]


@pytest.mark.parametrize("engine", ENGINES)
def test_sla_reads_a_csv_mixing_quoted_line_ends_and_a_broken_quote_rejecting_only_the_broken_record(
        capsys, tmp_path, engine):
    events = tmp_path / "events.csv"
    events.write_bytes(MIXED_EVENTS.encode())
    rows, rejects = _sla(capsys, tmp_path, events, engine)
    assert rows == {"read": 3, "used": 2, "rejected": 1, "after_now": 0}
    assert [(int(r["row"]), r["field"]) for r in rejects] == [(3, "")]
    assert "quote" in rejects[0]["problem"]


def test_score_events_reads_a_csv_mixing_quoted_line_ends_and_a_broken_quote(capsys, tmp_path):
    events = tmp_path / "events.csv"
    events.write_bytes(MIXED_EVENTS.encode())
    scored, rejects = _score_with_events(capsys, tmp_path, events)
    assert [r["email"] for r in scored] == ["a@bigsoft.io"]
    assert [int(r["row"]) for r in rejects] == [3]


@pytest.mark.parametrize("engine", ENGINES)
def test_score_reads_a_leads_csv_mixing_quoted_line_ends_and_a_broken_quote(capsys, tmp_path, engine):
    leads = tmp_path / "leads.csv"
    leads.write_bytes(MIXED_LEADS.encode())
    rejects = tmp_path / "rejects.csv"
    code = main(["score", B2B, str(leads), "--now", NOW, "--engine", engine, "-o", str(tmp_path / "out.csv"),
                 "--rejects", str(rejects)])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    assert "cannot read" not in err, err
    scored, rejected = read_csv(tmp_path / "out.csv"), read_csv(rejects)
    assert "d@bigsoft.io" in [r["email"] for r in scored]
    assert 3 in [int(r["row"]) for r in rejected]
    assert len(scored) + len({r["row"] for r in rejected}) == 4


@pytest.mark.parametrize(("name", "text", "row"), [("events.csv", MIXED_EVENTS, 3),
                                                   ("events.jsonl", EVERY_KEY_TWICE, 1)])
def test_explain_names_the_bad_record_of_its_events_not_the_whole_file(capsys, tmp_path, name, text, row):
    events = tmp_path / name
    events.write_bytes(text.encode())
    code = main(["explain", ACTIVITY, "--lead", '{"email": "a@bigsoft.io"}', "--events", str(events), "--now", NOW])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{name}: row {row}: " in err and "cannot read" not in err and "lacks column" not in err, err
