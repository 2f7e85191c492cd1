"""An SLA event log (CSV, JSON Lines, Parquet) read with DuckDB for the reference engine, one lead at a time.

Rows stream out of DuckDB sorted by lead (DuckDB sorts out of core), so memory holds one lead's events
at a time. Each row is checked by the column rules every event reader shares (`semantics.events`), then
for repeats: read = used + rejected, always. An event after `now` is a good row that no clock sees.
Files are staged with `staging`, as `leadpolicy score` stages lead files, so rows are numbered and
unreadable records rejected the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import duckdb
from sqlglot import exp

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.runtime import BLANK, as_instant, read_instant, repeat_of, seen_at
from leadpolicy.semantics.events import (
    LOG_FIELDS,
    EventError,
    duplicate_words,
    event_fields,
    log_key,
    read_log_row,
)
from leadpolicy.sla.engine import Event
from leadpolicy.sla.events import EventFileError, ReadStats, Reject
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import Conversion, convert_fields

BATCH = 10_000
LogRow = tuple[int, str | None, str | None, str | None, str | None]  # row, lead, event, at, reason as text


class Cursor(Protocol):
    def fetchmany(self, size: int) -> list[LogRow]: ...


def detect_format(path: Path, given: str | None = None) -> str:
    try:
        return staging.data_format(path, given)
    except staging.DataFileError as exc:
        raise EventFileError(f"{exc} (or --events-format)") from None


def repeated_columns(path: Path, columns: Sequence[str], read: Sequence[str] = (*LOG_FIELDS, "reason")) -> str | None:
    """The message for an event file naming a column it reads twice (which value a row means would be a
    guess), in the words a leads file with a column given twice is refused in; or None."""
    for name in read:
        found = [c for c in columns if c == name]
        if len(found) > 1:
            return f"{path}: columns {' and '.join(map(repr, found))} both match field {name}"
    return None


def lacks_columns(path: Path, columns: Sequence[str], wanted: Sequence[str] = LOG_FIELDS) -> str | None:
    """The message for an event log without some of the columns it needs, or None."""
    missing = [c for c in wanted if c not in columns]
    if not missing:
        return None
    hint = "; ".join(f"{c}: {did_you_mean(c, list(columns)) or 'no such column'}" for c in missing)
    return (f"{path}: lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)} ({hint}); "
            "an event log has the columns lead, event and at, and optionally reason")


def convert_log(con: duckdb.DuckDBPyConnection, known: Iterable[str] | None, position: Mapping[str, int],
                keep: list[str], column_types: dict[int, str], table: str, prefix: str,
                enums: bool = False) -> Conversion:
    """The SQL twin of the column rules of `semantics.events`, for a log staged in `table`: its rows
    converted by `event_fields` (`{prefix}converted`, `{prefix}typed`), each problem found with the code
    `problem_words` says in words. Event names must be written as `known` spells them, as in Python.
    `enums`: the event column holds an ENUM of the known names."""
    return convert_fields(con, event_fields(known), {c: position[c] for c in LOG_FIELDS}, keep, column_types,
                          source_table=table, prefix=prefix, find_bad=False, json_types=False, enums=enums,
                          exact_choices=True)


def log_select(columns: Sequence[str]) -> exp.Select:
    """(row, lead, event, at, reason) of table `raw` as text, sorted by lead id as compared (without
    surrounding blanks), then by row."""
    position = {name: staging.text_column(i) for i, name in reversed(list(enumerate(columns)))}
    values: list[exp.Expr] = [exp.column(staging.ROW_NAME, quoted=True)]
    for name in (*LOG_FIELDS, "reason"):
        source = exp.column(position[name], quoted=True) if name in position else exp.Null()
        values.append(exp.alias_(source, name, quoted=True))
    lead = exp.Trim(this=exp.column(position["lead"], quoted=True), expression=exp.Literal.string(BLANK))
    return exp.select(*values).from_("raw").order_by(
        exp.Ordered(this=lead, nulls_first=True), exp.column(staging.ROW_NAME, quoted=True))


class EventLogReader:
    """Streams one event log as (lead, [Event]) groups; rejects go to `self.rejects`."""

    def __init__(self, path: str | Path, known_events: set[str], tz: ZoneInfo, now: dt.datetime,
                 fmt: str | None = None):
        self.path = Path(path)
        self.known = known_events
        self.tz = tz
        self.now = as_instant(now)
        self.fmt = detect_format(self.path, fmt)
        self.stats = ReadStats()
        self.rejects: list[Reject] = []

    def reject(self, row: int, field_name: str, problem: str, values: dict[str, str | None]) -> None:
        self.rejects.append(Reject(row, field_name, problem, values))
        self.stats.rejected += 1

    def groups(self) -> Iterator[tuple[str, list[Event]]]:
        """(lead, its valid events at or before `now`, sorted by time), one lead at a time."""
        db = staging.Staging()
        try:
            try:
                staged = staging.stage(db.con, self.path, self.fmt)
            except staging.DataFileError as exc:
                raise EventFileError(str(exc)) from None
            for p in staged.problems:
                self.stats.read += 1
                self.reject(p["row"], p["field"], p["problem"], {"raw": p["raw"]})
            problem = repeated_columns(self.path, staged.columns) or lacks_columns(self.path, staged.columns)
            if problem:
                raise EventFileError(problem)
            yield from self._grouped(db.con.execute(log_select(staged.columns).sql("duckdb")))
        finally:
            db.close()

    def _grouped(self, cursor: Cursor) -> Iterator[tuple[str, list[Event]]]:
        current: str | None = None
        bucket: list[Event] = []
        firsts: dict[Hashable, int] = {}  # rows read here are all at or before now
        while rows := cursor.fetchmany(BATCH):
            self.stats.read += len(rows)
            for row in rows:
                parsed = self._fast(row) or self._checked(row)
                if parsed is None:
                    continue
                if parsed.lead != current:
                    if current is not None and bucket:
                        yield current, sorted(bucket, key=lambda e: (e.at, e.row))
                    current, bucket, firsts = parsed.lead, [], {}
                first = repeat_of(firsts, parsed.row, log_key(parsed.lead, parsed.event, parsed.at, parsed.reason),
                                  parsed.at, None)
                if first is not None:
                    self.reject(parsed.row, "", duplicate_words(first), _values(row))
                    continue
                bucket.append(parsed)
        if current is not None and bucket:
            yield current, sorted(bucket, key=lambda e: (e.at, e.row))

    def _fast(self, row: LogRow) -> Event | None:
        """The usual row, read without building messages; None sends it to `_checked`."""
        k, lead, event, at, reason = row
        if not lead or event not in self.known or not at:
            return None
        try:
            when = read_instant(at, self.tz)
        except ValueError:
            return None
        stripped = lead.strip(BLANK)
        if not stripped or not seen_at(when, self.now):
            return None
        self.stats.events.add(event)
        return Event(stripped, event, when, reason or None, int(k), (lead, at))

    def _checked(self, row: LogRow) -> Event | None:
        """A row the fast path declined: rejected by the shared column rules, kept aside when after `now`,
        or (rarely) the event after all."""
        k, lead, event, at, reason = row
        if event is not None:
            self.stats.events.add(event)
        found = read_log_row(int(k), lead, event, at, self.known, self.tz)
        if isinstance(found, EventError):
            self.reject(found.row, found.field, found.message, _values(row))
            return None
        lead_id, name, when = found
        if not seen_at(when, self.now):
            self.stats.after_now += 1
            return None
        return Event(lead_id, name, when, reason or None, int(k), (lead or "", at or ""))


def _values(row: LogRow) -> dict[str, str | None]:
    return dict(zip(("lead", "event", "at", "reason"), row[1:]))
