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

from sqlglot import exp

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics.events import event_fields, problem_words
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.logic import fold
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import INTEGER_TYPES, convert_fields, trimmed
from leadpolicy.warehouse.sqlgen import activity_columns, epoch_us
from leadpolicy.warehouse.staging import DataFileError

EVENTS_TABLE = "events"  # lead (the id as trimmed text), event, at (TIMESTAMPTZ), reason (text): the good rows
ACTIVITY_TABLE = "activity"  # the good rows by lead: `#lead` and the windows
LEAD_ID = "#id"  # the lead id, keyed as table `activity` is (see `EventStats.integer_keys`), in the leads' typed view
COLUMNS = ("lead", "event", "at")
ROW = staging.ROW


@dataclass
class EventStats:
    read: int = 0
    used: int = 0
    rejected: int = 0
    rejects: list[dict] = field(default_factory=list)
    rejects_path: Path | None = None
    integer_keys: bool = False  # table `activity` is keyed by the integer ids themselves (see `stage_events`)

    def summary(self) -> str:
        return f"events: read {self.read}, used {self.used}, rejected {self.rejected}"


@dataclass(frozen=True)
class LeadId:
    """Where a lead row's id is: the staged column that holds it, its SQL as trimmed text, and whether
    it is an integer column (then `column` holds the integers themselves)."""

    column: str
    sql: str
    integer: bool = False


def lead_id(index: int, column_type: str | None) -> LeadId:
    if column_type in INTEGER_TYPES:  # an integer's text has no blanks to trim
        column = staging.original_column(index)
        return LeadId(column, exp.cast(exp.column(column, quoted=True), "VARCHAR").sql("duckdb"), True)
    column = staging.text_column(index)
    return LeadId(column, trimmed(exp.column(column, quoted=True)).sql("duckdb"))


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




def _add_event_values(con, rejects: list[dict], position: dict[str, int]) -> None:
    """Each rejected event row's lead, event, at and reason as written (from table `ev_raw`), as `leadpolicy
    sla` writes them; a record that could not be read at all keeps its `raw` text instead."""
    rows = sorted({r["row"] for r in rejects if "raw" not in r})
    names = [c for c in (*COLUMNS, "reason") if c in position]
    if not rows or not names:
        return
    texts = ", ".join(staging.quoted(staging.text_column(position[c])) for c in names)
    found = {row: dict(zip(names, values)) for row, *values in con.execute(
        f"SELECT {ROW}, {texts} FROM ev_raw WHERE {ROW} IN (SELECT unnest(?::BIGINT[]))", [rows]).fetchall()}
    for reject in rejects:
        reject.update(found.get(reject["row"], {}))


def stage_events(con, ir: IrPolicy, path: Path, fmt: str, leads_name: str, lead: LeadId,
                 now: dt.datetime) -> EventStats:
    """Stage the events file and reject its bad rows; make view `events` of the others and table
    `activity`, the policy's windows per lead (`sqlgen.activity_columns`, by `#lead`).

    The file is read once to aggregate its good rows by lead and once to count its bad ones; only
    when there are bad rows or unknown leads is it read again, to name them. `lead` says where
    table `raw` (the leads) holds each lead's id. Raises DataFileError for a file that cannot be
    used at all.
    """
    staged = staging.stage(con, path, fmt, table="ev_raw")
    known = tuple(e.name for e in ir.events) if ir.declares_events else None
    position: dict[str, int] = {}
    for i, name in enumerate(staged.columns):
        position.setdefault(name, i)
    missing = [c for c in COLUMNS if c not in position]
    conversion = None
    group_key = "lead"
    reason = "CAST(NULL AS VARCHAR)"
    if missing and not staged.problems and not con.execute("SELECT count(*) FROM ev_raw").fetchone()[0]:
        # JSON Lines without a line has no columns at all: no events, not a file without its columns
        con.execute(f'CREATE VIEW ev_converted AS SELECT CAST(NULL AS BIGINT) AS {ROW}, CAST(NULL AS VARCHAR) AS '
                    '"lead", CAST(NULL AS VARCHAR) AS "event", CAST(NULL AS TIMESTAMPTZ) AS "at", false AS "#bad" '
                    "WHERE false")
        con.execute('CREATE VIEW ev_typed AS SELECT * EXCLUDE ("#bad") FROM ev_converted')
    elif missing:
        hint = "; ".join(f"{c}: {did_you_mean(c, staged.columns) or 'no such column'}" for c in missing)
        raise DataFileError(f"{path}: lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)} ({hint}); "
                            "an events file has lead, event and at")
    else:
        lead_type = staged.column_types.get(position["lead"])
        if lead_type in INTEGER_TYPES:
            # An integer's text is canonical, so grouping by the integers groups as their text does,
            # and only each group's key is turned into text.
            group_key = staging.original_column(position["lead"])
        keep = [group_key] if group_key != "lead" else []
        if "reason" in position:  # optional: what Sales answered, read as text as it is written
            keep.append(staging.text_column(position["reason"]))
            reason = staging.quoted(keep[-1])
        conversion = convert_fields(con, event_fields(known), {c: position[c] for c in COLUMNS}, keep,
                                    staged.column_types, source_table="ev_raw", prefix="ev_", find_bad=False,
                                    enums=True, json_types=False)
    stats = EventStats(rejects=[{k: p[k] for k in ("row", "field", "problem", "raw")} for p in staged.problems])
    event_lead = trimmed(exp.column("lead", quoted=True)).sql("duckdb")
    # Integer ids on both sides are compared as integers: an integer's text is canonical, so two are equal
    # exactly when their texts are, and hashing integers is cheaper than hashing their texts.
    integer_keys = group_key != "lead" and lead.integer
    stats.integer_keys = integer_keys
    lead_key = staging.quoted(lead.column) if integer_keys else lead.sql
    con.execute(f'CREATE VIEW {EVENTS_TABLE} AS SELECT {event_lead} AS "lead", "event", "at", {reason} AS "reason" '
                "FROM ev_typed")
    # One pass over the good rows: each lead's windows. An event after `now` reaches no window (its
    # event is NULL there).
    counted = exp.LTE(this=exp.func("epoch_us", exp.column("at", quoted=True)),
                      expression=exp.Literal.number(epoch_us(now))).sql("duckdb")
    windows = "".join(", " + c.sql("duckdb") for c in activity_columns(ir, "duckdb", now))
    key = event_lead if group_key == "lead" else staging.quoted(group_key)
    lead_of_key = '"#key"' if integer_keys else 'CAST("#key" AS VARCHAR)'
    # TEMP: scratch tables of this run are kept out of the database file, and out of its compression.
    con.execute(f'CREATE TEMP TABLE {ACTIVITY_TABLE} AS SELECT {lead_of_key} AS "#lead", * EXCLUDE ("#key") '
                f'FROM (SELECT "#key"{windows} FROM (SELECT {key} AS "#key", '
                f'CASE WHEN {counted} THEN "event" END AS "event", "at" FROM ev_typed) GROUP BY "#key")')
    # An anti join needs no distinct ids: a lead named by many rows of the leads file is simply found.
    con.execute(f'CREATE TEMP TABLE ev_unmatched AS SELECT "#lead" FROM {ACTIVITY_TABLE} '
                f'ANTI JOIN raw ON {lead_key} = "#lead"')
    # Counting the bad rows on their own is cheaper than counting every lead's rows in the aggregate.
    (staged_rows,) = con.execute("SELECT count(*) FROM ev_raw").fetchone() or (0,)
    (bad_rows,) = con.execute('SELECT count(*) FROM ev_converted WHERE "#bad"').fetchone()
    if bad_rows and conversion is not None:
        conversion.find_bad(con)
        for row, name, code, value in con.execute(f"SELECT {ROW}, field, code, value FROM ev_bad").fetchall():
            stats.rejects.append({"row": int(row), "field": name, "problem": problem_words(name, code, value, known or ())})
    unmatched_rows = 0
    if con.execute("SELECT count(*) FROM ev_unmatched").fetchone()[0]:
        unmatched = con.execute(f'SELECT {ROW}, {event_lead} FROM ev_typed WHERE {event_lead} IN '
                                '(SELECT CAST("#lead" AS VARCHAR) FROM ev_unmatched)').fetchall()
        unmatched_rows = len(unmatched)
        for row, lead in unmatched:
            stats.rejects.append({"row": int(row), "field": "lead",
                                  "problem": f"no lead with id {lead!r} in {leads_name}"})
    _add_event_values(con, stats.rejects, position)
    stats.read = staged_rows + len(staged.problems)
    stats.rejected = len({r["row"] for r in stats.rejects})
    stats.used = staged_rows - bad_rows - unmatched_rows
    return stats

