"""A JSON Lines row whose text holds a lone surrogate escape (`"\\ud800"`, half of a character) is rejected
saying so, not as "not a JSON object": it is one, with text that is no character."""

from __future__ import annotations

import csv
from pathlib import Path

from leadpolicy.cli.main import main

from .conftest import POLICIES

LINES = ['{"lead":"L1","event":"became_sql","at":"2026-11-16T10:00:00-05:00"}',
         '{"lead":"\\ud800","event":"became_sql","at":"2026-11-16T10:00:00-05:00"}',
         '{"lead":"\\ud83d\\ude00","event":"became_sql","at":"2026-11-16T10:00:00-05:00"}',
         '[1, 2]']


def test_a_lone_surrogate_is_said_as_such(tmp_path: Path, capsys):
    events = tmp_path / "ev.jsonl"
    events.write_text("\n".join(LINES) + "\n", "utf-8")
    rejects = tmp_path / "r.csv"
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(events), "--rejects", str(rejects),
                 "--now", "2026-11-30T12:00:00Z", "--report-only"])
    said = capsys.readouterr()
    assert code == 0, said
    with open(rejects, newline="", encoding="utf-8") as handle:
        problems = {int(r["row"]): r["problem"] for r in csv.DictReader(handle)}
    assert set(problems) == {2, 4}, problems  # the pair of line 3 is one character, read
    assert "lone surrogate" in problems[2] and "\\ud800" in problems[2], problems
    assert "not a JSON object" in problems[4]
