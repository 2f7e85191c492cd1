"""The UTC offsets of a policy's zone, as the symbolic lead over-approximates them, and the exact offset
around one instant, with which a spurious witness is excluded (`search.find`'s refinement).

A local date (`today`, a timestamp compared with a date) is the instant plus an offset variable that may be
any offset the zone has in the admitted years: a superset of the truth, so an `impossible` stays sound. A
witness whose offset is not the zone's at its instant is excluded by the fact `offset_span` gives (over the
whole span of instants sharing the zone's offset) and the search repeated.
"""

from __future__ import annotations

import bisect
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
def sampled(name: str) -> tuple[tuple[int, int], ...]:
    """(instant in microseconds, offset) of the first sample (noon UTC daily over SAMPLED_YEARS) and of each
    sample whose offset differs from the day before's: the zone's changes of offset, each within the day before
    its sample. Every question below about a zone's offsets is answered from these."""
    tz = zones.zone(name)
    day = dt.datetime(SAMPLED_YEARS[0], 1, 1, 12, tzinfo=dt.timezone.utc)
    end = dt.datetime(SAMPLED_YEARS[1], 12, 31, 12, tzinfo=dt.timezone.utc)
    found = [(to_us(day), offset_at(tz, day))]
    step = dt.timedelta(days=1)
    while day <= end:
        offset = offset_at(tz, day)
        if offset != found[-1][1]:
            found.append((to_us(day), offset))
        day += step
    return tuple(found)


@functools.lru_cache(maxsize=None)
def zone_offsets(name: str) -> tuple[int, ...]:
    """Every UTC offset (whole seconds) the zone has in the admitted years, sorted."""
    return tuple(sorted({offset for _, offset in sampled(name)}))


def offset_at(tz: dt.tzinfo, at: dt.datetime) -> int:
    offset = at.astimezone(tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def at_us(instant_us: int) -> dt.datetime:
    return EPOCH + instant_us * MICROSECOND


def to_us(at: dt.datetime) -> int:
    return (at - EPOCH) // MICROSECOND


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


def changes(name: str) -> tuple[int, ...]:
    """The samples whose offset differs from the day before's (`sampled`)."""
    return tuple(point for point, _ in sampled(name)[1:])


SAMPLED = (to_us(dt.datetime(SAMPLED_YEARS[0], 1, 1, 12, tzinfo=dt.timezone.utc)),
           to_us(dt.datetime(SAMPLED_YEARS[1], 12, 31, 12, tzinfo=dt.timezone.utc)))
FOREVER = (to_us(dt.datetime(1, 1, 2, tzinfo=dt.timezone.utc)),  # past every admitted instant, either side
           to_us(dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)))


def later_change(tz: dt.tzinfo, points: tuple[int, ...], instant_us: int, offset: int) -> int | None:
    """The first instant after `instant_us` whose offset is not `offset`, from the sampled changes; None
    when the offset holds to the end of the samples."""
    for point in points[bisect.bisect_right(points, instant_us):]:
        if offset_at(tz, at_us(point)) != offset:
            inside = max(instant_us, point - DAY_US)
            if offset_at(tz, at_us(inside)) != offset:
                return boundary(tz, instant_us, offset, +1)  # a change within a day of the instant
            return edge(tz, inside, point, offset)
    return None


def earlier_change(tz: dt.tzinfo, points: tuple[int, ...], instant_us: int, offset: int) -> int | None:
    """The last instant before `instant_us` whose offset is not `offset`, from the sampled changes; None
    when the offset holds back to the start of the samples."""
    for point in reversed(points[:bisect.bisect_right(points, instant_us)]):
        if offset_at(tz, at_us(point - DAY_US)) != offset:
            inside = min(instant_us, point)
            if offset_at(tz, at_us(inside)) != offset:
                return boundary(tz, instant_us, offset, -1)
            return edge(tz, inside, point - DAY_US, offset)
    return None


RECENT = SAMPLED[1] - 2 * 366 * DAY_US  # the last two years sampled


def still_changing(points: tuple[int, ...]) -> bool:
    """Whether the zone's offset changes in the last two years sampled (summer time: it recurs past them)."""
    return bool(points) and points[-1] >= RECENT


def offset_span(name: str, instant_us: int) -> tuple[int, int, int]:
    """(first, end, offset): the zone's offset at the instant, and the span [first, end) of instants around it
    that all have that offset: between the zone's changes of offset (sampled as `zone_offsets` is), to the
    first or last admitted year when there is none on that side. Past the samples, a zone whose rules still
    change (summer time) is walked a day at a time, up to a year either side."""
    tz = zones.zone(name)
    offset = offset_at(tz, at_us(instant_us))
    points = changes(name)
    settled = not still_changing(points)
    if SAMPLED[0] <= instant_us <= SAMPLED[1]:
        before = earlier_change(tz, points, instant_us, offset)
        after = later_change(tz, points, instant_us, offset)
        if after is None and not settled:
            after = boundary(tz, instant_us, offset, +1) or instant_us + 366 * DAY_US
    elif instant_us > SAMPLED[1] and settled:
        before, after = earlier_change(tz, points, SAMPLED[1], offset), None
    else:
        before, after = boundary(tz, instant_us, offset, -1), boundary(tz, instant_us, offset, +1)
        first = instant_us - 366 * DAY_US if before is None else before + 1
        return first, instant_us + 366 * DAY_US if after is None else after, offset
    return FOREVER[0] if before is None else before + 1, FOREVER[1] if after is None else after, offset


@functools.lru_cache(maxsize=None)
def local_date_monotone(name: str) -> bool:
    """Whether the zone's local date never goes back in the admitted years: no change to an earlier offset
    moves the clock back across midnight (sampled as `zone_offsets` is; then a later instant's local date is
    never earlier, a fact the symbolic lead gives the solver)."""
    tz = zones.zone(name)
    samples = sampled(name)
    for (_, previous), (point, offset) in zip(samples, samples[1:]):
        if offset < previous:
            first = edge(tz, point - DAY_US, point, previous)  # the first instant of the earlier offset
            if (first - 1 + previous * 1_000_000) // DAY_US > (first + offset * 1_000_000) // DAY_US:
                return False
    return True


RARE_SPANS = 64  # the most spans of one offset a refinement names at once


@functools.lru_cache(maxsize=None)
def rare_offset_spans(name: str, offset: int) -> tuple[tuple[int, int], ...] | None:
    """Every span [first, end) in which the zone has `offset`, when that is at most RARE_SPANS spans, all
    within the samples (an offset the zone had for a few years only: Lord Howe Island's +11:30 in 1981-85);
    None when the offset is the zone's at the end of the samples, or in their last two years while its rules
    still change (it recurs past them)."""
    tz = zones.zone(name)
    points = changes(name)
    cuts = [FOREVER[0], *(edge(tz, point - DAY_US, point, offset_at(tz, at_us(point - DAY_US))) for point in points),
            FOREVER[1]]
    spans = []
    for first, end in zip(cuts, cuts[1:]):
        if offset_at(tz, at_us(max(first, SAMPLED[0]))) != offset:
            continue
        if end == FOREVER[1] or (still_changing(points) and end > RECENT):
            return None
        spans.append((first, end))
    return tuple(spans) if len(spans) <= RARE_SPANS else None
