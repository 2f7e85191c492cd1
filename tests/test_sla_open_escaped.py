"""`sla --open` as a table: a lead id holding escape sequences is shown escaped (`\\x1b`), and its column is
as wide as the escaped id, so every row stays in line under its header."""

from __future__ import annotations

import csv

from leadpolicy.cli.main import main

from .conftest import POLICIES

ROWS = [("L\x1b]0;PWN\x07\x1b[31mX", "became_sql", "2026-11-30T10:00:00-05:00"),
        ("plain", "became_sql", "2026-11-30T11:00:00-05:00")]


def test_open_clocks_stay_in_line_under_an_escaped_lead_id(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "events.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("lead", "event", "at")] + ROWS)
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), "events.csv", "--open",
                 "--now", "2026-11-30T18:00:00Z"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    header = next(i for i, line in enumerate(lines) if line.startswith("lead "))
    rows = lines[header + 1:]
    assert len(rows) == 2 and "\x1b" not in "".join(rows)
    column = lines[header].index("sla")
    assert [row[column:].split()[0] for row in rows] == ["speed_to_lead", "speed_to_lead"], lines
    assert {row[:column].rstrip() for row in rows} == {"L\\x1b]0;PWN\\x07\\x1b[31mX", "plain"}
