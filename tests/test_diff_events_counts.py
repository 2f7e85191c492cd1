"""`leadpolicy diff --leads L --events E` counts event rows as `score --events` counts them, in the same words:
read = used + rejected, and the used rows after `now` (a part of used, never counted) said as score says them,
in text and in JSON (`impact.events.after_now`). A row only one version can use is left out of used, and so
out of the rows after now."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import write_csv

NOW = "2026-11-20T12:00:00-05:00"
OLD_RULE = "mql           when fit >= 40 and engagement >= 30"
NEW_RULE = "mql           when fit >= 40 and engagement >= 31"
NEW_EVENT = "    trial_signup\n"  # declared by the new version only
LEADS = [("L1", "ana@bigsoft.io", "1200", "software", "webinar"),
         ("L2", "bo@shop.fr", "20", "retail", "organic")]
EVENTS_AROUND_NOW = [  # (lead, event, at): what becomes of the row, in both versions
    ("L1", "demo_request", "2026-11-18T10:00:00-05:00"),  # used, counted
    ("L1", "pricing_page_view", "2026-11-20T12:00:00-05:00"),  # used, counted: at now is not after it
    ("L1", "email_click", "2026-11-20T12:00:01-05:00"),  # used after now
    ("L2", "demo_request", "2027-01-05T09:00:00Z"),  # used after now
    ("L2", "email_click", "2026-11-21"),  # used after now: a bare date, midnight in the policy's zone
    ("L2", "emial_click", "2026-12-01T09:00:00Z"),  # rejected (an unknown event)
    ("L1", "email_click", "tomorrow"),  # rejected
]
NEW_EVENT_ROWS = [  # used by the new version only, so by no comparison: rejected in diff, after now or not
    ("L1", "trial_signup", "2026-12-01T09:00:00Z"),
    ("L2", "trial_signup", "2026-11-19T09:00:00Z"),
]
SUMMARY = re.compile(r"events: read (\d+), used (\d+), rejected (\d+)(?:; (\d+) used after now, never counted)?")


def _counts(text: str) -> tuple[int, int, int, int]:
    found = SUMMARY.search(text)
    assert found, text
    read, used, rejected, after_now = (int(n or 0) for n in found.groups())
    return read, used, rejected, after_now


@pytest.fixture
def versions(tmp_path) -> tuple[Path, Path]:
    """old/p.policy (inbound-activity) and new/p.policy: one threshold changed and one more event declared."""
    text = (POLICIES / "inbound-activity.policy").read_text("utf-8")
    assert OLD_RULE in text and "    demo_request " in text
    new_text = text.replace(OLD_RULE, NEW_RULE).replace("3.0.0", "3.1.0").replace(
        "    demo_request ", NEW_EVENT + "    demo_request ", 1)
    paths = []
    for name, policy in (("old", text), ("new", new_text)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.policy").write_text(policy, "utf-8")
        paths.append(tmp_path / name / "p.policy")
    write_csv(tmp_path / "leads.csv", ["lead_id", "email", "employees", "industry", "source"], LEADS)
    return paths[0], paths[1]


def _events(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    write_csv(folder / "events.csv", ["lead", "event", "at"], rows)
    return folder / "events.csv"


def _score(policy: Path, events: Path, engine: str, capsys) -> tuple[int, int, int, int]:
    folder = events.parent
    code = main(["score", str(policy), str(folder / "leads.csv"), "--events", str(events), "--id-column", "lead_id",
                 "--now", NOW, "-o", str(folder / f"scored-{policy.parent.name}.csv"), "--engine", engine,
                 "--events-rejects", str(folder / "score-event-rejects.csv")])
    out = capsys.readouterr().out
    assert code == 0, out
    return _counts(out)


def _diff(old: Path, new: Path, events: Path, engine: str, capsys, fmt: str) -> str:
    folder = events.parent
    code = main(["diff", str(old), str(new), "--leads", str(folder / "leads.csv"), "--events", str(events),
                 "--id-column", "lead_id", "--now", NOW, "--engine", engine, "--format", fmt,
                 "--events-rejects", str(folder / "diff-event-rejects.csv")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _diff_counts(old: Path, new: Path, events: Path, engine: str, capsys) -> tuple[tuple[int, ...], ...]:
    """diff's event counts in its text, markdown and JSON reports."""
    said = [_counts(_diff(old, new, events, engine, capsys, fmt)) for fmt in ("text", "markdown")]
    impact = json.loads(_diff(old, new, events, engine, capsys, "json"))["impact"]["events"]
    assert set(impact) == {"read", "used", "rejected", "after_now"}
    return (*said, (impact["read"], impact["used"], impact["rejected"], impact["after_now"]))


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_diff_counts_events_after_now_as_score_does(versions, tmp_path, engine, capsys):
    old, new = versions
    events = _events(tmp_path, EVENTS_AROUND_NOW)
    scored = _score(old, events, engine, capsys)
    assert scored == _score(new, events, engine, capsys) == (7, 5, 2, 3)
    for counted in _diff_counts(old, new, events, engine, capsys):
        assert counted == scored


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_a_row_only_one_version_uses_is_not_counted_after_now(versions, tmp_path, engine, capsys):
    old, new = versions
    events = _events(tmp_path, EVENTS_AROUND_NOW + NEW_EVENT_ROWS)
    assert _score(old, events, engine, capsys) == (9, 5, 4, 3)
    assert _score(new, events, engine, capsys) == (9, 7, 2, 4)  # one trial_signup is after now
    for read, used, rejected, after_now in _diff_counts(old, new, events, engine, capsys):
        assert (read, used, rejected, after_now) == (9, 5, 4, 3)  # the rows both versions use
        assert read == used + rejected and after_now <= used


def test_without_events_after_now_diff_says_nothing_of_them(versions, tmp_path, capsys):
    old, new = versions
    events = _events(tmp_path, EVENTS_AROUND_NOW[:2])
    assert "after now" not in _diff(old, new, events, "duckdb", capsys, "text")
    assert _diff_counts(old, new, events, "duckdb", capsys) == ((2, 2, 0, 0),) * 3
