"""Calibration benchmark: `leadpolicy calibrate` on 1M leads and 10M events, from Parquet and from CSV.

    python benchmarks/calibrate.py [--leads 1000000] [--events 10000000] [--runs 3] [--formats parquet csv]

The leads and events of benchmarks/warehouse_events.py (fixed seed) plus outcomes with planted effects: a
lead's log-odds of winning add up from the v2 reference's rules as they stood at the as-of date (EFFECTS:
most agree with the sign of their points, "Webinar, last 90 days" goes against its +15 and "Gone quiet" has
no effect), drawn from a hash of the lead's id, so the same leads get the same outcomes; lost or open
otherwise. (Each score's regression has only its own rules: fit's coefficients are the planted ones averaged
over the activity it leaves out, so somewhat nearer zero.) Written as typed Parquet and as CSV (timestamps with
their offset). Each way goes through the command line (`leadpolicy.cli.main.main`, timed from its call to its
exit, the engines imported before the clock); median of --runs, each in a fresh process (so peak memory is that
run's own), the ways taken in turn in each round (so a slow spell of the machine hits every way alike):
  (a) `leadpolicy score --events` at the as-of date alone (the decisions calibration starts from);
  (b) `leadpolicy feedback --format json`: the same decisions, outcomes, every tally;
  (c) `leadpolicy calibrate --format json`: the decisions with a column per rule, each rule's evidence
      (lift, a logistic regression per score), the thresholds, the re-fit;
  (d) (c) with `--propose`: the proposed version written, decided again on the same leads and backtested.
Every calibration (each format, run and way) is checked to find the same evidence, rule by rule.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import in_fresh_process, in_turns, print_table  # noqa: E402

child = functools.partial(in_fresh_process, "calibrate")  # each run in a fresh process
from warehouse_events import DAY_US, POLICY, generate  # noqa: E402
from warehouse_events import NOW_US as AS_OF_US  # noqa: E402

AS_OF = "2026-11-20T12:00:00-05:00"  # warehouse_events' NOW: its events run up to three days past it
NOW = "2027-02-20T12:00:00-05:00"
INTERCEPT = -2.0
# The planted log-odds of winning per firing (per unit of a per rule) of each rule of the reference policy,
# with the SQL of whether (how often) the rule fired as of AS_OF, over the lead `l` and its activity `a`.
EFFECTS: list[tuple[str, float, str]] = [
    ("Mid-market or larger", 0.6, "CASE WHEN l.employees >= 200 THEN 1 ELSE 0 END"),
    ("Core industry", 0.3, "CASE WHEN l.industry IN ('software', 'fintech') THEN 1 ELSE 0 END"),
    ("Free email domain", -0.7, "CASE WHEN lower(l.email) SIMILAR TO '.*@(gmail|yahoo|outlook)[.]com' "
                                "THEN 1 ELSE 0 END"),
    ("Email clicks, last 30 days", 0.12, "least(coalesce(a.clicks, 0), 4)"),
    ("Pricing page views, last 14 days", 0.25, "least(coalesce(a.pricing, 0), 3)"),
    ("Webinar, last 90 days", -0.35, "CASE WHEN a.webinars > 0 THEN 1 ELSE 0 END"),
    ("Demo request, last 30 days", 0.9, "CASE WHEN a.demos > 0 THEN 1 ELSE 0 END"),
    ("Gone quiet", 0.0, "CASE WHEN a.quiet > 60 THEN 1 ELSE 0 END"),
]
ACTIVITY = """
  SELECT lead,
    count(*) FILTER (WHERE event = 'email_click' AND t > %(as_of)d - 30 * %(day)d) AS clicks,
    count(*) FILTER (WHERE event = 'pricing_page_view' AND t > %(as_of)d - 14 * %(day)d) AS pricing,
    count(*) FILTER (WHERE event = 'webinar_attended' AND t > %(as_of)d - 90 * %(day)d) AS webinars,
    count(*) FILTER (WHERE event = 'demo_request' AND t > %(as_of)d - 30 * %(day)d) AS demos,
    floor((%(as_of)d - max(t) FILTER (WHERE event = 'email_click')) / %(day)d) AS quiet
  FROM (SELECT DISTINCT lead, event, epoch_us("at") AS t FROM read_parquet('%(events)s')
        WHERE epoch_us("at") <= %(as_of)d)
  GROUP BY lead
"""
LOST = 0.5  # of the leads not won, the share that lost (the others are still open)


def uniform(salt: str) -> str:
    """A number in [0, 1) from the lead's id: the same leads draw the same outcomes, on any number of threads."""
    return f"(hash(l.id, '{salt}') % 1000000007) / 1000000007.0"


def add_outcomes(leads: Path, events: Path) -> None:
    import duckdb

    logit = " + ".join([str(INTERCEPT)] + [f"{effect} * ({fired})" for _, effect, fired in EFFECTS if effect])
    activity = ACTIVITY % {"as_of": AS_OF_US, "day": DAY_US, "events": events}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.sql(f"""
        WITH a AS ({activity}), drawn AS (
          SELECT l.id AS lead, {uniform('won')} < 1 / (1 + exp(-({logit}))) AS won, {uniform('lost')} < {LOST} AS lost,
                 make_timestamptz(CAST({AS_OF_US} + {DAY_US} + {uniform('at')} * 80 * {DAY_US} AS BIGINT)) AS "at"
          FROM read_parquet('{leads}') l LEFT JOIN a ON a.lead = l.id)
        SELECT * FROM read_parquet('{events}') UNION ALL
        SELECT lead, CASE WHEN won THEN 'closed_won' ELSE 'closed_lost' END AS event, "at"
        FROM drawn WHERE won OR lost""").write_parquet(str(events) + ".tmp")
    Path(str(events) + ".tmp").replace(events)


def write_csv(parquet: Path, path: Path) -> None:
    """As a CRM or a warehouse exports it: CSV with a header, timestamps in ISO 8601 with their offset."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    columns = con.sql(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()
    cells = ", ".join(f"strftime(\"{name}\", '%Y-%m-%dT%H:%M:%S.%fZ') AS \"{name}\"" if kind.startswith("TIMESTAMP")
                      else f'"{name}"' for name, kind, *_ in columns)
    con.execute(f"COPY (SELECT {cells} FROM read_parquet('{parquet}')) TO '{path}' (FORMAT csv, HEADER true)")


def run_cli(*argv: str) -> dict:
    """One command through the command line's entry point; with --format json, its report's figures."""
    import json
    import time

    from common import import_engines, peak_rss_mb

    from leadpolicy.cli.main import main

    import_engines()
    start = time.perf_counter()
    code = main(list(argv))
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    if code != 0:
        raise SystemExit(f"leadpolicy {' '.join(argv)} exited {code}")
    result: dict[str, Any] = {"seconds": seconds, "peak_mb": peak}
    if argv[0] == "calibrate":
        report = json.loads(Path(argv[argv.index("-o") + 1]).read_text())
        result.update({key: report[key] for key in ("leads", "won", "rows", "rules", "proposal", "verdict")})
    return result


def commands(leads: Path, events: Path, folder: Path) -> dict[str, list[str]]:
    """Each way's argv for one format: outputs and rejects go to a folder of their own."""
    policy = str(POLICY)
    inputs = ["--leads", str(leads), "--events", str(events), "--as-of", AS_OF, "--now", NOW,
              "--rejects-folder", str(folder), "-q"]
    return {
        "score": ["score", policy, str(leads), "--events", str(events), "--now", AS_OF, "-q",
                  "-o", str(folder / "scored.parquet"), "--rejects", str(folder / "scored.rejects.csv"),
                  "--events-rejects", str(folder / "events.rejects.csv")],
        "feedback": ["feedback", policy, *inputs, "--format", "json", "-o", str(folder / "feedback.json")],
        "calibrate": ["calibrate", policy, *inputs, "--format", "json", "-o", str(folder / "calibrate.json")],
        "propose": ["calibrate", policy, *inputs, "--format", "json", "-o", str(folder / "propose.json"),
                    "--propose", str(folder / "proposed.policy")],
    }


WAYS = {"score": "(a) score --events at the as-of date", "feedback": "(b) feedback: decisions, outcomes, tallies",
        "calibrate": "(c) calibrate: evidence per rule and threshold", "propose": "(d) calibrate --propose: + backtest"}


def evidence_of(result: dict) -> list[tuple]:
    return [(r["score"], r["rule"], r["fired"], r["won_fired"], r["verdict"]) for r in result["rules"]]


def disagreements(results: dict[str, dict[str, list[dict]]]) -> list[str]:
    """Where a calibration's evidence differs from the first one's: the counts and verdicts exactly, the
    coefficients to 0.001 (a sum over the leads in another order may end in another last digit)."""
    runs = [(f"{fmt} {way}", r) for fmt, ways in results.items() for way in ("calibrate", "propose") for r in ways[way]]
    first_name, first = runs[0]
    found = []
    for name, run in runs[1:]:
        close = all(a is b is None or (a is not None and b is not None and abs(a - b) <= 0.001)
                    for a, b in ((x["coefficient"], y["coefficient"]) for x, y in zip(run["rules"], first["rules"])))
        if evidence_of(run) != evidence_of(first) or not close:
            found.append(f"{name} and {first_name} disagree on the rules' evidence")
    return found


def speed_table(n: int, ways: dict[str, list[dict]]) -> None:
    medians = {name: statistics.median(r["seconds"] for r in results) for name, results in ways.items()}
    rows = [(WAYS[name], f"{median:.2f}", f"{n / median:,.0f}", f"{median / medians['score']:.2f}",
             f"{median / medians['feedback']:.2f}", f"{max(r['peak_mb'] for r in ways[name]):.0f}")
            for name, median in medians.items()]
    print_table(rows, ("way", "seconds", "leads/s", "vs (a)", "vs (b)", "peak MiB"))


def evidence_table(result: dict) -> None:
    planted = {label: effect for label, effect, _ in EFFECTS}
    rows = []
    for rule in result["rules"]:
        ci = rule["coefficient_ci"]
        rows.append((rule["score"], rule["rule"], rule["points"], planted.get(rule["rule"], "-"),
                     rule["coefficient"], f"[{ci[0]}, {ci[1]}]" if ci else "-", f"{rule['fired']:,}",
                     rule["verdict"]))
    print_table(rows, ("score", "rule", "points", "planted", "coefficient", "interval", "fired", "verdict"))


def proposal_summary(result: dict) -> None:
    proposal = result["proposal"]
    if proposal is None or not proposal["changes"]:
        print("the proposal changes nothing")
        return
    print(f"proposed {proposal['version']}:")
    for change in proposal["changes"]:
        print(f"  {change['what']} {change['where']}: {change['from']} -> {change['to']} ({change['why']})")
    if proposal["backtest"]:
        print(f"backtest: {proposal['backtest']['verdict']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", choices=["parquet", "csv"], default=["parquet", "csv"])
    args = parser.parse_args()
    results: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        leads, events = Path(tmp) / "leads.parquet", Path(tmp) / "events.parquet"
        generate(leads, events, args.leads, args.events)
        add_outcomes(leads, events)
        for fmt in args.formats:
            folder = Path(tmp) / fmt
            folder.mkdir()
            files = (leads, events)
            if fmt == "csv":
                files = (folder / "leads.csv", folder / "events.csv")
                write_csv(leads, files[0])
                write_csv(events, files[1])
            argvs = commands(*files, folder)
            results[fmt] = in_turns({name: functools.partial(child, "run_cli", *argv)
                                     for name, argv in argvs.items()}, args.runs)
    problems = disagreements(results)
    last = next(iter(results.values()))["propose"][-1]
    rows = last["rows"]
    print(f"{args.leads:,} leads, {args.events:,} events and {rows['events_read'] - args.events:,} outcome events; "
          f"{last['won']:,} of {last['leads']:,} decided leads won after the as-of date; median of {args.runs} "
          f"rounds, each way in a fresh process")
    for fmt, ways in results.items():
        print(f"\n{fmt}:")
        speed_table(args.leads, ways)
    print(f"\n{last['verdict']}\n")
    evidence_table(last)
    print()
    proposal_summary(last)
    if problems:
        raise SystemExit("\n".join(problems))
    print("\nevery calibration (each format, run and way) found the same evidence, rule by rule")


if __name__ == "__main__":
    main()
