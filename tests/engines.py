"""Run one policy over the same leads on every engine, as each engine's users would."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

import leadpolicy
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.events import EventReader
from leadpolicy.semantics.interpreter import evaluate as interpret
from leadpolicy.warehouse.sqlgen import compile_sql

ENGINES = ["interpreter", "python", "duckdb", "duckdb-batch", "spark", "postgres"]
SPARK_TYPES = {"text": "string", "one of": "string", "number": "double", "yes/no": "boolean", "date": "date",
               "timestamp": "timestamp"}
POSTGRES_TYPES = {"text": "text", "one of": "text", "number": "double precision", "yes/no": "boolean",
                  "date": "date", "timestamp": "timestamptz"}
DUCKDB_TYPES = {"text": "VARCHAR", "one of": "VARCHAR", "number": "DOUBLE", "yes/no": "BOOLEAN", "date": "DATE",
                "timestamp": "TIMESTAMPTZ"}


def policy_from_text(text: str) -> leadpolicy.Policy:
    from leadpolicy.api import from_tree
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(text)
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    return from_tree(loaded.policy)


def decision_names(policy: leadpolicy.Policy) -> list[str]:
    return ([s.name for s in policy.ir.scores] + [g.name for g in policy.ir.grades]
            + ["stage", "owner", "route"])


def typed_rows(policy: leadpolicy.Policy, leads: list[dict]) -> list[dict]:
    """Each lead's values as typed warehouse columns hold them (None where the lead has none)."""
    rows = []
    for lead in leads:
        values, errors = policy._reader.read(lead)
        assert not errors, errors
        row = {}
        for f in policy.ir.fields:
            raw = lead.get(f.name)
            if f.type in ("text", "one of"):
                row[f.name] = raw if isinstance(raw, str) else None  # blanks reach the SQL as they are
            elif raw is None or raw == "":
                row[f.name] = None
            elif f.type == "number":
                row[f.name] = float(values[f.name]) if values[f.name] is not None else None
            elif f.type == "timestamp":
                row[f.name] = values[f.name].astimezone(dt.timezone.utc)
            else:
                row[f.name] = values[f.name]
        rows.append(row)
    return rows


def _interpreter(policy, leads, now, events):
    out: list[dict] = []
    for lead, lead_events in zip(leads, events):
        values, errors = policy._reader.read(lead)
        if errors:
            out.append({"rejected": errors[0].field})
            continue
        read, event_errors = EventReader(policy.ir).read(lead_events)
        assert not event_errors, event_errors
        d = interpret(policy.ir, values, now, Activity(read))
        out.append({**{k: v.value for k, v in d.scores.items()}, **d.grades, "stage": d.stage, "owner": d.owner,
                    "route": d.route})
    return out


def _python(policy, leads, now, events):
    out: list[dict] = []
    for lead, lead_events in zip(leads, events):
        try:
            d = policy.evaluate(lead, now, events=lead_events)
        except leadpolicy.LeadError as exc:
            out.append({"rejected": exc.errors[0].field})
            continue
        out.append({**d.scores, **d.grades, "stage": d.stage, "owner": d.owner, "route": d.route})
    return out


def event_rows(policy: leadpolicy.Policy, events: list[list[dict]]) -> list[tuple[str, str, dt.datetime]]:
    """(lead, event, at) rows of an events table: the lead is its case number, `at` an instant in UTC."""
    rows = []
    for number, lead_events in enumerate(events):
        read, errors = EventReader(policy.ir).read(lead_events)
        assert not errors, errors
        rows += [(str(number), name, at.astimezone(dt.timezone.utc)) for name, at in read]
    return rows


def _duckdb(policy, leads, now, events):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute('CREATE TABLE events ("lead" VARCHAR, "event" VARCHAR, "at" TIMESTAMPTZ)')
    if any(events):
        con.executemany("INSERT INTO events VALUES (?, ?, ?)", event_rows(policy, events))
    fields = policy.ir.fields
    columns = ", ".join(f'"{f.name}" {DUCKDB_TYPES[f.type]}' for f in fields)
    con.execute(f"CREATE TABLE leads ({columns}, case_no INTEGER)")
    rows = typed_rows(policy, leads)
    if rows:
        con.executemany(f"INSERT INTO leads VALUES ({', '.join('?' for _ in range(len(fields) + 1))})",
                        [[r[f.name] for f in fields] + [i] for i, r in enumerate(rows)])
    query = _compiled(policy, "duckdb", now)
    names = decision_names(policy)
    wanted = ", ".join(f'"{n}"' for n in names)  # only decisions: timestamps would need pytz to fetch
    rows = con.sql(f"SELECT {wanted} FROM ({query.split(chr(10), 2)[2]}) ORDER BY case_no").fetchall()
    return [{n: _plain(v) for n, v in zip(names, row)} for row in rows]


def _batch(policy, leads, now, folder: Path, events, engine: str):
    """`leadpolicy score` on a JSON Lines file: text conversion, validation and the generated SQL (or
    the compiled Python); with events, an events file joined on a `case_no` column."""
    from leadpolicy.warehouse.batch import BatchOptions, EventInput, run

    source = folder / "leads.jsonl"
    source.write_text("".join(json.dumps({**_jsonable(lead), "case_no": i}) + "\n" for i, lead in enumerate(leads)),
                      "utf-8")
    events_file = folder / "events.jsonl"
    events_file.write_text("".join(json.dumps({"lead": lead, "event": name, "at": at.isoformat()}) + "\n"
                                   for lead, name, at in event_rows(policy, events)), "utf-8")
    out = folder / "scored.jsonl"
    result, _, _ = run(policy, BatchOptions(source=source, output=out, now=now, engine=engine,
                                            events=EventInput(events_file, "case_no")))
    assert result.events is not None and result.events.rejected == 0, result.events
    rejected: dict[int, str] = {}
    for r in result.rejects:  # rows count from 1; a row's first reported field stands for it
        rejected.setdefault(r["row"] - 1, r["field"])
    names = decision_names(policy)
    scored = iter(out.read_text("utf-8").splitlines())
    return [{"rejected": rejected[i]} if i in rejected else {n: row[n] for n in names}
            for i, row in ((i, json.loads(next(scored)) if i not in rejected else {}) for i in range(len(leads)))]


def _spark(policy, leads, now, spark, events):
    spark.createDataFrame(event_rows(policy, events) or [("", "", dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))],
                          "lead string, event string, at timestamp").createOrReplaceTempView("events")
    fields = policy.ir.fields
    schema = ", ".join(f"`{f.name}` {SPARK_TYPES[f.type]}" for f in fields) + ", case_no int"
    rows = typed_rows(policy, leads)
    frame = spark.createDataFrame([tuple(r[f.name] for f in fields) + (i,) for i, r in enumerate(rows)], schema)
    frame.createOrReplaceTempView("leads")
    names = decision_names(policy)
    # Only the decisions come back to Python: pyspark's own conversion of a year-1 timestamp fails.
    query = _compiled(policy, "spark", now)
    result = spark.sql(query).orderBy("case_no").select(*names).collect()
    return [{k: _plain(row[k]) for k in names} for row in result]


def _postgres(policy, leads, now, connection, events):
    """The generated PostgreSQL SQL on a real server, over a table in a database whose default
    collation is "C" (so text folding must not depend on it)."""
    fields = policy.ir.fields
    names = decision_names(policy)
    columns = ", ".join(f'"{f.name}" {POSTGRES_TYPES[f.type]}' for f in fields)
    with connection.transaction():
        connection.execute("DROP TABLE IF EXISTS leads")
        connection.execute("DROP TABLE IF EXISTS events")
        connection.execute(f'CREATE TEMP TABLE leads ({columns}, case_no integer) ')
        connection.execute('CREATE TEMP TABLE events ("lead" text, "event" text, "at" timestamptz)')
        rows = typed_rows(policy, leads)
        placeholders = ", ".join(["%s"] * (len(fields) + 1))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO leads VALUES ({placeholders})",
                               [[r[f.name] for f in fields] + [i] for i, r in enumerate(rows)])
            if any(events):
                cursor.executemany("INSERT INTO events VALUES (%s, %s, %s)", event_rows(policy, events))
        query = _compiled(policy, "postgres", now).split("\n", 2)[2]
        wanted = ", ".join(f'"{n}"' for n in names)
        result = connection.execute(f"SELECT {wanted} FROM ({query}) AS decided ORDER BY case_no").fetchall()
        connection.execute("DROP TABLE leads")
        connection.execute("DROP TABLE events")
    return [{n: _plain(v) for n, v in zip(names, row)} for row in result]


# The generated SQL of a policy for one dialect and now, kept for the examples that follow: a property test
# draws its leads for a few policies and nows, and compiling took most of an example's time. The query never
# sees the leads, so every example still runs the compiled query on its own rows and events.
_QUERIES: dict[tuple[int, str, str], tuple[Any, str]] = {}


def _compiled(policy: leadpolicy.Policy, dialect: str, now: dt.datetime) -> str:
    key = (id(policy.ir), dialect, f"{now.isoformat()} {now.tzinfo!r}")  # an equal instant in another zone differs
    kept = _QUERIES.get(key)
    if kept is None or kept[0] is not policy.ir:  # the IR is kept alive with its query: its id is not reused
        if len(_QUERIES) >= 64:
            _QUERIES.clear()
        kept = _QUERIES[key] = (policy.ir, compile_sql(policy.ir, dialect, "leads", now, events_table="events",
                                                       id_column="case_no"))
    return kept[1]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _jsonable(lead: dict) -> dict:
    """A lead as a JSON Lines export has it: dates as ISO text, decimals as numbers."""
    def value(v):
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return float(v) if isinstance(v, Decimal) else v
    return {k: value(v) for k, v in lead.items()}


def decide(engine: str, policy: leadpolicy.Policy, leads: list[dict], now: dt.datetime, *, spark=None,
           folder: Path | None = None, postgres=None, events: list[list[dict]] | None = None) -> list[dict]:
    """The decisions (scores, grades, stage, owner, route) of `leads` on one engine; `events[i]` is what
    lead i did."""
    events = events if events is not None else [[] for _ in leads]
    if engine in ("duckdb", "spark", "postgres"):
        # Typed tables hold what the one reader read: a lead it rejects never reaches these engines
        # (`leadpolicy score`, which reads text in SQL, is "duckdb-batch").
        rejected = {i: errors[0].field for i, lead in enumerate(leads) if (errors := policy._reader.read(lead)[1])}
        kept = [i for i in range(len(leads)) if i not in rejected]
        typed = _typed_engine(engine, policy, [leads[i] for i in kept], now, [events[i] for i in kept],
                              spark, postgres) if kept else []
        decided = dict(zip(kept, typed))
        return [{"rejected": rejected[i]} if i in rejected else decided[i] for i in range(len(leads))]
    if engine == "interpreter":
        return _interpreter(policy, leads, now, events)
    if engine == "python":
        return _python(policy, leads, now, events)
    if engine in ("duckdb-batch", "python-batch"):
        assert folder is not None
        return _batch(policy, leads, now, folder, events, engine.split("-")[0])
    raise ValueError(engine)


def _typed_engine(engine: str, policy: leadpolicy.Policy, leads: list[dict], now: dt.datetime,
                  events: list[list[dict]], spark, postgres) -> list[dict]:
    if engine == "duckdb":
        return _duckdb(policy, leads, now, events)
    if engine == "spark":
        return _spark(policy, leads, now, spark, events)
    return _postgres(policy, leads, now, postgres, events)
