"""What generated Python needs when it runs, written with the standard library only.

`leadpolicy compile --target python` writes this module's text, then the policy's constants and its
`evaluate`, as one module that needs nothing but Python (docs/api.md); a test runs such a module in a
virtualenv without leadpolicy. So nothing here imports leadpolicy or any package outside the standard
library. The lead reader, the interpreter and the in-process compiled function use these same definitions
(leads.py and logic.py import them), so a compiled module reads, folds and rounds exactly as they do.
"""

import datetime as dt
import operator
import re
from collections.abc import Hashable, Iterable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, Inexact, localcontext
from math import isfinite  # noqa: F401 - read by generated code
from typing import Any
from zoneinfo import ZoneInfo

BLANK = " \t\n\r\f"  # what a blank text may hold; SQL backends test the same set with a regex
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# One grammar of timestamps for every engine: hours 00-23, minutes and seconds 00-59, an offset of
# under a day. (Python alone reads an offset's minutes 60 as an hour more; DuckDB and PostgreSQL read
# hour 24 as the next midnight and offsets of a day or more: the pattern refuses all of them first.)
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$"
)
FIRST_YEAR, LAST_YEAR = 1900, 9899  # the supported range of dates and timestamps, as written
YEARS = f"years {FIRST_YEAR} to {LAST_YEAR}"
# How a time that cannot be read is said, on every path (event readers, SQL conversions, the API, `decide`)
NOT_A_TIMESTAMP = "is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"
MISSING_TIMESTAMP = "missing timestamp"
# How an event row repeating an earlier one is said, on every path (semantics.events.Repeats, `decide`)
DUPLICATE_OF = "duplicate of row {first}"
INVALID = object()  # what `evaluate` returns for a lead that does not fit the policy's lead block


class _SimpleLowercase(dict[int, str]):
    """Code point -> its Unicode simple lowercase mapping, filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        lowered = chr(code).lower()
        # Only U+0130 (capital I with dot) lowers to two characters; its simple mapping is "i".
        # A final sigma folds like any sigma, so "ΟΔΟΣ" and "οδος" are the same text.
        value = "σ" if lowered == "ς" else lowered if len(lowered) == 1 else "i"
        self[code] = value
        return value


_SIMPLE_LOWERCASE = _SimpleLowercase()


def fold(text: str) -> str:
    """The text the language compares when it ignores case.

    Each character is replaced by its Unicode *simple* lowercase mapping, one character for one,
    with no context: "İ" -> "i", "ẞ" -> "ß", "ß" stays "ß"; every sigma ("Σ", "σ", final "ς")
    folds to "σ". Lengths never change, so `ends with` compares the same number of characters
    everywhere. No normalization: a precomposed "é" and "e" + combining accent differ.
    DuckDB's LOWER is the simple mapping, so its SQL only replaces "ς"; Spark's and ICU's LOWER differ
    from it on "İ" and a final "Σ", so their SQL translates "İ", "Σ" and "ς" first (`FOLD_SQL_PRE`,
    `sqlgen.fold_sql`).
    """
    if text.isascii():
        return text.lower()
    return text.translate(_SIMPLE_LOWERCASE)


def choice_spellings(choices: tuple[str, ...]) -> dict[str, str]:
    """A `one of` field's folded choices -> each as declared (the first, when two fold alike): a value is
    read as text is compared, and held as its declared spelling (see `choice_spelling`)."""
    spellings: dict[str, str] = {}
    for choice in choices:
        spellings.setdefault(fold(choice), choice)
    return spellings


def choice_spelling(value: str, choices: frozenset[str], spellings: dict[str, str]) -> str | None:
    """The declared choice a text names: itself when it is one as written, else the choice it folds
    alike (`choice_spellings`); None when it names none."""
    return value if value in choices else spellings.get(fold(value))


# The largest number a field holds: a finite double, as every SQL engine reads numbers. Anything
# larger is "not a finite number" everywhere (and never expands into a huge integer in Python).
MAX_NUMBER = Decimal("1.7976931348623157e308")


def in_range(number: Decimal) -> bool:
    """Finite and within ±MAX_NUMBER (compared, never computed: abs() of 1e100000000 overflows)."""
    return number.is_finite() and -MAX_NUMBER <= number <= MAX_NUMBER


class OutOfRange(ValueError):
    """A date or timestamp outside the supported years; its message names the value and the range."""

    def __init__(self, value: object):
        super().__init__(f"{str(value)!r} is outside the supported {YEARS}")


# How DuckDB and PostgreSQL write an infinite date or timestamp (a typed Parquet value, an export):
# no year at all, so outside the supported ones, on every engine.
INFINITE_TEXTS = ("infinity", "-infinity")


def _check_written_year(text: str) -> None:
    """The year as written (its first four digits), checked before the text is read: so year 0000,
    which Python cannot read and SQL engines can, is out of range everywhere, not malformed here."""
    if text in INFINITE_TEXTS:
        raise OutOfRange(text)
    year = text[:4]
    if year.isdigit() and len(year) == 4 and not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise OutOfRange(text)


def read_calendar_date(text: str) -> dt.date:
    """A `YYYY-MM-DD` date in the supported years, BLANK around it aside. Raises ValueError (OutOfRange for
    a well-formed one outside them). The shape is checked first, as `parse_timestamp` does: "0999-01-01x"
    is no date at all."""
    text = text.strip(BLANK)
    if not DATE_SHAPE(text):
        if text in INFINITE_TEXTS:  # an infinity is out of range, not malformed
            raise OutOfRange(text)
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    _check_written_year(text)
    return dt.date.fromisoformat(text)


_TIMESTAMP_SHAPE = re.compile(TIMESTAMP_PATTERN)
# The shape nearly every export writes, a subset of TIMESTAMP_PATTERN that matches in 40% of its time.
USUAL_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                          r"(?:[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]|Z)?")


def parse_timestamp(text: str, tz: ZoneInfo) -> dt.datetime:
    """A timestamp of TIMESTAMP_PATTERN in the supported years, with its offset as written; without
    one it is read in `tz`. Raises ValueError (OutOfRange for a well-formed one outside the years).
    Only BLANK around it is dropped: Python's bare strip() would drop NBSP and U+2028 too, which no SQL
    engine does."""
    text = text.strip(BLANK)
    if USUAL_SHAPE.fullmatch(text) is None and _TIMESTAMP_SHAPE.match(text) is None:
        if text in INFINITE_TEXTS:  # an infinity is out of range, not malformed
            raise OutOfRange(text)
        # the grammar has exactly four digits of year: "10000-01-01" or "0999-01-01x" is no timestamp at all
        raise ValueError(f"{text!r} {NOT_A_TIMESTAMP}")
    _check_written_year(text)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:  # the shape of a timestamp, of a day or hour that does not exist (2026-02-29)
        raise ValueError(f"{text!r} is not a real timestamp") from None
    return value if value.tzinfo is not None else local_time(value, tz)


def checked_instant(value: dt.datetime) -> dt.datetime:
    """An aware datetime as an instant (see `as_instant`) when its year as written, its wall clock's, is a
    supported one, as a written time's is checked. Raises OutOfRange."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise OutOfRange(value.isoformat())
    # a fixed offset is an instant already: Policy.evaluate's `now` nearly always has one (its hot path)
    return value if type(value.tzinfo) is dt.timezone else as_instant(value)


def read_time(value: str | dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A time given as text or as an aware datetime, as an instant, by the rules every reader of an event's
    time and of `now` follows. Raises ValueError: MISSING_TIMESTAMP for blank text, OutOfRange outside the
    supported years, "is not a real timestamp" or "is not an ISO 8601 timestamp" (see `parse_timestamp`)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return checked_instant(value)
    text = value.isoformat() if isinstance(value, dt.datetime) else value
    if not text.strip(BLANK):
        raise ValueError(MISSING_TIMESTAMP)
    return read_instant(text, tz)


def read_instant(text: str, tz: ZoneInfo) -> dt.datetime:
    """A lead's timestamp as an instant (see `parse_timestamp`). Raises ValueError.

    Instants, not wall-clock times: Python compares and subtracts two datetimes that share a
    ZoneInfo by their wall clocks, which is wrong across a clock change (a time in the skipped
    hour would sort after a later instant), while SQL engines compare instants.
    """
    return as_instant(parse_timestamp(text, tz))


def as_instant(value: dt.datetime) -> dt.datetime:
    """An aware datetime that compares and subtracts as the instant it names: a fixed offset is
    kept (cheap, and never ambiguous), a zone with clock changes is converted to UTC."""
    if type(value.tzinfo) is dt.timezone:
        return value
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00 in Berlin is before the first UTC instant Python has
        raise ValueError(f"{value.isoformat()} is before the earliest time that can be read") from None


def local_date(value: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The date of an instant in the policy's timezone; instants whose local date falls before
    year 1 (0001-01-01T00:00:00Z in New York) are dated 0001-01-01, which no date literal precedes."""
    try:
        return value.astimezone(tz).date()
    except OverflowError:
        return dt.date.min


def local_time(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `tz`. When clocks go back, the repeated hour is read as its later
    occurrence; a time in the hour skipped when clocks go forward keeps the offset from before
    the change. (DuckDB reads local times the same way, so every backend agrees.)"""
    first = naive.replace(tzinfo=tz, fold=0)
    later = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != later.utcoffset():
        round_trip = later.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None)
        if round_trip == naive:
            return later
    return first


FACTOR_PLACES = Decimal("1e-9")


def decay_power(percent: Decimal, periods: int) -> Decimal:
    """(1 - P/100) ** periods, taken to 9 decimal places (halves away from zero).

    Fixing the places makes `total * factor` exact in every backend: Python's decimals and
    SQL's DECIMAL(10, 9) give the same product, so they round it the same way (and 9 places
    keep the product within 64-bit decimals, which engines multiply fastest).
    """
    if periods <= 0:
        return Decimal(1)  # also for `decay 100%`, where Decimal would refuse 0 ** 0
    with localcontext() as ctx:
        ctx.prec = 60
        value = (Decimal(1) - percent / Decimal(100)) ** periods
    return value.quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP)


# Room for any total times any factor: a total has at most 9 places and its rules' whole digits, a factor 10
# digits. Inexact is trapped, so a product that would not fit raises rather than being rounded unseen.
EXACT_PRODUCTS = Context(prec=60, traps=[Inexact])


def decayed(total: Decimal, factor: Decimal) -> Decimal:
    """`total * factor` exactly, for the one rounding the language makes of it (the default context keeps 28
    digits, and 11 whole digits and 9 places times a 9-place factor is 29)."""
    return EXACT_PRODUCTS.multiply(total, factor)


class DecayPowers(dict[int, 'Decimal | int']):
    """The decay factor for n periods (logic.decay_power), computed once for each n."""

    def __init__(self, percent: Decimal, scaled: bool = False):
        super().__init__()
        self.percent = percent
        self.scaled = scaled  # as whole billionths (the factor has 9 places), for exact int arithmetic

    def __missing__(self, n: int) -> Decimal | int:
        factor = decay_power(self.percent, n)
        value: Decimal | int = int(factor.scaleb(9)) if self.scaled else factor
        self[n] = value
        return value

    def __str__(self) -> str:  # the constant's identity, for sharing one table per factor
        return f"DecayPowers({self.percent}, {self.scaled})"


# ---------------------------------------------------------------- the names generated code reads
DAY = dt.timedelta(days=1)
FIXED_OFFSET = dt.timezone
FROM_ISO = dt.datetime.fromisoformat
DATE_FROM_ISO = dt.date.fromisoformat
DATE_SHAPE = re.compile(DATE_PATTERN).fullmatch
TIMESTAMP_SHAPE = re.compile(TIMESTAMP_PATTERN).fullmatch
USUAL_TIMESTAMP = USUAL_SHAPE.fullmatch
MAX_NUMBER_INT = int(MAX_NUMBER)


def floor_units(value: int | Decimal) -> int:
    if isinstance(value, int):
        return value
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def floor_div(days: int, every: int | Decimal) -> Decimal:
    return (Decimal(days) / Decimal(every)).to_integral_value(rounding=ROUND_FLOOR)


# ---------------------------------------------------------------- what the primitives mean (semantics.primitives)
HAPPENED_AT_LEAST = 1  # `EVENT in last N days` holds when the window's count is at least this


def happened(count: int | Decimal) -> bool:
    """`EVENT in last N days`: the window holds at least one event."""
    return count >= HAPPENED_AT_LEAST


def window_start(now: dt.datetime, days: int | Decimal) -> dt.datetime:
    """An event counts in a window of `days` days when `window_start(now, days) < at <= now`: real
    24-hour days, so windows are exact across clock changes, and an event after `now` never counts."""
    return now - DAY * int(days)


def seen_at(at: dt.datetime, now: dt.datetime) -> bool:
    """Whether an event at `at` is seen at `now`: those up to and including `now`. An event after `now` is a
    good row that nothing decided at `now` counts (no window, SLA clock, count, volume or tier); its SQL twin
    is `semantics.primitives.sql.at_or_before_now_sql`."""
    return at <= now


def in_window(at: dt.datetime, start: dt.datetime, now: dt.datetime) -> bool:
    """The one cut-off of every activity window (see `window_start`)."""
    return start < at and seen_at(at, now)


def repeat_of(firsts: dict[Hashable, int], row: int, key: Hashable, at: dt.datetime, now: dt.datetime | None
              ) -> int | None:
    """The row that `row` repeats, or None: the one rule for an event row given twice (semantics.events.Repeats).
    A row at or before `now` (None: every row) whose `key` an earlier such row has repeats that first row; a row
    after `now` never repeats (nothing decided at `now` sees it). `firsts`: each key's first row, filled in.
    The key holds the instant `at`, so the rows of one key are all seen at `now` or none is: only a repeat is
    asked (comparing instants of two offsets costs more than the dictionary)."""
    first = firsts.setdefault(key, row)
    if first == row or (now is not None and not seen_at(at, now)):
        return None
    return first


def shares_an_instant(events: Sequence[tuple[str, dt.datetime]]) -> bool:
    """Whether two events are at one instant, which a repeat needs. Sorted, not hashed: an aware datetime's
    hash works out its UTC time, where two of one zone compare by their fields."""
    instants = sorted([at for _, at in events])
    return any(map(operator.eq, instants, instants[1:]))


def repeated_events(events: Sequence[tuple[str, dt.datetime]], now: dt.datetime | None,
                    rows: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """One lead's (event, instant) pairs that repeat an earlier one (`repeat_of`, the key the event and the
    instant), as (row, the row it repeats); `rows` number the events (1, 2, ... when None). A lead with 0 or 1
    event, or with no two at one instant, never pays for the dictionary."""
    if len(events) < 2 or not shares_an_instant(events):
        return []
    return repeats_among(events, now, rows)


def repeats_among(events: Sequence[tuple[str, dt.datetime]], now: dt.datetime | None,
                  rows: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """`repeated_events` for events already known to share an instant."""
    firsts: dict[Hashable, int] = {}
    numbers = rows if rows is not None else range(1, len(events) + 1)
    return [(row, first) for row, (name, at) in zip(numbers, events)
            if (first := repeat_of(firsts, row, (name, at), at, now)) is not None]


def per_units(value: int | Decimal | None) -> int:
    """The whole units a `per` rule counts: rounded down; a missing or negative value counts none."""
    if value is None:
        return 0
    return max(floor_units(value), 0)


def decay_periods(days: int | Decimal | None, every: int | Decimal) -> int:
    """Whole periods of `every` days in `days`: none when `days` is missing or before the first full
    period (a date in the future never grows a score). The decay factor applies from one period on."""
    if days is None:
        return 0
    return max(int(floor_div(int(days), every)), 0)


BILLION = 1_000_000_000


def round_billionths(value: int) -> int:
    """`value / 10**9` rounded to a whole number, halves away from zero, in exact int arithmetic."""
    whole, rest = divmod(abs(value), BILLION)
    if 2 * rest >= BILLION:
        whole += 1
    return whole if value >= 0 else -whole


def round_half_away(value: int | Decimal) -> int:
    if isinstance(value, int):
        return value
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def read_number(value: Any) -> Any:
    """A Decimal read as the schema reader reads it (through int or float); anything else is INVALID."""
    if value.__class__ is not Decimal or not in_range(value):
        return INVALID
    return Decimal(value) if value == value.to_integral_value() else Decimal(repr(float(value)))


def read_date(value: Any) -> Any:
    """A date as the schema reader reads it; anything else is INVALID."""
    if value.__class__ is dt.date:
        return value
    if value.__class__ is not str or not DATE_SHAPE(value):
        return INVALID
    try:
        return read_calendar_date(value)
    except ValueError:
        return INVALID


def read_timestamp(value: Any, tz: ZoneInfo) -> Any:
    """A timestamp as the schema reader reads it, as an instant; anything else is INVALID."""
    if isinstance(value, dt.date):  # dates and datetimes, read as the schema reader does: via ISO text
        value = value.isoformat()
    if value.__class__ is not str or not TIMESTAMP_SHAPE(value):
        return INVALID
    try:
        return read_instant(value, tz)
    except ValueError:
        return INVALID


def policy_note(error: BaseException, line_map: dict[int, tuple[int, str]], policy_file: str) -> None:
    """Add a note (PEP 678) to an exception leaving generated code: the policy line and part it escaped from.
    Caught in the generated function, the traceback's first entry is that function's frame, at the line the
    exception came through; `line_map` gives that line's (policy line, part of the policy)."""
    trace = error.__traceback__
    if trace is None or (origin := line_map.get(trace.tb_lineno)) is None:
        return
    line, part = origin
    where = f"{policy_file}:{line}" if line else policy_file
    error.add_note(f"in the policy at {where}: {part} (generated line {trace.tb_lineno})")
