"""`leadpolicy sla`'s report as a user reads it: the events the policy names that the log never holds, the
per-month section in text, `-o FILE` (through the output guard), and no Python value written as Python."""

from __future__ import annotations

import csv
import json
import re

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

POLICY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-12-15T12:00:00-05:00"
# Two months of handoffs, answered or not; no first_touch, touch or activity event anywhere.
ROWS = [("L1", "handed_off", "2026-10-05T10:00:00-04:00", ""), ("L1", "accepted", "2026-10-06T10:00:00-04:00", ""),
        ("L2", "handed_off", "2026-10-07T10:00:00-04:00", ""),
        ("L3", "handed_off", "2026-11-10T10:00:00-05:00", ""),
        ("L3", "rejected", "2026-11-20T10:00:00-05:00", "bad_fit"),
        ("L4", "became_mql", "2026-11-11T10:00:00-05:00", ""), ("L4", "became_sql", "2026-11-12T10:00:00-05:00", "")]
PRESENT = {"handed_off", "accepted", "rejected", "became_mql", "became_sql"}


@pytest.fixture
def log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "events.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows(ROWS)
    return ["sla", POLICY, "events.csv", "--now", NOW]


def _known() -> set[str]:
    import leadpolicy
    from leadpolicy.sla.engine import SlaEngine

    return set(SlaEngine(leadpolicy.load(POLICY).ir).sla_event_names())


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_events_the_slas_read_that_never_occur_in_the_log_are_said(log, capsys, engine):
    missing = sorted(_known() - PRESENT)
    assert "first_touch" in missing and "handed_off" not in missing
    main([*log, "--engine", engine, "--format", "json"])
    assert json.loads(capsys.readouterr().out)["events_not_in_log"] == missing
    main([*log, "--engine", engine])
    lines = capsys.readouterr().out.splitlines()
    said = [x for x in lines if x.startswith("events the SLAs read that never occur in the log: ")]
    assert len(said) == 1 and said[0].split(": ", 1)[1].split(", ") == missing


def test_a_log_holding_every_event_names_none(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "all.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows((f"L{i}", name, "2026-11-02T10:00:00-05:00", "") for i, name in enumerate(sorted(_known())))
    main(["sla", POLICY, "all.csv", "--now", NOW, "--format", "json"])
    assert json.loads(capsys.readouterr().out)["events_not_in_log"] == []
    main(["sla", POLICY, "all.csv", "--now", NOW])
    assert "never occur in the log" not in capsys.readouterr().out


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_text_report_has_the_months_json_and_csv_have(log, capsys, engine):
    main([*log, "--engine", engine, "--format", "json"])
    months = {(m["sla"], m["month"]): (m["met"], m["breached"], m["pending"])
              for m in json.loads(capsys.readouterr().out)["months"]}
    assert {month for _, month in months} == {"2026-10", "2026-11"}
    main([*log, "--engine", engine])
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("per month:")
    header = lines[start + 1].split()
    assert header[:5] == ["sla", "month", "met", "breached", "pending"]
    shown = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = line.split()
        shown[(cells[0], cells[1])] = (int(cells[2]), int(cells[3]), int(cells[4]))
    assert shown == months


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_output_writes_the_report_to_a_file(log, capsys, tmp_path, fmt):
    main([*log, "--format", fmt])
    on_stdout = capsys.readouterr().out
    code = main([*log, "--format", fmt, "-o", "report.out"])
    assert code == 1  # below target, as on standard output
    written = (tmp_path / "report.out").read_text()
    if fmt == "json":
        assert json.loads(written) == json.loads(on_stdout)
    elif fmt == "csv":
        assert list(csv.reader(written.splitlines())) == list(csv.reader(on_stdout.splitlines()))
    else:
        assert "per month:" in written and written.splitlines()[-3:] == on_stdout.splitlines()[-3:]
    assert "per month:" not in capsys.readouterr().out


def test_output_writes_the_open_clocks_too(log, capsys, tmp_path):
    assert main([*log, "--open", "--format", "json", "-o", "open.json"]) == 0
    assert {r["lead"] for r in json.loads((tmp_path / "open.json").read_text())["open"]} == {"L2", "L4"}


@pytest.mark.parametrize("target, says", [("events.csv", "the same file as the event log"),
                                          ("sub", "folder"), ("/proc/version", "/proc/version")])
def test_output_is_refused_over_an_input_or_a_special_file(log, capsys, tmp_path, target, says):
    (tmp_path / "sub").mkdir()
    before = (tmp_path / "events.csv").read_bytes()
    assert main([*log, "-o", target]) == 2
    assert says in capsys.readouterr().err
    assert (tmp_path / "events.csv").read_bytes() == before


ROWS_LINE = re.compile(r"read (\d+), used (\d+), rejected (\d+)(?:; (\d+) used after now, seen by no clock)?$")


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_rows_after_now_are_counted_in_the_table_and_the_json(tmp_path, monkeypatch, capsys, engine):
    monkeypatch.chdir(tmp_path)
    later = [("L9", "handed_off", "2026-12-20T10:00:00-05:00", ""), ("L1", "touch", "2027-01-05T10:00:00-05:00", "")]
    with open(tmp_path / "later.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows([*ROWS, *later, ("L1", "handed_off", "not a time", "")])
    argv = ["sla", POLICY, "later.csv", "--now", NOW, "--engine", engine, "--report-only"]
    main([*argv, "--format", "json"])
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows == {"read": len(ROWS) + 3, "used": len(ROWS) + 2, "rejected": 1, "after_now": 2}
    main(argv)
    said = [ROWS_LINE.match(line) for line in capsys.readouterr().out.splitlines()]
    found = [m.groups() for m in said if m]
    assert found == [(str(len(ROWS) + 3), str(len(ROWS) + 2), "1", "2")]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_log_with_nothing_after_now_says_no_such_rows(log, capsys, engine):
    main([*log, "--engine", engine, "--format", "json"])
    assert json.loads(capsys.readouterr().out)["rows"]["after_now"] == 0
    main([*log, "--engine", engine])
    found = [m.groups() for m in map(ROWS_LINE.match, capsys.readouterr().out.splitlines()) if m]
    assert found == [(str(len(ROWS)), str(len(ROWS)), "0", None)]
