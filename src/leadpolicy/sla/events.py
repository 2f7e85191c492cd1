"""What reading an event log gives the SLA engines: its counts, its rejected rows (written as CSV), and the
shape of a log read one lead at a time (`warehouse.event_log` reads the files).

Every row read is either used or rejected with its row number, field and reason: read = used + rejected,
always. An event after `now` is used (a good row) and seen by no clock: `ReadStats.after_now` counts it.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from leadpolicy.sla.engine import Event

COLUMNS = ("lead", "event", "at", "reason")
REJECT_COLUMNS = ("row", "field", "problem", *COLUMNS, "raw")


class EventFileError(ValueError):
    """An events file that cannot be read at all (missing, wrong format, missing columns)."""


@dataclass
class Reject:
    row: int
    field: str
    problem: str
    values: dict[str, str | None] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "problem": self.problem,
                **{k: self.values.get(k) for k in (*COLUMNS, "raw")}}


@dataclass
class ReadStats:
    read: int = 0
    rejected: int = 0
    events: set[str] = dataclasses.field(default_factory=set)  # the event names the rows hold, as written
    after_now: int = 0  # used rows after `now`: good rows no clock sees

    @property
    def used(self) -> int:
        return self.read - self.rejected


class EventSource(Protocol):
    """An event log read one lead at a time (`warehouse.event_log.EventLogReader`), as the reference
    engine's report reads it."""

    stats: ReadStats
    rejects: list[Reject]

    def groups(self) -> Iterator[tuple[str, list[Event]]]: ...

    def reject(self, row: int, field_name: str, problem: str, values: dict[str, str | None]) -> None: ...


def write_rejects(path: str | Path, rejects: list[Reject]) -> None:
    """Rejected rows as CSV: row, field, problem and the row's values (text a spreadsheet would run as a
    formula made safe)."""
    from leadpolicy.outputs import excel_safe, text_output

    with text_output(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(REJECT_COLUMNS))
        writer.writeheader()
        for r in sorted(rejects, key=lambda r: r.row):
            writer.writerow({k: excel_safe(v) for k, v in r.as_dict().items()})
