"""Batch scoring of lead files (CSV, JSON Lines, Parquet) on embedded DuckDB or in Python.

Every input cell is read as text and converted by its field's type, the same way in both
engines (docs/leads.md, "CSV"): so both engines accept and reject exactly the same rows.
Rows that do not convert go to a rejects file with their row number, field and reason;
the run ends with `read N, scored M, rejected K`, and N = M + K always. Output is written
to a temporary file and renamed into place, so a failure or Ctrl-C leaves no half file.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlglot import exp

from . import staging
from .diagnostics import did_you_mean
from .schema import BLANK, DATE_PATTERN, NUMBER_PATTERN, TIMESTAMP_PATTERN, YES_WORDS, LeadReader, read_text_cell

ROW = staging.ROW


class BatchError(ValueError):
    """An input or output that cannot be used at all; the message says why."""


@dataclass
class BatchResult:
    read: int = 0
    scored: int = 0
    rejected: int = 0
    rejects: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        return f"read {self.read}, scored {self.scored}, rejected {self.rejected}"


def file_format(path: Path, given: str | None = None) -> str:
    try:
        return staging.data_format(path, given)
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None


_q = staging.quoted


def stage(con, path: Path, fmt: str, fields: list[str]) -> tuple[list[str], list[dict]]:
    """The input as text in table `raw` (staging.stage), with a NULL column for every missing field."""
    try:
        columns, problems = staging.stage(con, path, fmt)
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None
    for name in fields:
        if name not in columns:
            con.execute(f"ALTER TABLE raw ADD COLUMN {_q(name)} VARCHAR")
    return columns, [{k: p[k] for k in ("row", "field", "problem")} for p in problems]


def _col(name: str) -> exp.Expression:
    return exp.column(name, quoted=True)


def _conversion(i: int, f: dict) -> dict[str, exp.Expression]:
    """For field number i, the expressions of three layers over the text column:
    'trimmed' (layer 1), 'blank' and 'value' (layer 2, from layer 1), and 'final' and 'error'
    (layer 3, from layer 2). Each is computed once per row."""
    col, kind = _col(f["name"]), f["type"]
    t, b, v = _col(f"__lp_t{i}"), _col(f"__lp_b{i}"), _col(f"__lp_v{i}")
    out: dict[str, exp.Expression] = {
        "trimmed": exp.Trim(this=col.copy(), expression=exp.Literal.string(BLANK)),
        "blank": exp.or_(exp.Is(this=col.copy(), expression=exp.Null()),
                         exp.EQ(this=t.copy(), expression=exp.Literal.string(""))),
    }
    not_blank = exp.not_(b.copy())
    error: exp.Expression = exp.Null()
    if kind in ("text", "one of"):
        out["value"] = col.copy()
        out["final"] = col.copy()
        if kind == "one of":
            outside = exp.not_(exp.In(this=col.copy(), expressions=[exp.Literal.string(c) for c in f["choices"]]))
            error = exp.Case().when(exp.and_(not_blank, outside), exp.Literal.string("not-a-choice"))
    else:
        if kind == "yes/no":
            lowered = exp.Lower(this=t.copy())
            yes = [exp.Literal.string(w) for w, x in YES_WORDS.items() if x]
            no = [exp.Literal.string(w) for w, x in YES_WORDS.items() if not x]
            out["value"] = exp.Case().when(exp.In(this=lowered.copy(), expressions=yes), exp.Boolean(this=True)).when(
                exp.In(this=lowered.copy(), expressions=no), exp.Boolean(this=False))
            bad: exp.Expression = exp.Is(this=v.copy(), expression=exp.Null())
        else:
            pattern, type_ = {"number": (NUMBER_PATTERN, "DOUBLE"), "date": (DATE_PATTERN, "DATE"),
                              "timestamp": (TIMESTAMP_PATTERN, "TIMESTAMPTZ")}[kind]
            shaped = exp.RegexpLike(this=t.copy(), expression=exp.Literal.string(pattern))
            out["value"] = exp.Case().when(shaped, exp.TryCast(this=t.copy(), to=exp.DataType.build(type_)))
            bad = exp.Is(this=v.copy(), expression=exp.Null())
            if kind == "number":
                bad = exp.or_(bad, exp.not_(exp.func("isfinite", v.copy())))
        out["final"] = exp.Case().when(b.copy(), exp.Null()).else_(v.copy())
        error = exp.Case().when(exp.and_(not_blank, bad), exp.Literal.string(kind))
    if f["required"]:
        error = exp.Case().when(b.copy(), exp.Literal.string("required")).else_(error)
    out["error"] = error
    return out


PROBLEMS = {
    "required": "is required but missing",
    "number": "expected a number, got text {value!r}",
    "yes/no": "expected yes/no, got text {value!r}",
    "date": "{value!r} is not a date (YYYY-MM-DD)",
    "timestamp": "{value!r} is not an ISO 8601 timestamp (2026-11-20T12:00:00-05:00)",
    "not-a-choice": "{value!r} is not one of: {choices}",
}


def _problem(f: dict, code: str, value: str | None) -> str:
    text = PROBLEMS[code].format(value=value, choices=", ".join(f["choices"]))
    if code == "not-a-choice":
        hint = did_you_mean(str(value), f["choices"])
        text += f" ({hint})" if hint else ""
    return text


def convert(con, ir: dict) -> None:
    """Table `typed` (converted values) and table `bad` (row, field, code, value) from `raw`,
    in one pass over the rows, each conversion computed once."""
    fields = ir["fields"]
    parts = [_conversion(i, f) for i, f in enumerate(fields)]
    sql = lambda e: e.sql("duckdb")  # noqa: E731
    layer1 = ", ".join(f"{sql(p['trimmed'])} AS __lp_t{i}" for i, p in enumerate(parts)) or "1 AS __lp_none"
    layer2 = ", ".join(f"{sql(p['blank'])} AS __lp_b{i}, {sql(p['value'])} AS __lp_v{i}"
                       for i, p in enumerate(parts)) or "1 AS __lp_none2"
    finals = {f["name"]: f"{sql(p['final'])} AS {_q(f['name'])}" for f, p in zip(fields, parts)}
    columns = [c[0] for c in con.execute("DESCRIBE raw").fetchall() if c[0] != ROW]
    keep = ", ".join([ROW] + [finals.get(c, _q(c)) for c in columns])
    codes = ", ".join(f"{sql(p['error'])} AS __lp_e{i}" for i, p in enumerate(parts))
    any_error = " OR ".join(f"__lp_e{i} IS NOT NULL" for i in range(len(parts))) or "false"
    con.execute(f"CREATE TABLE converted AS SELECT *, ({any_error}) AS __lp_bad FROM ("
                f"SELECT {keep}{', ' + codes if codes else ''} FROM (SELECT *, {layer2} FROM "
                f"(SELECT *, {layer1} FROM raw)))")
    failing = " UNION ALL ".join(
        f"SELECT {ROW}, {exp.Literal.string(f['name']).sql('duckdb')} AS field, __lp_e{i} AS code FROM converted "
        f"WHERE __lp_bad AND __lp_e{i} IS NOT NULL" for i, f in enumerate(fields)) or \
        f"SELECT {ROW}, '' AS field, '' AS code FROM converted WHERE false"
    con.execute(f"CREATE TABLE bad AS SELECT b.{ROW}, b.field, b.code, CAST(NULL AS VARCHAR) AS value "
                f"FROM ({failing}) b")
    if con.execute("SELECT count(*) FROM bad").fetchall()[0][0]:
        for f in fields:  # the offending text, for the messages
            con.execute(f"UPDATE bad SET value = CAST(raw.{_q(f['name'])} AS VARCHAR) FROM raw "
                        f"WHERE raw.{ROW} = bad.{ROW} AND bad.field = {exp.Literal.string(f['name']).sql('duckdb')}")
    drop = ", ".join([f"__lp_e{i}" for i in range(len(parts))] + ["__lp_bad"])
    con.execute(f"CREATE TABLE typed AS SELECT * EXCLUDE ({drop}) FROM converted WHERE NOT __lp_bad")


def collect_rejects(con, ir: dict, result: BatchResult) -> None:
    fields = {f["name"]: f for f in ir["fields"]}
    for row, name, code, value in con.execute(f"SELECT {ROW}, field, code, value FROM bad ORDER BY {ROW}, field"
                                              ).fetchall():
        result.rejects.append({"row": int(row), "field": name, "problem": _problem(fields[name], code, value)})


def write_output(con, select_sql: str, out: Path, fmt: str) -> None:
    """COPY the query to `out` atomically (a temporary file renamed into place)."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    options = {"csv": "FORMAT csv, HEADER true", "jsonl": "FORMAT json", "parquet": "FORMAT parquet"}[fmt]
    try:
        con.execute(f"COPY ({select_sql}) TO {exp.Literal.string(str(tmp)).sql('duckdb')} ({options})")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_rejects(path: Path, rejects: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["row", "field", "problem"])
            writer.writeheader()
            writer.writerows(sorted(rejects, key=lambda r: (r["row"], r["field"])))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def score_duckdb(policy, source: Path, out: Path, now: dt.datetime, in_fmt: str, out_fmt: str,
                 progress: bool = False) -> BatchResult:
    from .sqlgen import compile_sql

    ir = policy.ir
    stage_db = staging.Staging(ir["timezone"], progress)
    con = stage_db.con
    result = BatchResult()
    try:
        _, problems = stage(con, source, in_fmt, [f["name"] for f in ir["fields"]])
        convert(con, ir)
        collect_rejects(con, ir, result)
        result.rejects += problems
        result.read = con.execute("SELECT count(*) FROM raw").fetchone()[0] + len(problems)
        result.rejected = len({r["row"] for r in result.rejects})
        query = compile_sql(ir, "duckdb", "typed", now, pretty=False).split("\n", 2)[2]
        scored_sql = f"SELECT * EXCLUDE ({ROW}) FROM ({query}) ORDER BY {ROW}"
        write_output(con, scored_sql, out, out_fmt)
        result.scored = con.execute("SELECT count(*) FROM typed").fetchone()[0]
    finally:
        stage_db.close()
    return result


def score_python(policy, source: Path, out: Path, now: dt.datetime, in_fmt: str, out_fmt: str,
                 progress: bool = False) -> BatchResult:
    """The same job with the compiled Python evaluator, reading rows through DuckDB in batches."""
    ir = policy.ir
    stage_db = staging.Staging(ir["timezone"], False)
    con = stage_db.con
    result = BatchResult()
    kinds = {f["name"]: f["type"] for f in ir["fields"]}
    reader = LeadReader(policy.tree)
    tmp_jsonl = out.with_name(f".{out.name}.{os.getpid()}.jsonl.tmp")
    try:
        columns, problems = stage(con, source, in_fmt, list(kinds))
        result.rejects += problems
        cursor = con.execute(f"SELECT * FROM raw ORDER BY {ROW}")
        names = [d[0] for d in cursor.description]
        with open(tmp_jsonl, "w", encoding="utf-8") as handle:
            while True:
                rows = cursor.fetchmany(10_000)
                if not rows:
                    break
                for raw_row in rows:
                    record = dict(zip(names, raw_row))
                    row = int(record.pop(ROW))
                    result.read += 1
                    lead = {k: (read_text_cell(kinds[k], v) if k in kinds else v) for k, v in record.items()}
                    _, errors = reader.read(lead)
                    if errors:
                        result.rejected += 1
                        for e in errors:
                            result.rejects.append({"row": row, "field": e.field, "problem": e.message})
                        continue
                    decision = policy.evaluate(lead, now)
                    output = {k: v for k, v in record.items()}
                    output.update(decision.scores)
                    output.update(decision.grades)
                    output.update({"stage": decision.stage, "owner": decision.owner, "route": decision.route})
                    handle.write(json.dumps(output) + "\n")
                    result.scored += 1
                if progress:
                    print(f"\rscored {result.scored:,} of {result.read:,} read", end="", file=sys.stderr)
        if progress:
            print(file=sys.stderr)
        result.read += len(problems)
        result.rejected += len(problems)
        if out_fmt == "jsonl":
            os.replace(tmp_jsonl, out)
        else:
            select = ("SELECT * FROM read_json(" + exp.Literal.string(str(tmp_jsonl)).sql("duckdb") +
                      ", format = 'newline_delimited')")
            write_output(con, select, out, out_fmt)
    finally:
        stage_db.close()
        if tmp_jsonl.exists():
            tmp_jsonl.unlink()
    return result


def run(policy, source: str | Path, out: str | Path | None, now: dt.datetime, engine: str = "duckdb",
        rejects: str | Path | None = None, progress: bool = False, in_format: str | None = None,
        ) -> tuple[BatchResult, Path, Path | None]:
    """Score a lead file; returns the counts, the output path and the rejects path (None when none)."""
    source = Path(source)
    in_fmt = file_format(source, in_format)
    out_path = Path(out) if out else Path(source.name.split(".")[0] + ".scored" + source.suffix)
    out_fmt = file_format(out_path)
    if out_path.resolve() == source.resolve():
        raise BatchError(f"{out_path}: the output would overwrite the input")
    scorer: Callable[..., BatchResult] = score_duckdb if engine == "duckdb" else score_python
    result = scorer(policy, source, out_path, now, in_fmt, out_fmt, progress)
    if result.read != result.scored + result.rejected:  # the promise this module makes; never silent
        raise BatchError(f"internal count mismatch: {result.summary()}")
    rejects_path = None
    if result.rejects:
        rejects_path = Path(rejects) if rejects else out_path.with_name(out_path.name.split(".")[0] + ".rejects.csv")
        write_rejects(rejects_path, result.rejects)
    return result, out_path, rejects_path

