"""An event file with a column given twice is refused by every command that reads one, in the words a
leads file with a column given twice is refused in: which value the row means would be a guess."""

from __future__ import annotations

import json

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import write_csv

ACTIVITY = str(POLICIES / "inbound-activity.policy")
B2B = str(POLICIES / "inbound-b2b.policy")
NOW = "2026-11-20T12:00:00-05:00"
FIRST, SECOND = "2026-11-18T10:00:00-05:00", "2026-01-01T00:00:00Z"


def _log(tmp_path, header):
    path = tmp_path / "events.csv"
    values = {"lead": "L1", "event": "demo_request"}
    write_csv(path, header, [[values.get(name, FIRST if i == 2 else SECOND) for i, name in enumerate(header)]])
    return str(path)


def _leads(tmp_path):
    path = tmp_path / "leads.csv"
    write_csv(path, ["id", "email", "employees", "industry"], [["L1", "a@bigsoft.io", "300", "software"]])
    return str(path)


def _refusal(capsys, argv):
    code = main(argv)
    return code, capsys.readouterr().err


def test_a_leads_file_with_a_column_given_twice_is_refused_so(tmp_path, capsys):
    """The words and exit code the event files are held to."""
    leads = tmp_path / "dup.csv"
    write_csv(leads, ["id", "email", "employees", "employees", "industry"], [["L1", "a@b.io", "5", "6000", "x"]])
    code, err = _refusal(capsys, ["score", B2B, str(leads), "--now", NOW, "-o", str(tmp_path / "o.csv")])
    assert code == 1
    assert "columns 'employees' and 'employees' both match field employees" in err


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize("twice", ["at", "lead", "event", "reason"])
def test_sla_refuses_an_event_log_with_a_column_given_twice(tmp_path, capsys, engine, twice):
    header = ["lead", "event", "at", "reason"] + [twice]
    log = _log(tmp_path, header)
    code, err = _refusal(capsys, ["sla", ACTIVITY, log, "--engine", engine, "--now", NOW, "--report-only"])
    assert code == 1
    assert f"events.csv: columns '{twice}' and '{twice}' both match field {twice}" in err
    assert "Traceback" not in err


def test_score_refuses_an_events_file_with_a_column_given_twice(tmp_path, capsys):
    log = _log(tmp_path, ["lead", "event", "at", "at"])
    out = tmp_path / "o.csv"
    code, err = _refusal(capsys, ["score", ACTIVITY, _leads(tmp_path), "--events", log, "--now", NOW, "-o", str(out)])
    assert code == 1
    assert "events.csv: columns 'at' and 'at' both match field at" in err
    assert not out.exists()


def test_score_refuses_a_header_only_events_file_with_a_column_given_twice(tmp_path, capsys):
    log = tmp_path / "events.csv"
    write_csv(log, ["lead", "event", "at", "at"], [])
    code, err = _refusal(capsys, ["score", ACTIVITY, _leads(tmp_path), "--events", str(log), "--now", NOW,
                                  "-o", str(tmp_path / "o.csv")])
    assert code == 1
    assert "columns 'at' and 'at' both match field at" in err


def test_explain_refuses_an_events_file_with_a_column_given_twice(tmp_path, capsys):
    log = tmp_path / "events.csv"
    write_csv(log, ["event", "at", "at"], [["demo_request", FIRST, SECOND]])
    lead = json.dumps({"email": "a@bigsoft.io", "employees": 300, "industry": "software"})
    code, err = _refusal(capsys, ["explain", ACTIVITY, "--lead", lead, "--events", str(log), "--now", NOW])
    assert code == 2  # explain's events are an argument: a file it cannot use is bad usage, as a missing column is
    assert "events.csv: columns 'at' and 'at' both match field at" in err


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_json_lines_record_with_a_key_given_twice_is_rejected_alone(tmp_path, capsys, engine):
    log = tmp_path / "events.jsonl"
    good = {"lead": "L1", "event": "became_sql", "at": FIRST}
    twice = '{"lead":"L1","event":"first_touch","at":"2026-11-19T10:00:00-05:00","at":"2026-01-01T00:00:00Z"}\n'
    log.write_text(json.dumps(good) + "\n" + twice, encoding="utf-8")
    rejects = tmp_path / "r.csv"
    code = main(["sla", ACTIVITY, str(log), "--engine", engine, "--now", NOW, "--report-only",
                 "--rejects", str(rejects)])
    out = capsys.readouterr()
    assert code in (0, 1)
    assert "read 2, used 1, rejected 1" in out.out
    assert "'at' is given twice" in rejects.read_text(encoding="utf-8")
