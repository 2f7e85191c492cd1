"""`leadpolicy sla`'s messages on stderr write their counts with thousands separators, as its reject summary
(`rejected 1,000 of 2,000 rows`) does: the clocks that took the otherwise tier, the rejected rows written,
the rejected rows over --max-rejects."""

from __future__ import annotations

import csv
import re

from leadpolicy.cli.main import main

from .conftest import POLICIES

LEADS = 1000


def _log(path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at"])
        writer.writerows((f"L{i}", "became_sql", "2026-11-30T10:00:00-05:00") for i in range(LEADS))
        writer.writerows((f"B{i}", "became_sql", "not a time") for i in range(LEADS))


def _count_before(text: str, words: str) -> str:
    found = re.search(r"(\S+) " + re.escape(words), text)
    assert found, text
    return found.group(1)


def test_sla_messages_write_counts_with_thousands_separators(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _log(tmp_path / "events.csv")
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), "events.csv", "--now", "2026-11-30T18:00:00Z",
                 "--report-only", "--max-rejects", "5"])
    said = capsys.readouterr().err
    assert code == 1, said
    assert _count_before(said, "clock(s) took the otherwise tier") == "1,000"
    assert _count_before(said, "rejected row(s) written") == "1,000"
    assert _count_before(said, "rejected event rows, more than --max-rejects") == "1,000"
    assert "rejected 1,000 of 2,000" in said
