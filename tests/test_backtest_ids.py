"""A lead is measured once: in `feedback` and `backtest`, rows that share a lead id (or have none)
are rejected rows with their row numbers, never counted twice (docs/leads.md, "One row per lead")."""

from __future__ import annotations

import json

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv, write_csv

AS_OF, NOW = "2026-11-01T00:00:00-04:00", "2026-11-30T12:00:00-05:00"
POLICY = str(POLICIES / "inbound-activity.policy")
HEADER = ["id", "email", "employees", "industry", "source"]
LEADS = [("1", "a@bigsoft.io", 1500, "software", "webinar"), (" 1 ", "b@shop.fr", 20, "retail", "paid_search"),
         ("2", "c@ledgerly.com", 300, "fintech", "webinar"), ("", "d@x.io", 5, "other", "organic")]
EVENTS = [("1", "demo_request", "2026-10-25T10:00:00-04:00", ""), ("1", "closed_won", "2026-11-20T10:00:00-05:00", ""),
          ("2", "closed_lost", "2026-11-10T10:00:00-05:00", "")]
ENGINES = ["duckdb", "python"]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "leads.csv", HEADER, LEADS)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], EVENTS)
    return ["--leads", "leads.csv", "--events", "events.csv", "--as-of", AS_OF, "--now", NOW]


def _rejected_rows(tmp_path) -> list[tuple[int, str]]:
    return [(int(r["row"]), r["field"]) for r in read_csv(tmp_path / "leads.rejects.csv")]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_backtest_of_a_policy_against_itself_counts_a_repeated_id_never(data, capsys, tmp_path, engine):
    assert main(["backtest", POLICY, POLICY, *data, "--format", "json", "--engine", engine]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["leads"], report["not_in_both"], report["changes"]) == (1, 0, [])
    assert report["old"]["leads"] == report["new"]["leads"] == 1
    assert (report["old"]["won"], report["old"]["handed_off"]) == (0, 0)  # lead 2 was lost, never handed off
    assert _rejected_rows(tmp_path) == [(1, "id"), (2, "id"), (4, "id")]
    assert report["rows"] == {"leads_read": 4, "old_rejected": 3, "new_rejected": 3,
                              "leads_rejects_file": "leads.rejects.csv"}
    assert main(["backtest", POLICY, POLICY, *data, "--engine", engine]) == 0
    assert "lead rows: read 4, rejected 3 by 3.0.0 and 3 by 3.0.0" in capsys.readouterr().out


@pytest.mark.parametrize("engine", ENGINES)
def test_feedback_rejects_every_row_of_a_repeated_id(data, capsys, tmp_path, engine):
    assert main(["feedback", POLICY, *data, "--format", "json", "--engine", engine]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"]["leads_read"] == 4 and report["rows"]["leads_decided"] == 1
    assert report["rows"]["leads_rejected"] == 3
    assert (report["overall"]["leads"], report["overall"]["won"], report["overall"]["lost"]) == (1, 0, 1)
    problems = {int(r["row"]): r["problem"] for r in read_csv(tmp_path / "leads.rejects.csv")}
    assert "also on row 2" in problems[1] and "also on row 1" in problems[2]
    assert "no lead id" in problems[4]


def test_score_still_scores_every_row_of_a_repeated_id(data, tmp_path):
    """`score --events` decides rows, not leads: both rows of one id are scored (docs/warehouse.md)."""
    assert main(["score", POLICY, "leads.csv", "--events", "events.csv", "-o", "out.csv", "--now", AS_OF]) == 0
    assert len(read_csv(tmp_path / "out.csv")) == 4
