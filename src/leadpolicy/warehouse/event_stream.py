"""Each lead's events, streamed from table `events` to the Python engine of `score --events`.

The Python engine reads the leads in the order of their ids and, beside them, the events in the same
order, in chunks: a lead's events go to the compiled evaluator as they are read, so memory holds one
chunk, not a lead's whole history (two million events of one lead took 1.5 GB when they were a
list). Only an id on several lead rows keeps its events, once, for the rows after the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
from sqlglot import exp

from leadpolicy.warehouse.event_files import EVENTS_TABLE
from leadpolicy.warehouse.sqlgen import EPOCH

CHUNK = 20_000  # event rows fetched at a time
Row = tuple[str, str, int]  # lead id, event, at in epoch microseconds
KEY = "#key"  # the lead id of a lead row, as table `events` names it (trimmed text)


class EventStream:
    """The rows of table `events` by lead id; `of(key)` hands out one lead's, for keys asked in
    ascending order (as DuckDB sorts text: by code point, as Python compares it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cursor = con.cursor()  # beside the connection reading the leads
        # A cursor is a new session, with DuckDB's default time zone: it is given the run's, in which a time
        # without an offset in the events (a bare date, or a naive time of a Parquet file) is read.
        found = con.execute("SELECT current_setting('TimeZone')").fetchone()
        zone = str(found[0]) if found else "UTC"
        self.cursor.execute("SET TimeZone = " + exp.Literal.string(zone).sql("duckdb"))
        lead = exp.column("lead", quoted=True)
        rows = exp.select(lead, exp.column("event", quoted=True), exp.func("epoch_us", exp.column("at", quoted=True)))
        self.cursor.execute(rows.from_(exp.to_table(EVENTS_TABLE)).order_by(lead).sql("duckdb"))
        self.rows: list[Row] = []
        self.next = 0

    def _current(self) -> Row | None:
        if self.next == len(self.rows):
            self.rows, self.next = self.cursor.fetchmany(CHUNK), 0
        return self.rows[self.next] if self.rows else None

    def of(self, key: str) -> Iterator[tuple[str, dt.datetime]]:
        """The (event, instant) pairs of lead `key`, read as they are asked for; events of smaller keys
        (leads whose rows were rejected) are passed over."""
        while (row := self._current()) is not None and row[0] < key:
            self.next += 1
        while (row := self._current()) is not None and row[0] == key:
            self.next += 1
            yield row[1], EPOCH + dt.timedelta(microseconds=row[2])

    def close(self) -> None:
        self.cursor.close()


class Once:
    """An iterable read at most once, that says whether reading began: the compiled evaluator declines a
    lead (for the schema reader or the interpreter to explain) before it reads any event, so a declined
    lead's events can still be read by the slower path."""

    def __init__(self, items: Iterator[tuple[str, dt.datetime]] | list[tuple[str, dt.datetime]]):
        self.items, self.started = items, False

    def __iter__(self) -> Iterator[tuple[str, dt.datetime]]:
        self.started = True
        return iter(self.items)
