"""Three-valued logic and value comparison: the one meaning every backend must share.

`None` stands for *unknown* (a missing value). A rule, grade, stage or route
fires only when its condition is `True`. Text comparison ignores case.
Timestamps compared with dates compare by their local date in the policy's timezone.
"""

from __future__ import annotations

import datetime as dt
import operator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from leadpolicy import zones
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


class _SimpleLowercase(dict):
    """Code point -> its Unicode simple lowercase mapping, filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        lowered = chr(code).lower()
        # Only U+0130 (capital I with dot) lowers to two characters; its simple mapping is "i".
        # A final sigma folds like any sigma, so "ΟΔΟΣ" and "οδος" are the same text.
        value = "σ" if lowered == "ς" else lowered if len(lowered) == 1 else "i"
        self[code] = value
        return value


_SIMPLE_LOWERCASE = _SimpleLowercase()
FOLD_SQL_PRE = ("\u0130\u03a3\u03c2", "i\u03c3\u03c3")  # what SQL translates before LOWER (see `fold`)


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


def comparable(a: object, b: object, how: Fold, tz: ZoneInfo) -> tuple[object, object]:
    """Both sides as the comparison sees them: folded text, or a timestamp's local date."""
    if how is Fold.CASE:
        return (fold(a) if isinstance(a, str) else a), (fold(b) if isinstance(b, str) else b)
    if how is Fold.LOCAL_DATE:
        return (local_date(a, tz) if isinstance(a, dt.datetime) else a,
                local_date(b, tz) if isinstance(b, dt.datetime) else b)
    return a, b


COMPARE = {Op.EQ: operator.eq, Op.NE: operator.ne, Op.LT: operator.lt, Op.LE: operator.le, Op.GT: operator.gt,
           Op.GE: operator.ge}


def compare(op: Op, a: object, b: object, how: Fold, tz: ZoneInfo) -> Truth:
    """`a OP b` with SQL semantics: unknown when either side is missing."""
    if a is None or b is None:
        return None
    a, b = comparable(a, b, how, tz)
    return COMPARE[op](a, b)  # type: ignore[arg-type]  # the checker gave both sides one ordered type


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


FACTOR_PLACES = Decimal("1e-9")
MAX_FACTOR_TABLE = 1000  # rows of exact factors a generated query may carry per decayed score (about 25 KB)


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
