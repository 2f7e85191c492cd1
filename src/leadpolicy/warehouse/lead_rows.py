"""A leads file read as the policy's leads: its format, its columns matched to the policy's fields (the
column plan), each row's cells read as a lead record as the one lead reader reads them (`CellReader`), and
the good leads of a file by id (`lead_records`, for SLA tiers). Also the errors of an input or output that
cannot be used (`BatchError`), which batch scoring and the SLA readers raise alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from sqlglot import exp

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.runtime import BLANK
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.leads import LeadReader, read_json, read_text_cell
from leadpolicy.semantics.logic import fold
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import json_columns
from leadpolicy.warehouse.event_files import LeadId, lead_id, lead_id_column
from leadpolicy.warehouse.event_stream import KEY

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

Reject = dict[str, Any]  # row, field, problem; and lead, value or raw when known (batch.LEAD_REJECT_COLUMNS)


class BatchError(ValueError):
    """An input or output that cannot be used at all; the message says why."""


class ColumnMapError(BatchError):
    """A column mapping (`--column FIELD=HEADER`, `[tool.leadpolicy.columns]`) that names a header the file
    does not have: bad usage, not a problem of the data."""


def file_format(path: Path, given: str | None = None) -> str:
    try:
        return staging.data_format(path, given)
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None


@dataclass
class ColumnPlan:
    """How a file's columns meet the policy: which column holds each field, what to say about the rest."""

    columns: list[str]  # the file's column names, in file order
    field_column: dict[str, int] = field(default_factory=dict)  # policy field -> column index
    mapped: dict[str, str] = field(default_factory=dict)  # field -> the header it was mapped to, as in the file
    replaced: list[int] = field(default_factory=list)  # columns named like a computed output
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def plan_columns(ir: IrPolicy, columns: list[str], strict: bool = False, mapping: dict[str, str] | None = None,
                 source: Path | str = "the file") -> ColumnPlan:
    """Match columns to fields ignoring case, a field in `mapping` (field -> header) to its header instead;
    report ambiguities (errors), missing fields and columns that look like misspelled fields (warnings, or
    errors with `strict`). Raises ColumnMapError for a mapped header that `source` does not have."""
    plan = ColumnPlan(columns)
    fields = {f.name for f in ir.fields}
    for name, index in mapped_columns(columns, mapping or {}, source).items():
        if name in fields:  # backtest: a field of the other version only
            plan.field_column[name] = index
            plan.mapped[name] = columns[index]
    _match_ignoring_case(ir, plan)
    _note_replaced_outputs(ir, plan)
    _note_missing_and_misspelled(ir, plan, plan.errors if strict else plan.warnings)
    return plan


def _match_ignoring_case(ir: IrPolicy, plan: ColumnPlan) -> None:
    """Each field not mapped to the one column whose name folds alike; two such columns are an error."""
    taken = set(plan.field_column.values())
    by_fold: dict[str, list[int]] = {}
    for i, name in enumerate(plan.columns):
        if i not in taken:
            by_fold.setdefault(fold(name), []).append(i)
    for f in ir.fields:
        found = [] if f.name in plan.mapped else by_fold.get(fold(f.name), [])
        if len(found) > 1:
            names = " and ".join(repr(plan.columns[i]) for i in found)
            plan.errors.append(f"columns {names} both match field {f.name} (names are matched ignoring case)")
        elif found:
            plan.field_column[f.name] = found[0]


def _note_replaced_outputs(ir: IrPolicy, plan: ColumnPlan) -> None:
    """The columns, read by no field, named like a computed output: replaced in the output, with a warning."""
    matched = set(plan.field_column.values())
    outputs = {fold(n): n for n in output_names(ir)}
    for i, name in enumerate(plan.columns):
        if fold(name) in outputs and i not in matched:
            plan.replaced.append(i)
            plan.warnings.append(f"column {name!r} is replaced in the output by the computed {outputs[fold(name)]}")


def _note_missing_and_misspelled(ir: IrPolicy, plan: ColumnPlan, near: list[str]) -> None:
    """Into `near`: each field no column holds, and each column that looks like a misspelled field."""
    matched = set(plan.field_column.values())
    missing = [f.name for f in ir.fields if f.name not in plan.field_column]
    unmatched = [name for i, name in enumerate(plan.columns) if i not in matched and i not in plan.replaced]
    for name in missing:
        hint = did_you_mean(name, unmatched)
        near.append(f"field {name} is not a column of the file, so every lead is read without it"
                    + (f" ({hint})" if hint else ""))
    for name in unmatched:
        hint = did_you_mean(name, missing)
        if hint:
            near.append(f"column {name!r} is not a field of the policy ({hint})")


def mapped_columns(columns: list[str], mapping: dict[str, str], source: Path | str) -> dict[str, int]:
    """Each mapped field's column: the header as written, else the one header equal to it ignoring case; a
    project default's header that `columns` lacks is left out (the field is matched by its own name)."""
    found = {}
    for name, header in mapping.items():
        exact = [i for i, column in enumerate(columns) if column == header]
        folded = [i for i, column in enumerate(columns) if fold(column) == fold(header)]
        matches = exact or folded
        setting = getattr(header, "setting", None)  # a project default (cli.settings.ProjectHeader)
        if not matches and setting is not None:
            continue  # the field is read from its own column, as without the setting
        if len(matches) != 1:
            known = did_you_mean(header, columns)
            why = (f"has no column {header!r}" + (f" ({known})" if known else "") if not matches else
                   f"has columns {' and '.join(repr(columns[i]) for i in matches)}, which differ only in case")
            raise ColumnMapError(f"{source}: {why}, which " + (setting or f"the column mapping {name}={header}")
                                 + " names")
        found[name] = matches[0]
    return found


def name_mapped_columns(rejects: list[Reject], plan: ColumnPlan) -> None:
    """A reject of a mapped field says the header its value came from, so both names are in the rejects file."""
    for reject in rejects:
        header = plan.mapped.get(reject["field"])
        if header is not None and not reject["problem"].startswith("column "):
            reject["problem"] = f"column {header!r}: {reject['problem']}"


def output_names(ir: IrPolicy) -> list[str]:
    """The columns leadpolicy adds to every scored row, in order."""
    return [s.name for s in ir.scores] + [g.name for g in ir.grades] + ["stage", "owner", "route"]


def stage(con: DuckDBPyConnection, path: Path, fmt: str) -> staging.Staged:
    try:
        return staging.stage(con, path, fmt)
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None


@dataclass(frozen=True)
class CellReader:
    """How a staged row's cells become a lead record: a JSON Lines value by its JSON type (as the API reads
    it), any other cell by its text, as its field's type."""

    wanted: list[tuple[str, int]]  # (field, input column)
    json_positions: set[int]
    kinds: dict[str, str]

    def columns(self) -> list[exp.Column]:
        return [exp.column(staging.original_column(i) if i in self.json_positions else staging.text_column(i),
                           quoted=True) for _, i in self.wanted]

    def record(self, cells: Sequence[Any]) -> dict[str, Any]:
        return {name: (None if cell is None else read_json(cell)) if i in self.json_positions else
                read_text_cell(self.kinds[name], cell) for (name, i), cell in zip(self.wanted, cells)}


def cell_reader(con: DuckDBPyConnection, ir: IrPolicy, plan: ColumnPlan) -> CellReader:
    return CellReader(list(plan.field_column.items()), set(json_columns(con, "raw")),
                      {f.name: f.type for f in ir.fields})


class LeadRecords(dict[str, dict[str, Any]]):
    """Each good lead of a leads file by its id (trimmed text), with the file's rejected rows (`rejects`:
    row, field, problem) and the ids whose rows were rejected (`rejected_ids`); `read` rows in all."""

    def __init__(self) -> None:
        super().__init__()
        self.rejects: list[Reject] = []
        self.rejected_ids: set[str] = set()
        self.read = 0


def lead_records(ir: IrPolicy, path: Path, id_column: str = "id", fmt: str | None = None,
                 columns: dict[str, str] | None = None) -> LeadRecords:
    """Each lead of a file by its id (as trimmed text), read as `score` reads a row (a CSV cell by its
    text, a JSON Lines value by its JSON type); for SLA tiers. A row that does not fit the schema, or
    whose id is missing or on another row too (every such row: which of them counts would be a guess),
    is rejected by row and field, as `sla_files.stage_leads` rejects it."""
    db = staging.Staging(ir.timezone)
    try:
        staged = stage(db.con, path, file_format(path, fmt))
        try:
            index = lead_id_column(staged.columns, id_column, path)
        except staging.DataFileError as exc:  # --id-column names no column: bad usage, as a mapping would
            raise ColumnMapError(str(exc)) from None
        plan = plan_columns(ir, staged.columns, mapping=columns, source=path)
        found = LeadRecords()
        found.rejects += [{k: p[k] for k in ("row", "field", "problem")} for p in staged.problems]
        id_name = staged.columns[index]
        leads, rows_of = _read_lead_rows(db.con, ir, plan, lead_id(index, staged.column_types.get(index)), id_name,
                                         found)
        _reject_repeated_lead_ids(rows_of, id_name, found)
        for lead_key, record in leads.values():
            if len(rows_of[lead_key]) == 1:
                found[lead_key] = record
        (staged_rows,) = db.con.execute("SELECT count(*) FROM raw").fetchone() or (0,)
        found.read = len(staged.problems) + staged_rows
        name_mapped_columns(found.rejects, plan)
        found.rejects.sort(key=lambda r: (r["row"], r["field"]))
        return found
    finally:
        db.close()


def _read_lead_rows(con: DuckDBPyConnection, ir: IrPolicy, plan: ColumnPlan, lead: LeadId, id_name: str,
                    found: LeadRecords
                    ) -> tuple[dict[int, tuple[str, dict[str, Any]]], dict[str, list[int]]]:
    """Each staged row with an id read by the one lead reader: the good ones as (id, record) by row, and the
    rows of each id; a row with no id or that does not fit goes to `found`'s rejects."""
    reader, cells = LeadReader(ir), cell_reader(con, ir, plan)
    query = exp.select(exp.column(staging.ROW_NAME, quoted=True), exp.alias_(lead.text.copy(), KEY, quoted=True),
                       *cells.columns())
    rows_of: dict[str, list[int]] = {}
    leads: dict[int, tuple[str, dict[str, Any]]] = {}
    for raw_row in con.execute(query.from_("raw").order_by(exp.column(staging.ROW_NAME, quoted=True)).sql("duckdb")
                               ).fetchall():
        row, lead_key = int(raw_row[0]), (raw_row[1] or "").strip(BLANK)
        if not lead_key:
            found.rejects.append({"row": row, "field": id_name, "problem": "missing lead id"})
            continue
        rows_of.setdefault(lead_key, []).append(row)
        record = cells.record(raw_row[2:])
        errors = reader.read(record)[1]
        if errors:
            found.rejected_ids.add(lead_key)
            found.rejects += [{"row": row, "field": e.field, "problem": e.message} for e in errors]
        else:
            leads[row] = (lead_key, record)
    return leads, rows_of


def _reject_repeated_lead_ids(rows_of: dict[str, list[int]], id_name: str, found: LeadRecords) -> None:
    """Every row of an id on several rows is rejected: which of them counts would be a guess."""
    for lead_key, rows in rows_of.items():
        if len(rows) > 1:
            found.rejected_ids.add(lead_key)
            for row in rows:
                others = ", ".join(str(r) for r in rows if r != row)
                found.rejects.append({"row": row, "field": id_name, "problem":
                                      f"lead id {lead_key!r} is also on row {others}: which row counts would "
                                      "be a guess"})
