"""Batch scoring of lead files (CSV, JSON Lines, Parquet) on embedded DuckDB or in Python.

Every input cell is read as its field's type the way a CSV cell's text is, in both engines
(docs/leads.md, "CSV"), so both accept and reject exactly the same rows; a typed Parquet column
that already holds its field's values is used as it is (`typed_source`, docs/warehouse.md).
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

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics.ir import Field as IrField
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.leads import (
    BLANK,
    DATE_PATTERN,
    NUMBER_PATTERN,
    TIMESTAMP_PATTERN,
    YES_WORDS,
    LeadReader,
    read_text_cell,
)
from leadpolicy.semantics.logic import fold
from leadpolicy.warehouse import staging

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


@dataclass
class ColumnPlan:
    """How a file's columns meet the policy: which column holds each field, what to say about the rest."""

    columns: list[str]  # the file's column names, in file order
    field_column: dict[str, int] = field(default_factory=dict)  # policy field -> column index
    replaced: list[int] = field(default_factory=list)  # columns named like a computed output
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def plan_columns(ir: IrPolicy, columns: list[str], strict: bool = False) -> ColumnPlan:
    """Match columns to fields ignoring case; report ambiguities (errors), missing fields and
    columns that look like misspelled fields (warnings, or errors with `strict`)."""
    plan = ColumnPlan(columns)
    by_fold: dict[str, list[int]] = {}
    for i, name in enumerate(columns):
        by_fold.setdefault(fold(name), []).append(i)
    for f in ir.fields:
        found = by_fold.get(fold(f.name), [])
        if len(found) > 1:
            names = " and ".join(repr(columns[i]) for i in found)
            plan.errors.append(f"columns {names} both match field {f.name} (names are matched ignoring case)")
        elif found:
            plan.field_column[f.name] = found[0]
    matched = set(plan.field_column.values())
    outputs = {fold(n): n for n in output_names(ir)}
    for i, name in enumerate(columns):
        if fold(name) in outputs and i not in matched:
            plan.replaced.append(i)
            plan.warnings.append(f"column {name!r} is replaced in the output by the computed {outputs[fold(name)]}")
    missing = [f.name for f in ir.fields if f.name not in plan.field_column]
    unmatched = [name for i, name in enumerate(columns) if i not in matched and i not in plan.replaced]
    near = plan.errors if strict else plan.warnings
    for name in missing:
        hint = did_you_mean(name, unmatched)
        near.append(f"field {name} is not a column of the file, so every lead is read without it"
                    + (f" ({hint})" if hint else ""))
    for name in unmatched:
        hint = did_you_mean(name, missing)
        if hint:
            near.append(f"column {name!r} is not a field of the policy ({hint})")
    return plan


def output_names(ir: IrPolicy) -> list[str]:
    """The columns leadpolicy adds to every scored row, in order."""
    return [s.name for s in ir.scores] + [g.name for g in ir.grades] + ["stage", "owner", "route"]


def stage(con, path: Path, fmt: str) -> staging.Staged:
    try:
        return staging.stage(con, path, fmt)
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None


def _col(name: str) -> exp.Expr:
    return exp.column(name, quoted=True)


# Input column types whose values are already what a field holds, so they are used as they are,
# never re-read through text. FLOAT is not here: its text is the shortest float32 form ("0.1"),
# which reads as a different double than the float32 itself. Wider integers and decimals neither:
# beyond 2**53 their conversion to a double is not guaranteed to round as reading the text does.
TYPED_SOURCES = {
    "number": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "DOUBLE"},
    "yes/no": {"BOOLEAN"}, "date": {"DATE"}, "timestamp": {"TIMESTAMP WITH TIME ZONE"},
    "text": {"VARCHAR"}, "one of": {"VARCHAR"},
}


def typed_source(kind: str, column_type: str | None) -> bool:
    """Whether a column of this type holds a field of this kind as it is."""
    if column_type is None:
        return False
    if kind == "number" and column_type.startswith("DECIMAL("):
        width = int(column_type[len("DECIMAL("):].split(",")[0])
        return width <= 15  # whole part and scale exact in a double, so value / 10**scale rounds once
    return column_type in TYPED_SOURCES.get(kind, set())


def _typed_conversion(i: int, f: IrField, source: exp.Expr) -> dict[str, exp.Expr]:
    """`_conversion` for a column already of the field's type (not text: text fields always take
    the text path, which for a VARCHAR column is the column itself)."""
    b, v = _col(f"#b{i}"), _col(f"#v{i}")
    out: dict[str, exp.Expr] = {"trimmed": exp.Null(), "blank": exp.Is(this=source.copy(), expression=exp.Null())}
    error: exp.Expr = exp.Null()
    if f.type == "number":
        out["value"] = exp.cast(source.copy(), "DOUBLE")
        error = exp.Case().when(exp.and_(exp.not_(b.copy()), exp.not_(exp.func("isfinite", v.copy()))),
                                exp.Literal.string("number"))
    else:
        out["value"] = source.copy()
    out["final"] = v.copy()
    if f.required:
        error = exp.Case().when(b.copy(), exp.Literal.string("required")).else_(error)
    out["error"] = error
    return out


def _conversion(i: int, f: IrField, source: exp.Expr) -> dict[str, exp.Expr]:
    """For field number i read from `source` (a staged text column, or NULL), the expressions of
    three layers: 'trimmed' (layer 1), 'blank' and 'value' (layer 2, from layer 1), and 'final'
    and 'error' (layer 3, from layer 2). Each is computed once per row. Helper columns are named
    `#t0`, `#b0`, ...: no field and no staged input column can have such a name."""
    col, kind = source, f.type
    t, b, v = _col(f"#t{i}"), _col(f"#b{i}"), _col(f"#v{i}")
    out: dict[str, exp.Expr] = {
        "trimmed": exp.Trim(this=col.copy(), expression=exp.Literal.string(BLANK)),
        "blank": exp.or_(exp.Is(this=col.copy(), expression=exp.Null()),
                         exp.EQ(this=t.copy(), expression=exp.Literal.string(""))),
    }
    not_blank = exp.not_(b.copy())
    error: exp.Expr = exp.Null()
    if kind in ("text", "one of"):
        out["value"] = col.copy()
        out["final"] = col.copy()
        if kind == "one of":
            outside = exp.not_(exp.In(this=col.copy(), expressions=[exp.Literal.string(c) for c in f.choices]))
            error = exp.Case().when(exp.and_(not_blank, outside), exp.Literal.string("not-a-choice"))
    else:
        if kind == "yes/no":
            lowered = exp.Lower(this=t.copy())
            yes = [exp.Literal.string(w) for w, x in YES_WORDS.items() if x]
            no = [exp.Literal.string(w) for w, x in YES_WORDS.items() if not x]
            out["value"] = exp.Case().when(exp.In(this=lowered.copy(), expressions=yes), exp.Boolean(this=True)).when(
                exp.In(this=lowered.copy(), expressions=no), exp.Boolean(this=False))
            bad: exp.Expr = exp.Is(this=v.copy(), expression=exp.Null())
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
    if f.required:
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


def _problem(f: IrField, code: str, value: str | None) -> str:
    text = PROBLEMS[code].format(value=value, choices=", ".join(f.choices))
    if code == "not-a-choice":
        hint = did_you_mean(str(value), f.choices)
        text += f" ({hint})" if hint else ""
    return text


def convert(con, ir: IrPolicy, plan: ColumnPlan, keep: list[str], column_types: dict[int, str]) -> None:
    """`converted` (the `keep` columns, each field's converted value and the error codes), the view
    `typed` of its good rows and table `bad` (row, field, code, value), each conversion computed
    once per pass. A column whose type (`column_types`, by input position)
    already holds its field's values is used as it is; any other is read from its text."""
    fields = ir.fields
    sources: list[str | None] = []
    parts = []
    for i, f in enumerate(fields):
        index = plan.field_column.get(f.name)
        typed = index is not None and not f.type.textual and typed_source(f.type, column_types.get(index))
        name = None if index is None else staging.original_column(index) if typed else staging.text_column(index)
        if f.type.textual and index is not None and column_types.get(index) == "VARCHAR":
            name = staging.original_column(index)  # a text column's original is its text, not re-cast
        sources.append(name)
        source = exp.cast(exp.Null(), "VARCHAR") if name is None else _col(name)
        parts.append(_typed_conversion(i, f, source) if typed else _conversion(i, f, source))
    sql = lambda e: e.sql("duckdb")  # noqa: E731
    layer1 = ", ".join(f'{sql(p["trimmed"])} AS "#t{i}"' for i, p in enumerate(parts)) or '1 AS "#none"'
    layer2 = ", ".join(f'{sql(p["blank"])} AS "#b{i}", {sql(p["value"])} AS "#v{i}"'
                       for i, p in enumerate(parts)) or '1 AS "#none2"'
    kept = list(dict.fromkeys([*keep, *(s for s in sources if s is not None)]))
    columns = ", ".join([ROW] + [_q(c) for c in kept] + [f"{sql(p['final'])} AS {_q(f.name)}"
                                                          for f, p in zip(fields, parts)])
    codes = ", ".join(f'{sql(p["error"])} AS "#e{i}"' for i, p in enumerate(parts))
    any_error = " OR ".join(f'"#e{i}" IS NOT NULL' for i in range(len(parts))) or "false"
    # Typed Parquet converts cheaply, so `converted` stays a view computed in the two passes that
    # read it (the bad rows, the output); text input is converted once into a table.
    relation = "VIEW" if column_types else "TABLE"
    con.execute(f'CREATE {relation} converted AS SELECT *, ({any_error}) AS "#bad" FROM ('
                f"SELECT {columns}{', ' + codes if codes else ''} FROM (SELECT *, {layer2} FROM "
                f"(SELECT *, {layer1} FROM raw)))")
    reported = [f'"#e{i}"' for i in range(len(parts))] + [_q(source) for source in dict.fromkeys(sources) if source]
    con.execute(f'CREATE TABLE bad_rows AS SELECT {", ".join([ROW, *reported])} FROM converted WHERE "#bad"')
    failing = " UNION ALL ".join(
        f'SELECT {ROW}, {exp.Literal.string(f.name).sql("duckdb")} AS field, "#e{i}" AS code, '
        f"CAST({_q(source) if source else 'NULL'} AS VARCHAR) AS value FROM bad_rows "
        f'WHERE "#e{i}" IS NOT NULL' for i, (f, source) in enumerate(zip(fields, sources))) or \
        f"SELECT {ROW}, '' AS field, '' AS code, '' AS value FROM bad_rows WHERE false"
    con.execute(f"CREATE TABLE bad AS {failing}")
    drop = ", ".join([f'"#e{i}"' for i in range(len(parts))] + ['"#bad"'])
    con.execute(f'CREATE VIEW typed AS SELECT * EXCLUDE ({drop}) FROM converted WHERE NOT "#bad"')


def collect_rejects(con, ir: IrPolicy, result: BatchResult) -> None:
    fields = {f.name: f for f in ir.fields}
    for row, name, code, value in con.execute(f"SELECT {ROW}, field, code, value FROM bad ORDER BY {ROW}, field"
                                              ).fetchall():
        result.rejects.append({"row": int(row), "field": name, "problem": _problem(fields[name], code, value)})


def output_columns(plan: ColumnPlan, originals: bool) -> list[str]:
    """The staged columns the output copies: each input column not replaced by a computed one, as its
    original value (`originals`: typed Parquet or JSON kept as it was) or as its text."""
    return [staging.original_column(i) if originals else staging.text_column(i)
            for i in range(len(plan.columns)) if i not in plan.replaced]


def output_select(ir: IrPolicy, plan: ColumnPlan, originals: bool, scored: str, in_order: bool = False) -> str:
    """The input's columns as given (in file order, under their own names) and then the computed
    columns, from `scored` (a table or subquery with the staged columns and the computed values).
    `in_order`: `scored` already yields the rows in input order, so no sort is needed."""
    names = [name for i, name in enumerate(plan.columns) if i not in plan.replaced]
    parts = [f"{_q(staged)} AS {_q(name)}" for staged, name in zip(output_columns(plan, originals), names)]
    parts += [_q(n) for n in output_names(ir)]
    return f"SELECT {', '.join(parts)} FROM {scored}" + ("" if in_order else f" ORDER BY {ROW}")


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


def score_duckdb(policy, con, plan: ColumnPlan, now: dt.datetime, result: BatchResult, keep: list[str],
                 column_types: dict[int, str]) -> str:
    """Convert, reject and score in SQL; returns the query of the scored rows."""
    from leadpolicy.warehouse.sqlgen import compile_sql

    ir = policy.ir
    convert(con, ir, plan, keep, column_types)
    collect_rejects(con, ir, result)
    (rows,), (bad,) = (con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,) for table in ("raw", "bad_rows"))
    result.scored = rows - bad
    query = compile_sql(ir, "duckdb", "typed", now, pretty=False).split("\n", 2)[2]
    return f"({query})"


def score_python(policy, con, plan: ColumnPlan, now: dt.datetime,
                 result: BatchResult, progress: bool = False) -> str:
    """The same job with the compiled Python evaluator: rows read from the staged text, decisions
    written to a table `decisions` by record number."""
    ir = policy.ir
    kinds = {f.name: f.type for f in ir.fields}
    reader = LeadReader(policy.ir)
    names = output_names(ir)
    wanted = list(plan.field_column.items())
    select = ", ".join([ROW] + [_q(staging.text_column(i)) for _, i in wanted])
    tmp = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]) / "decisions.jsonl"
    cursor = con.execute(f"SELECT {select} FROM raw ORDER BY {ROW}")
    with open(tmp, "w", encoding="utf-8") as handle:
        while True:
            rows = cursor.fetchmany(10_000)
            if not rows:
                break
            for raw_row in rows:
                row = int(raw_row[0])
                lead = {name: read_text_cell(kinds[name], text) for (name, _), text in zip(wanted, raw_row[1:])}
                _, errors = reader.read(lead)
                if errors:
                    result.rejects += [{"row": row, "field": e.field, "problem": e.message} for e in errors]
                    continue
                decision = policy.evaluate(lead, now)
                values = [*decision._scores.values(), *decision._grades.values(), decision.stage, decision.owner,
                          decision.route]
                handle.write(json.dumps([row, *values]) + "\n")
                result.scored += 1
            if progress:
                print(f"\rscored {result.scored:,}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    types = {n: "BIGINT" for n in names[:len(ir.scores)]}
    columns = ", ".join(f"j->>{k} AS {_q(n)}" if types.get(n) is None else f"CAST(j->>{k} AS BIGINT) AS {_q(n)}"
                        for k, n in enumerate(names, start=1))
    con.execute(f"CREATE TABLE decisions AS SELECT CAST(j->>0 AS BIGINT) AS {ROW}, {columns} FROM "
                "(SELECT CAST(line AS JSON) AS j FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\x1e', "
                "quote = '', escape = '', header = false, auto_detect = false))", [str(tmp)])
    tmp.unlink()
    return f"raw JOIN decisions USING ({ROW})"


def run(policy, source: str | Path, out: str | Path | None, now: dt.datetime, engine: str = "duckdb",
        rejects: str | Path | None = None, progress: bool = False, in_format: str | None = None,
        strict_columns: bool = False, on_warning: Callable[[str], None] | None = None,
        ) -> tuple[BatchResult, Path, Path | None]:
    """Score a lead file; returns the counts, the output path and the rejects path (None when none).

    Raises BatchError for a file that cannot be used (unreadable, ambiguous or, with
    `strict_columns`, missing or misspelled columns); `on_warning` hears about the rest.
    """
    source = Path(source)
    in_fmt = file_format(source, in_format)
    out_path = Path(out) if out else Path(source.stem + ".scored" + source.suffix)
    out_fmt = file_format(out_path)
    rejects_path = Path(rejects) if rejects else out_path.with_name(source.stem + ".rejects.csv")
    check_paths(source, out_path, rejects_path)
    stage_db = staging.Staging(policy.ir.timezone, progress and engine == "duckdb")
    result = BatchResult()
    try:
        staged = stage(stage_db.con, source, in_fmt)
        plan = plan_columns(policy.ir, staged.columns, strict_columns)
        if plan.errors:
            raise BatchError(f"{source}: " + "; ".join(plan.errors))
        for warning in plan.warnings:
            if on_warning is not None:
                on_warning(f"{source}: {warning}")
        result.rejects += [{k: p[k] for k in ("row", "field", "problem")} for p in staged.problems]
        originals = staged.has_originals and (in_fmt == out_fmt or (in_fmt == "parquet" and out_fmt == "jsonl"))
        if engine == "duckdb":
            scored = score_duckdb(policy, stage_db.con, plan, now, result, output_columns(plan, originals),
                                  staged.column_types)
        else:
            scored = score_python(policy, stage_db.con, plan, now, result)
        # Parquet scored in SQL is one scan followed by filters and projections (the generated DuckDB
        # query has no join), which DuckDB guarantees keep the file's row order: no sort.
        in_order = engine == "duckdb" and in_fmt == "parquet"
        write_output(stage_db.con, output_select(policy.ir, plan, originals, scored, in_order),
                     out_path, out_fmt)
        (staged_rows,) = stage_db.con.execute("SELECT count(*) FROM raw").fetchone() or (0,)
        result.read = staged_rows + len(staged.problems)
    finally:
        stage_db.close()
    result.rejected = len({r["row"] for r in result.rejects})
    if result.read != result.scored + result.rejected:  # the promise this module makes; never silent
        raise BatchError(f"internal count mismatch: {result.summary()}")
    if not result.rejects:
        return result, out_path, None
    write_rejects(rejects_path, result.rejects)
    return result, out_path, rejects_path


def check_paths(source: Path, out: Path, rejects: Path) -> None:
    """Refuse runs that would overwrite their own input, or write two outputs to one file."""
    if not out.parent.is_dir():
        raise BatchError(f"{out}: the output folder {out.parent} does not exist")
    if not rejects.parent.is_dir():
        raise BatchError(f"{rejects}: the rejects folder {rejects.parent} does not exist")
    clash = staging.same_file_clash({"the input": source, "the output": out, "the rejects file": rejects})
    if clash:
        raise BatchError(f"{clash}; name another with -o or --rejects")
