"""What the commands print for people (text and Markdown) never shows a Python value as Python writes it:
no `{'speed_to_lead': None}`, `['a']`, `True`, `False` or `None` in the reports of the reference policies,
over data that holds missing values, open clocks with no escalation and answers of every kind."""

from __future__ import annotations

import csv
import re

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

REPR = re.compile(r"\{'|\['|': |\b(True|False|None)\b")
AS_OF, NOW = "2026-11-01T00:00:00-04:00", "2026-11-30T12:00:00-05:00"
LEADS = [("1", "a@bigsoft.io", 1500, "software", "webinar"), ("2", "b@shop.fr", 20, "retail", ""),
         ("3", "c@ledgerly.com", "", "fintech", "webinar"), ("4", "d@gmail.com", 5, "other", "organic")]
EVENTS = [("1", "demo_request", "2026-10-25T10:00:00-04:00", ""), ("1", "became_sql", "2026-11-02T10:00:00-05:00", ""),
          ("1", "handed_off", "2026-11-02T10:00:00-05:00", ""), ("1", "first_touch", "2026-11-02T11:00:00-05:00", ""),
          ("1", "accepted", "2026-11-03T10:00:00-05:00", ""), ("1", "closed_won", "2026-11-20T10:00:00-05:00", ""),
          ("3", "handed_off", "2026-11-05T10:00:00-05:00", ""),
          ("3", "rejected", "2026-11-06T10:00:00-05:00", "Not_Now"),
          ("2", "became_sql", "2026-11-30T09:00:00-05:00", ""), ("2", "closed_lost", "2026-11-10T10:00:00-05:00", ""),
          ("4", "became_mql", "2026-11-25T10:00:00-05:00", "")]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, header, rows in (("leads.csv", ["id", "email", "employees", "industry", "source"], LEADS),
                               ("events.csv", ["lead", "event", "at", "reason"], EVENTS)):
        with open(tmp_path / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    text = (POLICIES / "inbound-activity.policy").read_text()
    looser = text.replace("fit >= 40 and engagement >= 30", "fit >= 30 and engagement >= 30")
    (tmp_path / "new.policy").write_text(looser)
    return tmp_path


def _printed(capsys, argv: list[str]) -> str:
    main(argv)
    out = capsys.readouterr()
    return out.out + out.err


def _reprs(text: str) -> list[str]:
    return [line for line in text.splitlines() if REPR.search(line)]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_feedback_and_backtest_write_no_python_value(data, capsys, fmt):
    policy = str(POLICIES / "inbound-activity.policy")
    common = ["--leads", "leads.csv", "--events", "events.csv", "--as-of", AS_OF, "--now", NOW, "--format", fmt]
    feedback = _printed(capsys, ["feedback", policy, *common, "--by", "source", "--by", "employees"])
    assert "Sales' answers" in feedback
    backtest = _printed(capsys, ["backtest", policy, "new.policy", *common])
    assert "Backtest" in backtest
    assert _reprs(feedback) == [] and _reprs(backtest) == []


def test_sla_text_and_open_clocks_write_no_python_value(data, capsys):
    for policy in ("inbound-activity", "inbound-b2b"):
        args = ["sla", str(POLICIES / f"{policy}.policy"), "events.csv", "--now", NOW]
        report = _printed(capsys, args)
        assert "per month:" in report
        opened = _printed(capsys, [*args, "--open"])
        assert "open clock(s)" in opened
        assert _reprs(report) == [] and _reprs(opened) == []


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_check_diff_and_explain_write_no_python_value(data, capsys, fmt):
    policy = str(POLICIES / "inbound-activity.policy")
    diff = _printed(capsys, ["diff", policy, "new.policy", "--format", fmt, "--leads", "leads.csv", "--events",
                             "events.csv", "--now", NOW])
    assert "mql" in diff
    assert _reprs(diff) == []
    if fmt == "text":
        checked = _printed(capsys, ["check", str(POLICIES)])
        explained = _printed(capsys, ["explain", policy, "--lead", '{"email": "a@b.io", "employees": 10}',
                                      "--now", NOW])
        assert "approval" in checked and "stage" in explained
        assert _reprs(checked) == [] and _reprs(explained) == []
