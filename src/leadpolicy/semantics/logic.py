"""Three-valued logic and value comparison: the one meaning every backend must share.

`None` stands for *unknown* (a missing value). A rule, grade, stage or route
fires only when its condition is `True`. Text comparison ignores case.
Timestamps compared with dates compare by their local date in the policy's timezone.
"""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.runtime import decay_power as decay_power
from leadpolicy.runtime import fold as fold
from leadpolicy.semantics.ir import Fold, Match, Op
from leadpolicy.semantics.leads import local_date

Truth = Optional[bool]


def and3(values: Iterable[Truth]) -> Truth:
    """SQL AND: false wins, then unknown."""
    result: Truth = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def or3(values: Iterable[Truth]) -> Truth:
    """SQL OR: true wins, then unknown."""
    result: Truth = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result


def not3(value: Truth) -> Truth:
    return None if value is None else not value


FOLD_SQL_PRE = ("\u0130\u03a3\u03c2", "i\u03c3\u03c3")  # what SQL translates before LOWER (see `fold`)


def comparable(a: object, b: object, how: Fold, tz: ZoneInfo) -> tuple[object, object]:
    """Both sides as the comparison sees them: folded text, or a timestamp's local date."""
    if how is Fold.CASE:
        return (fold(a) if isinstance(a, str) else a), (fold(b) if isinstance(b, str) else b)
    if how is Fold.LOCAL_DATE:
        return (local_date(a, tz) if isinstance(a, dt.datetime) else a,
                local_date(b, tz) if isinstance(b, dt.datetime) else b)
    return a, b


# Any: the checker gave both sides one ordered type (numbers, text, dates or timestamps), which the
# comparison functions' own parameter types cannot say.
COMPARE: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq, Op.NE: operator.ne, Op.LT: operator.lt, Op.LE: operator.le, Op.GT: operator.gt,
    Op.GE: operator.ge}


def compare(op: Op, a: object, b: object, how: Fold, tz: ZoneInfo) -> Truth:
    """`a OP b` with SQL semantics: unknown when either side is missing."""
    if a is None or b is None:
        return None
    a, b = comparable(a, b, how, tz)
    return COMPARE[op](a, b)


def between(value: object, low: object, high: object, how: Fold, tz: ZoneInfo) -> Truth:
    """Inclusive, exactly as SQL's `x >= low AND x <= high`."""
    return and3((compare(Op.GE, value, low, how, tz), compare(Op.LE, value, high, how, tz)))


def in_list(value: object, options: Iterable[object], how: Fold, tz: ZoneInfo) -> Truth:
    """SQL IN over non-missing constants."""
    if value is None:
        return None
    return any(compare(Op.EQ, value, o, how, tz) for o in options)


def text_match(how: Match, value: object, folded_needles: Iterable[str]) -> Truth:
    """contains / starts / ends / contains_any, ignoring case; the needles are already folded."""
    if value is None:
        return None
    hay = fold(str(value))
    if how is Match.STARTS:
        return any(hay.startswith(n) for n in folded_needles)
    if how is Match.ENDS:
        return any(hay.endswith(n) for n in folded_needles)
    return any(n in hay for n in folded_needles)


def days_since(value: object, now: dt.datetime, tz: ZoneInfo) -> int | None:
    """Whole days from a date or timestamp to `now`.

    Timestamps: elapsed real time in 24-hour days, rounded down.
    Dates: calendar days from the date to `now`'s date in the policy's timezone.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (now - value) // dt.timedelta(days=1)
    if isinstance(value, dt.date):
        return (local_date(now, tz) - value).days
    raise TypeError(f"days since needs a date or timestamp, not {type(value).__name__}")


def zone(name: str) -> ZoneInfo:
    """The named timezone, or UTC when the name is unknown (the checker reports that)."""
    try:
        return zones.zone(name)
    except (ValueError, KeyError, OSError):
        return zones.zone("UTC")


def is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


MAX_FACTOR_TABLE = 1000  # rows of exact factors a generated query may carry per decayed score (about 25 KB)


def decay_factor_table(percent: Decimal, bound: Decimal) -> list[tuple[int, Decimal]]:
    """(periods, factor) for every period count whose factor can still move a total of at most
    `bound` away from 0 after rounding; beyond the table every decayed total rounds to 0."""
    table: list[tuple[int, Decimal]] = []
    n = 1
    while n <= MAX_FACTOR_TABLE:
        factor = decay_power(percent, n)
        if factor == 0 or factor * bound < Decimal("0.5"):
            return table
        table.append((n, factor))
        n += 1
    raise ValueError(f"a decay of {percent}% needs more than {MAX_FACTOR_TABLE} exact factors before a total "
                     f"of {bound} points decays to 0, more than a generated query carries")
