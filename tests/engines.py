"""Run one policy over the same leads on every engine, as each engine's users would."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

import leadpolicy
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
    from leadpolicy.api import _from_tree
    from leadpolicy.language.loader import load_policy_text

    loaded = load_policy_text(text)
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    return _from_tree(loaded.policy)


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


def _interpreter(policy, leads, now):
    out = []
    for lead in leads:
        values, errors = policy._reader.read(lead)
        assert not errors, errors
        d = interpret(policy.ir, values, now)
        out.append({**{k: v.value for k, v in d.scores.items()}, **d.grades, "stage": d.stage, "owner": d.owner,
                    "route": d.route})
    return out


def _python(policy, leads, now):
    out = []
    for lead in leads:
        d = policy.evaluate(lead, now)
        out.append({**d.scores, **d.grades, "stage": d.stage, "owner": d.owner, "route": d.route})
    return out


def _duckdb(policy, leads, now):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    fields = policy.ir.fields
    columns = ", ".join(f'"{f.name}" {DUCKDB_TYPES[f.type]}' for f in fields)
    con.execute(f"CREATE TABLE leads ({columns}, case_no INTEGER)")
    rows = typed_rows(policy, leads)
    if rows:
        con.executemany(f"INSERT INTO leads VALUES ({', '.join('?' for _ in range(len(fields) + 1))})",
                        [[r[f.name] for f in fields] + [i] for i, r in enumerate(rows)])
    query = compile_sql(policy.ir, "duckdb", "leads", now)
    names = decision_names(policy)
    wanted = ", ".join(f'"{n}"' for n in names)  # only decisions: timestamps would need pytz to fetch
    rows = con.sql(f"SELECT {wanted} FROM ({query.split(chr(10), 2)[2]}) ORDER BY case_no").fetchall()
    return [{n: _plain(v) for n, v in zip(names, row)} for row in rows]


def _duckdb_batch(policy, leads, now, folder: Path):
    """`leadpolicy score` on a JSON Lines file: text conversion, validation and the generated SQL."""
    from leadpolicy.warehouse.batch import run

    source = folder / "leads.jsonl"
    source.write_text("".join(json.dumps(_jsonable(lead)) + "\n" for lead in leads), "utf-8")
    out = folder / "scored.jsonl"
    result, _, _ = run(policy, source, out, now, "duckdb")
    assert result.rejected == 0, result.rejects
    names = decision_names(policy)
    return [{n: row[n] for n in names} for row in map(json.loads, out.read_text("utf-8").splitlines())]


def _spark(policy, leads, now, spark):
    fields = policy.ir.fields
    schema = ", ".join(f"`{f.name}` {SPARK_TYPES[f.type]}" for f in fields) + ", case_no int"
    rows = typed_rows(policy, leads)
    frame = spark.createDataFrame([tuple(r[f.name] for f in fields) + (i,) for i, r in enumerate(rows)], schema)
    frame.createOrReplaceTempView("leads")
    names = decision_names(policy)
    # Only the decisions come back to Python: pyspark's own conversion of a year-1 timestamp fails.
    result = spark.sql(compile_sql(policy.ir, "spark", "leads", now)).orderBy("case_no").select(*names).collect()
    return [{k: _plain(row[k]) for k in names} for row in result]


def _postgres(policy, leads, now, connection):
    """The generated PostgreSQL SQL on a real server, over a table in a database whose default
    collation is "C" (so text folding must not depend on it)."""
    fields = policy.ir.fields
    names = decision_names(policy)
    columns = ", ".join(f'"{f.name}" {POSTGRES_TYPES[f.type]}' for f in fields)
    with connection.transaction():
        connection.execute("DROP TABLE IF EXISTS leads")
        connection.execute(f'CREATE TEMP TABLE leads ({columns}, case_no integer) ')
        rows = typed_rows(policy, leads)
        placeholders = ", ".join(["%s"] * (len(fields) + 1))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO leads VALUES ({placeholders})",
                               [[r[f.name] for f in fields] + [i] for i, r in enumerate(rows)])
        query = compile_sql(policy.ir, "postgres", "leads", now).split("\n", 2)[2]
        wanted = ", ".join(f'"{n}"' for n in names)
        result = connection.execute(f"SELECT {wanted} FROM ({query}) AS decided ORDER BY case_no").fetchall()
        connection.execute("DROP TABLE leads")
    return [{n: _plain(v) for n, v in zip(names, row)} for row in result]


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
           folder: Path | None = None, postgres=None) -> list[dict]:
    """The decisions (scores, grades, stage, owner, route) of `leads` on one engine."""
    if engine == "interpreter":
        return _interpreter(policy, leads, now)
    if engine == "python":
        return _python(policy, leads, now)
    if engine == "duckdb":
        return _duckdb(policy, leads, now)
    if engine == "duckdb-batch":
        assert folder is not None
        return _duckdb_batch(policy, leads, now, folder)
    if engine == "spark":
        return _spark(policy, leads, now, spark)
    if engine == "postgres":
        return _postgres(policy, leads, now, postgres)
    raise ValueError(engine)
