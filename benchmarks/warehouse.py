"""Warehouse benchmark: scoring generated leads from Parquet and from CSV on embedded DuckDB.

    python benchmarks/warehouse.py [--sizes 1000000 10000000] [--runs 3] [--formats parquet csv]

For each size (leads generated with a fixed seed, written as typed Parquet and as the CSV a CRM
exports), and each input format (the output written in the same format), median of --runs, each
in a fresh process (so peak memory is that run's own), the ways taken in turn in each round (so a
slow spell of the machine hits every way alike); each time includes opening the DuckDB
connection, as (c)'s includes its own, and none includes importing modules:
  (a) a hand-written DuckDB SQL of the reference policy (the baseline);
  (b) leadpolicy's generated DuckDB SQL reading the file with typed columns (CSV: DuckDB's typed
      CSV reader, told each column's type): the floor;
  (c) the whole `leadpolicy score` pipeline: text conversion, validation, rejects, scoring;
  (d) the compiled Python evaluator, timed on the first 100,000 leads (leads/s).
(a) and (b) are first checked to give identical decisions on every lead; (c)'s ratio to (b) is
printed per size and format, with the peak memory of each way.
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
  FROM %(source)s
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


COLUMN_TYPES = {"email": "VARCHAR", "employees": "DOUBLE", "industry": "VARCHAR", "job_title": "VARCHAR",
                "country": "VARCHAR", "source": "VARCHAR", "email_clicks": "DOUBLE", "pricing_page_views": "DOUBLE",
                "demo_requested": "BOOLEAN", "last_activity": "TIMESTAMPTZ"}
COPY_OPTIONS = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true"}


def source_sql(src: str) -> str:
    """The file as DuckDB reads it with typed columns: Parquet as it is, CSV with each column's type given."""
    if src.endswith(".parquet"):
        return f"read_parquet('{src}')"
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMN_TYPES.items())
    return f"read_csv('{src}', header = true, auto_detect = false, columns = {{{columns}}})"


def run_sql(kind: str, src: str, out: str) -> dict:
    import time

    import duckdb
    from common import peak_rss_mb

    if kind == "hand":
        query = HAND_WRITTEN % {"now": NOW_US, "source": source_sql(src)}
    else:
        import leadpolicy
        from leadpolicy.warehouse.sqlgen import compile_sql

        policy = leadpolicy.load(POLICY)
        query = compile_sql(policy.ir, "duckdb", "leads", policy.instant(NOW)).replace(
            'FROM "leads"', f"FROM {source_sql(src)}")
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"COPY ({query}) TO '{out}' ({COPY_OPTIONS[Path(out).suffix[1:]]})")
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def run_pipeline(src: str, out: str) -> dict:
    import time

    from common import import_engines, peak_rss_mb

    import leadpolicy
    from leadpolicy.warehouse.batch import BatchOptions, run

    policy = leadpolicy.load(POLICY)
    import_engines()
    start = time.perf_counter()
    result, _, _ = run(policy, BatchOptions(source=src, output=out, now=policy.instant(NOW), engine="duckdb"))
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


def write_csv(parquet: Path, path: Path) -> None:
    """The leads as a CRM exports them: CSV with a header, timestamps with their offset."""
    import duckdb

    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{path}' (FORMAT csv, HEADER true)")


def measure(n: int, fmt: str, src: str, tmp: str, runs: int) -> tuple[list[tuple], str]:
    """The table rows of (a), (b) and (c) for one size and input format, and (c)'s ratio to (b)."""
    outs = {way: str(Path(tmp) / f"{way}.{fmt}") for way in ("hand", "generated", "pipeline")}
    results = in_turns({"hand": functools.partial(child, "run_sql", "hand", src, outs["hand"]),
                        "generated": functools.partial(child, "run_sql", "generated", src, outs["generated"]),
                        "pipeline": functools.partial(child, "run_pipeline", src, outs["pipeline"])}, runs)
    check_identical(src, outs["hand"], outs["generated"])
    base = statistics.median(r["seconds"] for r in results["hand"])
    rows = []
    for name, label in (("hand", "(a) hand-written DuckDB SQL"), ("generated", "(b) generated DuckDB SQL, typed read"),
                        ("pipeline", "(c) leadpolicy score (convert + validate + score)")):
        median = statistics.median(r["seconds"] for r in results[name])
        rows.append((f"{n:,}", fmt, label, f"{median:.2f}", f"{n / median:,.0f}", f"{median / base:.2f}",
                     f"{max(r['peak_mb'] for r in results[name]):.0f}"))
    generated = statistics.median(r["seconds"] for r in results["generated"])
    pipeline = statistics.median(r["seconds"] for r in results["pipeline"])
    return rows, f"{n:,} leads, {fmt}: {pipeline / generated:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", choices=["parquet", "csv"], default=["parquet", "csv"])
    args = parser.parse_args()
    rows, pipeline_ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            parquet = Path(tmp) / f"leads-{n}.parquet"
            generate(parquet, n)
            first = len(rows)
            for fmt in args.formats:
                src = parquet if fmt == "parquet" else Path(tmp) / f"leads-{n}.csv"
                if fmt == "csv":
                    write_csv(parquet, src)
                found, ratio = measure(n, fmt, str(src), tmp, args.runs)
                rows += found
                pipeline_ratios.append(ratio)
            python = child("run_python", str(parquet), "")
            rate = python["leads"] / python["seconds"]
            base = float(rows[first][3])  # the first format's (a), for the row's ratio
            rows.append((f"{n:,}", "-", "(d) compiled Python evaluator (100k sample)", f"{n / rate:.2f} (est.)",
                         f"{rate:,.0f}", f"{(n / rate) / base:.2f}", f"{python['peak_mb']:.0f}"))
    print(f"median of {args.runs} rounds, each way in a fresh process; (a) and (b) agree on every lead\n")
    print_table(rows, ("leads", "input", "way", "seconds", "leads/s", "time vs (a)", "peak MiB"))
    print("\n(c) leadpolicy score end to end vs (b) the generated SQL on a typed read (the floor): "
          + "; ".join(pipeline_ratios))


if __name__ == "__main__":
    main()
