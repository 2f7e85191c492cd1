"""Event rows read and checked: one lead's `{event, at}` rows in memory (`EventReader`), and the
column rules every event reader shares (Python here, their SQL twin in `warehouse`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Collection, Container, Hashable, Iterable, Mapping
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.types import Type
from leadpolicy.runtime import (
    BLANK,
    DUPLICATE_OF,
    FIRST_YEAR,
    LAST_YEAR,
    MISSING_TIMESTAMP,
    NOT_A_TIMESTAMP,
    TIMESTAMP_PATTERN,
    YEARS,
    OutOfRange,
    checked_instant,
    fold,
    read_instant,
    repeat_of,
    repeats_among,
    shares_an_instant,
)
from leadpolicy.semantics import ir


@dataclass(frozen=True)
class EventError:
    """An event row that cannot be used: its position, the field at fault, and why."""

    row: int  # 1-based
    field: str
    message: str

    def __str__(self) -> str:
        return f"event {self.row}: {self.field}: {self.message}" if self.field else f"event {self.row}: {self.message}"


# One vocabulary for every event reader (this one, the SLA log's, `score --events`' SQL): a problem is
# found as a (field, code) pair, the codes the SQL conversion gives too, and said in these words.
PROBLEMS: dict[tuple[str, str], str] = {
    ("lead", "required"): "missing lead id",
    ("event", "required"): "missing event name",
    ("event", "not-a-choice"): "unknown event {value!r}",
    ("event", "not-text"): "is not text",
    ("at", "required"): MISSING_TIMESTAMP,
    ("at", "timestamp"): "{value!r} " + NOT_A_TIMESTAMP,
    ("at", "real-timestamp"): "{value!r} is not a real timestamp",
    ("at", "range"): "{value!r} is outside the supported " + YEARS,
    ("at", "not-text"): "not a timestamp: {value} (a time is text such as 2026-11-20T12:00:00-05:00)",
}
LOG_FIELDS = ("lead", "event", "at")  # the columns an event log must have, checked in this order
NOT_A_RECORD = "not a JSON object"  # an event log row that is no mapping, as the JSON Lines reader says it
TIMESTAMP_SHAPE = re.compile(TIMESTAMP_PATTERN)


def problem_words(field: str, code: str, value: object, known: Iterable[str] = ()) -> str:
    """The words for problem `code` of `field` (see PROBLEMS); an unknown event says the nearest of `known`."""
    words = PROBLEMS[field, code].format(value=value)
    if code == "not-a-choice":
        hint = did_you_mean(str(value), sorted(known))
        words += f" ({hint})" if hint else ""
    return words


def event_fields(known: Iterable[str] | None) -> list[ir.Field]:
    """The columns of an event row as fields read like a lead's, for the SQL twin of these rules: the time
    is read as a lead's timestamp is, and an event `known` does not hold is refused as a value outside a
    `one of` (codes as in PROBLEMS). `known`: None when any name is an event."""
    names = tuple(known) if known is not None else ()
    return [ir.Field("lead", Type.TEXT, (), True, None),
            ir.Field("event", Type.ONE_OF if known is not None else Type.TEXT, names, True, None),
            ir.Field("at", Type.TIMESTAMP, (), True, None)]


def name_code(event: object, known: Container[str] | None) -> str | None:
    """Why an event name cannot be used, as a code of PROBLEMS, or None."""
    if not isinstance(event, str):
        return "required" if event is None else "not-text"
    if not event.strip(BLANK):
        return "required"
    return "not-a-choice" if known is not None and event not in known else None


def time_code(text: str | None, tz: ZoneInfo) -> dt.datetime | str:
    """An event time written as text, as an instant (read as a lead's timestamps are), or why it is not
    one, as a code of PROBLEMS."""
    if text is None or not text.strip(BLANK):
        return "required"
    try:
        return read_instant(text, tz)
    except OutOfRange:
        return "range"
    except ValueError:  # well formed, of a day that does not exist (2026-02-29), or not a timestamp at all
        return "real-timestamp" if TIMESTAMP_SHAPE.match(text.strip(BLANK)) else "timestamp"


def read_log_row(row: int, lead: str | None, event: str | None, at: str | None, known: Collection[str],
                 tz: ZoneInfo) -> tuple[str, str, dt.datetime] | EventError:
    """One row of an SLA event log, its columns as text: the lead id (without surrounding blanks), the
    event and its instant, or the first column rule the row breaks, in the order lead, event, at."""
    if lead is None or not lead.strip(BLANK):
        return EventError(row, "lead", problem_words("lead", "required", lead))
    code = name_code(event, known)
    if code is not None:
        return EventError(row, "event", problem_words("event", code, event, known))
    when = time_code(at, tz)
    if isinstance(when, str):
        return EventError(row, "at", problem_words("at", when, at))
    return lead.strip(BLANK), str(event), when


def duplicate_words(first: int) -> str:
    """The words every reader rejects a repeated row in (see `Repeats`)."""
    return DUPLICATE_OF.format(first=first)


class Repeats:
    """The one rule for an event row given twice, which every event reader follows (SQL readers as its twin):
    a row at or before `now` whose key an earlier such row has is rejected, `duplicate_words` naming the
    first; rows after `now` are never repeats (no window or clock sees them). The key is the lead, the event
    and the instant (at any offset); in an SLA log also the reason, compared ignoring case (`log_key`).
    An export that repeats a row is the usual cause; two events at one instant stay two. The rule itself is
    `runtime.repeat_of`, which the standalone compiled module's `decide()` reads too (`runtime.repeated_events`)."""

    def __init__(self, now: dt.datetime | None) -> None:
        self.now = now  # None: no row is after now
        self.firsts: dict[Hashable, int] = {}

    def earlier(self, row: int, key: Hashable, at: dt.datetime) -> int | None:
        """The row that `row` repeats, or None (then `row` is the first of its key, or after now)."""
        return repeat_of(self.firsts, row, key, at, self.now)


def log_key(lead: str, event: str, at: dt.datetime, reason: str | None) -> tuple[str, str, dt.datetime, str]:
    """What makes two rows of an SLA log the same row (see `Repeats`): no reason and an empty one are alike."""
    return lead, event, at, fold(reason or "")


LogColumns = tuple[str | None, str | None, str | None, str | None]  # lead, event, at, reason as text


def log_columns(record: object) -> LogColumns | None:
    """An event row given in memory (`{lead, event, at, reason}`, as a samples timeline writes it) as the
    texts an event log's JSON Lines record gives its columns; None when it is not a mapping."""
    if not isinstance(record, Mapping):
        return None
    lead, event, at, reason = (log_text(record.get(name)) for name in (*LOG_FIELDS, "reason"))
    return lead, event, at, reason


def log_text(value: object) -> str | None:
    """A value as an event log's column holds it: text as written, null as nothing, a YAML date or time as
    its ISO text, anything else as its compact JSON (a number, true, {"a":1}), as DuckDB reads a JSON value."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return json.dumps(value, separators=(",", ":"), default=str)


class EventReader:
    """Reads one lead's event rows (`{"event": ..., "at": ...}`) for one policy, as `LeadReader` reads leads.
    An event after `now` is a good row: windows never count it (see `semantics.activity`)."""

    def __init__(self, policy: ir.Policy):
        self.declared = frozenset(e.name for e in policy.events) if policy.declares_events else None
        self.tz = zones.zone(policy.timezone)

    def problem(self, event: Any) -> str | None:
        """Why an event name cannot be used, or None."""
        code = name_code(event, self.declared)
        return None if code is None else problem_words("event", code, event, self.declared or ())

    def instant(self, value: Any) -> dt.datetime | str:
        """An event time as an instant, or why it is not one (read as a lead's timestamps are)."""
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                try:
                    return checked_instant(value)
                except OutOfRange:
                    return problem_words("at", "range", value.isoformat())
            value = value.isoformat()
        elif isinstance(value, dt.date):  # a YAML date: midnight in the policy's zone, as its text would be
            value = value.isoformat()
        if is_number(value):  # said as the file readers say it, which see a JSON number's text
            try:
                return problem_words("at", "timestamp", number_text(value))
            except ValueError as too_long:
                return str(too_long)
        if value is not None and not isinstance(value, str):
            return problem_words("at", "not-text", value_kind(value))
        found = time_code(value, self.tz)
        return found if isinstance(found, dt.datetime) else problem_words("at", found, value)

    def read(self, rows: Iterable[Any], now: dt.datetime | None = None
             ) -> tuple[list[tuple[str, dt.datetime]], list[EventError]]:
        """Usable (event, instant) pairs and the errors of the others; every row is one or the other. A row
        repeating an earlier one at or before `now` (None: every row) is an error (`Repeats`)."""
        events, errors = self._read(rows)
        if len(events) > 1 and shares_an_instant(events):  # a lead with 0 or 1 event never pays for the check
            return without_repeats(events, errors, now)
        return events, errors

    def _read(self, rows: Iterable[Any]) -> tuple[list[tuple[str, dt.datetime]], list[EventError]]:
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


def without_repeats(events: list[tuple[str, dt.datetime]], errors: list[EventError], now: dt.datetime | None
                    ) -> tuple[list[tuple[str, dt.datetime]], list[EventError]]:
    """One lead's events less the rows repeating an earlier one (`Repeats`, by `runtime.repeats_among`), each
    an error; `errors`: the other rows' (the events are the rows they do not name, in order)."""
    bad = {e.row for e in errors}
    rows = [row for row in range(1, len(events) + len(errors) + 1) if row not in bad]
    repeats = repeats_among(events, now, rows)  # the caller found two events at one instant
    if not repeats:
        return events, errors
    repeated = {row for row, _ in repeats}
    kept = [event for row, event in zip(rows, events) if row not in repeated]
    found = errors + [EventError(row, "", duplicate_words(first)) for row, first in repeats]
    return kept, sorted(found, key=lambda e: e.row)


MAX_INT_DIGITS = 4300  # Python's own limit on converting digits to an int (sys.get_int_max_str_digits)
TOO_LONG = f"a number too long: an integer of more than {MAX_INT_DIGITS:,} digits"


class WrittenNumber(float):
    """A JSON number no float holds (1e400 is infinity), kept with its text, so that a reader says it as
    written, as the file readers (which see the text) say it, never as Python's 'Infinity'."""

    written: str

    def __new__(cls, text: str) -> WrittenNumber:
        number = super().__new__(cls, text)
        number.written = text
        return number


def json_integer(digits: str) -> int:
    """A JSON integer's digits as an int (a JSON reader's parse_int): past Python's limit, ValueError in the
    words every reader says it in (TOO_LONG), not Python's hint to raise the limit."""
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(TOO_LONG)
    return int(digits)


def json_float(text: str) -> float:
    """A JSON number with a fraction or exponent (a JSON reader's parse_float); one too large, a `WrittenNumber`."""
    number = float(text)
    return number if number - number == 0 else WrittenNumber(text)  # x - x is 0 unless x is infinite


def number_text(value: int | float) -> str:
    """A number as JSON writes it (a `WrittenNumber` as written). Raises ValueError (TOO_LONG) for an integer
    past Python's limit, which Python cannot write as digits."""
    if isinstance(value, WrittenNumber):
        return value.written
    try:
        return json.dumps(value)
    except ValueError:
        raise ValueError(TOO_LONG) from None


def is_number(value: Any) -> bool:
    """A JSON or YAML number (never yes/no, which Python counts as a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_kind(value: Any, mapping: str = "a JSON object") -> str:
    """A JSON, YAML or TOML value's kind in words, never its Python form ('True', "{'x': 1}"); `mapping`:
    what the format calls a mapping (TOML's is "a table")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return mapping
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.time):  # TOML's local time
        return "a time of day"
    return "a date" if isinstance(value, (dt.date, dt.datetime)) else "a single value"
