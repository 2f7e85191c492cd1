"""SLA benchmark: `leadpolicy sla` on the reference policies' SLAs over generated event logs.

    python benchmarks/sla_events.py [--events 1100000] [--leads 200000] [--runs 3]
    python benchmarks/sla_events.py --reference v1 --modes json table --runs 5
    python benchmarks/sla_events.py --events 10000000 --leads 2000000 --runs 1 --engines duckdb

Generates an event log per reference (fixed seed) as Parquet with DuckDB: v1 is
policies/inbound-b2b.policy, v2 policies/inbound-activity.policy (its log also pauses clocks; no leads
file, so tiered clocks take `otherwise`, as `leadpolicy sla` without --leads does). Then times, as medians:
  (a) the floor: DuckDB reads the log sorted by lead and time, and Python walks every row, lead by lead;
  the whole `leadpolicy sla POLICY LOG --report-only -o FILE` run (the policy loaded, the log read and
  checked, every SLA judged, the report written), on each engine (`--engine python`, the reference,
  and `--engine duckdb`), in each output mode:
      table          the default report;
      json           `--format json`: the same report as data;
      table+details  and json+details: with `--details FILE` (every clock and count, every breach) too.
Prints, per reference and mode, each engine's median seconds, the SQL engine's speed-up over the Python
one (python / duckdb) and each mode's cost against the table (mode / table), the report's size and
peak memory. The two engines' JSON reports must be equal (else exit 1). Each run is a fresh process
(so peak memory is the run's own), started by this script.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import in_fresh_process, in_turns, print_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = {"v1": ROOT / "policies" / "inbound-b2b.policy", "v2": ROOT / "policies" / "inbound-activity.policy"}
NOW = "2026-12-31T12:00:00-05:00"
MODES = {"table": ["--format", "table"], "json": ["--format", "json"],
         "table+details": ["--format", "table", "--details"], "json+details": ["--format", "json", "--details"]}
ENGINES = ("python", "duckdb")


def generate(path: Path, events: int, leads: int, pauses: bool = False, seed: float = 0.42) -> None:
    """About `events` events over `leads` leads in Oct-Dec 2026, written with DuckDB; with `pauses`, a
    fifth of the handoffs wait on the lead (waiting_on_lead, lead_replied a day or two later)."""
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
    if pauses:
        con.execute("""
            INSERT INTO events
            SELECT "lead", 'waiting_on_lead', t0 + to_seconds(3600), NULL FROM leads WHERE r BETWEEN 0.3 AND 0.4
            UNION ALL SELECT "lead", 'lead_replied', t0 + to_seconds(CAST(86400 * (1 + 10 * (r - 0.3)) AS BIGINT)),
                   NULL FROM leads WHERE r BETWEEN 0.3 AND 0.4""")
    con.sql("""SELECT "lead", "event", strftime("at", '%Y-%m-%dT%H:%M:%S+00:00') AS "at", "reason"
               FROM events ORDER BY random()""").write_parquet(str(path))


def run_floor(path: str) -> dict[str, float]:
    """DuckDB reads the log sorted by lead and time; Python walks every row, grouping by lead."""
    import time

    import duckdb
    from common import peak_rss_mb

    start = time.perf_counter()
    con = duckdb.connect()
    cursor = con.execute('SELECT "lead", "event", "at", "reason" FROM read_parquet(?) ORDER BY "lead", "at"',
                         [path])
    rows, leads, last = 0, 0, None
    while batch := cursor.fetchmany(100_000):
        for lead, *_ in batch:
            rows += 1
            if lead != last:
                leads, last = leads + 1, lead
    return {"seconds": time.perf_counter() - start, "rows": rows, "leads": leads, "peak_mb": peak_rss_mb()}


def run_sla(reference: str, path: str, engine: str, mode: str, out_dir: str) -> dict[str, object]:
    """One `leadpolicy sla ... --report-only` run, timed from the command's start to the report written."""
    import json
    import time

    from common import import_engines, peak_rss_mb

    from leadpolicy.cli.main import main

    import_engines()
    report = Path(out_dir) / f"{reference}-{engine}-{mode}.report"
    flags = [*MODES[mode], str(Path(out_dir) / "details.csv")] if mode.endswith("details") else MODES[mode]
    argv = ["sla", str(REFERENCES[reference]), path, "--now", NOW, "--engine", engine, "--report-only", "--quiet",
            "-o", str(report), *flags]
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"leadpolicy {' '.join(argv)} exited {code}")
    result: dict[str, object] = {"seconds": seconds, "bytes": report.stat().st_size, "peak_mb": peak_rss_mb()}
    if mode == "json":
        data = json.loads(report.read_text())
        result.update(rows=data["rows"]["read"], rejected=data["rows"]["rejected"], breaches=data["breach_count"],
                      report=json.dumps(data, sort_keys=True))
    return result


def _median(runs: list[dict[str, object]]) -> float:
    return statistics.median(float(str(r["seconds"])) for r in runs)


def _ratio(top: float | None, bottom: float | None) -> str:
    return f"{top / bottom:.2f}" if top is not None and bottom else "-"


def measure(reference: str, args: argparse.Namespace, tmp: Path) -> bool:
    """Print one reference's figures; whether its engines' JSON reports agree (or were not both run)."""
    path = str(tmp / f"{reference}.parquet")
    generate(Path(path), args.events, args.leads, pauses=reference == "v2")
    ways = {("floor", ""): functools.partial(in_fresh_process, "sla_events", "run_floor", path)}
    for mode in args.modes:
        for engine in args.engines:
            ways[(engine, mode)] = functools.partial(in_fresh_process, "sla_events", "run_sla", reference, path,
                                                     engine, mode, str(tmp))
    results = in_turns(ways, args.runs)
    floor = results[("floor", "")]
    seconds = {key: _median(runs) for key, runs in results.items()}
    rows = int(str(floor[0]["rows"]))
    print(f"\n{reference} ({REFERENCES[reference].name}): {rows:,} events, {args.leads:,} leads, median of "
          f"{args.runs} run(s), each in a fresh process; (a) the floor: {seconds[('floor', '')]:.2f} s")
    table = []
    for mode in args.modes:
        python, duckdb = seconds.get(("python", mode)), seconds.get(("duckdb", mode))
        sizes = {int(str(r["bytes"])) for e in args.engines for r in results[(e, mode)]}
        peak = max(float(str(r["peak_mb"])) for e in args.engines for r in results[(e, mode)])
        table.append((mode, f"{python:.2f}" if python else "-", f"{duckdb:.2f}" if duckdb else "-",
                      _ratio(python, duckdb), _ratio(python, seconds.get(("python", "table"))),
                      _ratio(duckdb, seconds.get(("duckdb", "table"))), _ratio(duckdb, seconds[("floor", "")]),
                      f"{max(sizes) / 1e6:.2f}", f"{peak:.0f}"))
    print_table(table, ("mode", "python s", "duckdb s", "python/duckdb", "python mode/table", "duckdb mode/table",
                        "duckdb/(a)", "report MB", "peak MiB"))
    if "json" not in args.modes or len(args.engines) < 2:
        return True
    first = {engine: results[(engine, "json")][0] for engine in args.engines}
    same = first["python"]["report"] == first["duckdb"]["report"]
    print(f"rejected rows: {first['python']['rejected']:,}; breaches: {first['python']['breaches']:,}; "
          f"the two engines' JSON reports are {'the same' if same else 'DIFFERENT'}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_100_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference", choices=(*REFERENCES, "both"), default="both")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="duckdb alone for logs too large for the Python engine")
    args = parser.parse_args()
    references = list(REFERENCES) if args.reference == "both" else [args.reference]
    with tempfile.TemporaryDirectory() as tmp:
        agree = [measure(reference, args, Path(tmp)) for reference in references]
    if not all(agree):
        sys.exit(1)


if __name__ == "__main__":
    main()
