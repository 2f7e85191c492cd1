"""One reading of event rows: the same hostile rows through every reader (one lead's rows in memory, the
SLA log read for the reference engine, the SLA log staged for the SQL engine, `score --events`) are
rejected alike (row, field, problem), read = used + rejected on each, and an event after `now` is a good
row everywhere: never rejected, never counted."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.semantics.events import EventReader as RowReader
from leadpolicy.sla.engine import SlaEngine
from leadpolicy.sla.events import EventFileError
from leadpolicy.warehouse import sla_files, staging
from leadpolicy.warehouse.batch import BatchOptions, EventInput, run
from leadpolicy.warehouse.event_log import EventLogReader as LogReader
from leadpolicy.warehouse.lead_rows import BatchError

from .conftest import POLICIES
from .files import write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY = leadpolicy.load(POLICIES / "inbound-activity.policy")
ROWS = [  # (lead, event, at)
    ("L1", "became_sql", "2026-11-18T10:00:00-05:00"),
    ("L1", "first_touch", "2026-11-19T10:00:00-05:00"),
    ("", "touch", "2026-11-19T10:00:00-05:00"),
    ("L1", "", "2026-11-19T10:00:00-05:00"),
    ("L1", "fist_touch", "2026-11-19T11:00:00-05:00"),
    ("L1", "touch", ""),
    ("L1", "touch", "yesterday"),
    ("L1", "touch", "2026-02-29T10:00:00Z"),
    ("L1", "touch", "0000-01-01T00:00:00Z"),
    ("L1", "touch", "9900-01-01T00:00:00Z"),
    ("L1", "touch", "2026-11-19T10:00:00+25:00"),
    ("L1", "touch", "2026-11-18T24:00:00"),
    ("L1", "touch", " 2026-11-19T12:00:00-05:00 "),
    ("L1", "touch", "2026-12-24T10:00:00-05:00"),  # after now: a good row, never counted
    ("L1", "touch", "9899-12-31T23:59:59Z"),  # after now, in the last supported year
]
EXPECTED = {  # the rows every reader rejects, with the same field and words
    3: ("lead", "missing lead id"),
    4: ("event", "missing event name"),
    5: ("event", "unknown event 'fist_touch' (did you mean \"first_touch\"?)"),
    6: ("at", "missing timestamp"),
    7: ("at", "'yesterday' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"),
    8: ("at", "'2026-02-29T10:00:00Z' is not a real timestamp"),
    9: ("at", "'0000-01-01T00:00:00Z' is outside the supported years 1900 to 9899"),
    10: ("at", "'9900-01-01T00:00:00Z' is outside the supported years 1900 to 9899"),
    11: ("at", "'2026-11-19T10:00:00+25:00' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"),
    12: ("at", "'2026-11-18T24:00:00' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"),
}


def first_problems(rejects: list[tuple[int, str, str]]) -> dict[int, tuple[str, str]]:
    """Each rejected row's first problem, by field in the order lead, event, at (a reader may name more)."""
    order = {"lead": 0, "event": 1, "at": 2}
    firsts: dict[int, tuple[str, str]] = {}
    for row, name, problem in sorted(rejects, key=lambda r: (r[0], order.get(r[1], 3))):
        firsts.setdefault(row, (name, problem))
    return firsts


def in_memory() -> tuple[dict[int, tuple[str, str]], int]:
    """One lead's rows as `evaluate`, `explain` and `test` read them (a row without a lead id is one
    another lead's reader never sees: it is rejected for its lead here, as the log readers do)."""
    given = [{"event": event, "at": at} for lead, event, at in ROWS if lead]
    rows = [row for row, (lead, _, _) in enumerate(ROWS, start=1) if lead]
    events, errors = RowReader(POLICY.ir).read(given)
    found = {rows[e.row - 1]: (e.field, e.message) for e in errors}
    found.update({row: ("lead", "missing lead id") for row, (lead, _, _) in enumerate(ROWS, start=1) if not lead})
    return found, len(events)


def log_python(path: Path) -> tuple[dict[int, tuple[str, str]], int]:
    reader = LogReader(path, SlaEngine(POLICY.ir).event_names(), ZoneInfo(POLICY.ir.timezone), NOW)
    used = sum(len(events) for _, events in reader.groups())
    assert reader.stats.read == len(ROWS) == reader.stats.used + reader.stats.rejected
    assert reader.stats.used == used + reader.stats.after_now
    return first_problems([(r.row, r.field, r.problem) for r in reader.rejects]), reader.stats.used


def log_sql(path: Path) -> tuple[dict[int, tuple[str, str]], int]:
    db = staging.Staging(timezone=POLICY.ir.timezone)
    try:
        stats, rejects = sla_files.stage_events(db.con, POLICY.ir, path, "csv", NOW)
    finally:
        db.close()
    assert stats.read == len(ROWS) == stats.used + stats.rejected
    return first_problems([(r.row, r.field, r.problem) for r in rejects]), stats.used


def score_events(path: Path, folder: Path) -> tuple[dict[int, tuple[str, str]], int]:
    write_csv(folder / "leads.csv", ["id", "email"], [["L1", "ana@bigsoft.io"]])
    result, _, _ = run(POLICY, BatchOptions(source=folder / "leads.csv", output=folder / "scored.csv", now=NOW,
                                            engine="duckdb", events=EventInput(path, "id")))
    stats = result.events
    assert stats is not None and stats.read == len(ROWS) == stats.used + stats.rejected
    return first_problems([(r["row"], r["field"], r["problem"]) for r in stats.rejects]), stats.used


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("events")
    write_csv(folder / "events.csv", ["lead", "event", "at", "reason"], [[*row, ""] for row in ROWS])
    return folder / "events.csv"


@pytest.fixture(scope="module")
def readings(log: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[int, tuple[str, str]], int]]:
    return {"in memory": in_memory(), "sla, python": log_python(log), "sla, duckdb": log_sql(log),
            "score --events": score_events(log, tmp_path_factory.mktemp("score"))}


@pytest.mark.parametrize("reader", ["in memory", "sla, python", "sla, duckdb", "score --events"])
def test_every_reader_rejects_the_same_rows_with_the_same_words(readings, reader):
    rejected, used = readings[reader]
    assert {row: rejected[row] for row in EXPECTED if row in rejected} == EXPECTED
    assert rejected == readings["in memory"][0], reader
    assert used == len(ROWS) - len(rejected)


@pytest.mark.parametrize("reader", ["in memory", "sla, python", "sla, duckdb", "score --events"])
def test_an_event_after_now_is_a_good_row_everywhere(readings, reader):
    rejected, _ = readings[reader]
    assert 14 not in rejected and 15 not in rejected


LOG_NOW = "2026-11-20T12:00:00-05:00"
BEFORE = [("L1", "became_sql", "2026-11-16T10:00:00-05:00", ""), ("L1", "touch", "2026-11-17T10:00:00-05:00", "")]
LATER_ROWS = [("L1", "first_touch", "2026-11-23T10:00:00-05:00", ""), ("L1", "touch", "2026-11-24T10:00:00-05:00", "")]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_reports_a_log_with_events_after_now_as_the_log_cut_at_now(tmp_path, capsys, engine):
    reports = {}
    for name, rows in (("cut", BEFORE), ("whole", BEFORE + LATER_ROWS)):
        write_csv(tmp_path / f"{name}.csv", ["lead", "event", "at", "reason"], rows)
        main(["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / f"{name}.csv"), "--now", LOG_NOW,
              "--engine", engine, "--format", "json", "--rejects", str(tmp_path / f"{name}.rejects.csv")])
        reports[name] = json.loads(capsys.readouterr().out)
    assert reports["whole"]["rows"] == {"read": 4, "used": 4, "rejected": 0, "after_now": 2}
    assert reports["whole"]["slas"] == reports["cut"]["slas"]
    assert reports["whole"]["slas"]["speed_to_lead"]["met"] == 0  # the first touch after now stops no clock


def test_explain_shows_an_event_after_now_and_does_not_count_it(capsys):
    events = [{"event": "demo_request", "at": "2026-11-21T10:00:00-05:00"}]
    code = main(["explain", str(POLICIES / "inbound-activity.policy"), "--lead", '{"email": "a@b.io"}',
                 "--events", json.dumps(events), "--now", LOG_NOW, "--format", "json"])
    shown = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [e.get("after_now") for e in shown["events"]] == [True]
    assert shown["scores"]["engagement"] == 0


def test_a_log_lacking_a_column_is_refused_in_the_same_words_by_every_reader(tmp_path):
    write_csv(tmp_path / "events.csv", ["lead", "event", "when"], [["L1", "touch", "2026-11-19T10:00:00Z"]])
    write_csv(tmp_path / "leads.csv", ["id", "email"], [["L1", "ana@bigsoft.io"]])
    said = []
    with pytest.raises(BatchError) as score_error:
        run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                 engine="duckdb", events=EventInput(tmp_path / "events.csv", "id")))
    said.append(str(score_error.value))
    with pytest.raises(EventFileError) as sla_error:
        log_python(tmp_path / "events.csv")
    said.append(str(sla_error.value))
    with pytest.raises(EventFileError) as sql_error:
        log_sql(tmp_path / "events.csv")
    said.append(str(sql_error.value))
    tails = {text[text.index("lacks column"):] for text in said}
    assert tails == {"lacks column at (at: no such column); an event log has the columns lead, event and at, "
                     "and optionally reason"}
