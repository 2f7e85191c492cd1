"""One reading of a time on every path: the same event times through `Policy.evaluate`, explain's row reader,
the standalone compiled module's `decide()`, the SLA log read by each engine and `score --events` on each
engine are accepted alike or refused in the same words; `now` given to `decide()` is checked as the API checks
it (n2 findings 1 and 6)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import leadpolicy
from leadpolicy.api import LeadError
from leadpolicy.semantics.codegen import module_source
from leadpolicy.semantics.events import EventReader
from leadpolicy.sla.engine import SlaEngine
from leadpolicy.warehouse import sla_files, staging
from leadpolicy.warehouse.batch import BatchOptions, EventInput, run
from leadpolicy.warehouse.event_log import EventLogReader

from .conftest import POLICIES
from .files import write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY = leadpolicy.load(POLICIES / "inbound-activity.policy")
LEAD = {"email": "a@bigsoft.io", "employees": 300, "industry": "software"}
NOT_ISO = "{!r} is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"
OUTSIDE = "{!r} is outside the supported years 1900 to 9899"
TIMES = {  # an event time as written -> None when it is read, else the words every path refuses it in
    "2026-11-18T10:00:00-05:00": None,
    "10000-01-01T00:00:00Z": NOT_ISO.format("10000-01-01T00:00:00Z"),
    "0999-01-01x": NOT_ISO.format("0999-01-01x"),
    "1763478000": NOT_ISO.format("1763478000"),
    "0000-01-01x": NOT_ISO.format("0000-01-01x"),
    "infinity": OUTSIDE.format("infinity"),
    "0000-01-01T00:00:00Z": OUTSIDE.format("0000-01-01T00:00:00Z"),
    "9900-01-01T00:00:00Z": OUTSIDE.format("9900-01-01T00:00:00Z"),
    "2026-02-29T10:00:00Z": "'2026-02-29T10:00:00Z' is not a real timestamp",
    "": "missing timestamp",
}
WRITTEN = list(TIMES)


def evaluated(at: Any) -> str | None:
    try:
        POLICY.evaluate(LEAD, now=NOW, events=[{"event": "touch", "at": at}])
    except LeadError as error:
        assert [e.field for e in error.errors] == ["events/1/at"]
        return error.errors[0].message
    return None


def explained(at: Any) -> str | None:
    _, errors = EventReader(POLICY.ir).read([{"event": "touch", "at": at}])
    assert [e.field for e in errors] in ([], ["at"])
    return errors[0].message if errors else None


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    path = tmp_path_factory.mktemp("module") / "compiled_policy.py"
    path.write_text(module_source(POLICY.ir), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("compiled_times_policy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decided(module: ModuleType, at: Any, now: dt.datetime = NOW) -> str | None:
    try:
        module.decide(LEAD, now, [("touch", at)] if at is not None else ())
    except ValueError as error:
        return str(error)
    return None


def log_rows(times: list[str]) -> list[list[str]]:
    return [["L1", "became_sql", "2026-11-17T10:00:00-05:00", ""]] + [["L1", "touch", at, ""] for at in times]


def by_time(rejects: list[tuple[int, str, str]]) -> dict[str, str | None]:
    """Each written time -> the words its row was refused in, or None (row 1 is the log's good first row)."""
    assert all(field == "at" for _, field, _ in rejects), rejects
    said = {row: problem for row, _, problem in rejects}
    assert 1 not in said
    return {at: said.get(row) for row, at in enumerate(WRITTEN, start=2)}


def sla_python(path: Path) -> list[tuple[int, str, str]]:
    reader = EventLogReader(path, SlaEngine(POLICY.ir).event_names(), ZoneInfo(POLICY.ir.timezone), NOW)
    for _ in reader.groups():
        pass
    return [(r.row, r.field, r.problem) for r in reader.rejects]


def sla_duckdb(path: Path) -> list[tuple[int, str, str]]:
    db = staging.Staging(timezone=POLICY.ir.timezone)
    try:
        _, rejects = sla_files.stage_events(db.con, POLICY.ir, path, staging.FORMATS[path.suffix], NOW)
    finally:
        db.close()
    return [(r.row, r.field, r.problem) for r in rejects]


def score(path: Path, engine: str) -> list[tuple[int, str, str]]:
    folder = path.parent
    write_csv(folder / "leads.csv", ["id", "email"], [["L1", "ana@bigsoft.io"]])
    result, _, _ = run(POLICY, BatchOptions(source=folder / "leads.csv", output=folder / f"scored-{engine}.csv",
                                            now=NOW, engine=engine, events=EventInput(path, "id")))
    assert result.events is not None
    return [(r["row"], r["field"], r["problem"]) for r in result.events.rejects]


FILE_PATHS = {"sla, python": sla_python, "sla, duckdb": sla_duckdb,
              "score, python": lambda path: score(path, "python"), "score, duckdb": lambda path: score(path, "duckdb")}


@pytest.fixture(scope="module")
def csv_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csv") / "events.csv"
    write_csv(path, ["lead", "event", "at", "reason"], log_rows(WRITTEN))
    return path


@pytest.mark.parametrize("at", WRITTEN)
def test_policy_evaluate_reads_a_time_as_the_table_says(at):
    assert evaluated(at) == TIMES[at]


@pytest.mark.parametrize("at", WRITTEN)
def test_explains_reader_reads_a_time_as_the_table_says(at):
    assert explained(at) == TIMES[at]


@pytest.mark.parametrize("at", WRITTEN)
def test_the_standalone_module_reads_a_time_as_the_table_says(compiled, at):
    assert decided(compiled, at) == TIMES[at]


@pytest.mark.parametrize("path", list(FILE_PATHS))
def test_every_file_reader_reads_a_time_as_the_table_says(csv_log, path):
    assert by_time(FILE_PATHS[path](csv_log)) == TIMES


NUMBER = 1763478000


@pytest.mark.parametrize("path", list(FILE_PATHS))
def test_a_json_number_as_a_time_is_worded_as_on_every_other_path(tmp_path, path):
    log = tmp_path / "events.jsonl"
    rows = [{"lead": "L1", "event": "became_sql", "at": "2026-11-17T10:00:00-05:00"},
            {"lead": "L1", "event": "touch", "at": NUMBER}]
    log.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    words = NOT_ISO.format(str(NUMBER))
    assert FILE_PATHS[path](log) == [(2, "at", words)]
    assert evaluated(NUMBER) == explained(NUMBER) == words


UTC = dt.timezone.utc
AWARE = {  # an aware datetime -> None when it is read, else the words both the API and the module refuse it in
    dt.datetime(2026, 11, 18, 15, tzinfo=UTC): None,
    dt.datetime(1899, 12, 31, 23, tzinfo=UTC): OUTSIDE.format("1899-12-31T23:00:00+00:00"),
    dt.datetime(1, 1, 1, tzinfo=UTC): OUTSIDE.format("0001-01-01T00:00:00+00:00"),
    dt.datetime(9999, 12, 31, tzinfo=UTC): OUTSIDE.format("9999-12-31T00:00:00+00:00"),
    dt.datetime(1900, 1, 1, tzinfo=ZoneInfo("America/New_York")): None,
}


@pytest.mark.parametrize("at", list(AWARE), ids=str)
def test_an_aware_event_time_is_read_alike_by_the_api_and_the_module(compiled, at):
    assert evaluated(at) == decided(compiled, at) == AWARE[at]


@pytest.mark.parametrize("now", list(AWARE), ids=str)
def test_now_is_read_alike_by_the_api_and_the_module(compiled, now):
    try:
        POLICY.evaluate(LEAD, now=now)
        api: str | None = None
    except ValueError as error:
        api = str(error)
    assert api == decided(compiled, None, now) == AWARE[now]
