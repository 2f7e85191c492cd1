"""One reading of a time on every path: the same event times through `Policy.evaluate`, explain's row reader,
the standalone compiled module's `decide()`, the SLA log read by each engine and `score --events` on each
engine are accepted alike or refused in the same words; `now` given to `decide()` is checked as the API checks
it (n2 findings 1 and 6)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
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


# ---------------------------------------------------------------- `now` read one way by every command (FX1)
# Two views of the pricing page 14 days and half an hour before now, and 14 days less half an hour: a window of
# 14 days holds the second only when its days are real 24-hour days from the instant `now` names. Counted by the
# wall clock, both are inside when `now` is after the clocks go back (November) and neither is when it is after
# the clocks go forward (March): engagement is 10 only when `now` is read as an instant.
ZONE = ZoneInfo("America/New_York")
NOW_FORMS = {  # `now` as written -> the instant it names
    "2026-11-10T12:00:00": dt.datetime(2026, 11, 10, 17, tzinfo=UTC),
    "2026-11-10T12:00:00-05:00": dt.datetime(2026, 11, 10, 17, tzinfo=UTC),
    "2026-11-10T17:00:00Z": dt.datetime(2026, 11, 10, 17, tzinfo=UTC),
    "2026-11-10 12:00:00": dt.datetime(2026, 11, 10, 17, tzinfo=UTC),
    "2026-11-10T12:00": dt.datetime(2026, 11, 10, 17, tzinfo=UTC),
    "2026-11-10": dt.datetime(2026, 11, 10, 5, tzinfo=UTC),
    "2026-03-10T12:00:00": dt.datetime(2026, 3, 10, 16, tzinfo=UTC),
    "2026-03-10T12:00:00-04:00": dt.datetime(2026, 3, 10, 16, tzinfo=UTC),
    "2026-11-01T01:30:00": dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # the repeated hour: its later occurrence
}
VIEWS_COUNTED = 1  # of the two views, by real days
HALF_HOUR = dt.timedelta(minutes=30)


def views(now: dt.datetime) -> list[dict[str, str]]:
    edge = now - dt.timedelta(days=14)
    return [{"event": "pricing_page_view", "at": (edge - HALF_HOUR).isoformat()},
            {"event": "pricing_page_view", "at": (edge + HALF_HOUR).isoformat()}]


def explained_scores(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """explain's JSON output and the scores its text says (`scores: fit 0, engagement 10, priority 10`)."""
    from leadpolicy.cli.main import main

    assert main(["explain", str(POLICIES / "inbound-activity.policy"), *argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert main(["explain", str(POLICIES / "inbound-activity.policy"), *argv]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("scores: "))
    said = dict(part.rsplit(" ", 1) for part in line.removeprefix("scores: ").split("; ")[0].split(", "))
    return out, {name: int(value) for name, value in said.items()}


def scored(tmp_path: Path, now: str, events: list[dict[str, str]], engine: str) -> dict[str, str]:
    from leadpolicy.cli.main import main

    from .files import read_csv

    write_csv(tmp_path / "leads.csv", ["id", "email"], [["L1", "x@acme.io"]])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], [["L1", e["event"], e["at"]] for e in events])
    out = tmp_path / f"scored-{engine}.csv"
    assert main(["score", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "leads.csv"), "-o", str(out),
                 "--events", str(tmp_path / "events.csv"), "--now", now, "--engine", engine, "--quiet"]) == 0
    return read_csv(out)[0]


@pytest.mark.parametrize("now", list(NOW_FORMS))
def test_explain_scores_a_now_as_score_and_the_api_do(tmp_path, capsys, now):
    events = views(NOW_FORMS[now])
    api = POLICY.evaluate({"email": "x@acme.io"}, now=now, events=events)
    assert api.scores["engagement"] == 10 * VIEWS_COUNTED  # the API counts real days (the table's premise)
    out, said = explained_scores(capsys, ["--lead", '{"email": "x@acme.io"}', "--events", json.dumps(events),
                                          "--now", now])
    assert out["scores"] == said == dict(api.scores), (out["scores"], said)
    assert {a["what"]: a["value"] for a in out["activity"]}["count pricing_page_view in last 14 days"] == VIEWS_COUNTED
    assert dt.datetime.fromisoformat(out["now"]) == NOW_FORMS[now]
    for engine in ("python", "duckdb"):
        row = scored(tmp_path, now, events, engine)
        assert {name: int(row[name]) for name in api.scores} == dict(api.scores), engine


def test_one_instant_written_two_ways_is_explained_alike(capsys):
    """The same instant with and without its offset: explain's whole JSON is the same (its events shown at
    `now`'s offset in both), so only the instant matters."""
    events = json.dumps(views(NOW_FORMS["2026-03-10T12:00:00"]))
    shown = [explained_scores(capsys, ["--lead", '{"email": "x@acme.io"}', "--events", events, "--now", now])[0]
             for now in ("2026-03-10T12:00:00", "2026-03-10T12:00:00-04:00")]
    assert shown[0] == shown[1]


def page_instant(shown: str) -> dt.datetime:
    """A time as the cases page shows it, read back: its wall clock in the policy's zone (the page's one clock), at
    the offset the page gives for a wall clock of the hour a clock change repeats."""
    match = re.fullmatch(r"\w{3} (\d{4}-\d\d-\d\d \d\d:\d\d)(?: \(UTC([+-]\d\d:\d\d)\))?", shown)
    assert match, shown
    local = dt.datetime.strptime(match[1], "%Y-%m-%d %H:%M")
    if match[2]:
        return local.replace(tzinfo=dt.datetime.strptime(match[2], "%z").tzinfo)
    zoned = local.replace(tzinfo=ZONE)
    assert zoned.utcoffset() == zoned.replace(fold=1).utcoffset(), f"{shown}: a repeated hour without its offset"
    return zoned


@pytest.mark.parametrize("now", list(NOW_FORMS))
def test_a_samples_now_is_read_alike_by_test_explain_and_the_cases_page(tmp_path, capsys, now):
    """One samples case, its `now` written unquoted as the file's: `leadpolicy test` passes it (engagement 10,
    as the API decides), `explain --lead` given the case scores it so at the same instant, and the published
    page says that `now` on the policy's clock and puts the same view outside the window."""
    from leadpolicy.cli.main import main
    from leadpolicy.publish.cases import sample_cases
    from leadpolicy.semantics.loading import load_policy

    policy = tmp_path / "activity.policy"
    policy.write_text((POLICIES / "inbound-activity.policy").read_text(), encoding="utf-8")
    events = "".join(f"      - {{event: {e['event']}, at: {e['at']}}}\n" for e in views(NOW_FORMS[now]))
    engagement = POLICY.evaluate({"email": "x@acme.io"}, now=now, events=views(NOW_FORMS[now])).scores["engagement"]
    (tmp_path / "activity.samples.yaml").write_text(
        f"policy: activity.policy\nnow: {now}\nleads:\n  - name: two views about 14 days ago\n"
        f"    lead: {{email: x@acme.io}}\n    events:\n{events}    expect: {{engagement: {engagement}}}\n",
        encoding="utf-8")
    assert main(["test", str(tmp_path / "activity.samples.yaml")]) == 0, capsys.readouterr().out

    case = tmp_path / "case.yaml"
    case.write_text(f"lead: {{email: x@acme.io}}\nnow: {now}\nevents:\n{events.replace('      ', '  ')}",
                    encoding="utf-8")
    capsys.readouterr()
    out, said = explained_scores(capsys, ["--lead", str(case)])
    assert out["scores"]["engagement"] == said["engagement"] == engagement == 10 * VIEWS_COUNTED
    assert dt.datetime.fromisoformat(out["now"]) == NOW_FORMS[now]

    loaded = load_policy(policy)
    assert loaded.policy is not None
    page = sample_cases(policy, loaded.policy, lambda words: words())
    assert not page.problems and page_instant(page.now) == NOW_FORMS[now], (page.problems, page.now)
    lines = page.samples[0]["events"]
    assert [line.endswith("outside the 14-day window") for line in lines] == [True, False], lines


@pytest.mark.parametrize(("now", "words"), [
    ("5", "--lead: now: '5' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"),
    ("true", "--lead: now: not a timestamp: yes/no (a time is text such as 2026-11-20T12:00:00-05:00)"),
    ('"soon"', "--lead: now: 'soon' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)")])
def test_a_case_now_that_is_no_time_is_said_as_an_event_time_is(capsys, now, words):
    """explain --lead refuses a case's `now` in the words every reader of a time uses, never a Python value."""
    from leadpolicy.cli.main import main

    case = '{"lead": {"email": "x@acme.io"}, "now": ' + now + "}"
    assert main(["explain", str(POLICIES / "inbound-activity.policy"), "--lead", case]) == 2
    err = capsys.readouterr().err
    assert words in err and "True" not in err, err
