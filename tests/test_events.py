"""Event logs read with DuckDB: every row used or rejected with its row, field and reason."""

from __future__ import annotations

import csv
import datetime as dt
import json
from zoneinfo import ZoneInfo

import duckdb
import pytest

from leadpolicy.cli.main import main
from leadpolicy.semantics.loading import load_policy
from leadpolicy.semantics.lowering import lower
from leadpolicy.sla.engine import SlaEngine
from leadpolicy.sla.events import EventFileError
from leadpolicy.sla.report import build_report
from leadpolicy.warehouse.event_log import EventLogReader as EventReader

from .conftest import POLICIES

NOW = dt.datetime.fromisoformat("2026-11-30T12:00:00-05:00")
GOOD = [
    ("L1", "became_sql", "2026-11-20T16:00:00-05:00", ""),
    ("L1", "first_touch", "2026-11-23T11:00:00-05:00", ""),
    ("L2", "became_sql", "2026-11-25T15:00:00-05:00", ""),
    ("L2", "first_touch", "2026-11-27T11:30:00-05:00", ""),
    ("L5", "handed_off", "2026-11-16T10:00:00-05:00", ""),
    ("L5", "rejected", "2026-11-18T16:00:00-05:00", "not_now"),
    ("L6", "handed_off", "2026-11-16T10:00:00-05:00", ""),
    ("L6", "rejected", "2026-11-16T15:00:00-05:00", "too_small"),
]
BAD = [  # (row values, field, problem)
    (("L6", "rejected", "2026-11-16T15:00:00-05:00", "too_small"), "", "duplicate of row 8"),
    (("L7", "first_touch", "2026-11-16T15:00:00-05:00", ""), "event", "first_touch with no became_sql before it"),
    (("", "touch", "2026-11-16T15:00:00-05:00", ""), "lead", "missing lead id"),
    (("L8", "tuch", "2026-11-16T15:00:00-05:00", ""), "event", "unknown event 'tuch' (did you mean \"touch\"?)"),
    (("L9", "touch", "yesterday", ""), "at",
     "'yesterday' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"),
]
LATER = [("L9", "touch", "2026-12-24T10:00:00-05:00", "")]  # after now: a good row that no clock sees


@pytest.fixture(scope="module")
def policy():
    return lower(load_policy(POLICIES / "inbound-b2b.policy").policy)


def reader_for(policy, path, now=NOW):
    return EventReader(path, SlaEngine(policy).event_names(), ZoneInfo(policy.timezone), now)


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows(rows)


def write_jsonl(path, rows):
    with open(path, "w") as handle:
        for lead, event, at, reason in rows:
            handle.write(json.dumps({"lead": lead or None, "event": event, "at": at, "reason": reason or None}) + "\n")


def write_parquet(path, rows):
    csv_path = str(path) + ".csv"
    write_csv(csv_path, rows)
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{path}' (FORMAT parquet)")


@pytest.mark.parametrize("fmt,writer", [("csv", write_csv), ("jsonl", write_jsonl), ("parquet", write_parquet)])
def test_every_row_is_used_or_rejected_in_every_format(tmp_path, policy, fmt, writer):
    path = tmp_path / f"events.{fmt}"
    writer(path, GOOD + [row for row, _, _ in BAD] + LATER)
    reader = reader_for(policy, path)
    report = build_report(policy, reader, NOW)
    assert (report.read, report.used, report.rejected) == (len(GOOD) + len(BAD) + 1, len(GOOD) + 1, len(BAD))
    assert reader.stats.after_now == 1
    assert sorted((r.row, r.field, r.problem) for r in reader.rejects) == [
        (len(GOOD) + i + 1, field, problem) for i, (_, field, problem) in enumerate(BAD)]
    data = report.as_dict()
    assert data["slas"]["speed_to_lead"]["met"] == 1 and data["slas"]["speed_to_lead"]["breached"] == 1
    assert data["slas"]["mql_acceptance"]["breached"] == 1
    assert len(data["reason_violations"]) == 1
    assert data["recycle"][0]["at"] == "2026-12-18T21:00:00+00:00"  # shown in the policy's timezone (UTC)
    assert data["failing"] == ["mql_acceptance", "speed_to_lead"]


def test_malformed_csv_records_are_rejected_with_their_row(tmp_path, policy):
    path = tmp_path / "events.csv"
    path.write_text("lead,event,at,reason\nL1,became_sql,2026-11-20T16:00:00-05:00,\n"
                    "L1,first_touch,2026-11-23T11:00:00-05:00,x,extra\nL3,touch,2026-11-23T11:00:00-05:00,\n")
    reader = reader_for(policy, path)
    report = build_report(policy, reader, NOW)
    assert (report.read, report.rejected) == (3, 1)
    assert reader.rejects[0].row == 2 and "Expected Number of Columns: 4 Found: 5" in reader.rejects[0].problem
    assert [e.row for _, events in EventReader(path, SlaEngine(policy).event_names(), ZoneInfo("UTC"), NOW).groups()
            for e in events] == [1, 3]


def test_missing_columns_and_wrong_formats_are_clear_errors(tmp_path, policy):
    path = tmp_path / "events.csv"
    path.write_text("lead,name,when\nL1,x,y\n")
    with pytest.raises(EventFileError, match="lacks columns event, at"):
        list(reader_for(policy, path).groups())
    fake = tmp_path / "events.parquet"
    fake.write_text("lead,event,at\n")
    with pytest.raises(EventFileError, match="cannot read as parquet"):
        list(reader_for(policy, fake).groups())
    with pytest.raises(EventFileError, match="cannot tell the format"):
        reader_for(policy, tmp_path / "events.txt")
    with pytest.raises(EventFileError, match="no such file"):
        list(reader_for(policy, tmp_path / "nope.csv").groups())


def test_date_range_selects_clocks_by_start(tmp_path, policy):
    path = tmp_path / "events.csv"
    write_csv(path, GOOD)
    report = build_report(policy, reader_for(policy, path), NOW, dt.date(2026, 11, 20), dt.date(2026, 11, 30))
    assert "mql_acceptance" not in report.as_dict()["slas"]
    assert report.as_dict()["slas"]["speed_to_lead"]["met"] == 1


def test_cli_sla_report_exit_codes_and_rejects_file(tmp_path, policy, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "events.csv", GOOD + [row for row, _, _ in BAD] + LATER)
    args = ["sla", str(POLICIES / "inbound-b2b.policy"), "events.csv", "--now", "2026-11-30T12:00:00-05:00"]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "speed_to_lead   sales  1    1         0        50.0%       95%     BELOW TARGET" in out
    assert "mql_acceptance  L5    2026-11-18T10:00:00-05:00  6h 00m" in out
    assert "read 14, used 9, rejected 5" in out
    assert "5 rejected row(s) written to events.rejects.csv" in err
    rejects = list(csv.DictReader(open(tmp_path / "events.rejects.csv")))
    assert [r["row"] for r in rejects] == [str(n) for n in range(9, 14)]  # row 14, after now, is not one
    assert main(args + ["--report-only"]) == 0
    capsys.readouterr()
    assert main(args + ["--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["rows"] == {"read": 14, "used": 9, "rejected": 5, "after_now": 1}


def test_details_file_lists_every_clock_and_count(tmp_path, policy, capsys):
    write_csv(tmp_path / "events.csv", GOOD)
    details = tmp_path / "clocks.csv"
    main(["sla", str(POLICIES / "inbound-b2b.policy"), str(tmp_path / "events.csv"), "--now",
          "2026-11-30T12:00:00-05:00", "--details", str(details), "--report-only"])
    rows = list(csv.DictReader(open(details)))
    first = next(r for r in rows if r["sla"] == "speed_to_lead" and r["lead"] == "L1")
    assert (first["kind"], first["status"], first["used_minutes"]) == ("clock", "met", "180.0")
    assert first["deadline"] == "2026-11-23T12:00:00-05:00"
    assert {(r["sla"], r["kind"]) for r in rows} == {("speed_to_lead", "clock"), ("mql_acceptance", "clock"),
                                                     ("sql_follow_up", "count"), ("mql_acceptance", "reason_violation"),
                                                     ("", "recycle")}  # a recycle rule belongs to no SLA


@pytest.mark.parametrize("fmt,writer", [("csv", write_csv), ("jsonl", write_jsonl)])
def test_a_lead_id_with_surrounding_blanks_is_the_same_lead(tmp_path, policy, fmt, writer):
    # Sorted raw, " L1" and "L1" would sit apart with "L0" between them and split one lead in two.
    path = tmp_path / f"events.{fmt}"
    writer(path, [(" L1", "became_sql", "2026-11-20T16:00:00-05:00", ""),
                  ("L0", "became_sql", "2026-11-20T16:00:00-05:00", ""),
                  ("L1\t", "first_touch", "2026-11-23T11:00:00-05:00", "")])
    reader = reader_for(policy, path)
    groups = {lead: [e.event for e in events] for lead, events in reader.groups()}
    assert groups == {"L0": ["became_sql"], "L1": ["became_sql", "first_touch"]} and not reader.rejects
    report = build_report(policy, reader_for(policy, path), NOW).as_dict()
    assert report["slas"]["speed_to_lead"]["met"] == 1 and report["rows"]["rejected"] == 0
