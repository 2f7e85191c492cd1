"""Reading event logs (CSV, JSON Lines, Parquet) with DuckDB, grouped by lead, bad rows rejected.

Rows stream out of DuckDB sorted by lead (DuckDB sorts out of core), so memory holds
one lead's events at a time. Every row read is either handed on or rejected with its
row number, field and reason: read = used + rejected, always.

Files are staged with `staging`, as `leadpolicy score` stages lead files, so rows are
numbered and unreadable records rejected the same way.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from sqlglot import exp

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics.leads import BLANK, TIMESTAMP_PATTERN, OutOfRange, as_instant, read_instant
from leadpolicy.semantics.logic import fold
from leadpolicy.sla.engine import Event
from leadpolicy.warehouse import staging

COLUMNS = ("lead", "event", "at", "reason")
REJECT_COLUMNS = ("row", "field", "problem", *COLUMNS, "raw")
BATCH = 10_000
TIMESTAMP_SHAPE = re.compile(TIMESTAMP_PATTERN)


class EventFileError(ValueError):
    """An events file that cannot be read at all (missing, wrong format, missing columns)."""


@dataclass
class Reject:
    row: int
    field: str
    problem: str
    values: dict = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "problem": self.problem,
                **{k: self.values.get(k) for k in (*COLUMNS, "raw")}}


@dataclass
class ReadStats:
    read: int = 0
    rejected: int = 0
    events: set[str] = dataclasses.field(default_factory=set)  # the event names the rows hold, as written

    @property
    def used(self) -> int:
        return self.read - self.rejected


def detect_format(path: Path, given: str | None = None) -> str:
    try:
        return staging.data_format(path, given)
    except staging.DataFileError as exc:
        raise EventFileError(f"{exc} (or --events-format)") from None


class EventReader:
    """Streams one events file as (lead, [Event]) groups; rejects go to `self.rejects`."""

    def __init__(self, path: str | Path, known_events: set[str], tz: ZoneInfo, now: dt.datetime,
                 fmt: str | None = None):
        self.path = Path(path)
        self.known = known_events
        self.tz = tz
        self.now = as_instant(now)
        self.now_text = now.isoformat()  # as given, for messages
        self.fmt = detect_format(self.path, fmt)
        self.stats = ReadStats()
        self.rejects: list[Reject] = []

    def reject(self, row: int, field_name: str, problem: str, values: dict) -> None:
        self.rejects.append(Reject(row, field_name, problem, values))
        self.stats.rejected += 1

    def _select(self, con) -> str:
        """Stage the file; the SQL selecting (row, lead, event, at, reason) as text."""
        staged = staging.stage(con, self.path, self.fmt)
        columns = staged.columns
        for p in staged.problems:
            self.stats.read += 1
            self.reject(p["row"], p["field"], p["problem"], {"raw": p["raw"]})
        missing = [c for c in ("lead", "event", "at") if c not in columns]
        if missing:
            hint = "; ".join(f"{c}: {did_you_mean(c, columns) or 'no such column'}" for c in missing)
            raise EventFileError(f"{self.path}: lacks column{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(missing)} ({hint}); an event log has lead, event, at and reason")
        position = {name: staging.quoted(staging.text_column(i)) for i, name in enumerate(columns)}
        reason = position.get("reason", "NULL")
        return (f'SELECT {staging.ROW}, {position["lead"]} AS "lead", {position["event"]} AS "event", '
                f'{position["at"]} AS "at", {reason} AS "reason" FROM raw')

    def groups(self) -> Iterator[tuple[str, list[Event]]]:
        """(lead, its valid events sorted by time), one lead at a time."""
        db = staging.Staging()
        try:
            try:
                select = self._select(db.con)
            except staging.DataFileError as exc:
                raise EventFileError(str(exc)) from None
            # Lead ids are compared without surrounding blanks, so they must be sorted that way too.
            lead = exp.Trim(this=exp.column("lead", quoted=True), expression=exp.Literal.string(BLANK)).sql("duckdb")
            cursor = db.con.execute(f'SELECT * FROM ({select}) ORDER BY {lead} NULLS FIRST, {staging.ROW}')
            yield from self._grouped(cursor)
        finally:
            db.close()

    def _grouped(self, cursor) -> Iterator[tuple[str, list[Event]]]:
        current: str | None = None
        bucket: list[Event] = []
        seen: dict[tuple, int] = {}
        while True:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                break
            self.stats.read += len(rows)
            for k, lead, event, at, reason in rows:
                row = int(k)
                self.stats.events.add(event)
                parsed = self._fast(row, lead, event, at, reason)
                if parsed is None:
                    parsed = self._validate(row, lead, event, at, reason)
                    if parsed is None:
                        continue
                if parsed.lead != current:
                    if bucket:
                        yield current, sorted(bucket, key=lambda e: (e.at, e.row))  # type: ignore[misc]
                    current, bucket, seen = parsed.lead, [], {}
                key = (parsed.event, parsed.at, fold(parsed.reason or ""))
                if key in seen:
                    self.reject(row, "", f"duplicate of row {seen[key]}",
                                {"lead": lead, "event": event, "at": at, "reason": reason})
                    continue
                seen[key] = row
                bucket.append(parsed)
        if bucket:
            yield current, sorted(bucket, key=lambda e: (e.at, e.row))  # type: ignore[misc]

    def _fast(self, row: int, lead, event, at, reason) -> Event | None:
        """The usual row, read without building messages; None sends it to `_validate`."""
        if not lead or event not in self.known or not at:
            return None
        try:
            when = read_instant(at, self.tz)
        except ValueError:
            return None
        given_lead, lead = lead, lead.strip(BLANK)
        if not lead or when > self.now:
            return None
        return Event(lead, event, when, reason or None, row, (given_lead, at))

    def _validate(self, row: int, lead, event, at, reason) -> Event | None:
        """A row the fast path declined: the reason it is rejected, or (rarely) the event after all."""
        values = {"lead": lead, "event": event, "at": at, "reason": reason}
        if lead is None or not str(lead).strip(BLANK):
            self.reject(row, "lead", "missing lead id", values)
            return None
        if event is None or not event.strip(BLANK):
            self.reject(row, "event", "missing event name", values)
            return None
        if event not in self.known:
            hint = did_you_mean(event, self.known)
            self.reject(row, "event", f"unknown event {event!r}" + (f" ({hint})" if hint else ""), values)
            return None
        if at is None or not at.strip(BLANK):
            self.reject(row, "at", "missing timestamp", values)
            return None
        try:
            when = read_instant(at, self.tz)
        except OutOfRange as exc:
            self.reject(row, "at", str(exc), values)
            return None
        except ValueError:
            real = "a real" if TIMESTAMP_SHAPE.match(at.strip(BLANK)) else "an ISO 8601"  # a day that does not exist
            self.reject(row, "at", f"{at!r} is not {real} timestamp", values)
            return None
        if when > self.now:
            self.reject(row, "at", f"{at} is after the evaluation time {self.now_text}", values)
            return None
        return Event(str(lead).strip(BLANK), event, when, reason or None, row, (lead, at))


def write_rejects(path: str | Path, rejects: list[Reject]) -> None:
    """Rejected rows as CSV: row, field, problem and the row's values (text a spreadsheet would run as a
    formula made safe)."""
    from leadpolicy.outputs import excel_safe, text_output

    with text_output(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(REJECT_COLUMNS))
        writer.writeheader()
        for r in sorted(rejects, key=lambda r: r.row):
            writer.writerow({k: excel_safe(v) for k, v in r.as_dict().items()})
