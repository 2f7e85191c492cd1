"""SLA benchmark: the reference policy's SLAs over generated event logs.

    python benchmarks/sla_events.py [--events 1100000] [--leads 200000] [--runs 3]
    python benchmarks/sla_events.py --events 10000000 --leads 2000000 --runs 1 --sql-only

Generates an event log (fixed seed) as Parquet with DuckDB, then times, as medians:
  (a) the floor: DuckDB reads and sorts the log and Python walks every row, grouped by lead;
  (b) leadpolicy's full SLA report (validation, clocks, counts, volumes, reasons, recycling), rendered
      as `leadpolicy sla` prints it by default (the table, with the first 20 breaches), on the Python
      engine (`--engine python`, the reference);
  (c) the same report on the SQL engine (`--engine duckdb`), which must equal (b).
Prints each, the ratios to (a) and (b)/(c), events per second and peak memory. Each run is a fresh
process (so peak memory is the run's own), started by this script.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import in_fresh_process, in_turns, print_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "inbound-b2b.policy"
NOW = "2026-12-31T12:00:00-05:00"


def generate(path: Path, events: int, leads: int, seed: float = 0.42) -> None:
    """About `events` events over `leads` leads in Oct-Dec 2026, written with DuckDB."""
    import duckdb

    per_lead = max(events // leads, 2)
    con = duckdb.connect()
    con.execute("SELECT setseed(?)", [seed])
    con.execute("""
        CREATE TABLE leads AS
        SELECT i AS n, 'L' || i AS "lead",
               TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_seconds(CAST(random() * 80 * 86400 AS BIGINT)) AS t0,
               random() AS r
        FROM range(?) t(i)""", [leads])
    con.execute("""
        CREATE TABLE events AS
        SELECT "lead", 'became_sql' AS "event", t0 AS "at", CAST(NULL AS VARCHAR) AS "reason" FROM leads
        UNION ALL SELECT "lead", 'first_touch', t0 + to_seconds(CAST(r * 3 * 86400 AS BIGINT)), NULL FROM leads
        UNION ALL SELECT "lead", 'handed_off', t0, NULL FROM leads WHERE r < 0.5
        UNION ALL SELECT "lead", CASE WHEN r < 0.2 THEN 'rejected' ELSE 'accepted' END,
               t0 + to_seconds(CAST(r * 4 * 86400 AS BIGINT)),
               CASE WHEN r < 0.1 THEN 'not_now' WHEN r < 0.2 THEN 'too_small' END FROM leads WHERE r < 0.5
        UNION ALL SELECT "lead", 'became_mql', t0, NULL FROM leads WHERE r >= 0.5
        UNION ALL SELECT l."lead", 'touch', l.t0 + to_seconds(CAST(k * 86400 * (0.5 + l.r) AS BIGINT)), NULL
               FROM leads l, range(?) s(k)""", [max(per_lead - 3, 1)])
    con.sql("""SELECT "lead", "event", strftime("at", '%Y-%m-%dT%H:%M:%S+00:00') AS "at", "reason"
               FROM events ORDER BY random()""").write_parquet(str(path))


def run_floor(path: str) -> dict:
    import time
    from zoneinfo import ZoneInfo

    from common import peak_rss_mb

    from leadpolicy.semantics.leads import parse_timestamp
    from leadpolicy.semantics.loading import load_policy
    from leadpolicy.semantics.lowering import lower
    from leadpolicy.sla.engine import SlaEngine
    from leadpolicy.sla.events import EventReader

    policy = lower(load_policy(POLICY).policy)
    tz = ZoneInfo("UTC")
    start = time.perf_counter()
    reader = EventReader(path, SlaEngine(policy).event_names(), tz, parse_timestamp(NOW, tz))
    leads = sum(1 for _ in reader.groups())
    return {"seconds": time.perf_counter() - start, "rows": reader.stats.read, "leads": leads,
            "peak_mb": peak_rss_mb()}


def run_report(path: str) -> dict:
    import time
    from zoneinfo import ZoneInfo

    from common import peak_rss_mb

    from leadpolicy.semantics.leads import parse_timestamp
    from leadpolicy.semantics.loading import load_policy
    from leadpolicy.semantics.lowering import lower
    from leadpolicy.sla.engine import SlaEngine
    from leadpolicy.sla.events import EventReader
    from leadpolicy.sla.report import build_report

    policy = lower(load_policy(POLICY).policy)
    tz = ZoneInfo(policy.timezone)
    now = parse_timestamp(NOW, tz)
    start = time.perf_counter()
    reader = EventReader(path, SlaEngine(policy).event_names(), tz, now)
    report = build_report(policy, reader, now)
    import io

    from leadpolicy.sla.report import render_table

    render_table(report, io.StringIO())  # what `leadpolicy sla` prints by default
    data = report.as_dict(breaches=0)
    return {"seconds": time.perf_counter() - start, "rows": data["rows"]["read"], "rejected": data["rows"]["rejected"],
            "breaches": data["breach_count"], "peak_mb": peak_rss_mb(), "report": _comparable(report)}


def run_sql(path: str) -> dict:
    import time
    from zoneinfo import ZoneInfo

    from common import peak_rss_mb

    from leadpolicy.semantics.leads import parse_timestamp
    from leadpolicy.semantics.loading import load_policy
    from leadpolicy.semantics.lowering import lower
    from leadpolicy.sla.report import build_report_sql, render_table
    from leadpolicy.warehouse import sla_files, staging

    policy = lower(load_policy(POLICY).policy)
    tz = ZoneInfo(policy.timezone)
    now = parse_timestamp(NOW, tz)
    start = time.perf_counter()
    from leadpolicy.cli.commands.sla import SQL_ENGINE_MEMORY

    db = staging.Staging(policy.timezone, memory_limit=SQL_ENGINE_MEMORY)
    try:
        stats, rejects = sla_files.stage_events(db.con, policy, Path(path), "parquet", now)
        report = build_report_sql(policy, db.con, now, stats.read, stats.rejected, breaches=50, open_clocks=False)
    finally:
        db.close()
    import io

    render_table(report, io.StringIO())
    data = report.as_dict(breaches=0)
    return {"seconds": time.perf_counter() - start, "rows": data["rows"]["read"], "rejected": data["rows"]["rejected"],
            "breaches": data["breach_count"], "peak_mb": peak_rss_mb(), "report": _comparable(report)}


def _comparable(report) -> str:
    import json

    data = report.as_dict(breaches=50)
    return json.dumps(data, sort_keys=True, default=str)


def child(kind: str, path: str) -> dict:
    return in_fresh_process("sla_events", f"run_{kind}", path)


def main() -> None:
    import statistics

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_100_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sql-only", action="store_true", help="skip the Python engine (for logs too large for it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "events.parquet")
        generate(Path(path), args.events, args.leads)
        kinds = ("floor", "report", "sql") if not args.sql_only else ("floor", "sql")
        results = in_turns({kind: functools.partial(child, kind, path) for kind in kinds}, args.runs)
    floor = statistics.median(r["seconds"] for r in results["floor"])
    sql = statistics.median(r["seconds"] for r in results["sql"])
    rows = results["sql"][0]["rows"]
    print(f"{rows:,} events, {args.leads:,} leads, median of {args.runs} runs, each in a fresh process\n")
    table = [("(a) read + sort + walk (floor)", f"{floor:.2f}", f"{rows / floor:,.0f}", "1.00", "",
              f"{max(r['peak_mb'] for r in results['floor']):.0f}")]
    sql_row = ("(c) leadpolicy sla --engine duckdb", f"{sql:.2f}", f"{rows / sql:,.0f}", f"{sql / floor:.2f}", "",
               f"{max(r['peak_mb'] for r in results['sql']):.0f}")
    if args.sql_only:
        print_table([*table, sql_row], ("what", "median s", "events/s", "ratio to (a)", "(b)/(c)", "peak MiB"))
        return
    full = statistics.median(r["seconds"] for r in results["report"])
    same = results["report"][0]["report"] == results["sql"][0]["report"]
    print_table([
        *table,
        ("(b) leadpolicy sla --engine python", f"{full:.2f}", f"{rows / full:,.0f}", f"{full / floor:.2f}", "",
         f"{max(r['peak_mb'] for r in results['report']):.0f}"),
        (*sql_row[:4], f"{full / sql:.2f}", sql_row[5]),
    ], ("what", "median s", "events/s", "ratio to (a)", "(b)/(c)", "peak MiB"))
    print(f"\nrejected rows: {results['report'][0]['rejected']:,}; breaches: {results['report'][0]['breaches']:,}; "
          f"the two engines' reports are {'the same' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
