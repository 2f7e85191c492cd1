"""Event rows read and checked: one lead's `{event, at}` rows in memory (`EventReader`), and the
column rules every event reader shares (Python here, their SQL twin in `warehouse`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from leadpolicy import zones
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics import ir
from leadpolicy.semantics.leads import (
    BLANK,
    FIRST_YEAR,
    INFINITE_TEXTS,
    LAST_YEAR,
    TIMESTAMP_PATTERN,
    OutOfRange,
    as_instant,
    check_year,
    read_instant,
)


@dataclass(frozen=True)
class EventError:
    """An event row that cannot be used: its position, the field at fault, and why."""

    row: int  # 1-based
    field: str
    message: str

    def __str__(self) -> str:
        return f"event {self.row}: {self.field}: {self.message}"


class EventReader:
    """Reads event rows (`{"event": ..., "at": ...}`) for one policy, as `LeadReader` reads leads."""

    def __init__(self, policy: ir.Policy):
        self.declared = frozenset(e.name for e in policy.events) if policy.declares_events else None
        self.tz = zones.zone(policy.timezone)
        self._shape = re.compile(TIMESTAMP_PATTERN)

    def problem(self, event: Any) -> str | None:
        """Why an event name cannot be used, or None."""
        if not isinstance(event, str) or not event.strip(BLANK):
            return "missing" if event is None or isinstance(event, str) else "is not text"
        if self.declared is not None and event not in self.declared:
            hint = did_you_mean(event, sorted(self.declared))
            return f"unknown event {event!r}" + (f" ({hint})" if hint else "")
        return None

    def instant(self, value: Any) -> dt.datetime | str:
        """An event time as an instant, or why it is not one (read as a lead's timestamps are)."""
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                try:
                    check_year(value, value.isoformat())
                except OutOfRange as exc:
                    return str(exc)
                return as_instant(value)
            value = value.isoformat()
        elif isinstance(value, dt.date):  # a YAML date: midnight in the policy's zone, as its text would be
            value = value.isoformat()
        if value is None or (isinstance(value, str) and not value.strip(BLANK)):
            return "missing"
        if not isinstance(value, str):
            return f"not a timestamp: {value_kind(value)} (a time is text such as 2026-11-20T12:00:00-05:00)"
        if not (self._shape.match(value.strip(BLANK))
                                              or value.strip(BLANK) in INFINITE_TEXTS):
            return f"not a timestamp: {str(value)[:40]!r}"
        try:
            return read_instant(value, self.tz)
        except OutOfRange as exc:
            return str(exc)
        except ValueError as exc:
            return f"not a timestamp: {exc}"

    def read(self, rows: Iterable[Any]) -> tuple[list[tuple[str, dt.datetime]], list[EventError]]:
        """Usable (event, instant) pairs and the errors of the others; every row is one or the other."""
        events: list[tuple[str, dt.datetime]] = []
        errors: list[EventError] = []
        declared = self.declared
        for row, item in enumerate(rows, start=1):
            if item.__class__ is dict:
                name, at = item.get("event"), item.get("at")
                if at.__class__ is dt.datetime and at.tzinfo.__class__ is dt.timezone and name.__class__ is str \
                        and (declared is None or name in declared) and name.strip(BLANK) \
                        and FIRST_YEAR <= at.year <= LAST_YEAR:
                    # the common case: a known name and a fixed-offset time
                    events.append((name, at))
                    continue
            elif isinstance(item, Mapping):
                name, at = item.get("event"), item.get("at")
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                name, at = item
            else:
                errors.append(EventError(row, "", "an event is {event, at}"))
                continue
            problem = self.problem(name)
            if problem is not None:
                errors.append(EventError(row, "event", problem))
                continue
            instant = self.instant(at)
            if isinstance(instant, str):
                errors.append(EventError(row, "at", instant))
                continue
            events.append((str(name), instant))
        return events, errors



def value_kind(value: Any) -> str:
    """A JSON or YAML value's kind in words, never its Python form ('True', "{'x': 1}")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return "a date" if isinstance(value, (dt.date, dt.datetime)) else "a single value"
