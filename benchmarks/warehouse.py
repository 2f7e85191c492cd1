"""Warehouse benchmark: scoring generated leads from Parquet on embedded DuckDB.

    python benchmarks/warehouse.py [--sizes 1000000 10000000] [--runs 3]

For each size (leads generated with a fixed seed, written as typed Parquet), median of
--runs, each in a fresh process (so peak memory is that run's own), (a), (b) and (c) taken in turn
in each round (so a slow spell of the machine hits every way alike); each time includes opening the
DuckDB connection, as (c)'s includes its own, and none includes importing modules:
  (a) a hand-written DuckDB SQL of the reference policy (the baseline), Parquet to Parquet;
  (b) leadpolicy's generated DuckDB SQL, Parquet to Parquet;
  (c) the whole `leadpolicy score` pipeline: text conversion, validation, rejects, scoring;
  (d) the compiled Python evaluator, timed on the first 100,000 leads (leads/s).
(a) and (b) are first checked to give identical decisions on every lead.
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

child = functools.partial(in_fresh_process, "warehouse")  # each run in a fresh process

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "inbound-b2b.policy"
NOW = "2026-11-20T12:00:00-05:00"
NOW_US = 1795194000000000  # NOW in epoch microseconds

HAND_WRITTEN = """
WITH base AS (
  SELECT *, lower(email) AS e_, lower(job_title) AS jt_, lower(country) AS c_,
         floor((%(now)d - epoch_us(last_activity)) / 86400000000.0) AS days_
  FROM read_parquet('%(src)s')
), scored AS (
  SELECT *,
    greatest(0, least(100,
      (CASE WHEN employees >= 200 THEN 30 ELSE 0 END)
    + (CASE WHEN employees >= 50 AND employees <= 199 THEN 15 ELSE 0 END)
    + (CASE WHEN industry IN ('software', 'fintech') THEN 20 ELSE 0 END)
    + (CASE WHEN contains(jt_, 'vp') OR contains(jt_, 'director') OR contains(jt_, 'head of')
            OR contains(jt_, 'chief') THEN 15 ELSE 0 END)
    - (CASE WHEN ends_with(e_, '@gmail.com') THEN 40 ELSE 0 END))) AS fit,
    least(5 * floor(greatest(coalesce(email_clicks, 0), 0)), 25)
    + least(10 * floor(greatest(coalesce(pricing_page_views, 0), 0)), 30)
    + (CASE WHEN coalesce(demo_requested, false) THEN 40 ELSE 0 END) AS total_
  FROM base
), decided AS (
  SELECT *,
    CAST(greatest(0, least(100, CASE WHEN days_ >= 30 THEN round(total_ * power(0.75, floor(days_ / 30)))
                                ELSE total_ END)) AS BIGINT) AS engagement
  FROM scored
), staged AS (
  SELECT *,
    CASE WHEN fit >= 75 THEN 'A' WHEN fit >= 50 THEN 'B' WHEN fit >= 25 THEN 'C' ELSE 'D' END AS fit_grade,
    CASE WHEN ends_with(e_, '@competitor.com') THEN 'disqualified'
         WHEN coalesce(demo_requested, false) AND fit >= 50 THEN 'sql'
         WHEN fit >= 40 AND engagement >= 30 THEN 'mql' ELSE 'nurture' END AS stage
  FROM decided
)
SELECT * EXCLUDE (e_, jt_, c_, days_, total_),
  CASE WHEN stage IN ('sql', 'mql') THEN 'sales' ELSE 'marketing' END AS owner,
  CASE WHEN stage IN ('mql', 'sql') THEN
    CASE WHEN employees >= 1000 THEN 'enterprise-ae' WHEN c_ IN ('de', 'fr', 'uk') THEN 'emea-sdr'
         ELSE 'na-sdr' END END AS route
FROM staged
"""


def generate(path: Path, n: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SELECT setseed(0.17)").fetchall()
    con.sql("""
        SELECT 'user' || i || '@' || (['gmail.com', 'bigsoft.io', 'competitor.com', 'acme.de', 'shop.fr'])
                 [1 + CAST(hash(i) % 5 AS BIGINT)] AS email,
               CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 3000) END AS employees,
               (['software', 'fintech', 'retail', 'healthcare', 'other'])[1 + CAST(hash(i * 3) % 5 AS BIGINT)]
                 AS industry,
               (['VP Sales', 'Director of IT', 'Engineer', 'head of marketing', 'Chief of Staff', 'Analyst'])
                 [1 + CAST(hash(i * 7) % 6 AS BIGINT)] AS job_title,
               (['US', 'DE', 'fr', 'UK', 'BR'])[1 + CAST(hash(i * 11) % 5 AS BIGINT)] AS country,
               (['webinar', 'paid_search', 'organic', 'referral', 'event', 'outbound'])
                 [1 + CAST(hash(i * 13) % 6 AS BIGINT)]
                 AS source,
               floor(random() * 11) AS email_clicks,
               floor(random() * 6) AS pricing_page_views,
               random() < 0.3 AS demo_requested,
               TIMESTAMPTZ '2026-11-20 17:00:00+00' - to_seconds(CAST(random() * 200 * 86400 AS BIGINT))
                 AS last_activity
        FROM range(?) t(i)""", params=[n]).write_parquet(str(path))


def run_sql(kind: str, src: str, out: str) -> dict:
    import time

    import duckdb
    from common import peak_rss_mb

    if kind == "hand":
        query = HAND_WRITTEN % {"now": NOW_US, "src": src}
    else:
        import leadpolicy
        from leadpolicy.warehouse.sqlgen import compile_sql

        policy = leadpolicy.load(POLICY)
        query = compile_sql(policy.ir, "duckdb", "leads", policy.instant(NOW)).replace(
            'FROM "leads"', f"FROM read_parquet('{src}')")
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def run_pipeline(src: str, out: str) -> dict:
    import time

    from common import import_engines, peak_rss_mb

    import leadpolicy
    from leadpolicy.warehouse.batch import run

    policy = leadpolicy.load(POLICY)
    import_engines()
    start = time.perf_counter()
    result, _, _ = run(policy, src, out, policy.instant(NOW), "duckdb")
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb(), "read": result.read,
            "rejected": result.rejected}


def run_python(src: str, out: str) -> dict:
    import time

    import duckdb
    from common import peak_rss_mb

    import leadpolicy

    policy = leadpolicy.load(POLICY)
    now = policy.instant(NOW)
    con = duckdb.connect()
    cur = con.execute(f"SELECT * REPLACE (strftime(last_activity, '%Y-%m-%dT%H:%M:%S+00:00') AS last_activity) "
                      f"FROM read_parquet('{src}') LIMIT 100000")
    names = [d[0] for d in cur.description]
    leads = [dict(zip(names, row)) for row in cur.fetchall()]
    for lead in leads:  # the JSON a service would receive: whole numbers as ints
        for key in ("employees", "email_clicks", "pricing_page_views"):
            if lead[key] is not None:
                lead[key] = int(lead[key])
    start = time.perf_counter()
    results = list(policy.evaluate_many(leads, now))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "leads": len(results), "peak_mb": peak_rss_mb()}


def check_identical(src: str, a: str, b: str) -> None:
    import duckdb

    cols = "fit, engagement, fit_grade, stage, owner, route"
    diff = duckdb.sql(f"SELECT count(*) FROM (SELECT email, {cols} FROM '{a}' EXCEPT ALL "
                      f"SELECT email, {cols} FROM '{b}')").fetchall()[0][0]
    if diff:
        raise SystemExit(f"hand-written and generated SQL disagree on {diff} leads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows, pipeline_ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            src = str(Path(tmp) / f"leads-{n}.parquet")
            generate(Path(src), n)
            hand_out, gen_out = str(Path(tmp) / "hand.parquet"), str(Path(tmp) / "gen.parquet")
            scored = str(Path(tmp) / "scored.parquet")
            results = in_turns({"hand": functools.partial(child, "run_sql", "hand", src, hand_out),
                                "generated": functools.partial(child, "run_sql", "generated", src, gen_out),
                                "pipeline": functools.partial(child, "run_pipeline", src, scored)}, args.runs)
            check_identical(src, hand_out, gen_out)
            python = child("run_python", src, "")
            base = statistics.median(r["seconds"] for r in results["hand"])
            for name, label in (("hand", "(a) hand-written DuckDB SQL"), ("generated", "(b) generated DuckDB SQL"),
                                ("pipeline", "(c) leadpolicy score (convert + validate + score)")):
                median = statistics.median(r["seconds"] for r in results[name])
                rows.append((f"{n:,}", label, f"{median:.2f}", f"{n / median:,.0f}", f"{median / base:.2f}",
                             f"{max(r['peak_mb'] for r in results[name]):.0f}"))
            generated = statistics.median(r["seconds"] for r in results["generated"])
            pipeline = statistics.median(r["seconds"] for r in results["pipeline"])
            pipeline_ratios.append(f"{n:,} leads: {pipeline / generated:.2f}x")
            rate = python["leads"] / python["seconds"]
            rows.append((f"{n:,}", "(d) compiled Python evaluator (100k sample)", f"{n / rate:.2f} (est.)",
                         f"{rate:,.0f}", f"{(n / rate) / base:.2f}", f"{python['peak_mb']:.0f}"))
    print(f"median of {args.runs} rounds, each way in a fresh process; (a) and (b) agree on every lead\n")
    print_table(rows, ("leads", "way", "seconds", "leads/s", "time vs (a)", "peak MiB"))
    print("\n(c) leadpolicy score end to end vs (b) the generated SQL alone: " + "; ".join(pipeline_ratios))


if __name__ == "__main__":
    main()
