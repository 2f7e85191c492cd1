"""`compile --target sql --sla NAME` on real engines (DuckDB, Spark in local mode, PostgreSQL): every clock
and count of every reference timeline equals the Python reference's."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

import leadpolicy
from leadpolicy.semantics.leads import read_instant
from leadpolicy.sla.calendar_tables import to_us
from leadpolicy.sla.engine import Event, SlaEngine
from leadpolicy.warehouse.sla_compile import compile_sla
from leadpolicy.warehouse.sla_sql import CLOCK_COLUMNS, COUNT_COLUMNS

from .conftest import POLICIES
from .engines import DUCKDB_TYPES, POSTGRES_TYPES, SPARK_TYPES, typed_rows

NAMES = ("inbound-b2b", "inbound-activity")


def groups(names=NAMES):
    """Each reference's timelines grouped by their `now` (their leads are distinct, so one log each)."""
    for name in names:
        policy = leadpolicy.load(POLICIES / f"{name}.policy")
        doc = yaml.safe_load((POLICIES / f"{name}.samples.yaml").read_text())
        tz = ZoneInfo(policy.ir.timezone)
        by_now: dict[dt.datetime, tuple[list[Event], dict]] = defaultdict(lambda: ([], {}))
        for case in doc.get("timelines") or []:
            now = read_instant(str(case.get("now") or doc["now"]), tz)
            events, records = by_now[now]
            events += [Event(str(e["lead"]), e["event"], read_instant(str(e["at"]), tz), e.get("reason"),
                             len(events) + i + 1) for i, e in enumerate(case["events"])]
            records.update({str(k): v for k, v in (case.get("leads") or {}).items()})
        for now, (events, records) in by_now.items():
            yield policy, now, events, records


def expected(policy, now, events, records) -> dict[str, set]:
    out = SlaEngine(policy.ir, records).evaluate(events, now)
    found: dict[str, set] = defaultdict(set)
    for c in out.clocks:
        found[c.sla].add((c.lead, to_us(c.start), to_us(c.stop) if c.stop else None, c.stop_event, c.tier,
                          to_us(c.deadline), c.status, c.used // dt.timedelta(microseconds=1),
                          c.paused // dt.timedelta(microseconds=1),
                          c.late_by // dt.timedelta(microseconds=1) if c.late_by is not None else None,
                          c.at_risk if c.stop is None else False, c.escalated_to if c.stop is None else None))
    for c in out.counts:
        found[c.sla].add((c.lead, to_us(c.start), to_us(c.window_end), c.count, c.needed, c.status))
    return found


def as_found(row: dict, kind: str) -> tuple:
    if kind == "clock":
        return (row["lead"], row["start_us"], row["stop_us"], row["stop_event"], row["tier"], row["deadline_us"],
                row["status"], row["used_us"], row["paused_us"], row["late_us"], bool(row["at_risk"]),
                row["escalated_to"])
    return (row["lead"], row["start_us"], row["window_end_us"], row["n_events"], row["needed"], row["status"])


def run_all(engine: str, connection, names=NAMES) -> None:
    for policy, now, events, records in groups(names):
        want = expected(policy, now, events, records)
        load = {"duckdb": _duckdb, "spark": _spark, "postgres": _postgres}[engine]
        load(connection, policy, events, records)
        since = min(e.at for e in events).date() - dt.timedelta(days=1)
        for sla in policy.ir.slas:
            if sla.clock is None and not sla.counts:
                continue
            query = compile_sla(policy.ir, sla.name, engine, now, "events", "leads", "lead_id", since, "n")
            kind = "clock" if sla.clock is not None else "count"
            columns = CLOCK_COLUMNS if kind == "clock" else COUNT_COLUMNS
            rows = _fetch(engine, connection, query, columns)
            assert {as_found(r, kind) for r in rows} == want.get(sla.name, set()), (policy.id, sla.name, now)


def _fetch(engine, connection, query, columns) -> list[dict]:
    body = query.split("\n", 3)[3]
    if engine == "spark":
        return [row.asDict() for row in connection.sql(body).collect()]
    cursor = connection.execute(body)
    names = [d[0] for d in cursor.description]
    return [{n: (int(v) if n.endswith("_us") and v is not None else v) for n, v in zip(names, r)}
            for r in cursor.fetchall()]


def _lead_rows(policy, records):
    leads = list(records.values())
    return list(records), typed_rows(policy, leads) if leads else []


def _duckdb(con, policy, events, records):
    con.execute('CREATE OR REPLACE TABLE events (lead VARCHAR, event VARCHAR, "at" TIMESTAMPTZ, reason VARCHAR, n INT)')
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", [(e.lead, e.event, e.at, e.reason, e.row)
                                                                 for e in events])
    fields = policy.ir.fields
    columns = ", ".join(f'"{f.name}" {DUCKDB_TYPES[f.type]}' for f in fields)
    con.execute(f"CREATE OR REPLACE TABLE leads ({columns}, lead_id VARCHAR)")
    ids, rows = _lead_rows(policy, records)
    if rows:
        con.executemany(f"INSERT INTO leads VALUES ({', '.join('?' for _ in range(len(fields) + 1))})",
                        [[r[f.name] for f in fields] + [lead] for lead, r in zip(ids, rows)])


def _spark(spark, policy, events, records):
    spark.createDataFrame([(e.lead, e.event, e.at.astimezone(dt.timezone.utc), e.reason, e.row) for e in events],
                          "lead string, event string, at timestamp, reason string, n int").createOrReplaceTempView(
        "events")
    fields = policy.ir.fields
    schema = ", ".join(f"`{f.name}` {SPARK_TYPES[f.type]}" for f in fields) + ", lead_id string"
    ids, rows = _lead_rows(policy, records)
    spark.createDataFrame([tuple(r[f.name] for f in fields) + (lead,) for lead, r in zip(ids, rows)],
                          schema).createOrReplaceTempView("leads")


def _postgres(connection, policy, events, records):
    fields = policy.ir.fields
    connection.execute("DROP TABLE IF EXISTS events")
    connection.execute("DROP TABLE IF EXISTS leads")
    connection.execute('CREATE TEMP TABLE events ("lead" text, "event" text, "at" timestamptz, "reason" text, '
                       '"n" integer)')
    columns = ", ".join(f'"{f.name}" {POSTGRES_TYPES[f.type]}' for f in fields)
    connection.execute(f"CREATE TEMP TABLE leads ({columns}, lead_id text)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO events VALUES (%s, %s, %s, %s, %s)",
                           [(e.lead, e.event, e.at, e.reason, e.row) for e in events])
        ids, rows = _lead_rows(policy, records)
        if rows:
            cursor.executemany(f"INSERT INTO leads VALUES ({', '.join(['%s'] * (len(fields) + 1))})",
                               [[r[f.name] for f in fields] + [lead] for lead, r in zip(ids, rows)])


def test_compiled_sla_queries_on_duckdb():
    run_all("duckdb", duckdb.connect())


@pytest.mark.spark
def test_compiled_sla_queries_on_spark(spark):
    # The v2 reference alone (tiers, pauses, each time, business hours and days, counts): Spark plans
    # each of these large queries for seconds; DuckDB and PostgreSQL run both references.
    run_all("spark", spark, ("inbound-activity",))


def test_compiled_sla_queries_on_postgres(postgres):
    run_all("postgres", postgres)


def test_compile_sla_usage_and_errors(capsys):
    from leadpolicy.cli.main import main

    policy = str(POLICIES / "inbound-activity.policy")
    assert main(["compile", policy, "--target", "sql", "--sla", "speed_to_lead"]) == 2  # no --events-table
    assert main(["compile", policy, "--sla", "speed_to_lead", "--events-table", "events"]) == 2  # not --target sql
    capsys.readouterr()
    assert main(["compile", policy, "--target", "sql", "--sla", "speed_to_laed", "--events-table", "events"]) == 2
    assert 'no sla \'speed_to_laed\'' in capsys.readouterr().err
    assert main(["compile", policy, "--target", "sql", "--sla", "mql_volume", "--events-table", "events"]) == 2
    assert "counts per period" in capsys.readouterr().err
    assert main(["compile", policy, "--target", "sql", "--sla", "follow_up", "--events-table", "crm.events",
                 "--dialect", "snowflake", "--now", "2026-11-30T12:00:00Z", "--since", "2026-11-01"]) == 0
    text = capsys.readouterr().out
    assert '"CRM"."EVENTS"' in text.split("\n", 3)[3] and "clocks starting on or after 2026-11-01" in text


@pytest.mark.parametrize("flag, name", [("--table", "lp_sla_events"), ("--table", "LP_SEGMENTS"),
                                        ("--events-table", "Lp_Leads"), ("--table", "lp_tiers"),
                                        ("--events-table", "lp_result")])
def test_a_table_named_as_a_cte_of_the_sla_query_is_refused(capsys, flag, name):
    from leadpolicy.cli.main import main

    tables = {"--table": "crm.leads", "--events-table": "crm.events", flag: name}
    argv = ["compile", str(POLICIES / "inbound-activity.policy"), "--target", "sql", "--sla", "speed_to_lead",
            "--dialect", "duckdb", "--now", "2026-11-20T12:00:00Z", "--since", "2026-11-15",
            "--table", tables["--table"], "--events-table", tables["--events-table"]]
    assert main(argv) == 2  # a name given on the command line: bad usage
    captured = capsys.readouterr()
    assert not captured.out and flag in captured.err and name in captured.err and "SCHEMA." in captured.err, captured
    argv[argv.index(name)] = f"crm.{name}"  # with its schema, no CTE can take its place
    assert main(argv) == 0
    assert f'"crm"."{name}"' in capsys.readouterr().out
