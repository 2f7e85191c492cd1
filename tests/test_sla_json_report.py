"""`leadpolicy sla --format json`: the report, as the table is (the same figures, the same first breaches, reason
violations and recycles); every breach, reason violation and recycle is a row of `--details FILE`, not of the
report (issue 26 §5)."""

from __future__ import annotations

import csv
import json

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

POLICY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-12-15T12:00:00-05:00"
HANDOFFS = 30  # none answered: 30 breaches of mql_acceptance, more than the 20 a report lists
ANSWERED = 25  # handoffs rejected for a reason not allowed, and as many for "not_now" (recycled): more than 20
# The keys tools read (docs/sla.md, "The JSON report"): none dropped; each list capped at 20 has its count.
KEYS = {"policy", "version", "now", "from", "to", "rows", "slas", "teams", "months", "tiers", "no_data",
        "events_not_in_log", "event_hints", "ignored_pauses", "volumes", "breach_count", "breaches",
        "reason_violations", "reason_violation_count", "recycle", "recycle_count", "failing",
        "tier_fallbacks"}  # the policy has tiered SLAs; `leads` comes with --leads only


@pytest.fixture
def log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "events.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows((f"L{i:02d}", "handed_off", f"2026-10-{5 + i % 20:02d}T10:00:00-04:00", "")
                         for i in range(HANDOFFS))
    return ["sla", POLICY, "events.csv", "--now", NOW, "--report-only"]


@pytest.fixture
def answers(tmp_path, monkeypatch):
    """A log of handoffs answered by rejections: ANSWERED for a reason not allowed, ANSWERED for "not_now"."""
    monkeypatch.chdir(tmp_path)
    rows = []
    for i in range(2 * ANSWERED):
        day = f"2026-10-{1 + i % 28:02d}"
        rows += [(f"A{i:02d}", "handed_off", f"{day}T10:00:00-04:00", ""),
                 (f"A{i:02d}", "rejected", f"{day}T11:00:00-04:00", "wrong" if i < ANSWERED else "not_now")]
    with open(tmp_path / "answers.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows(rows)
    return ["sla", POLICY, "answers.csv", "--now", NOW, "--report-only"]


def _json(argv: list[str], capsys) -> dict:
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _table_breaches(argv: list[str], capsys) -> tuple[str, list[tuple[str, str]]]:
    """The table's breaches section: its heading and its (sla, lead) rows."""
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("breaches ("))
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append((line.split()[0], line.split()[1]))
    return lines[start], rows


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_json_report_lists_the_breaches_the_table_lists_and_counts_them_all(log, capsys, engine):
    argv = [*log, "--engine", engine]
    data = _json(argv, capsys)
    assert set(data) == KEYS
    assert data["breach_count"] == HANDOFFS == data["slas"]["mql_acceptance"]["breached"]
    heading, table_rows = _table_breaches(argv, capsys)
    assert heading == f"breaches ({HANDOFFS}, first 20):"
    assert [(b["sla"], b["lead"]) for b in data["breaches"]] == table_rows
    assert len(table_rows) == 20
    assert [b["deadline"] for b in data["breaches"]] == sorted(b["deadline"] for b in data["breaches"])


def test_both_engines_write_the_same_json_report(log, capsys):
    assert _json([*log, "--engine", "python"], capsys) == _json([*log, "--engine", "duckdb"], capsys)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_every_breach_is_a_row_of_the_details_file(log, capsys, tmp_path, engine):
    data = _json([*log, "--engine", engine, "--details", "details.csv"], capsys)
    with open(tmp_path / "details.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    breached = {(r["sla"], r["lead"]) for r in rows if r["status"] == "breached"}
    assert len(breached) == data["breach_count"] == HANDOFFS
    assert {(b["sla"], b["lead"]) for b in data["breaches"]} < breached
    assert len(data["breaches"]) == 20


def test_a_report_with_few_breaches_lists_them_all(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "few.csv").write_text("lead,event,at,reason\nA,handed_off,2026-10-05T10:00:00-04:00,\n"
                                      "B,handed_off,2026-10-06T10:00:00-04:00,\n")
    data = _json(["sla", POLICY, "few.csv", "--now", NOW, "--report-only"], capsys)
    assert data["breach_count"] == 2 and [b["lead"] for b in data["breaches"]] == ["A", "B"]


def _table_count(argv: list[str], capsys, words: str) -> int:
    """The count the table says after `words: `."""
    assert main(argv) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith(words + ": ")]
    assert len(said) == 1
    return int(said[0].split(": ")[1])


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_json_report_lists_the_first_violations_and_recycles_and_counts_them_all(answers, capsys, engine):
    argv = [*answers, "--engine", engine]
    data = _json(argv, capsys)
    assert set(data) == KEYS
    assert data["reason_violation_count"] == ANSWERED == _table_count(argv, capsys, "reason violations")
    assert data["recycle_count"] == ANSWERED == _table_count(argv, capsys, "recycle scheduled")
    assert len(data["reason_violations"]) == 20 and len(data["recycle"]) == 20
    assert {v["reason"] for v in data["reason_violations"]} == {"wrong"}
    assert {r["stage"] for r in data["recycle"]} == {"nurture"}
    listed = [(v["sla"], v["lead"], v["at"]) for v in data["reason_violations"]]
    assert listed == sorted(listed) and len(set(listed)) == 20


def test_both_engines_list_the_same_violations_and_recycles(answers, capsys):
    assert _json([*answers, "--engine", "python"], capsys) == _json([*answers, "--engine", "duckdb"], capsys)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_every_violation_and_recycle_is_a_row_of_the_details_file(answers, capsys, tmp_path, engine):
    data = _json([*answers, "--engine", engine, "--details", "details.csv"], capsys)
    with open(tmp_path / "details.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_kind: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    assert set(by_kind) == {"clock", "reason_violation", "recycle"}
    violations = {(r["sla"], r["lead"], r["event"], r["at"], r["reason"]) for r in by_kind["reason_violation"]}
    assert len(by_kind["reason_violation"]) == len(violations) == data["reason_violation_count"]
    assert {(v["sla"], v["lead"], v["event"], v["at"], v["reason"]) for v in data["reason_violations"]} < violations
    recycles = {(r["lead"], r["event"], r["reason"], r["stage"], r["at"]) for r in by_kind["recycle"]}
    assert len(by_kind["recycle"]) == len(recycles) == data["recycle_count"]
    assert {(r["lead"], r["event"], r["reason"], r["stage"], r["at"]) for r in data["recycle"]} < recycles
    clocks = by_kind["clock"]
    assert sum(r["status"] == "met" for r in clocks) == data["slas"]["mql_acceptance"]["met"] == 2 * ANSWERED


def test_both_engines_write_the_same_details(answers, capsys, tmp_path):
    written = {}
    for engine in ("python", "duckdb"):
        _json([*answers, "--engine", engine, "--details", f"{engine}.csv"], capsys)
        with open(tmp_path / f"{engine}.csv", newline="") as handle:
            written[engine] = list(csv.DictReader(handle))
    assert written["python"] == written["duckdb"]
