"""One rule for an event row given twice (`semantics.events.Repeats`): a row at or before `now` repeating an
earlier one (same lead, event and instant; in an SLA log also the same reason, compared ignoring case) is
rejected as "duplicate of row N", N the first. The same rows through every reader: a samples timeline, one
lead's events (`Policy.evaluate`, `explain --events`, a lead case, the standalone compiled module's `decide()`),
`score --events` (both engines), `sla` (both engines), the compiled SLA query and the compiled decision query: the
same rows rejected in the same words, the same counts (a query rejects nothing: it counts a repeated row once).
Every reader trims blanks around an event's lead id, the compiled decision query too."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

import leadpolicy
from leadpolicy.api import LeadError
from leadpolicy.cli.main import main
from leadpolicy.semantics.codegen import module_source
from leadpolicy.semantics.events import EventReader
from leadpolicy.testing.harness import timeline_events
from leadpolicy.warehouse.batch import BatchOptions, EventInput, run
from leadpolicy.warehouse.sla_compile import compile_sla
from leadpolicy.warehouse.sqlgen import compile_sql

from .conftest import POLICIES
from .files import read_csv, write_csv

NOW_TEXT = "2026-12-10T12:00:00-05:00"
NOW = dt.datetime.fromisoformat(NOW_TEXT)
POLICY = leadpolicy.load(POLICIES / "inbound-activity.policy")
TZ = ZoneInfo(POLICY.ir.timezone)
ROWS = [  # (lead, event, at): one lead's log
    ("L1", "became_sql", "2026-11-20T16:00:00-05:00"),
    ("L1", "touch", "2026-11-20T16:30:00-05:00"),
    ("L1", "touch", "2026-11-20T16:30:00-05:00"),
    ("L1", "touch", "2026-11-20T21:30:00Z"),  # the same instant written at another offset
    ("L1", "touch", "2026-11-20T16:30:00-05:00"),
    ("L1", "touch", "2026-11-20T16:30:00-05:00"),
    ("L1", "pricing_page_view", "2026-12-05T10:00:00-05:00"),
    ("L1", "pricing_page_view", "2026-12-05T10:00:00-05:00"),
    ("L1", "email_click", "2026-12-05T10:00:00-05:00"),  # another event at the same instant: a row of its own
    ("L1", "touch", "2026-12-11T10:00:00-05:00"),  # after now: a good row, never counted
    ("L1", "touch", "2026-12-11T10:00:00-05:00"),  # after now, repeated: still a good row no clock sees
]
EXPECTED = {3: "duplicate of row 2", 4: "duplicate of row 2", 5: "duplicate of row 2", 6: "duplicate of row 2",
            8: "duplicate of row 7"}
ENGAGEMENT = 15  # one pricing page view (10) and one email click (5): a repeated view counts once


def write_log(folder: Path) -> Path:
    write_csv(folder / "events.csv", ["lead", "event", "at", "reason"], [[*row, ""] for row in ROWS])
    return folder / "events.csv"


def test_a_timeline_rejects_the_rows_sla_rejects():
    events, errors = timeline_events([{"lead": lead, "event": event, "at": at} for lead, event, at in ROWS],
                                     {e.name for e in POLICY.ir.events}, TZ, NOW)
    assert {e.row: (e.field, e.message) for e in errors} == {row: ("", words) for row, words in EXPECTED.items()}
    assert [e.row for e in events] == [row for row in range(1, len(ROWS) + 1) if row not in EXPECTED]


def samples(folder: Path, expect: dict[str, object], timeline: bool) -> Path:
    rows = "\n".join(f"      - {{lead: {lead}, event: {event}, at: \"{at}\"}}" for lead, event, at in ROWS)
    lead_rows = "\n".join(f"      - {{event: {event}, at: \"{at}\"}}" for _, event, at in ROWS)
    (folder / "p.policy").write_text((POLICIES / "inbound-activity.policy").read_text())
    case = (f"timelines:\n  - name: repeated rows\n    events:\n{rows}\n    expect: {json.dumps(expect)}\n"
            if timeline else
            f"leads:\n  - name: repeated rows\n    lead: {{email: a@b.io}}\n    events:\n{lead_rows}\n"
            f"    expect: {json.dumps(expect)}\n")
    (folder / "p.samples.yaml").write_text(f"policy: p.policy\nnow: \"{NOW_TEXT}\"\n{case}")
    return folder / "p.samples.yaml"


@pytest.mark.parametrize("timeline", [True, False], ids=["timeline", "lead case"])
def test_leadpolicy_test_puts_a_case_with_repeated_rows_in_error_in_the_words_of_sla(tmp_path, capsys, timeline):
    path = samples(tmp_path, {"follow_up": "met"} if timeline else {"engagement": 25}, timeline)
    code = main(["test", str(path), "--format", "json"])
    case = json.loads(capsys.readouterr().out)["cases"][0]
    assert code == 1
    assert case["status"] == "error"
    assert case["failures"] == [f"event {row}: {words}" for row, words in EXPECTED.items()]


def test_policy_evaluate_refuses_a_repeated_event_naming_it():
    events = [{"event": event, "at": at} for _, event, at in ROWS]
    with pytest.raises(LeadError) as refused:
        POLICY.evaluate({"email": "a@b.io"}, NOW, events)
    assert {(e.field, e.message) for e in refused.value.errors} == {(f"events/{row}", words)
                                                                    for row, words in EXPECTED.items()}
    kept = [e for row, e in enumerate(events, start=1) if row not in EXPECTED]
    assert POLICY.evaluate({"email": "a@b.io"}, NOW, kept).scores["engagement"] == ENGAGEMENT


def test_the_standalone_module_refuses_a_repeated_event_as_policy_evaluate_does(tmp_path):
    path = tmp_path / "compiled_repeats_policy.py"
    path.write_text(module_source(POLICY.ir), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("compiled_repeats_policy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lead, events = {"email": "a@b.io"}, [(event, at) for _, event, at in ROWS]
    with pytest.raises(LeadError) as refused:
        POLICY.evaluate(lead, NOW, [{"event": event, "at": at} for event, at in events])
    first = refused.value.errors[0]
    with pytest.raises(ValueError) as decided:  # as its other bad events: a ValueError, here naming the row
        module.decide(lead, NOW, events)
    assert str(decided.value) == f"event {first.field.removeprefix('events/')}: {first.message}"
    assert str(decided.value) == f"event {min(EXPECTED)}: {EXPECTED[min(EXPECTED)]}"
    kept = [e for row, e in enumerate(events, start=1) if row not in EXPECTED]
    assert module.decide(lead, NOW, kept)["scores"]["engagement"] == ENGAGEMENT
    at = dt.datetime(2026, 12, 5, 10, tzinfo=dt.timezone.utc)
    assert module.decide(lead, NOW, [("touch", at)]) == module.decide(lead, NOW, [("touch", at.isoformat())])
    assert module.decide(lead, NOW, [("touch", at), ("email_click", at)])["scores"]["engagement"] == 5
    after = NOW + dt.timedelta(hours=1)  # a repeat after now is a good row that nothing counts
    assert module.decide(lead, NOW, [("touch", after), ("touch", after)]) == module.decide(lead, NOW)


def test_one_lead_s_reader_keeps_one_or_no_event_and_two_events_at_one_instant():
    reader = EventReader(POLICY.ir)
    at = dt.datetime(2026, 12, 5, 10, tzinfo=dt.timezone.utc)
    assert reader.read([], now=NOW) == ([], [])
    assert reader.read([{"event": "touch", "at": at}], now=NOW) == ([("touch", at)], [])
    both = [{"event": "touch", "at": at}, {"event": "email_click", "at": at}]
    assert reader.read(both, now=NOW) == ([("touch", at), ("email_click", at)], [])
    events, errors = reader.read([{"event": "touch", "at": at}, {"event": "touch", "at": at}], now=NOW)
    assert events == [("touch", at)] and [str(e) for e in errors] == ["event 2: duplicate of row 1"]


def test_explain_refuses_a_repeated_event_as_bad_usage(capsys):
    events = [{"event": event, "at": at} for _, event, at in ROWS]
    code = main(["explain", str(POLICIES / "inbound-activity.policy"), "--lead", '{"email": "a@b.io"}',
                 "--events", json.dumps(events), "--now", NOW_TEXT, "--format", "json"])
    said = capsys.readouterr().err
    assert code == 2
    assert "duplicate of row 2 (and 4 more)" in said


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_events_rejects_the_repeated_rows(tmp_path, engine):
    log = write_log(tmp_path)
    write_csv(tmp_path / "leads.csv", ["id", "email"], [["L1", "a@b.io"]])
    result, _, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                            engine=engine, events=EventInput(log, "id")))
    stats = result.events
    assert stats is not None
    assert (stats.read, stats.used, stats.rejected, stats.after_now) == (len(ROWS), len(ROWS) - 5, 5, 2)
    assert {r["row"]: (r["field"], r["problem"]) for r in stats.rejects} == {row: ("", words)
                                                                         for row, words in EXPECTED.items()}
    rejected = read_csv(stats.rejects_path) if stats.rejects_path else []
    assert {int(r["row"]): (r["problem"], r["event"]) for r in rejected} == {
        row: (words, ROWS[row - 1][1]) for row, words in EXPECTED.items()}
    assert int(read_csv(tmp_path / "scored.csv")[0]["engagement"]) == ENGAGEMENT


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_rejects_the_repeated_rows_and_breaches_follow_up(tmp_path, capsys, engine):
    log = write_log(tmp_path)
    code = main(["sla", str(POLICIES / "inbound-activity.policy"), str(log), "--now", NOW_TEXT, "--engine", engine,
                 "--format", "json", "--rejects", str(tmp_path / "rejects.csv")])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    assert report["rows"] == {"read": len(ROWS), "used": len(ROWS) - 5, "rejected": 5, "after_now": 2}
    assert {int(r["row"]): r["problem"] for r in read_csv(tmp_path / "rejects.csv")} == EXPECTED
    assert report["slas"]["follow_up"]["breached"] == 1


def test_the_compiled_sla_query_counts_a_repeated_row_once_and_no_blank_lead():
    con = duckdb.connect()
    con.execute('CREATE TABLE events (lead VARCHAR, event VARCHAR, "at" TIMESTAMPTZ, reason VARCHAR)')
    rows = [*ROWS, ("  ", "became_sql", "2026-11-20T16:00:00-05:00"), ("", "touch", "2026-11-20T17:00:00-05:00")]
    con.executemany("INSERT INTO events VALUES (?, ?, ?, NULL)", [[lead, event, dt.datetime.fromisoformat(at)]
                                                                  for lead, event, at in rows])
    query = compile_sla(POLICY.ir, "follow_up", "duckdb", NOW, "events", since=dt.date(2026, 11, 1))
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, row)) for row in cursor.fetchall()]
    assert [(r["lead"], r["n_events"], r["status"]) for r in found] == [("L1", 1, "breached")]


def test_sla_folds_the_reason_of_a_repeated_row_and_keeps_another_reason(tmp_path, capsys):
    rows = [("L1", "handed_off", "2026-11-16T10:00:00-05:00", ""),
            ("L1", "rejected", "2026-11-16T15:00:00-05:00", "not_now"),
            ("L1", "rejected", "2026-11-16T15:00:00-05:00", "NOT_NOW"),
            ("L1", "rejected", "2026-11-16T15:00:00-05:00", "too_small")]
    events, errors = timeline_events([dict(zip(("lead", "event", "at", "reason"), row)) for row in rows],
                                     {e.name for e in POLICY.ir.events}, TZ, NOW)
    assert [str(e) for e in errors] == ["event 3: duplicate of row 2"]
    write_csv(tmp_path / "events.csv", ["lead", "event", "at", "reason"], rows)
    for engine in ("python", "duckdb"):
        main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "events.csv"), "--now", NOW_TEXT,
              "--engine", engine, "--format", "json", "--rejects", str(tmp_path / "rejects.csv")])
        capsys.readouterr()
        assert [(int(r["row"]), r["problem"]) for r in read_csv(tmp_path / "rejects.csv")] == [
            (3, "duplicate of row 2")], engine


def decided_by_the_compiled_query(rows: list[tuple[str, str, str]]) -> dict[str, object]:
    """Lead L1's decision by `compile --target sql --events-table events` run on DuckDB over the events `rows`."""
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (id VARCHAR, email VARCHAR, employees DOUBLE, industry VARCHAR, source VARCHAR)")
    con.execute("INSERT INTO leads VALUES ('L1', 'a@b.io', 300, 'software', 'webinar')")
    con.execute('CREATE TABLE events (lead VARCHAR, event VARCHAR, "at" TIMESTAMPTZ)')
    con.executemany("INSERT INTO events VALUES (?, ?, ?)", [[lead, event, dt.datetime.fromisoformat(at)]
                                                            for lead, event, at in rows])
    cursor = con.execute(compile_sql(POLICY.ir, "duckdb", "leads", NOW, events_table="events"))
    names = [d[0] for d in cursor.description]
    (decided,) = [dict(zip(names, row)) for row in cursor.fetchall()]
    return decided


def test_the_compiled_decision_query_counts_a_repeated_row_once_as_score_does(tmp_path):
    decided = decided_by_the_compiled_query(ROWS)
    write_log(tmp_path)
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [["L1", "a@b.io", "300", "software", "webinar"]])
    run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW, engine="duckdb",
                             events=EventInput(tmp_path / "events.csv", "id")))
    scored = read_csv(tmp_path / "scored.csv")[0]
    assert decided["engagement"] == ENGAGEMENT == int(scored["engagement"])
    assert (decided["count pricing_page_view in last 14 days"], decided["priority"], decided["tier"]) == (
        1, int(scored["priority"]), scored["tier"])


def test_the_compiled_decision_query_counts_copies_at_one_instant_written_at_other_offsets_once():
    clicks = [("L1", "email_click", at) for at in ("2026-12-05T10:00:00-05:00", "2026-12-05T10:00:00-05:00",
                                                   "2026-12-05T15:00:00Z", "2026-12-05T10:00:00-05:00")]
    decided = decided_by_the_compiled_query([*clicks, ("L1", "demo_request", "2026-12-04T09:00:00-05:00"),
                                             ("L1", "demo_request", "2026-12-04T09:00:00-05:00")])
    alone = decided_by_the_compiled_query([clicks[0], ("L1", "demo_request", "2026-12-04T09:00:00-05:00")])
    assert decided["count email_click in last 30 days"] == 1
    assert {k: decided[k] for k in ("engagement", "priority", "tier")} == {
        k: alone[k] for k in ("engagement", "priority", "tier")}


@pytest.mark.parametrize("lead", [" L1 ", "L1\t", "\nL1"], ids=["spaces", "tab", "newline"])
def test_the_compiled_decision_query_trims_the_event_s_lead_id_as_score_does(lead):
    blanks = decided_by_the_compiled_query([(lead, "pricing_page_view", "2026-12-05T10:00:00-05:00"),
                                            (lead, "email_click", "2026-12-05T10:00:00-05:00")])
    plain = decided_by_the_compiled_query([("L1", "pricing_page_view", "2026-12-05T10:00:00-05:00"),
                                           ("L1", "email_click", "2026-12-05T10:00:00-05:00")])
    assert blanks["engagement"] == plain["engagement"] == ENGAGEMENT
