"""What `leadpolicy assign` and `leadpolicy simulate` share: a leads file read as `score` reads it (CSV, JSON Lines
or Parquet, column mapping, events, rejects by row and field), each lead decided at its arrival instant (its `at`
is its `now`, as the samples' assignment cases decide), the routed ones assigned in arrival order (ties: input
order), and the file written again with what became of each lead.

read = assigned + held + not routed + rejected, always (`AssignCounts`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from leadpolicy import zones
from leadpolicy.api import LeadError
from leadpolicy.assignment import HELD, Assigner, Outcome
from leadpolicy.assignment.data import read_lead_id
from leadpolicy.runtime import BLANK
from leadpolicy.semantics.now import written_instant
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.batch import names_clash, write_output
from leadpolicy.warehouse.event_files import EVENTS_TABLE, EventStats, find_column, lead_id, stage_events
from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError, cell_reader, file_format, plan_columns, stage
from leadpolicy.warehouse.sqlgen import EPOCH

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from leadpolicy.api import Policy

ADDED = ("stage", "route", "assignee", "assigned_how", "skipped")  # the columns `assign` adds to each lead's row
ROW = staging.ROW_NAME
Reject = dict[str, Any]


@dataclass(frozen=True)
class LeadsInput:
    """A leads file and how to read it: which column holds the lead id and which its arrival instant."""

    path: Path
    id_column: str | None  # None: each row is a lead of its own, named by its row number
    at_column: str
    format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # field -> header (--column)
    events: Path | None = None
    events_format: str | None = None


@dataclass(frozen=True)
class Decided:
    """A lead that fits the schema, decided at its arrival instant."""

    row: int
    lead_id: str
    at: dt.datetime
    email: str | None
    stage: str
    route: str | None


@dataclass
class AssignCounts:
    read: int = 0
    assigned: int = 0  # by this run, and before it (`already`, a part of `assigned`)
    already: int = 0
    held: int = 0
    not_routed: int = 0  # routed to no team: a queue name, or no route
    rejected: int = 0

    def add(self, outcome: Outcome | None) -> None:
        if outcome is None:
            self.not_routed += 1
        elif outcome.how == HELD:
            self.held += 1
        else:
            self.assigned += 1
            self.already += outcome.how == "already assigned"

    def summary(self) -> str:
        already = f" ({self.already} already assigned)" if self.already else ""
        return (f"read {self.read}: assigned {self.assigned}{already}, held {self.held}, "
                f"not routed {self.not_routed}, rejected {self.rejected}")

    def balanced(self) -> bool:
        return self.read == self.assigned + self.held + self.not_routed + self.rejected


@dataclass
class ReadLeads:
    """The decided leads in arrival order (ties: input order), the rows rejected, and the events' counts."""

    decided: list[Decided] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    read: int = 0
    events: EventStats | None = None


class LeadsFile:
    """A leads file staged in a DuckDB database of its own, for one run; closed by `close` (or `with`)."""

    def __init__(self, policy: Policy, given: LeadsInput):
        self.policy = policy
        self.given = given
        self.format = file_format(given.path, given.format)
        try:
            self.db = staging.Staging(policy.ir.timezone)
        except staging.ZoneDataError as exc:
            raise BatchError(str(exc)) from None
        self.con: DuckDBPyConnection = self.db.con
        self.staged = stage(self.con, given.path, self.format)

    def __enter__(self) -> LeadsFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def column(self, name: str, role: str, flag: str) -> int:
        try:
            return find_column(self.staged.columns, name, self.given.path, role, flag)
        except staging.DataFileError as exc:  # a flag names no column: bad usage
            raise ColumnMapError(str(exc)) from None

    def read(self) -> ReadLeads:
        """Every row read and decided at its `at`; the good ones sorted by arrival (then row)."""
        ir = self.policy.ir
        plan = plan_columns(ir, self.staged.columns, mapping=self.given.columns, source=self.given.path)
        if plan.errors:
            raise BatchError(f"{self.given.path}: " + "; ".join(plan.errors))
        at_index = self.column(self.given.at_column, "holds the lead's arrival time", "--at-column")
        found = ReadLeads(rejects=[{k: p[k] for k in ("row", "field", "problem", "raw")}
                                   for p in self.staged.problems])
        cells = cell_reader(self.con, ir, plan)
        row_column = exp.column(ROW, quoted=True)
        original: exp.Expr = exp.Null()  # the id as the file gives it (JSON, or Parquet's typed value), when it does
        if self.given.id_column is None:
            lead, id_name = None, ""
            key: exp.Expr = exp.Concat(expressions=[exp.Literal.string("row "), exp.cast(row_column.copy(), "VARCHAR")])
        else:
            id_index = self.column(self.given.id_column, "holds the lead id", "--id-column")
            lead, id_name = lead_id(id_index, self.staged.column_types.get(id_index)), self.staged.columns[id_index]
            key = lead.text.copy()
            if self.staged.has_originals:
                original = exp.column(staging.original_column(id_index), quoted=True)
        query = exp.select(row_column, exp.alias_(key, "#id", quoted=True),
                           exp.column(staging.text_column(at_index), quoted=True),
                           exp.alias_(original, "#id_value", quoted=True), *cells.columns())
        rows = self.con.execute(query.from_("raw").order_by(row_column.copy()).sql("duckdb")).fetchall()
        arrivals = self._arrivals(rows, id_name, self.staged.columns[at_index], found)
        events = self._events(lead, max((at for _, at in arrivals.values()), default=None), found)
        decide = self.policy.row
        for raw_row in rows:
            row = int(raw_row[0])
            if row not in arrivals:
                continue
            record = cells.record(raw_row[4:])
            lead_key, at = arrivals[row]
            try:  # the compiled evaluator reads the lead; one that does not fit is explained by the schema reader
                computed = decide(record, at, events.get(lead_key, ()))
            except LeadError as exc:
                found.rejects += [{"row": row, "field": e.field, "problem": e.message, "lead": lead_key}
                                  for e in exc.errors]
                continue
            email = record.get("email")
            found.decided.append(Decided(row, lead_key, at, email if isinstance(email, str) else None,
                                         str(computed[-3]), computed[-1]))
        found.read = len(rows) + len(self.staged.problems)
        found.decided.sort(key=lambda d: (d.at, d.row))
        _name_mapped(found.rejects, plan.mapped)
        return found

    def _arrivals(self, rows: list[tuple[Any, ...]], id_name: str, at_name: str, found: ReadLeads
                  ) -> dict[int, tuple[str, dt.datetime]]:
        """Each row's lead id and arrival instant; a row without one, or with an `at` that is no time, rejected."""
        zone = zones.zone(self.policy.ir.timezone)
        arrivals: dict[int, tuple[str, dt.datetime]] = {}
        for raw_row in rows:
            row, at_text = int(raw_row[0]), raw_row[2]
            key, problem = self._lead_key(raw_row[1], raw_row[3])
            if problem:
                found.rejects.append({"row": row, "field": id_name, "problem": problem})
                continue
            if at_text is None or not str(at_text).strip(BLANK):
                found.rejects.append({"row": row, "field": at_name, "problem": "missing arrival time", "lead": key})
                continue
            try:
                arrivals[row] = (key, written_instant(str(at_text).strip(BLANK), zone))
            except ValueError as exc:
                found.rejects.append({"row": row, "field": at_name, "problem": str(exc), "lead": key})
        return arrivals

    def _lead_key(self, text: str | None, original: Any) -> tuple[str, str]:
        """(lead id, "") of a row, or ("", why it has none) read as the service reads a lead id (`read_lead_id`):
        from what the file gives (a JSON value, a Parquet typed value), else the text."""
        value: Any = text
        if original is not None:
            value = json.loads(original) if self.format == "jsonl" else original
        if value is None or (isinstance(value, str) and not value.strip(BLANK)):
            return "", "missing lead id"
        try:
            return read_lead_id(value), ""
        except ValueError as exc:
            return "", str(exc)

    def _events(self, lead: Any, latest: dt.datetime | None, found: ReadLeads
                ) -> dict[str, list[tuple[str, dt.datetime]]]:
        """Each lead's events (by lead id), staged and checked as `score --events` checks them."""
        given = self.given
        if given.events is None or lead is None:
            return {}
        events_format = file_format(given.events, given.events_format)
        try:
            found.events = stage_events(self.con, self.policy.ir, given.events, events_format, given.path.name, lead,
                                        latest or dt.datetime.now(dt.timezone.utc))
        except staging.DataFileError as exc:
            raise BatchError(str(exc)) from None
        by_lead: dict[str, list[tuple[str, dt.datetime]]] = {}
        query = exp.select("lead", "event", exp.func("epoch_us", exp.column("at"))).from_(EVENTS_TABLE)
        for key, event, at_us in self.con.execute(query.order_by("lead", "at").sql("duckdb")).fetchall():
            by_lead.setdefault(key, []).append((event, EPOCH + dt.timedelta(microseconds=at_us)))
        return by_lead

    def write(self, out: Path, rows: dict[int, tuple[str, str | None, Outcome | None]], out_format: str) -> int:
        """The input's columns (one named like an added column gives way to it) and then the added ones, for
        every decided row, in input order; the rows written."""
        kept = [(i, name) for i, name in enumerate(self.staged.columns) if name not in ADDED]
        table = self._added_table(rows)
        originals = self.staged.has_originals and self.format == out_format
        header = [name for _, name in kept] + list(ADDED)
        positional = names_clash(header) and out_format != "parquet"
        values = [exp.column(staging.original_column(i) if originals else staging.text_column(i), quoted=True)
                  for i, _ in kept] + [exp.column(name, quoted=True) for name in ADDED]
        parts = [exp.alias_(value, f"#out{k}" if positional else name, quoted=True)
                 for k, (value, name) in enumerate(zip(values, header))]
        select = exp.select(*parts).from_("raw").join(
            exp.Join(this=exp.table_(table), using=[exp.to_identifier(ROW, quoted=True)])).order_by(
            exp.column(ROW, quoted=True))
        return write_output(self.con, select, out, out_format, header if positional else None)

    def _added_table(self, rows: dict[int, tuple[str, str | None, Outcome | None]]) -> str:
        """Table `assigned`: each decided row's added columns, loaded from a CSV written here."""
        folder = Path(self.db.folder.name)
        path = folder / "assigned.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([ROW, *ADDED])
            for row, (stage_name, route, outcome) in sorted(rows.items()):
                writer.writerow([row, stage_name, route, *_outcome_cells(outcome)])
        columns = exp.Struct(expressions=[exp.PropertyEQ(this=exp.Literal.string(name), expression=exp.Literal.string(
            "BIGINT" if name == ROW else "VARCHAR")) for name in (ROW, *ADDED)])
        reader = exp.func("read_csv", exp.Literal.string(str(path)), exp.PropertyEQ(
            this=exp.var("columns"), expression=columns), exp.PropertyEQ(this=exp.var("header"),
                                                                        expression=exp.true()))
        create = exp.Create(this=exp.table_("assigned"), kind="TABLE",
                            expression=exp.select(exp.Star()).from_(reader))
        self.con.execute(create.sql("duckdb"))
        return "assigned"


def _outcome_cells(outcome: Outcome | None) -> list[str | None]:
    """assignee, assigned_how and skipped of one lead (all empty when it was routed to no team)."""
    if outcome is None:
        return [None, None, None]
    return [outcome.assignee, outcome.how, "; ".join(outcome.skipped) or None]


def _name_mapped(rejects: list[Reject], mapped: dict[str, str]) -> None:
    for reject in rejects:
        header = mapped.get(reject["field"])
        if header is not None and not reject["problem"].startswith("column "):
            reject["problem"] = f"column {header!r}: {reject['problem']}"


def assign_in_order(assigner: Assigner, decided: list[Decided], counts: AssignCounts,
                    progress: Callable[[int, int | None], None] | None = None
                    ) -> Iterator[tuple[Decided, Outcome | None]]:
    """Each decided lead assigned (or not: routed to no team) in the order given, counted."""
    for done, lead in enumerate(decided, start=1):
        outcome = assigner.assign(lead.lead_id, lead.route, lead.email, lead.at)
        counts.add(outcome)
        if progress is not None and done % 1000 == 0:
            progress(done, len(decided))
        yield lead, outcome
