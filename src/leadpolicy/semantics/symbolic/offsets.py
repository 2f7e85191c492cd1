"""The UTC offsets of a policy's zone, as the symbolic lead over-approximates them, and the exact offset
around one instant, with which a spurious witness is excluded (`search.find`'s refinement).

A local date (`today`, a timestamp compared with a date) is the instant plus an offset variable that may be
any offset the zone has in the admitted years: a superset of the truth, so an `impossible` stays sound. A
witness whose offset is not the zone's at its instant is excluded by the fact `offset_span` gives (over the
whole span of instants sharing the zone's offset) and the search repeated.
"""

from __future__ import annotations

import datetime as dt
import functools

from leadpolicy import runtime, zones

# Sampled daily at noon UTC from the first admitted year until the zone's rules repeat every year (the
# database's explicit transitions end by 2037; the rule that follows repeats yearly): later years add no
# offset. A change of offset for less than a day between two samples is the one thing sampling can miss.
SAMPLED_YEARS = (runtime.FIRST_YEAR - 1, 2040)
MICROSECOND = dt.timedelta(microseconds=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
DAY_US = 86_400_000_000


@functools.lru_cache(maxsize=None)
def zone_offsets(name: str) -> tuple[int, ...]:
    """Every UTC offset (whole seconds) the zone has in the admitted years, sorted."""
    tz = zones.zone(name)
    day = dt.datetime(SAMPLED_YEARS[0], 1, 1, 12, tzinfo=dt.timezone.utc)
    end = dt.datetime(SAMPLED_YEARS[1], 12, 31, 12, tzinfo=dt.timezone.utc)
    found: set[int] = set()
    step = dt.timedelta(days=1)
    while day <= end:
        found.add(offset_at(tz, day))
        day += step
    return tuple(sorted(found))


def offset_at(tz: dt.tzinfo, at: dt.datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def at_us(instant_us: int) -> dt.datetime:
    return EPOCH + instant_us * MICROSECOND


def edge(tz: dt.tzinfo, inside: int, outside: int, offset: int) -> int:
    """The first instant (microseconds) from `inside` toward `outside` whose offset is not `offset`, given
    that `outside`'s is not."""
    while abs(outside - inside) > 1:
        middle = (inside + outside) // 2
        if offset_at(tz, at_us(middle)) == offset:
            inside = middle
        else:
            outside = middle
    return outside


def boundary(tz: dt.tzinfo, instant_us: int, offset: int, direction: int) -> int | None:
    """The nearest instant in `direction` (+1 later, -1 earlier) whose offset differs, walking a day at a
    time up to a year and then bisecting to the microsecond; None when there is none within the year. The
    instant returned is the first (later) or last (earlier) of the other offset."""
    inside = instant_us
    for _ in range(366):
        outside = inside + direction * DAY_US
        if offset_at(tz, at_us(outside)) != offset:
            return edge(tz, inside, outside, offset)
        inside = outside
    return None


def offset_span(name: str, instant_us: int) -> tuple[int, int, int]:
    """(first, end, offset): the zone's offset at the instant, and a span [first, end) of instants around it
    that all have that offset (at most a year either side)."""
    tz = zones.zone(name)
    offset = offset_at(tz, at_us(instant_us))
    before, after = boundary(tz, instant_us, offset, -1), boundary(tz, instant_us, offset, +1)
    first = instant_us - 366 * DAY_US if before is None else before + 1
    end = instant_us + 366 * DAY_US if after is None else after
    return first, end, offset


def to_us(at: dt.datetime) -> int:
    return (at - EPOCH) // MICROSECOND


@functools.lru_cache(maxsize=None)
def local_date_monotone(name: str) -> bool:
    """Whether the zone's local date never goes back in the admitted years: no change to an earlier offset
    moves the clock back across midnight (sampled as `zone_offsets` is; then a later instant's local date is
    never earlier, a fact the symbolic lead gives the solver)."""
    tz = zones.zone(name)
    day = dt.datetime(SAMPLED_YEARS[0], 1, 1, 12, tzinfo=dt.timezone.utc)
    end = dt.datetime(SAMPLED_YEARS[1], 12, 31, 12, tzinfo=dt.timezone.utc)
    previous = offset_at(tz, day)
    while day <= end:
        later = day + dt.timedelta(days=1)
        offset = offset_at(tz, later)
        if offset < previous:
            first = edge(tz, to_us(day), to_us(later), previous)  # the first instant of the earlier offset
            if (first - 1 + previous * 1_000_000) // DAY_US > (first + offset * 1_000_000) // DAY_US:
                return False
        previous, day = offset, later
    return True
