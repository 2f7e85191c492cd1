"""The SLA engine in SQL (`sla --engine duckdb`) against the Python reference: every timeline of both
references, and `leadpolicy sla` over messy logs, give the same report, rejects and details."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

from leadpolicy.cli.main import main
from leadpolicy.semantics.leads import read_instant
from leadpolicy.semantics.loading import load_policy
from leadpolicy.semantics.lowering import lower
from leadpolicy.sla.engine import Event, SlaEngine, TimelineResult
from leadpolicy.warehouse import sla_files, sla_run

from .conftest import POLICIES
from .files import read_csv

KINDS = ("clocks", "counts", "volumes", "violations", "recycles")


def comparable(result) -> tuple:
    """A result with its times as UTC instants (engines may show a deadline in another zone)."""
    return tuple(sorted((k, v.astimezone(dt.timezone.utc) if isinstance(v, dt.datetime) else v)
                        for k, v in dataclasses.asdict(result).items()))


def differences(python: TimelineResult, sql: TimelineResult) -> dict:
    found = {}
    for kind in KINDS:
        a, b = (sorted(map(comparable, getattr(side, kind)), key=repr) for side in (python, sql))
        if a != b:
            found[kind] = ([x for x in a if x not in b], [x for x in b if x not in a])
    if python.ignored_pauses != sql.ignored_pauses:
        found["ignored_pauses"] = (python.ignored_pauses, sql.ignored_pauses)
    return found


def write_records(path: Path, policy, records: dict) -> None:
    names = [f.name for f in policy.fields]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead_id", *names])
        for lead, record in records.items():
            writer.writerow([lead, *("" if record.get(n) is None else record[n] for n in names)])


def run_sql(policy, events: list[Event], now: dt.datetime, records: dict | None, folder: Path) -> TimelineResult:
    con = duckdb.connect()
    try:
        sla_run.load_events(con, events, now)
        leads = None
        if records:
            write_records(folder / "leads.csv", policy, records)
            sla_files.stage_leads(con, policy, folder / "leads.csv", "lead_id")
            leads = sla_files.LEADS
        return sla_run.evaluate(con, policy, now, leads)
    finally:
        con.close()


def timelines():
    for name in ("inbound-b2b", "inbound-activity"):
        doc = yaml.safe_load((POLICIES / f"{name}.samples.yaml").read_text())
        for case in doc.get("timelines") or []:
            yield pytest.param(name, doc, case, id=f"{name}: {case['name'][:50]}")


@pytest.mark.parametrize("name,doc,case", list(timelines()))
def test_every_reference_timeline_gives_the_same_results_in_sql(name, doc, case, tmp_path):
    policy = lower(load_policy(POLICIES / f"{name}.policy").policy)
    tz = ZoneInfo(policy.timezone)
    now = read_instant(str(case.get("now") or doc["now"]), tz)
    events = [Event(str(e["lead"]), e["event"], read_instant(str(e["at"]), tz), e.get("reason"), i + 1)
              for i, e in enumerate(case["events"])]
    records = {str(k): v for k, v in (case.get("leads") or {}).items()}
    python = SlaEngine(policy, records).evaluate(events, now)
    sql = run_sql(policy, events, now, records, tmp_path)
    assert differences(python, sql) == {}
    assert python.clocks or python.counts or python.volumes  # each timeline judges something


# ------------------------------------------------------------------ `leadpolicy sla` on both engines

def _v2_log(folder: Path) -> tuple[str, list[str]]:
    """The v2 reference's timelines as one log, plus rows each engine must reject alike; and its leads."""
    doc = yaml.safe_load((POLICIES / "inbound-activity.samples.yaml").read_text())
    rows = [(e["lead"], e["event"], e["at"].isoformat(), e.get("reason", ""))
            for t in doc["timelines"] for e in t["events"]]
    rows += [
        ("R1", "rejected", "2026-11-03T10:00:00-05:00", "not_now"),  # the same as an earlier row: a duplicate
        ("X1", "first_touch", "2026-11-16T15:00:00-05:00", ""),  # stops a clock that never started
        ("", "touch", "2026-11-16T15:00:00-05:00", ""),
        ("X2", "tuch", "2026-11-16T15:00:00-05:00", ""),
        ("X3", "touch", "yesterday", ""),
        ("X4", "touch", "", ""),
        ("X5", "", "2026-11-16T15:00:00-05:00", ""),
        ("X6", "touch", "2026-12-24T10:00:00-05:00", ""),  # after now: a good row that no clock sees
        ("Ünï", "became_sql", "2026-11-01T01:30:00", ""),  # a wall-clock time in the repeated hour
        ("Ünï", "first_touch", "2026-11-02T10:00:00", ""),
        ("W1", "handed_off", "2026-11-24T10:00:00-05:00", ""),  # stray pause flips, a pause at now
        ("W1", "lead_replied", "2026-11-24T10:30:00-05:00", ""),
        ("W1", "waiting_on_lead", "2026-11-24T11:00:00-05:00", ""),
        ("W1", "waiting_on_lead", "2026-11-24T12:00:00-05:00", ""),
    ]
    with open(folder / "events.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        writer.writerows(rows)
    records = {lead: record for t in doc["timelines"] for lead, record in (t.get("leads") or {}).items()}
    records["Ünï"] = {"email": "ü@example.com", "employees": 5000, "industry": "software", "source": "webinar"}
    records["A2"] = {"email": "not an email", "employees": "many"}  # a bad record: the otherwise tier
    policy = lower(load_policy(POLICIES / "inbound-activity.policy").policy)
    write_records(folder / "leads.csv", policy, records)
    return str(POLICIES / "inbound-activity.policy"), [str(folder / "events.csv"), "--leads",
                                                       str(folder / "leads.csv"), "--id-column", "lead_id"]


FLAGS = [
    ["--format", "json"],
    ["--format", "json", "--open"],
    ["--format", "json", "--from", "2026-11-10", "--to", "2026-11-25"],
    ["--format", "csv"],
    [],
]


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: " ".join(f) or "table")
def test_sla_reports_the_same_on_both_engines(tmp_path, capsys, flags):
    policy, log = _v2_log(tmp_path)
    outputs = {}
    for engine in ("python", "duckdb"):
        folder = tmp_path / engine
        folder.mkdir()
        args = ["sla", policy, *log, "--now", "2026-11-30T12:00:00-05:00", "--rejects", str(folder / "rejects.csv"),
                "--details", str(folder / "details.csv"), "--engine", engine, *flags]
        code = main(args)
        out, err = capsys.readouterr()
        details = [tuple(r.values()) for r in read_csv(folder / "details.csv")]  # in the same order, too
        outputs[engine] = (code, json.loads(out) if "json" in flags else out, err.replace(engine, ""),
                           read_csv(folder / "rejects.csv"), details)
    assert outputs["python"] == outputs["duckdb"]
    code, report, _, rejects, details = outputs["duckdb"]
    assert len({r["row"] for r in rejects}) == 7 and details
    if flags[:2] == ["--format", "json"] and len(flags) == 2:
        assert report["rows"]["read"] == report["rows"]["used"] + report["rows"]["rejected"]
        assert report["ignored_pauses"] == {"mql_acceptance": 2}


def test_an_empty_log_is_no_data_on_both_engines(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("lead,event,at,reason\n")
    policy = str(POLICIES / "inbound-activity.policy")
    results = []
    for engine in ("python", "duckdb"):
        code = main(["sla", policy, str(tmp_path / "empty.csv"), "--engine", engine, "--format", "json",
                     "--now", "2026-11-30T12:00:00-05:00"])
        results.append((code, json.loads(capsys.readouterr().out)))
    assert results[0] == results[1]
    assert results[0][0] == 1 and set(results[0][1]["no_data"]) == {"speed_to_lead", "mql_acceptance", "follow_up",
                                                                    "mql_volume"}


def test_policy_text_that_looks_like_a_placeholder_or_sql_stays_a_literal(tmp_path):
    from .test_sla_v2 import HEAD

    tricky = "\"#v0\" '#piece_choice' ' OR 1=1 --"
    escaped = tricky.replace("\\", "\\\\").replace('"', '\\"')
    sla = f'''  sla speed {{
    owner sales
    target 90%
    from handed_off until accepted
    within 1 hours when email = "{escaped}"
    within 4 hours otherwise
    escalate to "{escaped}" at 100%
  }}
'''
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(HEAD + sla + "}\n", "v2.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    policy = lower(loaded.policy)
    now = dt.datetime(2026, 11, 30, 17, tzinfo=dt.timezone.utc)
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)
    events = [Event("T", "handed_off", at, None, 1), Event("U", "handed_off", at, None, 2)]
    records = {"T": {"email": tricky}, "U": {"email": "u@example.com"}}
    python = SlaEngine(policy, records).evaluate(events, now)
    sql = run_sql(policy, events, now, records, tmp_path)
    assert differences(python, sql) == {}
    by_lead = {c.lead: c for c in sql.clocks}
    assert by_lead["T"].tier == f'email = "{escaped}"' and by_lead["U"].tier == "otherwise"
    assert by_lead["T"].escalated_to == tricky


CLOCK_CHANGE_CASES = [
    # (zone, open hours, clock start (local wall time), limit, the deadline the reference gives)
    ("America/New_York", "mon-sun 09:00-17:00", "2026-03-07T10:00:00", "1 business days",
     "2026-03-08T10:00:00-04:00"),  # lands on the spring-forward day, after the change
    ("America/New_York", "mon-sun 01:00-04:00", "2026-03-07T02:30:00", "1 business days",
     "2026-03-08T03:30:00-04:00"),  # 02:30 does not exist on the 8th: read with the offset before the change
    ("America/New_York", "mon-sun 00:00-24:00", "2026-10-31T01:30:00", "1 business days",
     "2026-11-01T01:30:00-04:00"),  # 01:30 happens twice on 1 November: the first
    ("America/New_York", "mon-sun 00:00-24:00", "2026-03-07T22:00:00", "8 business hours",
     "2026-03-08T07:00:00-04:00"),  # the skipped hour is not open time
    ("Australia/Lord_Howe", "mon-sun 01:00-03:00", "2026-04-04T02:00:00", "1 business days",
     "2026-04-05T02:00:00+10:30"),  # a half-hour change
    ("America/Santiago", "mon-sun 00:00-02:00", "2026-09-05T00:30:00", "1 business days",
     "2026-09-06T01:30:00-03:00"),  # the clocks change at midnight: 00:30 does not exist on the 6th
]


@pytest.mark.parametrize("zone,open_hours,start,limit,deadline", CLOCK_CHANGE_CASES)
def test_deadlines_across_clock_changes_agree_with_the_reference(tmp_path, zone, open_hours, start, limit, deadline):
    from leadpolicy.semantics.loading import load_policy_text

    from .test_sla_v2 import HEAD

    text = HEAD.replace('timezone "America/New_York"\n    open mon-fri 09:00-17:00',
                        f'timezone "{zone}"\n    open {open_hours}') + (
        f"  sla speed {{\n    owner sales\n    target 90%\n    from handed_off until accepted\n"
        f"    within {limit} on ny\n  }}\n}}\n")
    loaded = load_policy_text(text, "v2.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    policy = lower(loaded.policy)
    at = read_instant(start, ZoneInfo(zone))
    events = [Event("L", "handed_off", at, None, 1)]
    now = at + dt.timedelta(days=10)
    python = SlaEngine(policy).evaluate(events, now)
    # as UTC instants: Python calls a time in a repeated hour unequal to any time of another zone (PEP 495)
    assert python.clocks[0].deadline.astimezone(dt.timezone.utc) == dt.datetime.fromisoformat(deadline)
    assert differences(python, run_sql(policy, events, now, None, tmp_path)) == {}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_bad_row_is_rejected_alike_in_every_format(tmp_path, capsys, fmt):
    from .test_events import BAD, GOOD, write_csv, write_jsonl, write_parquet

    writer = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt]
    log = tmp_path / f"events.{fmt}"
    writer(log, GOOD + [row for row, _, _ in BAD])
    outputs = {}
    for engine in ("python", "duckdb"):
        rejects = tmp_path / f"{engine}.rejects.csv"
        code = main(["sla", str(POLICIES / "inbound-b2b.policy"), str(log), "--engine", engine, "--format", "json",
                     "--now", "2026-11-30T12:00:00-05:00", "--rejects", str(rejects)])
        outputs[engine] = (code, json.loads(capsys.readouterr().out), read_csv(rejects))
    assert outputs["python"] == outputs["duckdb"]
    assert [(r["field"], r["problem"]) for r in outputs["duckdb"][2]] == [(field, problem) for _, field, problem in BAD]


def test_auto_picks_the_sql_engine_for_a_large_log(tmp_path, monkeypatch, capsys):
    from leadpolicy.cli.commands import sla

    log = tmp_path / "events.csv"
    log.write_text("lead,event,at\nL1,became_sql,2026-11-16T10:00:00-05:00\n")
    assert sla.engine_for("auto", log) == "python" and sla.engine_for("python", log) == "python"
    monkeypatch.setattr(sla, "AUTO_DUCKDB_BYTES", log.stat().st_size)
    assert sla.engine_for("auto", log) == "duckdb"
    called = []
    real = sla._run_sql
    monkeypatch.setattr(sla, "_run_sql", lambda *args: called.append(True) or real(*args))
    assert main(["sla", str(POLICIES / "inbound-activity.policy"), str(log), "--now", "2026-11-30T12:00:00-05:00",
                 "--report-only"]) == 0
    assert called and "read 1, used 1, rejected 0" in capsys.readouterr().out


def test_a_tier_sql_cannot_state_falls_back_to_the_reference_unless_duckdb_is_asked_for(tmp_path, monkeypatch, capsys):
    from leadpolicy.cli.commands import sla

    from .test_sla_v2 import HEAD

    text = HEAD.replace("    employees number\n", "    employees number\n    signed_at timestamp\n") + '''  sla speed {
    owner sales
    target 90%
    from handed_off until accepted
    within 1 hours when signed_at >= 2026-01-01
    within 4 hours otherwise
  }
}
'''
    (tmp_path / "tiered.policy").write_text(text)
    (tmp_path / "events.csv").write_text("lead,event,at\nL1,handed_off,2026-11-16T10:00:00-05:00\n"
                                         "L1,accepted,2026-11-16T12:00:00-05:00\n")
    (tmp_path / "leads.csv").write_text("id,email,signed_at\nL1,a@b.co,2026-03-01T10:00:00Z\n")
    args = ["sla", str(tmp_path / "tiered.policy"), str(tmp_path / "events.csv"), "--leads",
            str(tmp_path / "leads.csv"), "--now", "2026-11-30T12:00:00-05:00", "--format", "json", "--report-only"]
    assert main([*args, "--engine", "duckdb"]) == 1
    assert "the SQL engine cannot evaluate this policy" in capsys.readouterr().err
    monkeypatch.setattr(sla, "AUTO_DUCKDB_BYTES", 0)  # auto would pick SQL: it falls back to the reference
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tiers"] == [{"sla": "speed", "tier": "signed_at >= 2026-01-01", "met": 0, "breached": 1,
                              "pending": 0, "compliance": 0.0, "target": 90.0, "meets_target": False}]


@pytest.mark.parametrize("limit", ["8 hours", "8 business hours on ny", "1 business days on ny"])
def test_a_pause_starting_exactly_at_the_deadline_changes_nothing_on_both_engines(tmp_path, limit):
    from leadpolicy.semantics.loading import load_policy_text

    from .test_sla_v2 import HEAD

    text = HEAD + ("  sla speed {\n    owner sales\n    target 90%\n    from handed_off until accepted\n"
                   f"    within {limit}\n    paused from waiting until replied\n  }}\n}}\n")
    policy = lower(load_policy_text(text, "v2.policy").policy)
    start = dt.datetime.fromisoformat("2026-11-16T09:00:00-05:00")  # Monday: every limit ends at 17:00
    deadline = dt.datetime.fromisoformat("2026-11-16T17:00:00-05:00") if "day" not in limit else \
        dt.datetime.fromisoformat("2026-11-17T09:00:00-05:00")
    events = [Event("L", "handed_off", start, None, 1), Event("L", "waiting", deadline, None, 2),
              Event("L", "replied", deadline + dt.timedelta(hours=2), None, 3)]
    now = deadline + dt.timedelta(days=3)
    python = SlaEngine(policy).evaluate(events, now)
    assert python.clocks[0].paused == dt.timedelta(0) and python.clocks[0].deadline == deadline
    assert differences(python, run_sql(policy, events, now, None, tmp_path)) == {}
