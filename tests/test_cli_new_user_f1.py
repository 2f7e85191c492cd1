"""What a new user found scoring a CRM export (issue 24): --max-rejects counts event rows too, default rejects
files never land in /dev, a project's column table does not break a policy it does not concern, and more."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv, write_csv

B2B = str(POLICIES / "inbound-b2b.policy")
ACTIVITY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-11-20T12:00:00Z"


def _leads(path: Path, n: int = 5) -> None:
    write_csv(path, ["id", "email", "employees", "industry", "source"],
              [[f"L{i}", f"a{i}@x.io", "50", "software", "webinar"] for i in range(n)])


def _bad_events(path: Path, n: int = 5) -> None:
    write_csv(path, ["lead", "event", "at"], [[f"L{i}", "bogus", "2026-11-19T10:00:00Z"] for i in range(n)])


def _good_events(path: Path, n: int = 5) -> None:
    write_csv(path, ["lead", "event", "at"], [[f"L{i}", "webinar_attended", "2026-11-19T10:00:00Z"] for i in range(n)])


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_max_rejects_counts_rejected_event_rows(tmp_path, capsys, engine):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    code = main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
                 "--quiet", "--max-rejects", "0", "--events", str(tmp_path / "ev.csv"), "--engine", engine])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 rejected event rows" in err and "--max-rejects 0" in err


def test_score_max_rejects_passes_when_events_are_within_the_limit(tmp_path, capsys):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv", 2)
    code = main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
                 "--quiet", "--max-rejects", "2", "--events", str(tmp_path / "ev.csv")])
    assert code == 0, capsys.readouterr().err


def test_score_events_warning_hints_max_rejects(tmp_path, capsys):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
          "--quiet", "--events", str(tmp_path / "ev.csv")])
    err = capsys.readouterr().err
    events_warning = err[err.index("event rows of"):]
    assert "--max-rejects N" in events_warning


@pytest.mark.parametrize("command", ["feedback", "backtest"])
def test_feedback_and_backtest_max_rejects_counts_event_rows(tmp_path, capsys, command):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    policies = [ACTIVITY] if command == "feedback" else [ACTIVITY, ACTIVITY]
    code = main([command, *policies, "--leads", str(tmp_path / "leads.csv"), "--events", str(tmp_path / "ev.csv"),
                 "--as-of", "2026-11-01", "--now", NOW, "--quiet", "--max-rejects", "0"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 rejected event rows" in err and "--max-rejects 0" in err


def test_diff_leads_max_rejects_counts_event_rows(tmp_path, capsys):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    code = main(["diff", ACTIVITY, ACTIVITY, "--leads", str(tmp_path / "leads.csv"), "--events",
                 str(tmp_path / "ev.csv"), "--now", NOW, "--max-rejects", "0"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 rejected event rows" in err and "--max-rejects 0" in err


def test_score_to_dev_null_writes_default_rejects_beside_the_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [["L1", "a@x.io", "lots", "software", "webinar"], ["L2", "b@x.io", "5", "software", "webinar"]])
    _bad_events(tmp_path / "data" / "ev.csv", 2)
    code = main(["score", ACTIVITY, "data/leads.csv", "-o", os.devnull, "--now", NOW, "--quiet",
                 "--events", "data/ev.csv"])
    capsys.readouterr()
    assert code == 0
    assert [r["row"] for r in read_csv(tmp_path / "data" / "leads.rejects.csv")] == ["1"]
    assert len(read_csv(tmp_path / "data" / "ev.rejects.csv")) == 2


def test_a_reject_reason_keeps_the_header_it_names_and_drops_the_value():
    from leadpolicy.cli.shared import reason_of

    reason = reason_of({"row": 3, "field": "employees",
                        "problem": "column 'No. of Employees': expected a number, got text 'lots'"})
    assert reason == "employees: column 'No. of Employees': expected a number, got text"
    assert reason_of({"row": 4, "field": "employees",
                      "problem": "column \"Bob's Count\": 'x' is not a number"}) == \
        "employees: column \"Bob's Count\": is not a number"


def test_check_table_counts_the_samples_files_errors_as_the_footer_does(tmp_path, capsys, monkeypatch):
    import json
    import shutil

    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    shutil.copy(POLICIES / "inbound-b2b.policy", "policies/")
    text = (POLICIES / "inbound-b2b.samples.yaml").read_text()
    Path("policies/inbound-b2b.samples.yaml").write_text(text.replace("policy: inbound-b2b.policy",
                                                                       "policy: other.policy", 1))
    assert main(["check", "policies/inbound-b2b.policy"]) == 1
    out = capsys.readouterr().out
    table = out[out.index("\npolicy "):].splitlines()
    header, row = table[1].split(), table[2].split()
    footer_errors = int(out.split(" error(s)")[0].split()[-1])
    assert footer_errors == 1 and int(row[header.index("errors")]) == footer_errors
    assert main(["check", "policies/inbound-b2b.policy", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["policies"][0]["errors"] == 1
