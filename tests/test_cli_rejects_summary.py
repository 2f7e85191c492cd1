"""A run that rejects more than a small share of its rows says so on stderr, with its top reasons and their
counts (issue 24): score, feedback and backtest, leads and events alike."""

from __future__ import annotations

import re

import pytest

from leadpolicy.cli.main import main
from leadpolicy.cli.shared import reject_summary

from .conftest import POLICIES
from .files import write_csv

B2B = str(POLICIES / "inbound-b2b.policy")
ACTIVITY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-11-20T12:00:00Z"


def _summaries(err: str) -> dict[str, tuple[int, int, int, list[tuple[int, str]]]]:
    """Each summary in `err` by the file it names: (rejected, read, percent, [(count, reason), ...])."""
    found = {}
    for m in re.finditer(r"rejected ([\d,]+) of ([\d,]+) (?:event )?rows of (\S+).*\((\d+)%\); top reasons:\n"
                         r"((?:  .*\n?)+)", err):
        reasons = [(int(r[1].replace(",", "")), r[2]) for r in re.finditer(r"^\s+([\d,]+)\s+(.*)$", m[5], re.M)]
        found[m[3]] = (int(m[1].replace(",", "")), int(m[2].replace(",", "")), int(m[4]), reasons)
    return found


def _summary(err: str) -> tuple[int, int, int, list[tuple[int, str]]]:
    """The first summary in `err`."""
    found = _summaries(err)
    assert found, err
    return next(iter(found.values()))


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_says_loudly_when_most_rows_are_rejected(tmp_path, capsys, engine):
    rows = [[f"l{i}@corp.io", "50", "EMEA-software" if i % 3 else "software", "webinar"] for i in range(1, 1201)]
    rows += [["", "5", "software", "webinar"]] * 30 + [["x@corp.io", "lots", "software", "webinar"]] * 10
    write_csv(tmp_path / "leads.csv", ["email", "employees", "industry", "source"], rows)
    code = main(["score", B2B, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "out.csv"), "--now", NOW,
                 "--engine", engine])
    err = capsys.readouterr().err
    assert code == 0
    rejected, read, percent, reasons = _summary(err)
    assert (rejected, read, percent) == (800 + 30 + 10, 1240, 68)
    assert reasons[0][0] == 800 and reasons[0][1].startswith("industry: ") and "is not one of" in reasons[0][1]
    assert "EMEA-software" not in reasons[0][1]  # a reason, not one value
    assert [count for count, _ in reasons[1:]] == [30, 10]
    assert reasons[1][1].startswith("email: ") and reasons[2][1].startswith("employees: ")
    assert "--max-rejects" in err


def test_a_few_rejects_stay_quiet(tmp_path, capsys):
    rows = [[f"l{i}@corp.io", "50"] for i in range(1, 100)] + [["x@corp.io", "lots"]]
    write_csv(tmp_path / "leads.csv", ["email", "employees"], rows)
    assert main(["score", B2B, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "out.csv"), "--now", NOW]) == 0
    assert "top reasons" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["feedback", "backtest"])
def test_feedback_and_backtest_say_loudly_too(tmp_path, capsys, command):
    rows = [[f"L{i}", f"l{i}@corp.io", "EMEA" if i % 2 else "software", "webinar"] for i in range(1, 41)]
    write_csv(tmp_path / "leads.csv", ["id", "email", "industry", "source"], rows)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], [["L2", "closed_won", "2026-11-10T00:00:00Z"]])
    policies = [ACTIVITY] if command == "feedback" else [ACTIVITY, ACTIVITY]
    code = main([command, *policies, "--leads", str(tmp_path / "leads.csv"), "--events", str(tmp_path / "events.csv"),
                 "--as-of", "2026-11-01", "--now", NOW])
    err = capsys.readouterr().err
    assert code == 0, err
    rejected, read, percent, reasons = _summary(err)
    assert (rejected, read, percent) == (20, 40, 50)
    assert reasons == [(20, reasons[0][1])] and reasons[0][1].startswith("industry: ")


def test_reasons_are_grouped_without_their_values():
    rejects = [{"row": 1, "field": "industry", "problem": "'EMEA' is not one of: a, b (did you mean 'a'?)"},
               {"row": 2, "field": "industry", "problem": "\"it's\" is not one of: a, b"},
               {"row": 3, "field": "employees", "problem": "expected a number, got text 'x'"},
               {"row": 3, "field": "industry", "problem": "'c' is not one of: a, b"}]
    lines = reject_summary("rows", 4, rejects)
    assert lines is not None
    assert lines[0].startswith("rejected 3 of 4 rows (75%)")
    assert lines[1].split() == ["3", "industry:", "is", "not", "one", "of:", "a,", "b"]
    assert lines[2].split()[:2] == ["1", "employees:"]
    assert reject_summary("rows", 100, rejects[:1]) is None  # 1%: a small share


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_says_loudly_for_its_log_and_its_leads(tmp_path, capsys, engine):
    events = [["L1", "handed_off", "2026-11-10T15:00:00Z"]] + [["L1", "lunch", "2026-11-10T16:00:00Z"]] * 9
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], events)
    write_csv(tmp_path / "leads.csv", ["id", "email"], [["L1", "a@corp.io"], ["L2", ""]])
    code = main(["sla", ACTIVITY, str(tmp_path / "events.csv"), "--now", NOW, "--engine", engine, "--leads",
                 str(tmp_path / "leads.csv"), "--format", "json"])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    found = _summaries(err)
    log, leads = found[str(tmp_path / "events.csv")], found[str(tmp_path / "leads.csv")]
    assert log[:3] == (9, 10, 90) and log[3][0] == (9, log[3][0][1]) and log[3][0][1].startswith("event: ")
    assert leads[:3] == (1, 2, 50) and leads[3][0][1].startswith("email: ")
