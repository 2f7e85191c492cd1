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
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import sqlglot
from sqlglot import exp

from leadpolicy.outputs import (
    FORMULA_STARTS,
    OutputError,
    check_outputs,
    default_rejects,
    replacing,
    text_output,
    written_in_place,
)
from leadpolicy.outputs import excel_safe as excel_safe_text
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import Conversion, convert_fields, problem
from leadpolicy.warehouse.event_files import (
    ACTIVITY_TABLE,
    LEAD_ID,
    EventStats,
    LeadId,
    lead_id,
    lead_id_column,
    stage_events,
)
from leadpolicy.warehouse.event_stream import KEY, EventStream, Once
from leadpolicy.warehouse.lead_rows import (
    BatchError,
    ColumnMapError,
    ColumnPlan,
    Reject,
    cell_reader,
    file_format,
    name_mapped_columns,
    output_names,
    plan_columns,
    stage,
)
from leadpolicy.warehouse.templates import filled

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from leadpolicy.api import Policy

ROW = staging.ROW
Progress = Callable[[int, "int | None"], None]  # (rows done, rows in all): hears how far scoring is


@dataclass
class BatchResult:
    read: int = 0
    scored: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    events: EventStats | None = None  # with an events file

    def summary(self) -> str:
        counts = f"read {self.read}, scored {self.scored}, rejected {self.rejected}"
        return counts + (f"; {self.events.summary()}" if self.events is not None else "")


@dataclass(frozen=True)
class EventInput:
    """What leads did, for a policy that scores activity: a file of (lead, event, at) rows whose
    `lead` is the value of the leads' `id_column`."""

    path: Path
    id_column: str = "id"
    format: str | None = None
    rejects: Path | None = None  # default: EVENTS_NAME.rejects.csv beside the output
    one_row_per_lead: bool = False  # measuring (feedback, backtest): rows sharing an id, or with none, are rejected


def convert(con: DuckDBPyConnection, ir: IrPolicy, plan: ColumnPlan, keep: list[str],
            column_types: dict[int, str]) -> Conversion:
    """`converted` (the `keep` columns, each field's converted value and the error codes) and the view
    `typed` of its good rows, each conversion computed once per pass; the returned conversion's
    `find_bad` makes table `bad` (row, field, code, value) when some row turns out bad. A column
    whose type (`column_types`, by input position) already holds its field's values is used as it
    is; any other is read from its text."""
    return convert_fields(con, ir.fields, plan.field_column, keep, column_types, find_bad=False, materialize=False)


def collect_rejects(con: DuckDBPyConnection, ir: IrPolicy, result: BatchResult) -> None:
    fields = {f.name: f for f in ir.fields}
    row_column = exp.column(staging.ROW_NAME, quoted=True)
    query = exp.select(row_column, "field", "code", "value").from_("bad").order_by(row_column.copy(), "field")
    for row, name, code, value in con.execute(query.sql("duckdb")).fetchall():
        result.rejects.append({"row": int(row), "field": name, "problem": problem(fields[name], code, value)})


def output_columns(plan: ColumnPlan, originals: bool) -> list[str]:
    """The staged columns the output copies: each input column not replaced by a computed one, as its
    original value (`originals`: typed Parquet or JSON kept as it was) or as its text."""
    return [staging.original_column(i) if originals else staging.text_column(i)
            for i in range(len(plan.columns)) if i not in plan.replaced]


def output_select(ir: IrPolicy, plan: ColumnPlan, originals: bool, scored: exp.Select, in_order: bool = False,
                  excel_safe: bool = False, positional: bool = False) -> exp.Select:
    """The input's columns as given (in file order, under their own names) and then the computed
    columns, from the rows of `scored` (the staged columns and the computed values).
    `in_order`: `scored` already yields the rows in input order, so no sort is needed. `excel_safe`: the
    input's text that a spreadsheet would run as a formula gets a leading single quote, in its column
    names (the header row) too."""
    names = output_header(ir, plan, excel_safe)  # `positional`: named #out0, ... for `write_output`'s header
    safe = excel_safe_sql if excel_safe and not originals else _column
    staged = [*(safe(column) for column in output_columns(plan, originals)), *(_column(n) for n in output_names(ir))]
    parts = [exp.alias_(value, f"#out{i}" if positional else name, quoted=True)
             for i, (value, name) in enumerate(zip(staged, names))]
    select = exp.select(*parts).from_(scored.subquery())
    return select if in_order else select.order_by(_column(staging.ROW_NAME))


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def output_header(ir: IrPolicy, plan: ColumnPlan, excel_safe: bool = False) -> list[str]:
    """The output's column names: the input's own (not replaced), then the computed ones."""
    names = [str(excel_safe_text(name)) if excel_safe else name
             for i, name in enumerate(plan.columns) if i not in plan.replaced]
    return names + output_names(ir)


def names_clash(names: list[str]) -> bool:
    """Whether two names differ only in case (one name to DuckDB, which would rename the second)."""
    return len({name.lower() for name in names}) < len(names)


def excel_safe_sql(column: str) -> exp.Expr:
    """A staged text column as `leadpolicy.outputs.excel_safe` writes text: with a leading single quote
    when it starts like a formula."""
    cell = exp.column(column, quoted=True)
    first = exp.Substring(this=cell, start=exp.Literal.number(1), length=exp.Literal.number(1))
    starts = exp.In(this=first, expressions=[exp.Literal.string(c) for c in FORMULA_STARTS])
    return exp.Case().when(starts, exp.DPipe(this=exp.Literal.string("'"), expression=cell.copy())).else_(cell.copy())


# COPY ... TO as DuckDB writes each output format; `write_output` puts in the query and the file.
_COPY = {
    "csv": "COPY (SELECT 1) TO 'file' (FORMAT csv, HEADER true)",
    "jsonl": "COPY (SELECT 1) TO 'file' (FORMAT json)",
    "parquet": "COPY (SELECT 1) TO 'file' (FORMAT parquet)",
    "csv-no-header": "COPY (SELECT 1) TO 'file' (FORMAT csv, HEADER false)",
    # each row one line of JSON text made by the query, written as it is (JSON escapes every \x1f)
    "lines": "COPY (SELECT 1) TO 'file' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')",
}


def copy_sql(select: exp.Select, target: str | Path, how: str) -> str:
    """DuckDB's COPY of `select` to the file `target`, written as `_COPY[how]` says."""
    statement = sqlglot.parse_one(_COPY[how], read="duckdb")
    statement.set("this", select.subquery())
    statement.set("files", [exp.Literal.string(str(target))])
    return statement.sql("duckdb")


def _json_lines(select: exp.Select, header: list[str]) -> exp.Select:
    """Each row of `select` (columns #out0, #out1, ...) as one JSON object under `header`'s keys, so that keys
    keep their case."""
    pairs = [part for i, name in enumerate(header) for part in (exp.Literal.string(name), _column(f"#out{i}"))]
    return exp.select(exp.Anonymous(this="json_object", expressions=pairs)).from_(select.subquery())


def write_output(con: DuckDBPyConnection, select: exp.Select, out: Path, fmt: str,
                 header: list[str] | None = None) -> int:
    """COPY the query to `out` (replaced atomically, or written in place for a device or FIFO); returns the
    rows written. `header`: the names of the query's columns (named `#out0`, `#out1`, ...) when some differ
    only in case, which DuckDB would rename: a CSV's header line and the keys of JSON Lines are written
    from it, as the file had them."""
    import duckdb

    how = fmt
    if header is not None and fmt == "jsonl":
        select, how = _json_lines(select, header), "lines"
    with replacing(out) as tmp:
        try:
            if header is not None and fmt == "csv":
                return _csv_with_header(con, select, tmp, header)
            return _copied(con, copy_sql(select, tmp, how))
        except duckdb.IOException as exc:
            raise _system_error(exc) from None


def _copied(con: DuckDBPyConnection, statement: str) -> int:
    """Run a COPY; the rows it wrote."""
    found = con.execute(statement).fetchone()
    if found is None:
        raise BatchError("internal error: COPY said nothing of the rows it wrote")
    return int(found[0])


def _temp_directory(con: DuckDBPyConnection) -> str | None:
    found = con.execute("SELECT current_setting('temp_directory')").fetchone()
    return str(found[0]) if found is not None and found[0] else None


def _csv_with_header(con: DuckDBPyConnection, select: exp.Select, target: Path, header: list[str]) -> int:
    """The query as CSV under `header`: DuckDB writes the rows to a private file, then the header line and
    the rows go to `target`."""
    folder = _temp_directory(con)
    descriptor, body = tempfile.mkstemp(".csv", "body-", folder if folder and os.path.isdir(folder) else None)
    os.close(descriptor)
    try:
        written = _copied(con, copy_sql(select, body, "csv-no-header"))
        with open(target, "w", newline="", encoding="utf-8") as handle, open(body, encoding="utf-8",
                                                                          newline="") as rows:
            csv.writer(handle, lineterminator="\n").writerow(header)
            shutil.copyfileobj(rows, handle)
    finally:
        os.unlink(body)
    return written


def _system_error(exc: Exception) -> Exception:
    """DuckDB's I/O error as the OSError it reports (`"errno":"28"`: no space left), which
    leadpolicy.outputs tells the user plainly; any other error as it is."""
    found = re.search(r'"errno":\s*"(\d+)"', str(exc))
    return OSError(int(found[1]), os.strerror(int(found[1]))) if found else exc


# The rejects files' columns (docs/warehouse.md): a lead's row with its id (the --id-column value) and the
# field's value as written; an event's row with its values, as `leadpolicy sla` writes them; `raw` is a
# record that could not be read at all, as written.
LEAD_REJECT_COLUMNS = ("row", "field", "problem", "lead", "value", "raw")
EVENT_REJECT_COLUMNS = ("row", "field", "problem", "lead", "event", "at", "reason", "raw")


def write_rejects(path: Path, rejects: Sequence[Reject], columns: tuple[str, ...] = LEAD_REJECT_COLUMNS) -> None:
    """The rejected rows as CSV under `columns` (a value a reject lacks is empty), text a spreadsheet would run
    as a formula made safe."""
    with text_output(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for reject in sorted(rejects, key=lambda r: (r["row"], r["field"])):
            writer.writerow({k: reject["row"] if k == "row" else excel_safe_text(reject.get(k)) for k in columns})


def add_lead_values(con: DuckDBPyConnection, rejects: list[Reject], plan: ColumnPlan, lead: LeadId | None) -> None:
    """Each lead reject's id (`lead`, when the id column is known) and the field's value as written (`value`),
    from the staged rows (`raw_all` when rows of a repeated id were taken out of `raw`)."""
    rows = sorted({r["row"] for r in rejects if "raw" not in r})
    if not rows:
        return
    (every_row,) = con.execute("SELECT count(*) FROM (SELECT table_name AS name FROM duckdb_tables() UNION ALL "
                               "SELECT view_name FROM duckdb_views()) WHERE name = 'raw_all'").fetchone() or (0,)
    table = "raw_all" if every_row else "raw"
    fields = sorted({r["field"] for r in rejects if r["field"] in plan.field_column})
    texts = [exp.column(staging.text_column(plan.field_column[f]), quoted=True) for f in fields]
    row_column = exp.column(staging.ROW_NAME, quoted=True)
    wanted = exp.select(exp.Unnest(expressions=[exp.cast(exp.Placeholder(), "BIGINT[]")]))
    query = exp.select(row_column, lead.text.copy() if lead is not None else exp.Null(), *texts, exp.Null()).from_(
        table).where(exp.In(this=row_column.copy(), query=wanted.subquery()))
    found = {row: values for row, *values in con.execute(query.sql("duckdb"), [rows]).fetchall()}
    for reject in rejects:
        values = found.get(reject["row"])
        if values is None:
            continue
        reject["lead"] = values[0]
        if reject["field"] in fields:
            reject["value"] = values[1 + fields.index(reject["field"])]


def score_duckdb(policy: Policy, con: DuckDBPyConnection, plan: ColumnPlan, now: dt.datetime, result: BatchResult,
                 keep: list[str], column_types: dict[int, str], lead: LeadId | None = None
                 ) -> tuple[exp.Select, Conversion]:
    """Convert and score in SQL; returns the query of the scored rows, and the conversion that finds
    the rejected ones. `lead`: where the lead id that table `events` names is, for a policy that
    scores activity."""
    from leadpolicy.warehouse.sqlgen import compile_tree

    ir = policy.ir
    conversion = convert(con, ir, plan, [*keep, lead.column] if lead else keep, column_types)
    if ir.activity and lead is not None:
        integer_keys = result.events is not None and result.events.integer_keys
        key = _column(lead.column) if integer_keys else lead.text.copy()  # as table `activity` is keyed
        with_ids = exp.select(exp.Star(), exp.alias_(key, LEAD_ID, quoted=True)).from_("typed")
        con.execute(exp.Create(this=exp.table_("typed_ids"), kind="VIEW", expression=with_ids).sql("duckdb"))
        scored = compile_tree(ir, "duckdb", "typed_ids", now, id_column=LEAD_ID, activity_table=ACTIVITY_TABLE)
    else:
        scored = compile_tree(ir, "duckdb", "typed", now)
    return scored, conversion


class _LeadEvents:
    """Each lead's events, for leads read in the order of their ids: the events of an id on several rows
    are kept for the rows after the first (an EventStream hands each id's out once)."""

    def __init__(self, stream: EventStream | None) -> None:
        self.stream = stream
        self.shared: tuple[str | None, list[tuple[str, dt.datetime]]] = (None, [])

    def of(self, lead_id: str | None, next_id: str | None) -> Once:
        if self.stream is None or lead_id is None:
            return Once([])
        if self.shared[0] == lead_id:
            return Once(self.shared[1])
        if next_id == lead_id:
            self.shared = (lead_id, list(self.stream.of(lead_id)))
            return Once(self.shared[1])
        return Once(self.stream.of(lead_id))

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def score_python(policy: Policy, con: DuckDBPyConnection, plan: ColumnPlan, now: dt.datetime,
                 result: BatchResult, progress: Progress | None = None, lead_key: LeadId | None = None,
                 total: int | None = None) -> exp.Select:
    """The same job with the compiled Python evaluator: rows read from the staged text, each with its
    events from table `events` (`lead_key` as `lead` in `score_duckdb`), decisions written to a table
    `decisions` by record number. `progress` hears every 1,000 rows of `total`."""
    ir = policy.ir
    reader, cells = LeadReader(ir), cell_reader(con, ir, plan)
    tmp_dir = _temp_directory(con)
    tmp = Path(tmp_dir or tempfile.gettempdir()) / "decisions.jsonl"
    events = _LeadEvents(EventStream(con) if ir.activity and lead_key is not None else None)
    # With events, leads in the order of their ids, beside their events in the same order (see EventStream).
    key: exp.Expr = lead_key.text.copy() if events.stream is not None and lead_key is not None else exp.Null()
    query = exp.select(_column(staging.ROW_NAME), *cells.columns(), exp.alias_(key, KEY, quoted=True)).from_(
        "raw").order_by(exp.Ordered(this=_column(KEY), nulls_first=False), _column(staging.ROW_NAME))
    cursor = con.execute(query.sql("duckdb"))
    instant = policy.instant(now)
    if progress is not None:
        progress(0, total)
    with open(tmp, "w", encoding="utf-8") as handle:
        for done, (raw_row, next_id) in enumerate(_with_next_id(cursor), start=1):
            row, lead_id = int(raw_row[0]), raw_row[-1]
            lead = cells.record(raw_row[1:-1])
            errors = reader.read(lead)[1]
            if errors:
                result.rejects += [{"row": row, "field": e.field, "problem": e.message} for e in errors]
            else:
                handle.write(json.dumps([row, *decide(policy, lead, instant, events.of(lead_id, next_id))]) + "\n")
                result.scored += 1
            if progress is not None and done % 1000 == 0:
                progress(done, total)
    events.close()
    con.execute(_decisions_table(ir), [str(tmp)])
    tmp.unlink()
    return exp.select(exp.Star()).from_("raw").join(
        exp.Join(this=exp.table_("decisions"), using=[exp.to_identifier(staging.ROW_NAME, quoted=True)]))


# The decisions `score_python` wrote, one JSON array a line ([row, computed values...]), read as a table.
_DECISIONS_READ = ("SELECT CAST(line AS JSON) AS j FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\x1e', "
                   "quote = '', escape = '', header = false, auto_detect = false)")


def _decisions_table(ir: IrPolicy) -> str:
    """CREATE TABLE decisions: the record number and each computed column (scores as integers) of each line
    of the file given as the statement's parameter."""
    scores = len(ir.scores)

    def item(k: int) -> exp.Expr:
        return exp.JSONExtractScalar(this=exp.column("j"), expression=exp.Literal.number(k))

    columns = [exp.alias_(exp.cast(item(0), "BIGINT"), staging.ROW_NAME, quoted=True)]
    columns += [exp.alias_(exp.cast(item(k), "BIGINT") if k <= scores else item(k), name, quoted=True)
                for k, name in enumerate(output_names(ir), start=1)]
    lines = sqlglot.parse_one(_DECISIONS_READ, read="duckdb")
    assert isinstance(lines, exp.Select)
    decisions = exp.select(*columns).from_(lines.subquery())
    return exp.Create(this=exp.table_("decisions"), kind="TABLE", expression=decisions).sql("duckdb")


def _with_next_id(cursor: DuckDBPyConnection) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Each row of the cursor with the lead id (its last column) of the row after it (None after the last)."""
    previous = None
    while rows := cursor.fetchmany(10_000):
        for raw_row in rows:
            if previous is not None:
                yield previous, raw_row[-1]
            previous = raw_row
    if previous is not None:
        yield previous, None


def decide(policy: Policy, lead: dict[str, Any], now: dt.datetime, events: Once) -> list[Any]:
    """The computed columns of a lead that fits the schema, its events read as the evaluator asks for them
    (`Policy.row` decides, or declines to the interpreter, which reads the events the evaluator did not)."""
    return policy.row(lead, now, events)


@dataclass(frozen=True, kw_only=True)
class BatchOptions:
    """One scoring run of a lead file (`run`).

    `output`: default LEADS_NAME.scored.<same format> here; `rejects`: default beside the output (see
    `output_files`). `in_format`: the leads' format when their extension does not say it. `strict_columns`:
    a missing or misspelled column is an error, not a warning (`on_warning` hears warnings). `events`: what
    leads did, for a policy that scores activity. `excel_safe`: for a CSV output, the leads' text that a
    spreadsheet would run as a formula gets a leading single quote (computed scores stay numbers).
    `columns`: field -> the header it is read from (see `plan_columns`). `progress` hears how many of the
    file's rows are scored, from time to time. `then(con)` runs on the staging database once the output is
    written, while its table `events` of checked events is still there; `inputs(columns, lead)` hears before it
    the leads' column names in file order (column i is `#i` of table `raw` there) and where a row's lead id is
    (with events), for a reader of input columns the output replaced."""

    source: Path | str
    now: dt.datetime
    output: Path | str | None = None
    engine: str = "duckdb"
    rejects: Path | str | None = None
    in_format: str | None = None
    strict_columns: bool = False
    events: EventInput | None = None
    excel_safe: bool = False
    columns: dict[str, str] | None = None
    progress: Progress | None = None
    on_warning: Callable[[str], None] | None = None
    then: Callable[[DuckDBPyConnection], None] | None = None
    inputs: Callable[[list[str], LeadId | None], None] | None = None


@dataclass(frozen=True)
class _RunFiles:
    """The files of a run and their formats, checked before anything is read."""

    source: Path
    files: OutputFiles
    leads_format: str
    output_format: str
    events_format: str | None


def run(policy: Policy, options: BatchOptions) -> tuple[BatchResult, Path, Path | None]:
    """Score a lead file; returns the counts, the output path and the rejects path (None when none, or when
    they were not written: `result.rejected` says). With `options.events`, `result.events` has their counts
    and rejects file.

    Raises BatchError for a file that cannot be used (unreadable, ambiguous or, with
    `strict_columns`, missing or misspelled columns), or for a policy that scores activity
    given no events."""
    if policy.ir.activity and options.events is None:
        raise BatchError(f"the policy scores what leads did ({policy.ir.activity[0].text}); give the events "
                         "file with --events")
    files = _run_files(options)
    stage_db = _staging(policy, options)
    result = BatchResult()
    try:
        _score_staged(policy, options, files, stage_db.con, result)
    finally:
        stage_db.close()
    return _finish(result, files.files)


def _run_files(options: BatchOptions) -> _RunFiles:
    source, events = Path(options.source), options.events
    in_fmt = file_format(source, options.in_format)
    files = output_files(source, options.output, options.rejects, events)
    # -o /dev/null or a FIFO, with no extension to go by: the input's format
    out_fmt = in_fmt if written_in_place(files.output) and not files.output.suffix else file_format(files.output)
    events_fmt = None if events is None else file_format(events.path, events.format)
    check_paths(files.named(), {"the input": source, "the events file": events.path if events else None})
    return _RunFiles(source, files, in_fmt, out_fmt, events_fmt)


def _staging(policy: Policy, options: BatchOptions) -> staging.Staging:
    """The run's staging database: DuckDB reads local times for the DuckDB engine, and for every engine in
    an events file."""
    in_sql = options.engine == "duckdb"
    try:
        return staging.Staging(policy.ir.timezone, options.progress is not None and in_sql,
                               now=options.now if in_sql or options.events is not None else None)
    except staging.ZoneDataError as exc:
        raise BatchError(str(exc)) from None


def _score_staged(policy: Policy, options: BatchOptions, files: _RunFiles, con: DuckDBPyConnection,
                  result: BatchResult) -> None:
    """Stage the leads (and events), score them, write the output; `result` has the counts and rejects."""
    staged = stage(con, files.source, files.leads_format)
    plan = _checked_plan(policy.ir, staged, options, files.source)
    lead, removed = _staged_events(policy.ir, options, files, con, staged, result)
    result.rejects += [{k: p[k] for k in ("row", "field", "problem", "raw")} for p in staged.problems]
    staged_rows = _count_rows(con, "raw")
    progress = _counting_every_row(options.progress, removed + len(staged.problems))
    originals = staged.has_originals and (files.leads_format == files.output_format or
                                          (files.leads_format, files.output_format) == ("parquet", "jsonl"))
    if options.engine == "duckdb":
        scored, conversion = score_duckdb(policy, con, plan, options.now, result, output_columns(plan, originals),
                                          staged.column_types, lead)
        # Parquet, or CSV staged without a line map, scored in SQL is one scan followed by filters and
        # projections (the generated DuckDB query has no join unless it reads events), which DuckDB
        # guarantees keeps the rows' order: no sort.
        in_order = staged.ordered and not (policy.ir.activity and lead) and not removed
        watched = None if progress is None else _percent_of(progress, staged_rows)
    else:
        scored, conversion, in_order, watched = (
            score_python(policy, con, plan, options.now, result, progress, lead, staged_rows), None, False, None)
    with staging.joins_as_written(con), staging.watch_progress(con, watched):
        written = _write_scored(policy.ir, plan, con, options, files, _Scored(scored, originals, in_order))
    if progress is not None:
        progress(staged_rows, staged_rows)
    if conversion is not None:
        _reject_unwritten(policy.ir, con, conversion, written, staged_rows, result)
    result.read = staged_rows + len(staged.problems) + removed
    add_lead_values(con, result.rejects, plan, lead)
    name_mapped_columns(result.rejects, plan)
    if options.inputs is not None:
        options.inputs(plan.columns, lead)
    if options.then is not None:
        options.then(con)


def _percent_of(progress: Progress, total: int) -> Callable[[float], None]:
    return lambda percent: progress(int(total * percent / 100), total)


def _count_rows(con: DuckDBPyConnection, table: str) -> int:
    found = con.execute(exp.select(exp.Count(this=exp.Star())).from_(exp.table_(table)).sql("duckdb")).fetchone()
    return int(found[0]) if found is not None else 0


def _checked_plan(ir: IrPolicy, staged: staging.Staged, options: BatchOptions, source: Path) -> ColumnPlan:
    """The columns' plan; its errors raised (BatchError), its warnings told to `options.on_warning`."""
    plan = plan_columns(ir, staged.columns, options.strict_columns, options.columns, source)
    if plan.errors:
        raise BatchError(f"{source}: " + "; ".join(plan.errors))
    if options.on_warning is not None:
        for warning in plan.warnings:
            options.on_warning(f"{source}: {warning}")
    return plan


def _staged_events(ir: IrPolicy, options: BatchOptions, files: _RunFiles, con: DuckDBPyConnection,
                   staged: staging.Staged, result: BatchResult) -> tuple[LeadId | None, int]:
    """With an events file: where the lead id is and how many rows of repeated ids were taken out (measuring
    runs); the events staged and checked into `result.events`. (None, 0) without one."""
    events = options.events
    if events is None or files.events_format is None:
        return None, 0
    try:
        index = lead_id_column(staged.columns, events.id_column, files.source)
    except staging.DataFileError as exc:  # --id-column names no column: bad usage, as a mapping would
        raise ColumnMapError(str(exc)) from None
    try:
        lead = lead_id(index, staged.column_types.get(index))
        result.events = stage_events(con, ir, events.path, files.events_format, files.source.name, lead, options.now)
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None
    removed = reject_repeated_ids(con, lead, staged.columns[index], result) if events.one_row_per_lead else 0
    return lead, removed


@dataclass(frozen=True)
class _Scored:
    """The scored rows' query, whether it copies the input's original values, and whether its rows come in
    input order already."""

    query: exp.Select
    originals: bool
    in_order: bool


def _write_scored(ir: IrPolicy, plan: ColumnPlan, con: DuckDBPyConnection, options: BatchOptions,
                  files: _RunFiles, scored: _Scored) -> int:
    """Write the output file; the rows written."""
    excel_safe = options.excel_safe and files.output_format == "csv"
    header = output_header(ir, plan, excel_safe)
    # DuckDB would rename NOTE beside Note to NOTE_1: CSV and JSON Lines are written under the file's names
    own_names = names_clash(header) and files.output_format != "parquet"
    select = output_select(ir, plan, scored.originals, scored.query, scored.in_order, excel_safe, own_names)
    return write_output(con, select, files.files.output, files.output_format, header if own_names else None)


def _reject_unwritten(ir: IrPolicy, con: DuckDBPyConnection, conversion: Conversion, written: int,
                      staged_rows: int, result: BatchResult) -> None:
    """The rows not written are the bad ones: named only when there are some, in a second pass."""
    result.scored = written
    if written < staged_rows:
        conversion.find_bad(con)
        collect_rejects(con, ir, result)


def _finish(result: BatchResult, files: OutputFiles) -> tuple[BatchResult, Path, Path | None]:
    """Check the counts (the promise this module makes; never silent) and write the rejects files."""
    result.rejected = len({r["row"] for r in result.rejects})
    if result.read != result.scored + result.rejected:
        raise BatchError(f"internal count mismatch: {result.summary()}")
    counted = result.events
    if counted is not None:
        if counted.read != counted.used + counted.rejected or counted.after_now > counted.used:
            raise BatchError(f"internal count mismatch: {counted.summary()}")
        if counted.rejects and files.events_rejects is not None:
            counted.rejects_path = files.events_rejects
            write_rejects(files.events_rejects, counted.rejects, EVENT_REJECT_COLUMNS)
    if not result.rejects or files.rejects is None:
        return result, files.output, None
    write_rejects(files.rejects, result.rejects)
    return result, files.output, files.rejects


@dataclass(frozen=True)
class OutputFiles:
    """The files a scoring run writes: the scored leads and the rejected rows of leads and of events."""

    output: Path
    rejects: Path | None  # None: not written (every default place holds policies)
    events_rejects: Path | None  # the same, or no events
    defaults: frozenset[str] = frozenset()  # the files no flag named ("output", "rejects", "events_rejects")

    def named(self) -> dict[str, Path | None]:
        """Each file as the user knows it: by its flag, or as a default (no flag to blame for it)."""
        return {"the default output" if "output" in self.defaults else "the output (-o)": self.output,
                "the default rejects file" if "rejects" in self.defaults else "the rejects file (--rejects)":
                    self.rejects,
                "the default events rejects file" if "events_rejects" in self.defaults else
                "the events rejects file (--events-rejects)": self.events_rejects}


def output_files(source: Path, out: str | Path | None, rejects: str | Path | None,
                 events: EventInput | None) -> OutputFiles:
    """The output (default: LEADS_NAME.scored.<same format> here) and the rejects files (default: beside the
    output, or beside their input when the output's folder holds policies; see `outputs.default_rejects`).
    A device or FIFO output (-o /dev/null) has them beside their input. The events' default is
    EVENTS_NAME.events.rejects.csv where EVENTS_NAME.rejects.csv would be the
    leads' rejects file (d/x.csv and e/x.csv)."""
    out_path = Path(out) if out else Path(source.stem + ".scored" + source.suffix)
    beside = [] if written_in_place(out_path) else [out_path]  # never into /dev beside -o /dev/null
    rejects_path = Path(rejects) if rejects else default_rejects(source.stem + ".rejects.csv", *beside, source)
    event_rejects = None if events is None else (
        events.rejects or default_rejects(events.path.stem + ".rejects.csv", *beside, events.path))
    if events is not None and not events.rejects and event_rejects is not None and rejects_path is not None and \
            os.path.abspath(event_rejects) == os.path.abspath(rejects_path):
        event_rejects = event_rejects.with_name(events.path.stem + ".events.rejects.csv")
    given = (("output", out), ("rejects", rejects), ("events_rejects", events and events.rejects))
    defaults = frozenset(name for name, path in given if not path)
    return OutputFiles(out_path, rejects_path, event_rejects, defaults)


def _counting_every_row(progress: Progress | None, skipped: int) -> Progress | None:
    """`progress` counting the rows read but not staged for scoring (malformed, or of a repeated id) as done
    from the start, so the bar ends at every row read."""
    if progress is None or not skipped:
        return progress
    moved = progress
    return lambda done, total: moved(done + skipped, None if total is None else total + skipped)


# Every row whose lead id another row also has, or that has none, with the rows sharing its id (`__lead__`
# stands for the id's expression).
_REPEATED_IDS = ('SELECT "#row", id, list("#row") OVER (PARTITION BY id) FROM (SELECT "#row", __lead__ AS id FROM raw) '
                 "QUALIFY coalesce(id, '') = '' OR count(*) OVER (PARTITION BY id) > 1 ORDER BY \"#row\"")


def _repeated_ids_sql(lead: LeadId) -> str:
    return filled(_REPEATED_IDS, pieces={"__lead__": lead.text}).sql("duckdb")


def reject_repeated_ids(con: DuckDBPyConnection, lead: LeadId, id_name: str, result: BatchResult) -> int:
    """Where a row is a lead (feedback, backtest), a lead is measured once: every row whose id another row
    also has, or that has none, is rejected, and `raw` becomes the other rows (a view over `raw_all`).
    Returns how many rows were taken out."""
    found = con.execute(_repeated_ids_sql(lead)).fetchall()
    if not found:
        return 0
    for row, key, rows in found:
        others = sorted(r for r in rows if r != row)
        problem = ("has no lead id, so neither its events nor its outcome can be found" if not key else
                   f"lead id {key!r} is also on row{'s' if len(others) > 1 else ''} {', '.join(map(str, others))}: "
                   "a lead is measured once, so every row of a repeated id is rejected")
        result.rejects.append({"row": int(row), "field": id_name, "problem": problem})
    views = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'raw'").fetchone()
    con.execute("ALTER VIEW raw RENAME TO raw_all" if views and views[0] else "ALTER TABLE raw RENAME TO raw_all")
    con.execute("CREATE TABLE repeated_rows AS SELECT unnest(?::BIGINT[]) AS r", [[row for row, *_ in found]])
    con.execute('CREATE VIEW raw AS SELECT * FROM raw_all WHERE "#row" NOT IN (SELECT r FROM repeated_rows)')
    return len(found)


def check_paths(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> None:
    """Refuse runs that would overwrite their own input, or write two outputs to one file."""
    try:
        check_outputs(outputs, inputs)
    except OutputError as exc:
        raise BatchError(str(exc)) from None
