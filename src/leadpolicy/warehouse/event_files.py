"""Event files for `leadpolicy score --events`: staged beside the leads, checked in SQL, bad rows rejected.

An event row is used when it has a lead id that some row of the leads file has, an event name
(one the policy declares, when it has an `events` block) and a timestamp, read as a lead's
timestamps are. Any other row is rejected with its row number, field and reason, so
read = used + rejected, always. An event after `now` is used and never counts, as everywhere.

Both engines read the table `events` (lead, event, at) made here, so they see the same events;
lead ids are compared as text without surrounding blanks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics.events import LOG_FIELDS, duplicate_words, problem_words
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.logic import fold
from leadpolicy.semantics.primitives.sql import at_or_before_now_sql
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import INTEGER_TYPES, Conversion, trimmed
from leadpolicy.warehouse.event_log import convert_log, lacks_columns, repeated_columns
from leadpolicy.warehouse.sqlgen import activity_columns, epoch_us
from leadpolicy.warehouse.staging import DataFileError
from leadpolicy.warehouse.templates import filled

EVENTS_TABLE = "events"  # lead (the id as trimmed text), event, at (TIMESTAMPTZ), reason (text): the good rows
ACTIVITY_TABLE = "activity"  # the good rows by lead: `#lead` and the windows
LEAD_ID = "#id"  # the lead id, keyed as table `activity` is (see `EventStats.integer_keys`), in the leads' typed view
ROW = staging.ROW


@dataclass
class EventStats:
    read: int = 0
    used: int = 0
    rejected: int = 0
    after_now: int = 0  # used rows after `now`: good rows no window counts (a part of `used`, as `sla` counts it)
    rejects: list[dict[str, object]] = field(default_factory=list)
    rejects_path: Path | None = None
    integer_keys: bool = False  # table `activity` is keyed by the integer ids themselves (see `stage_events`)

    def summary(self) -> str:
        later = f"; {self.after_now} used after now, never counted" if self.after_now else ""
        return f"events: read {self.read}, used {self.used}, rejected {self.rejected}{later}"


@dataclass(frozen=True)
class LeadId:
    """Where a lead row's id is: the staged column that holds it, its expression as trimmed text, and
    whether it is an integer column (then `column` holds the integers themselves)."""

    column: str
    text: exp.Expr
    integer: bool = False

    @property
    def sql(self) -> str:
        """The id as trimmed text, in DuckDB's SQL."""
        return self.text.sql("duckdb")


def lead_id(index: int, column_type: str | None) -> LeadId:
    if column_type in INTEGER_TYPES:  # an integer's text has no blanks to trim
        column = staging.original_column(index)
        return LeadId(column, exp.cast(exp.column(column, quoted=True), "VARCHAR"), True)
    column = staging.text_column(index)
    return LeadId(column, trimmed(exp.column(column, quoted=True)))


def lead_id_column(columns: list[str], name: str, source: Path) -> int:
    """The position of the leads' id column (see `find_column`)."""
    return find_column(columns, name, source, "holds the lead id that events name", "--id-column")


def find_column(columns: list[str], name: str, source: Path, role: str, flag: str) -> int:
    """The position of a column named on the command line: named exactly, or else the one column named so
    ignoring case. Raises DataFileError naming `role` and the `flag` to change."""
    exact = [i for i, c in enumerate(columns) if c == name]
    found = exact or [i for i, c in enumerate(columns) if fold(c) == fold(name)]
    if len(found) == 1:
        return found[0]
    if found:
        names = " and ".join(repr(columns[i]) for i in found)
        raise DataFileError(f"{source}: columns {names} both match {name!r} ({flag})")
    hint = did_you_mean(name, columns)
    listed = "the columns are " + ", ".join(map(repr, columns[:12])) + (", ..." if len(columns) > 12 else "")
    raise DataFileError(f"{source}: no column {name!r} {role} ({hint + '; ' if hint else ''}{listed}); "
                        f"name it with {flag}")


# The steps of `stage_events`, each one fixed DuckDB template; "#name" placeholders are filled by
# `templates.filled` with literals (values) or sqlglot expressions (pieces), never pasted text.
_NO_EVENTS = ('CREATE VIEW ev_converted AS SELECT CAST(NULL AS BIGINT) AS "#row", CAST(NULL AS VARCHAR) AS "lead", '
              'CAST(NULL AS VARCHAR) AS "event", CAST(NULL AS TIMESTAMPTZ) AS "at", false AS "#bad" WHERE false')
_NO_EVENTS_TYPED = 'CREATE VIEW ev_typed AS SELECT * EXCLUDE ("#bad") FROM ev_converted'
# A row at or before now repeating an earlier one (lead, event, instant) is rejected (`semantics.events.Repeats`);
# repeats are rare: the repeated keys are counted with one aggregation, and only then the rows found (a table,
# not TEMP: the Python engine reads view `events` through a cursor of its own).
_REPEATED_KEYS = ('SELECT count(*) FROM (SELECT 1 FROM ev_typed WHERE "#piece_counted" '
                  'GROUP BY "#piece_key", "event", "at" HAVING count(*) > 1)')
_REPEATS = ('CREATE TABLE ev_repeats AS SELECT "#row", first_row FROM (SELECT "#row", MIN("#row") OVER '
            '(PARTITION BY "#piece_key", "event", "at") AS first_row FROM ev_typed WHERE "#piece_counted") '
            'WHERE "#row" <> first_row')
_KEPT = 'CREATE VIEW ev_kept AS SELECT * FROM ev_typed ANTI JOIN ev_repeats USING ("#row")'
_ALL_KEPT = "CREATE VIEW ev_kept AS SELECT * FROM ev_typed"
_EVENTS = ('CREATE VIEW "#piece_events" AS SELECT "#piece_lead" AS "lead", "event", "at", "#piece_reason" AS "reason" '
           "FROM ev_kept")
# TEMP: scratch tables of this run are kept out of the database file, and out of its compression.
_ACTIVITY = ('CREATE TEMP TABLE "#piece_activity" AS SELECT "#piece_leadofkey" AS "#lead", * EXCLUDE ("#key") '
             'FROM "#piece_windows"')
# An anti join needs no distinct ids: a lead named by many rows of the leads file is simply found.
_UNMATCHED = ('CREATE TEMP TABLE ev_unmatched AS SELECT "#lead" FROM "#piece_activity" '
              'ANTI JOIN raw ON "#piece_leadkey" = "#lead"')
AFTER_NOW = "#after_now"  # a column of table `activity`: how many of the lead's rows are after `now`
_AFTER_NOW_USED = ('SELECT coalesce(sum("#after_now"), 0) FROM "#piece_activity" '
                   'ANTI JOIN ev_unmatched ON ev_unmatched."#lead" = "#piece_activity"."#lead"')
_UNMATCHED_ROWS = ('SELECT "#row", "#piece_lead" FROM ev_kept WHERE "#piece_lead" IN '
                   '(SELECT CAST("#lead" AS VARCHAR) FROM ev_unmatched)')


class _EventStaging:
    """One events file staged beside the leads, step by step, its rejects collected on the way."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ir: IrPolicy, now: dt.datetime):
        self.con, self.ir, self.now = con, ir, now
        self.known = tuple(e.name for e in ir.events) if ir.declares_events else None
        self.pieces: dict[str, exp.Expr] = {
            "#piece_events": exp.to_table(EVENTS_TABLE), "#piece_activity": exp.to_table(ACTIVITY_TABLE),
            "#piece_lead": trimmed(exp.column("lead", quoted=True)), "#piece_reason": exp.cast(exp.Null(), "VARCHAR")}
        self.position: dict[str, int] = {}
        self.group_key: str | None = None  # the staged column of integer ids, when events are grouped by them
        self.conversion: Conversion | None = None
        self.repeats: list[dict[str, object]] = []  # the rows repeating an earlier one (see `aggregate`)

    def run(self, template: str, parameters: list[object] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(filled(template, pieces=self.pieces).sql("duckdb"), parameters).fetchall()

    def count(self, template: str) -> int:
        rows = self.run(template)
        return int(rows[0][0]) if rows else 0

    def stage(self, path: Path, fmt: str) -> staging.Staged:
        """The file staged into table `ev_raw`, its rows converted by the column rules of `semantics.events`.
        Raises DataFileError for a file lacking a column (JSON Lines without a line has none: no events)."""
        staged = staging.stage(self.con, path, fmt, table="ev_raw")
        for i, name in enumerate(staged.columns):
            self.position.setdefault(name, i)
        repeated = repeated_columns(path, staged.columns)
        if repeated:
            raise DataFileError(repeated)
        problem = lacks_columns(path, staged.columns)
        if problem and not staged.problems and not self.count("SELECT count(*) FROM ev_raw"):
            self.run(_NO_EVENTS)
            self.run(_NO_EVENTS_TYPED)
        elif problem:
            raise DataFileError(problem)
        else:
            self.convert(staged)
        return staged

    def convert(self, staged: staging.Staged) -> None:
        keep = []
        if staged.column_types.get(self.position["lead"]) in INTEGER_TYPES:
            # An integer's text is canonical, so grouping by the integers groups as their text does,
            # and only each group's key is turned into text.
            self.group_key = staging.original_column(self.position["lead"])
            keep.append(self.group_key)
        if "reason" in self.position:  # optional: what Sales answered, read as text as it is written
            keep.append(staging.text_column(self.position["reason"]))
            self.pieces["#piece_reason"] = exp.column(keep[-1], quoted=True)
        self.conversion = convert_log(self.con, self.known, self.position, keep, staged.column_types, "ev_raw", "ev_",
                                      enums=True)

    def aggregate(self, lead: LeadId) -> bool:
        """View `events` of the good rows (a repeated row rejected, see `repeat_rejects`) and table `activity`,
        each lead's windows in one pass over them
        (an event after `now` reaches no window: its event is NULL there; `#after_now` counts them); table
        `ev_unmatched` of the leads no row of the leads file has. True when ids are compared as integers on
        both sides: an integer's text is canonical, so two are equal exactly when their texts are, and
        hashing integers is cheaper than hashing their texts."""
        integer_keys = self.group_key is not None and lead.integer
        key = exp.column(self.group_key, quoted=True) if self.group_key else self.pieces["#piece_lead"]
        self.pieces["#piece_leadkey"] = exp.column(lead.column, quoted=True) if integer_keys else lead.text
        self.pieces["#piece_leadofkey"] = (exp.column("#key", quoted=True) if integer_keys
                                           else exp.cast(exp.column("#key", quoted=True), "VARCHAR"))
        counted = at_or_before_now_sql(exp.func("epoch_us", exp.column("at", quoted=True)),
                                       exp.Literal.number(epoch_us(self.now)))
        self.pieces.update({"#piece_key": key.copy(), "#piece_counted": counted.copy()})
        self.repeats = self.repeat_rejects()
        self.run(_EVENTS)
        rows = exp.select(exp.alias_(key, "#key", quoted=True),
                          exp.alias_(exp.Case().when(counted, exp.column("event", quoted=True)), "event", quoted=True),
                          exp.column("at", quoted=True), exp.alias_(exp.not_(counted.copy()), "#later", quoted=True)
                          ).from_("ev_kept")
        after_now = exp.alias_(exp.func("count_if", exp.column("#later", quoted=True)), AFTER_NOW, quoted=True)
        self.pieces["#piece_windows"] = exp.select(exp.column("#key", quoted=True),
                                                   *activity_columns(self.ir, "duckdb", self.now), after_now).from_(
            rows.subquery()).group_by(exp.column("#key", quoted=True))
        self.run(_ACTIVITY)
        self.run(_UNMATCHED)
        return integer_keys

    def repeat_rejects(self) -> list[dict[str, object]]:
        """View `ev_kept` of the rows the column rules take less those repeating an earlier row, and the
        repeats, rejected (`semantics.events.Repeats`)."""
        if not self.count(_REPEATED_KEYS):
            self.run(_ALL_KEPT)
            return []
        self.run(_REPEATS)
        self.run(_KEPT)
        return [{"row": int(row), "field": "", "problem": duplicate_words(int(first))}
                for row, first in self.run('SELECT "#row", first_row FROM ev_repeats ORDER BY "#row"')]

    def column_rejects(self) -> tuple[list[dict[str, object]], int]:
        """The rows the column rules reject, by field, and how many rows they are. Counting the bad rows on
        their own is cheaper than counting every lead's rows in the aggregate."""
        bad_rows = self.count('SELECT count(*) FROM ev_converted WHERE "#bad"')
        if not bad_rows or self.conversion is None:
            return [], bad_rows
        self.conversion.find_bad(self.con)
        return [{"row": int(row), "field": name, "problem": problem_words(name, code, value, self.known or ())}
                for row, name, code, value in self.run('SELECT "#row", field, code, value FROM ev_bad')], bad_rows

    def unmatched_rejects(self, leads_name: str) -> list[dict[str, object]]:
        """The rows naming a lead no row of the leads file has."""
        if not self.count("SELECT count(*) FROM ev_unmatched"):
            return []
        return [{"row": int(row), "field": "lead", "problem": f"no lead with id {lead!r} in {leads_name}"}
                for row, lead in self.run(_UNMATCHED_ROWS)]

    def add_values(self, rejects: list[dict[str, object]]) -> None:
        """Each rejected row's lead, event, at and reason as written (from table `ev_raw`), as `leadpolicy
        sla` writes them; a record that could not be read at all keeps its `raw` text instead."""
        rows = sorted({int(str(r["row"])) for r in rejects if "raw" not in r})
        names = [c for c in (*LOG_FIELDS, "reason") if c in self.position]
        if not rows or not names:
            return
        texts = [exp.column(staging.text_column(self.position[c]), quoted=True) for c in names]
        query = exp.select(exp.column(staging.ROW_NAME, quoted=True), *texts).from_("ev_raw").where(
            exp.column(staging.ROW_NAME, quoted=True).isin(query=exp.select(exp.Unnest(expressions=[
                exp.cast(exp.Placeholder(), "BIGINT[]")]))))  # the rows asked for: the one parameter, a list
        found = {row: dict(zip(names, values)) for row, *values in
                 self.con.execute(query.sql("duckdb"), [rows]).fetchall()}
        for reject in rejects:
            reject.update(found.get(reject["row"], {}))


def stage_events(con: duckdb.DuckDBPyConnection, ir: IrPolicy, path: Path, fmt: str, leads_name: str, lead: LeadId,
                 now: dt.datetime) -> EventStats:
    """Stage the events file and reject its bad rows; make view `events` of the others and table
    `activity`, the policy's windows per lead (`sqlgen.activity_columns`, by `#lead`).

    The file is read once to aggregate its good rows by lead and once to count its bad ones; only
    when there are bad rows or unknown leads is it read again, to name them. `lead` says where
    table `raw` (the leads) holds each lead's id. Raises DataFileError for a file that cannot be
    used at all.
    """
    events = _EventStaging(con, ir, now)
    staged = events.stage(path, fmt)
    stats = EventStats(rejects=[{k: p[k] for k in ("row", "field", "problem", "raw")} for p in staged.problems])
    stats.integer_keys = events.aggregate(lead)
    staged_rows = events.count("SELECT count(*) FROM ev_raw")
    found, bad_rows = events.column_rejects()
    unmatched = events.unmatched_rejects(leads_name)
    stats.rejects += found + events.repeats + unmatched
    events.add_values(stats.rejects)
    stats.read = staged_rows + len(staged.problems)
    stats.rejected = len({r["row"] for r in stats.rejects})
    stats.used = staged_rows - bad_rows - len(events.repeats) - len(unmatched)
    stats.after_now = events.count(_AFTER_NOW_USED)
    return stats
