"""A samples timeline's events are read as an SLA event log's rows are: each odd row of a timeline is an error
of its case naming the row and field in the words `leadpolicy sla` writes to its rejects file for the same row
of a log, or both take it; an event after `now` is a good row no clock sees; `leadpolicy test` never exits 3."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

POLICY = "inbound-activity.policy"
NOW = "2026-11-20T12:00:00-05:00"
GOOD = ('{lead: A1, event: became_sql, at: "2026-11-16T09:00:00-05:00"}',
        '{"lead": "A1", "event": "became_sql", "at": "2026-11-16T09:00:00-05:00"}')
# (what, the row in a samples file's YAML, the same row in a JSON Lines event log)
ROWS = [
    ("blank event name", '{lead: A1, event: "  ", at: "2026-11-16T10:00:00Z"}',
     '{"lead": "A1", "event": "  ", "at": "2026-11-16T10:00:00Z"}'),
    ("empty event name", '{lead: A1, event: "", at: "2026-11-16T10:01:00Z"}',
     '{"lead": "A1", "event": "", "at": "2026-11-16T10:01:00Z"}'),
    ("null event name", '{lead: A1, event: null, at: "2026-11-16T10:02:00Z"}',
     '{"lead": "A1", "event": null, "at": "2026-11-16T10:02:00Z"}'),
    ("a number for the event", '{lead: A1, event: 5, at: "2026-11-16T10:03:00Z"}',
     '{"lead": "A1", "event": 5, "at": "2026-11-16T10:03:00Z"}'),
    ("unknown event", '{lead: A1, event: fist_touch, at: "2026-11-16T10:04:00Z"}',
     '{"lead": "A1", "event": "fist_touch", "at": "2026-11-16T10:04:00Z"}'),
    ("a number for at", "{lead: A1, event: touch, at: 20261116}",
     '{"lead": "A1", "event": "touch", "at": 20261116}'),
    ("yes/no for at", "{lead: A1, event: touch, at: yes}",
     '{"lead": "A1", "event": "touch", "at": true}'),
    ("null at", "{lead: A1, event: touch, at: null}",
     '{"lead": "A1", "event": "touch", "at": null}'),
    ("year 0", '{lead: A1, event: touch, at: "0000-11-16T10:00:00Z"}',
     '{"lead": "A1", "event": "touch", "at": "0000-11-16T10:00:00Z"}'),
    ("year 10000", '{lead: A1, event: touch, at: "10000-11-16T10:00:00Z"}',
     '{"lead": "A1", "event": "touch", "at": "10000-11-16T10:00:00Z"}'),
    ("T24:00", '{lead: A1, event: touch, at: "2026-11-16T24:00:00"}',
     '{"lead": "A1", "event": "touch", "at": "2026-11-16T24:00:00"}'),
    ("offset +25:00", '{lead: A1, event: touch, at: "2026-11-16T10:00:00+25:00"}',
     '{"lead": "A1", "event": "touch", "at": "2026-11-16T10:00:00+25:00"}'),
    ("a day that does not exist", '{lead: A1, event: touch, at: "2026-02-29T10:00:00Z"}',
     '{"lead": "A1", "event": "touch", "at": "2026-02-29T10:00:00Z"}'),
    ("YAML date", "{lead: A1, event: touch, at: 2026-11-17}",
     '{"lead": "A1", "event": "touch", "at": "2026-11-17"}'),
    ("missing lead", '{event: touch, at: "2026-11-16T11:00:00Z"}',
     '{"event": "touch", "at": "2026-11-16T11:00:00Z"}'),
    ("blank lead", '{lead: " ", event: touch, at: "2026-11-16T11:01:00Z"}',
     '{"lead": " ", "event": "touch", "at": "2026-11-16T11:01:00Z"}'),
    ("a number for the lead", '{lead: 12, event: touch, at: "2026-11-16T11:02:00Z"}',
     '{"lead": 12, "event": "touch", "at": "2026-11-16T11:02:00Z"}'),
    ("a number for the reason", '{lead: A1, event: touch, at: "2026-11-16T12:00:00Z", reason: 5}',
     '{"lead": "A1", "event": "touch", "at": "2026-11-16T12:00:00Z", "reason": 5}'),
    ("yes/no for the reason", '{lead: A1, event: touch, at: "2026-11-16T12:01:00Z", reason: no}',
     '{"lead": "A1", "event": "touch", "at": "2026-11-16T12:01:00Z", "reason": false}'),
    ("a mapping for the reason", '{lead: A1, event: touch, at: "2026-11-16T12:02:00Z", reason: {a: 1}}',
     '{"lead": "A1", "event": "touch", "at": "2026-11-16T12:02:00Z", "reason": {"a": 1}}'),
    ("not a mapping", '[A1, touch, "2026-11-16T12:03:00Z"]',
     '["A1", "touch", "2026-11-16T12:03:00Z"]'),
    ("after now", '{lead: A1, event: touch, at: "2026-12-16T10:00:00Z"}',
     '{"lead": "A1", "event": "touch", "at": "2026-12-16T10:00:00Z"}'),
]
MESSAGE = re.compile(r"event (\d+): (?:(lead|event|at): )?(.*)")


def samples_text(rows: list[tuple[str, str, str]]) -> str:
    """One timeline case per row: the good row, then the odd one (so the odd one is event 2)."""
    cases = [f"  - name: {what}\n    events:\n      - {GOOD[0]}\n      - {yaml_row}\n"
             "    expect: {reason_violations: 0}\n" for what, yaml_row, _ in rows]
    return f"policy: {POLICY}\nnow: {NOW}\ntimelines:\n" + "".join(cases)


def sla_rejects(folder: Path, name: str, lines: list[str], engine: str) -> dict[int, tuple[str, str]]:
    """`leadpolicy sla`'s rejects file for a log of `lines`: (field, problem) by row."""
    log = folder / f"{name}.jsonl"
    log.write_text("".join(line + "\n" for line in lines), "utf-8")
    rejects = folder / f"{name}.rejects.csv"
    code = main(["sla", str(folder / POLICY), str(log), "--now", NOW, "--engine", engine, "--report-only",
                 "--format", "json", "--rejects", str(rejects)])
    assert code == 0
    if not rejects.exists():
        return {}
    with rejects.open(newline="", encoding="utf-8") as handle:
        return {int(r["row"]): (r["field"], r["problem"]) for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("timelines")
    shutil.copy(POLICIES / POLICY, folder / POLICY)
    return folder


@pytest.fixture(scope="module")
def rejected(folder: Path) -> dict[int, tuple[str, str]]:
    """What `sla` rejects of a log holding the good row, then every odd row (row 2 + i is ROWS[i])."""
    found = sla_rejects(folder, "events", [GOOD[1]] + [jsonl for _, _, jsonl in ROWS], "python")
    assert found == sla_rejects(folder, "events-sql", [GOOD[1]] + [jsonl for _, _, jsonl in ROWS], "duckdb")
    return found


@pytest.fixture(scope="module")
def timeline_cases(folder: Path) -> tuple[int, dict[str, dict], str]:
    (folder / "odd.samples.yaml").write_text(samples_text(ROWS), "utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.chdir(folder)  # away from this checkout's settings (a coverage floor for policies/)
        code = main(["test", str(folder / "odd.samples.yaml"), "--format", "json"])
    report = json.loads(out.getvalue())
    assert not report["diagnostics"], [d.get("message") for d in report["diagnostics"]]
    return code, {c["name"]: c for c in report["cases"]}, err.getvalue()


@pytest.mark.parametrize("index", range(len(ROWS)), ids=[r[0] for r in ROWS])
def test_a_timeline_event_row_is_read_as_the_sla_reads_the_same_log_row(index, rejected, timeline_cases):
    _, cases, _ = timeline_cases
    case = cases[ROWS[index][0]]
    problem = rejected.get(2 + index)
    if problem is None:
        assert case["status"] != "error", case["failures"]
        assert case["actual"] == {"reason_violations": 0}
        return
    assert case["status"] == "error"
    said = [MESSAGE.fullmatch(failure) for failure in case["failures"]]
    assert [(int(m.group(1)), m.group(2) or "", m.group(3)) for m in said if m] == [(2, *problem)], case["failures"]


def test_the_table_holds_rows_both_refuse_and_rows_both_take(rejected):
    refused = {ROWS[row - 2][0] for row in rejected}
    assert {"blank event name", "a number for at", "missing lead", "not a mapping", "T24:00"} <= refused
    assert not {"YAML date", "a number for the reason", "after now"} & refused


def test_leadpolicy_test_never_exits_3_or_prints_a_traceback_on_odd_rows(timeline_cases):
    code, cases, err = timeline_cases
    assert code == 1 and len(cases) == len(ROWS)
    assert "Traceback" not in err


def test_an_event_after_now_in_a_timeline_is_a_good_row_no_clock_sees(folder, capsys):
    rows = ['{lead: A1, event: became_sql, at: "2026-11-20T09:00:00-05:00"}',
            '{lead: A1, event: first_touch, at: "2026-11-23T09:30:00-05:00"}']
    (folder / "later.samples.yaml").write_text(
        f"policy: {POLICY}\nnow: {NOW}\ntimelines:\n  - name: a touch after now stops no clock\n    events:\n"
        + "".join(f"      - {row}\n" for row in rows)
        + "    expect: {speed_to_lead: pending, at_risk: {speed_to_lead: yes}}\n"
        "  - name: the same timeline cut at now\n    events:\n"
        f"      - {rows[0]}\n    expect: {{speed_to_lead: pending, at_risk: {{speed_to_lead: yes}}}}\n", "utf-8")
    code = main(["test", str(folder / "later.samples.yaml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert [c["status"] for c in report["cases"]] == ["passed", "passed"]
    (folder / "later.jsonl").write_text(
        '{"lead": "A1", "event": "became_sql", "at": "2026-11-20T09:00:00-05:00"}\n'
        '{"lead": "A1", "event": "first_touch", "at": "2026-11-23T09:30:00-05:00"}\n', "utf-8")
    main(["sla", str(folder / POLICY), str(folder / "later.jsonl"), "--now", NOW, "--report-only", "--format", "json",
          "--rejects", str(folder / "later.rejects.csv")])
    sla = json.loads(capsys.readouterr().out)
    assert sla["rows"] == {"read": 2, "used": 2, "rejected": 0, "after_now": 1}
    assert (sla["slas"]["speed_to_lead"]["pending"], sla["slas"]["speed_to_lead"]["met"]) == (1, 0)


def test_a_bad_now_is_said_alike_by_a_lead_case_and_a_timeline(folder, capsys):
    (folder / "now.samples.yaml").write_text(
        f"policy: {POLICY}\nnow: \"2026-11-20T24:00:00\"\nleads:\n  - name: lead\n    lead: {{email: a@b.io}}\n"
        "    expect: {stage: null}\ntimelines:\n  - name: timeline\n    events:\n"
        f"      - {GOOD[0]}\n    expect: {{speed_to_lead: pending}}\n", "utf-8")
    code = main(["test", str(folder / "now.samples.yaml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    failures = {c["name"]: (c["status"], c["failures"]) for c in report["cases"]}
    assert failures["lead"] == failures["timeline"]
    assert failures["lead"][0] == "error" and failures["lead"][1][0].startswith("now: ")
