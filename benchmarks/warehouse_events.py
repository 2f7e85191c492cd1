"""Warehouse benchmark with events: `leadpolicy score --events` on embedded DuckDB.

    python benchmarks/warehouse_events.py [--leads 1000000] [--events 10000000] [--runs 5]

Leads and events are generated with a fixed seed and written as typed Parquet (leads: id, email,
employees, industry, source; events: lead, event, at). The policy is the v2 reference
(policies/inbound-activity.policy): windows of 14, 30 and 90 days, `days since last`, a combined
score. Median of --runs, each in a fresh process (so peak memory is that run's own), the three ways
taken in turn in each round (so a slow spell of the machine hits every way alike); each time includes
opening the DuckDB connection, as (c)'s includes its own:
  (a) hand-written DuckDB SQL (the baseline): one GROUP BY over the events (a row repeated at one instant
      counted once and the lead id trimmed, as the policy's meaning says since 6e87c94), joined to the leads,
      the policy's scores, grade, stage and route, Parquet to Parquet;
  (b) leadpolicy's generated DuckDB SQL over the same two files, Parquet to Parquet;
  (c) the whole `leadpolicy score --events` run: the leads and the events read, checked and
      rejected as elsewhere (event names, timestamps, lead ids in the leads file), then scored.
(a) and (b) are first checked to give identical decisions on every lead, and (c) to agree with them.
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

child = functools.partial(in_fresh_process, "warehouse_events")  # each run in a fresh process

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "inbound-activity.policy"
NOW = "2026-11-20T12:00:00-05:00"
NOW_US = 1795194000000000  # NOW in epoch microseconds
DAY_US = 86_400_000_000

HAND_WRITTEN = """
WITH activity AS (
  SELECT lead,
    count(*) FILTER (WHERE event = 'email_click' AND epoch_us("at") > %(now)d - 30 * %(day)d) AS clicks,
    count(*) FILTER (WHERE event = 'pricing_page_view' AND epoch_us("at") > %(now)d - 14 * %(day)d) AS pricing,
    count(*) FILTER (WHERE event = 'webinar_attended' AND epoch_us("at") > %(now)d - 90 * %(day)d) AS webinars,
    count(*) FILTER (WHERE event = 'demo_request' AND epoch_us("at") > %(now)d - 30 * %(day)d) AS demos,
    max(epoch_us("at")) FILTER (WHERE event = 'email_click') AS last_click
  FROM (SELECT DISTINCT trim(CAST(lead AS VARCHAR), ' \t\n\r\f') AS lead, event, "at"
        FROM read_parquet('%(events)s') WHERE epoch_us("at") <= %(now)d)
  GROUP BY lead
), base AS (
  SELECT l.*, lower(email) AS e_, coalesce(clicks, 0) AS clicks, coalesce(pricing, 0) AS pricing,
         coalesce(webinars, 0) AS webinars, coalesce(demos, 0) AS demos,
         floor((%(now)d - last_click) / %(day)d) AS quiet
  FROM read_parquet('%(leads)s') l LEFT JOIN activity a ON a.lead = l.id
), scored AS (
  SELECT *,
    greatest(0, least(100,
      (CASE WHEN employees >= 200 THEN 40 ELSE 0 END)
    + (CASE WHEN industry IN ('software', 'fintech') THEN 20 ELSE 0 END)
    - (CASE WHEN ends_with(e_, '@gmail.com') OR ends_with(e_, '@yahoo.com') OR ends_with(e_, '@outlook.com')
            THEN 50 ELSE 0 END))) AS fit,
    greatest(0, least(100,
      least(5 * clicks, 20) + least(10 * pricing, 30)
    + (CASE WHEN webinars > 0 THEN 15 ELSE 0 END) + (CASE WHEN demos > 0 THEN 40 ELSE 0 END)
    - (CASE WHEN quiet > 60 THEN 10 ELSE 0 END))) AS engagement
  FROM base
), decided AS (
  SELECT *, greatest(0, least(200, least(fit, 100) + least(engagement, 100))) AS priority FROM scored
), staged AS (
  SELECT *,
    CASE WHEN priority >= 120 THEN 'A' WHEN priority >= 70 THEN 'B' ELSE 'C' END AS tier,
    CASE WHEN ends_with(e_, '@competitor.com') THEN 'disqualified'
         WHEN demos > 0 AND fit >= 40 THEN 'sql'
         WHEN fit >= 40 AND engagement >= 30 THEN 'mql' ELSE 'nurture' END AS stage
  FROM decided
)
SELECT id, email, employees, industry, source, fit, engagement, priority, tier, stage,
  CASE WHEN stage IN ('sql', 'mql') THEN 'sales' ELSE 'marketing' END AS owner,
  CASE WHEN stage IN ('mql', 'sql') THEN
    CASE WHEN employees >= 1000 THEN 'enterprise-ae' ELSE 'inbound-sdr' END END AS route
FROM staged
"""
EVENT_NAMES = ["email_click", "email_click", "email_click", "pricing_page_view", "pricing_page_view",
               "webinar_attended", "demo_request", "became_mql", "touch", "first_touch"]


def generate(leads: Path, events: Path, n: int, m: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SELECT setseed(0.17)").fetchall()
    con.sql("""
        SELECT i AS id,
               'user' || i || '@' || (['gmail.com', 'bigsoft.io', 'competitor.com', 'acme.de', 'Yahoo.com'])
                 [1 + CAST(hash(i) % 5 AS BIGINT)] AS email,
               CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 3000) END AS employees,
               (['software', 'fintech', 'retail', 'other'])[1 + CAST(hash(i * 3) % 4 AS BIGINT)] AS industry,
               (['webinar', 'paid_search', 'organic', 'referral'])[1 + CAST(hash(i * 13) % 4 AS BIGINT)] AS source
        FROM range(?) t(i)""", params=[n]).write_parquet(str(leads))
    names = "[" + ", ".join(f"'{name}'" for name in EVENT_NAMES) + "]"
    con.sql(f"""
        SELECT CAST(floor(random() * ?) AS BIGINT) AS lead,
               {names}[1 + CAST(floor(random() * {len(EVENT_NAMES)}) AS BIGINT)] AS event,
               make_timestamptz(CAST({NOW_US} - random() * 150 * {DAY_US} + 3 * {DAY_US} AS BIGINT)) AS "at"
        FROM range(?) t(i)""", params=[n, m]).write_parquet(str(events))


def run_sql(kind: str, leads: str, events: str, out: str) -> dict:
    import time

    import duckdb
    from common import peak_rss_mb

    if kind == "hand":
        query = HAND_WRITTEN % {"now": NOW_US, "day": DAY_US, "leads": leads, "events": events}
        views = []
    else:
        import leadpolicy
        from leadpolicy.warehouse.sqlgen import compile_sql

        policy = leadpolicy.load(POLICY)
        query = compile_sql(policy.ir, "duckdb", "leads", policy.instant(NOW), events_table="events", id_column="id")
        query = query.split("\n", 2)[2]
        views = [f"CREATE VIEW leads AS SELECT * FROM read_parquet('{leads}')",
                 f"CREATE VIEW events AS SELECT * FROM read_parquet('{events}')"]
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for view in views:
        con.execute(view)
    con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def run_pipeline(leads: str, events: str, out: str) -> dict:
    import time

    from common import import_engines, peak_rss_mb

    import leadpolicy
    from leadpolicy.warehouse.batch import BatchOptions, EventInput, run

    policy = leadpolicy.load(POLICY)
    import_engines()
    start = time.perf_counter()
    result, _, _ = run(policy, BatchOptions(source=leads, output=out, now=policy.instant(NOW), engine="duckdb",
                                            events=EventInput(Path(events))))
    assert result.events is not None
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb(), "read": result.read,
            "rejected": result.rejected, "events_used": result.events.used,
            "events_rejected": result.events.rejected}


def check_identical(a: str, b: str) -> None:
    import duckdb

    cols = "CAST(id AS VARCHAR), fit, engagement, priority, tier, stage, owner, route"
    for x, y in ((a, b), (b, a)):
        diff = duckdb.sql(f"SELECT count(*) FROM (SELECT {cols} FROM '{x}' EXCEPT ALL "
                          f"SELECT {cols} FROM '{y}')").fetchall()[0][0]
        if diff:
            raise SystemExit(f"{x} and {y} disagree on {diff} leads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    n, m = args.leads, args.events
    with tempfile.TemporaryDirectory() as tmp:
        leads, events = str(Path(tmp) / "leads.parquet"), str(Path(tmp) / "events.parquet")
        generate(Path(leads), Path(events), n, m)
        outs = {name: str(Path(tmp) / f"{name}.parquet") for name in ("hand", "generated", "pipeline")}
        results = in_turns({
            "hand": functools.partial(child, "run_sql", "hand", leads, events, outs["hand"]),
            "generated": functools.partial(child, "run_sql", "generated", leads, events, outs["generated"]),
            "pipeline": functools.partial(child, "run_pipeline", leads, events, outs["pipeline"])}, args.runs)
        check_identical(outs["hand"], outs["generated"])
        check_identical(outs["hand"], outs["pipeline"])
    counted = results["pipeline"][-1]
    base = statistics.median(r["seconds"] for r in results["hand"])
    rows = []
    for name, label in (("hand", "(a) hand-written DuckDB SQL"), ("generated", "(b) generated DuckDB SQL"),
                        ("pipeline", "(c) leadpolicy score --events (read + check + score)")):
        median = statistics.median(r["seconds"] for r in results[name])
        rows.append((label, f"{median:.2f}", f"{n / median:,.0f}", f"{median / base:.2f}",
                     f"{max(r['peak_mb'] for r in results[name]):.0f}"))
    print(f"{n:,} leads, {m:,} events; median of {args.runs} rounds, each way in a fresh process; "
          "(a), (b) and (c) agree on every lead")
    print(f"(c) read {counted['read']:,} leads, rejected {counted['rejected']:,}; "
          f"events used {counted['events_used']:,}, rejected {counted['events_rejected']:,}\n")
    print_table(rows, ("way", "seconds", "leads/s", "time vs (a)", "peak MiB"))


if __name__ == "__main__":
    main()
