"""Feedback benchmark: `leadpolicy feedback` on 1M leads and 10M events, on DuckDB.

    python benchmarks/feedback.py [--leads 1000000] [--events 10000000] [--runs 3]

The leads and events of benchmarks/warehouse_events.py (typed Parquet, fixed seed) plus one
outcome event for about a third of the leads, after the as-of date. Median of --runs, each in a
fresh process (so peak memory is that run's own):
  (a) `leadpolicy score --events` at the as-of date alone (the decisions feedback starts from);
  (b) `leadpolicy feedback` end to end: the same decisions, outcomes, answers, every tally, JSON.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import in_fresh_process, print_table  # noqa: E402

child = functools.partial(in_fresh_process, "feedback")  # each run in a fresh process
from warehouse_events import DAY_US, NOW_US, POLICY, generate  # noqa: E402

AS_OF = "2026-11-20T12:00:00-05:00"
NOW = "2027-02-20T12:00:00-05:00"


def add_outcomes(events: Path, leads: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SELECT setseed(0.5)").fetchall()
    con.sql(f"""
        SELECT * FROM read_parquet('{events}') UNION ALL
        SELECT i AS lead, CASE WHEN random() < 0.3 THEN 'closed_won' ELSE 'closed_lost' END AS event,
               make_timestamptz(CAST({NOW_US} + random() * 80 * {DAY_US} AS BIGINT)) AS "at"
        FROM range(?) t(i) WHERE random() < 0.33""", params=[leads]).write_parquet(str(events) + ".tmp")
    Path(str(events) + ".tmp").replace(events)


def run_score(leads: str, events: str, out: str) -> dict:
    import time

    from common import peak_rss_mb

    import leadpolicy
    from leadpolicy.warehouse.batch import BatchOptions, EventInput, run

    policy = leadpolicy.load(POLICY)
    start = time.perf_counter()
    run(policy, BatchOptions(source=leads, output=out, now=policy.instant(AS_OF), engine="duckdb",
                             events=EventInput(Path(events)), rejects=Path(out).with_suffix(".r.csv")))
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def run_feedback(leads: str, events: str, out: str) -> dict:
    import time

    from common import peak_rss_mb

    import leadpolicy
    from leadpolicy.measure.feedback import FeedbackInput, feedback_report, measure
    from leadpolicy.measure.render import render_feedback

    policy = leadpolicy.load(POLICY)
    start = time.perf_counter()
    data = FeedbackInput(Path(leads), Path(events), policy.instant(AS_OF), policy.instant(NOW),
                         rejects_folder=Path(out).parent)
    report = feedback_report(measure(policy, data, Path(out).parent / "work"), data)
    Path(out).write_text(render_feedback(report, "json"))
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb(), "won": report["overall"]["won"],
            "leads": report["overall"]["leads"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        leads, events = Path(tmp) / "leads.parquet", Path(tmp) / "events.parquet"
        generate(leads, events, args.leads, args.events)
        add_outcomes(events, args.leads)
        scored = [child("run_score", str(leads), str(events), str(Path(tmp) / "scored.parquet"))
                  for _ in range(args.runs)]
        measured = [child("run_feedback", str(leads), str(events), str(Path(tmp) / "feedback.json"))
                    for _ in range(args.runs)]
    base = statistics.median(r["seconds"] for r in scored)
    rows = []
    for label, results in (("(a) score --events at the as-of date", scored),
                           ("(b) feedback: decisions, outcomes, every tally", measured)):
        median = statistics.median(r["seconds"] for r in results)
        rows.append((label, f"{median:.2f}", f"{args.leads / median:,.0f}", f"{median / base:.2f}",
                     f"{max(r['peak_mb'] for r in results):.0f}"))
    print(f"{args.leads:,} leads, {args.events:,} events and their outcomes; median of {args.runs} runs, "
          f"each in a fresh process; {measured[-1]['won']:,} leads won after the as-of date\n")
    print_table(rows, ("way", "seconds", "leads/s", "vs (a)", "peak MiB"))


if __name__ == "__main__":
    main()
