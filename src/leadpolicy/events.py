"""Reading event logs (CSV, JSON Lines, Parquet) with DuckDB, grouped by lead, bad rows rejected.

Rows stream out of DuckDB sorted by lead (DuckDB sorts out of core), so memory holds
one lead's events at a time. Every row read is either handed on or rejected with its
row number, field and reason: read = used + rejected, always.

Row numbers are 1-based record numbers in the file (the header of a CSV file is not a
record). For CSV this assumes one record per line.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from .diagnostics import did_you_mean
from .schema import parse_timestamp
from .sla import Event

COLUMNS = ("lead", "event", "at", "reason")
REJECT_COLUMNS = ("row", "field", "problem", *COLUMNS, "raw")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet",
           ".pq": "parquet"}
BATCH = 10_000


class EventFileError(ValueError):
    """An events file that cannot be read at all (missing, wrong format, missing columns)."""


@dataclass
class Reject:
    row: int
    field: str
    problem: str
    values: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "problem": self.problem,
                **{k: self.values.get(k) for k in (*COLUMNS, "raw")}}


@dataclass
class ReadStats:
    read: int = 0
    rejected: int = 0

    @property
    def used(self) -> int:
        return self.read - self.rejected


def detect_format(path: Path, given: str | None = None) -> str:
    if given:
        return given
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise EventFileError(f"{path}: cannot tell the format from the extension {path.suffix!r}; "
                             "use .csv, .jsonl or .parquet (or --events-format)")
    return fmt


def _connect():
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


_CSV_SOURCE = ("SELECT row_number() OVER () AS k, * FROM read_csv(?, all_varchar = true, header = true, "
               "store_rejects = true)")
_JSONL_SOURCE = ("SELECT row_number() OVER () AS k, line FROM read_csv(?, columns = {'line': 'VARCHAR'}, "
                 "delim = '\x1e', quote = '', escape = '', header = false, auto_detect = false)")
_PARQUET_SOURCE = "SELECT file_row_number + 1 AS k, * FROM read_parquet(?, file_row_number = true)"


class EventReader:
    """Streams one events file as (lead, [Event]) groups; rejects go to `self.rejects`."""

    def __init__(self, path: str | Path, known_events: set[str], tz: ZoneInfo, now: dt.datetime,
                 fmt: str | None = None):
        self.path = Path(path)
        self.known = known_events
        self.tz = tz
        self.now = now
        self.fmt = detect_format(self.path, fmt)
        self.stats = ReadStats()
        self.rejects: list[Reject] = []

    def reject(self, row: int, field_name: str, problem: str, values: dict) -> None:
        self.rejects.append(Reject(row, field_name, problem, values))
        self.stats.rejected += 1

    def _query(self, con) -> tuple[str, list[int]]:
        """The SQL selecting (k, lead, event, at, reason) as text, and file lines DuckDB rejected."""
        if self.fmt == "csv":
            con.execute(f"CREATE TEMP TABLE src AS {_CSV_SOURCE}", [str(self.path)])
            bad = con.execute("SELECT line, any_value(error_message), any_value(csv_line) FROM reject_errors "
                              "GROUP BY line ORDER BY line").fetchall()
            for line, message, raw in bad:
                self.stats.read += 1
                self.reject(int(line) - 1, "", f"malformed CSV record: {message}", {"raw": raw})
            self._check_columns(con, "src")
            return 'SELECT k, "lead", "event", "at", "reason" FROM src', [int(b[0]) for b in bad]
        if self.fmt == "jsonl":
            con.execute(f"CREATE TEMP TABLE raw AS {_JSONL_SOURCE}", [str(self.path)])
            fields = ", ".join(f"CASE WHEN ok THEN json_extract_string(line, '$.{c}') END AS \"{c}\"" for c in COLUMNS)
            con.execute("CREATE TEMP TABLE checked AS SELECT k, line, json_valid(line) "
                        "AND json_type(CASE WHEN json_valid(line) THEN line END) = 'OBJECT' AS ok FROM raw "
                        "WHERE trim(line) <> ''")
            con.execute(f"CREATE TEMP TABLE src AS SELECT k, line, ok, {fields} FROM checked")
            bad = con.execute("SELECT k, line FROM src WHERE NOT ok ORDER BY k").fetchall()
            for k, line in bad:
                self.stats.read += 1
                self.reject(int(k), "", "not a JSON object", {"raw": line[:500]})
            return 'SELECT k, "lead", "event", "at", "reason" FROM src WHERE ok', []
        con.execute(f"CREATE TEMP TABLE src AS {_PARQUET_SOURCE}", [str(self.path)])
        self._check_columns(con, "src")
        cast = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in COLUMNS)
        return f"SELECT k, {cast} FROM src", []

    @staticmethod
    def _columns(con, table: str) -> set[str]:
        return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}

    def _check_columns(self, con, table: str) -> None:
        columns = self._columns(con, table)
        missing = [c for c in ("lead", "event", "at") if c not in columns]
        if missing:
            hint = "; ".join(f"{c}: {did_you_mean(c, columns) or 'no such column'}" for c in missing)
            raise EventFileError(f"{self.path}: lacks column{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(missing)} ({hint}); an event log has lead, event, at and reason")
        if "reason" not in columns:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "reason" VARCHAR')

    def groups(self) -> Iterator[tuple[str, list[Event]]]:
        """(lead, its valid events sorted by time), one lead at a time."""
        import duckdb

        if not self.path.exists():
            raise EventFileError(f"{self.path}: no such file")
        con = _connect()
        try:
            select, bad_lines = self._query(con)
            cursor = con.execute(f'SELECT * FROM ({select}) ORDER BY "lead" NULLS FIRST, k')
        except duckdb.Error as exc:
            raise EventFileError(f"{self.path}: cannot read as {self.fmt}: {str(exc).splitlines()[0]}") from None
        current: str | None = None
        bucket: list[Event] = []
        seen: dict[tuple, int] = {}
        while True:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                break
            self.stats.read += len(rows)
            for k, lead, event, at, reason in rows:
                row = _line_of(int(k), bad_lines) if bad_lines else int(k)
                parsed = self._fast(row, lead, event, at, reason)
                if parsed is None:
                    parsed = self._validate(row, lead, event, at, reason)
                    if parsed is None:
                        continue
                if parsed.lead != current:
                    if bucket:
                        yield current, sorted(bucket, key=lambda e: (e.at, e.row))  # type: ignore[misc]
                    current, bucket, seen = parsed.lead, [], {}
                key = (parsed.event, parsed.at, (parsed.reason or "").lower())
                if key in seen:
                    self.reject(row, "", f"duplicate of row {seen[key]}",
                                {"lead": lead, "event": event, "at": at, "reason": reason})
                    continue
                seen[key] = row
                bucket.append(parsed)
        if bucket:
            yield current, sorted(bucket, key=lambda e: (e.at, e.row))  # type: ignore[misc]
        con.close()

    def _fast(self, row: int, lead, event, at, reason) -> Event | None:
        """The usual row, read without building messages; None sends it to `_validate`."""
        if not lead or event not in self.known or not at:
            return None
        try:
            when = parse_timestamp(at, self.tz)
        except ValueError:
            return None
        lead = lead.strip()
        if not lead or when > self.now:
            return None
        return Event(lead, event, when, reason or None, row)

    def _validate(self, row: int, lead, event, at, reason) -> Event | None:
        """A row the fast path declined: the reason it is rejected, or (rarely) the event after all."""
        values = {"lead": lead, "event": event, "at": at, "reason": reason}
        if lead is None or not str(lead).strip():
            self.reject(row, "lead", "missing lead id", values)
            return None
        if event is None or not event.strip():
            self.reject(row, "event", "missing event name", values)
            return None
        if event not in self.known:
            hint = did_you_mean(event, self.known)
            self.reject(row, "event", f"unknown event {event!r}" + (f" ({hint})" if hint else ""), values)
            return None
        if at is None or not at.strip():
            self.reject(row, "at", "missing timestamp", values)
            return None
        try:
            when = parse_timestamp(at, self.tz)
        except ValueError:
            self.reject(row, "at", f"{at!r} is not an ISO 8601 timestamp", values)
            return None
        if when > self.now:
            self.reject(row, "at", f"{at} is after the evaluation time {self.now.isoformat()}", values)
            return None
        return Event(str(lead).strip(), event, when, reason or None, row)


def _line_of(k: int, bad_lines: list[int]) -> int:
    """The record number of the k-th good CSV record, given the file lines DuckDB rejected."""
    if not bad_lines:
        return k
    line = k + 1
    while True:
        target = k + 1 + bisect.bisect_right(bad_lines, line)
        if target == line:
            return line - 1
        line = target


def write_rejects(path: str | Path, rejects: list[Reject]) -> None:
    """Rejected rows as CSV: row, field, problem and the row's values."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(REJECT_COLUMNS))
        writer.writeheader()
        for r in sorted(rejects, key=lambda r: r.row):
            writer.writerow(r.as_dict())
