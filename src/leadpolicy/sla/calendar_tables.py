"""Business calendars expanded into tables, so SQL measures business time with range lookups.

A calendar becomes a run of segments that cover every instant of a range, each either open or
closed, none crossing a UTC day, a DST change or a whole hour of open time, and each carrying the
open time before it (`before_us`). Then, for any instant t, the one segment of t's UTC day that
holds it gives the open time up to t, O(t); and the open segment of an amount x of open time
(found by its hour of open time, `bucket`) gives the first instant at which O reaches x. Both are
equi-joins with a range test, on every engine. The open days are numbered, with what turns a local
time of day on each of them into an instant (as zoneinfo does, the earlier offset in a gap or an
overlap), for deadlines in business days.

`BusinessCalendar` stays the reference: these tables are made from its `intervals` and
`is_open_day`, and a test reads them back against it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.sla.calendars import BusinessCalendar

DAY_US = 86_400_000_000
BUCKET_US = 3_600_000_000  # an hour of open time: a segment never spans two
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc

SEGMENT_COLUMNS = ("calendar", "day", "start_us", "end_us", "open", "before_us", "bucket", "open_day", "offset_us")
OPEN_DAY_COLUMNS = ("calendar", "open_day", "midnight_us", "offset_a", "offset_b", "switch_us")


def to_us(instant: dt.datetime) -> int:
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


def from_us(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=value)


@dataclass(frozen=True)
class Segment:
    calendar: str
    day: int  # the UTC day (start_us // DAY_US)
    start_us: int
    end_us: int
    open: bool
    before_us: int  # open time from the table's start to start_us
    bucket: int | None  # open segments: before_us // BUCKET_US (the segment ends within that hour of open time)
    open_day: int | None  # open segments: the number of their local day among the open days
    offset_us: int | None  # open segments: the UTC offset in force (local = instant + offset)

    def row(self) -> tuple[Any, ...]:
        return (self.calendar, self.day, self.start_us, self.end_us, self.open, self.before_us, self.bucket,
                self.open_day, self.offset_us)


@dataclass(frozen=True)
class OpenDay:
    calendar: str
    open_day: int
    midnight_us: int  # the local date's midnight as wall-clock microseconds since 1970-01-01 00:00
    offset_a: int  # the UTC offset of wall-clock times before switch_us
    offset_b: int  # ... and from switch_us on (the same when the day has no change)
    switch_us: int  # wall-clock microseconds into the day where the offset changes (a day's length: never)

    def row(self) -> tuple[Any, ...]:
        return (self.calendar, self.open_day, self.midnight_us, self.offset_a, self.offset_b, self.switch_us)


def _offset_us(zone: ZoneInfo, local: dt.datetime) -> int:
    offset = local.replace(tzinfo=zone).utcoffset()
    assert offset is not None
    return offset // dt.timedelta(microseconds=1)


def _open_day(name: str, zone: ZoneInfo, number: int, day: dt.date) -> OpenDay:
    midnight = dt.datetime.combine(day, dt.time(0))
    first, last = _offset_us(zone, midnight), _offset_us(zone, midnight + dt.timedelta(days=1, microseconds=-1))
    switch = DAY_US
    if first != last:  # the first second of the day whose wall-clock time reads with the day's last offset
        low, high = 0, 86_400
        while low < high:
            middle = (low + high) // 2
            if _offset_us(zone, midnight + dt.timedelta(seconds=middle)) == last:
                high = middle
            else:
                low = middle + 1
        switch = low * 1_000_000
    midnight_us = (day - dt.date(1970, 1, 1)).days * DAY_US
    return OpenDay(name, number, midnight_us, first, last, switch)


def _transitions(zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Instants in (start, end) where the zone's offset changes (at most one in a stretch under a day)."""
    before = start.astimezone(zone).utcoffset()
    after = (end - dt.timedelta(microseconds=1)).astimezone(zone).utcoffset()
    if before == after:
        return []
    low, high = start, end
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return [high.replace(microsecond=0) if high.microsecond else high]


def expand(calendar: BusinessCalendar, first: dt.date, last: dt.date,
           buckets: bool = True) -> tuple[list[Segment], list[OpenDay]]:
    """Segments covering every instant from the UTC day of `first`'s local start to the end of the UTC day
    of `last`'s local end, and the open days of [first - 1 day, last + 1 day]. Without `buckets`, open
    segments are not cut at each hour of open time (for a table only read for local dates)."""
    zone, name = calendar.tz, calendar.name
    start_day, end_day = first - dt.timedelta(days=1), last + dt.timedelta(days=1)
    table_start = to_us(dt.datetime.combine(first, dt.time(0), tzinfo=zone)) // DAY_US * DAY_US
    after_last = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    table_end = (to_us(after_last) // DAY_US + 1) * DAY_US
    opens: list[tuple[int, int, int]] = []  # (start_us, end_us, open day number), in order
    days: list[OpenDay] = []
    day = start_day
    while day <= end_day:
        if calendar.is_open_day(day):
            number = len(days)
            days.append(_open_day(name, zone, number, day))
            for a, b in calendar.intervals(day):
                for piece_start, piece_end in _split_at_transitions(zone, a, b):
                    lo_us, hi_us = max(to_us(piece_start), table_start), min(to_us(piece_end), table_end)
                    if hi_us > lo_us:
                        opens.append((lo_us, hi_us, number))
        day += dt.timedelta(days=1)
    segments: list[Segment] = []
    before = 0
    cursor = table_start

    def closed_until(end: int) -> None:
        nonlocal cursor
        while cursor < end:
            stop = min(end, (cursor // DAY_US + 1) * DAY_US)
            segments.append(Segment(name, cursor // DAY_US, cursor, stop, False, before, None, None, None))
            cursor = stop

    for lo, hi, number in opens:
        closed_until(lo)
        offset = from_us(lo).astimezone(zone).utcoffset() // dt.timedelta(microseconds=1)  # type: ignore[operator]
        while cursor < hi:
            stop = min(hi, (cursor // DAY_US + 1) * DAY_US)
            if buckets:
                stop = min(stop, cursor + (BUCKET_US - before % BUCKET_US))
            segments.append(Segment(name, cursor // DAY_US, cursor, stop, True, before,
                                    before // BUCKET_US if buckets else None, number, offset))
            before += stop - cursor
            cursor = stop
    closed_until(table_end)
    return segments, days


def _split_at_transitions(zone: ZoneInfo, start: dt.datetime,
                          end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    pieces = []
    for change in _transitions(zone, start, end):
        pieces.append((start, change))
        start = change
    pieces.append((start, end))
    return pieces


def zone_calendar(name: str, timezone: str) -> BusinessCalendar:
    """A calendar open around the clock in a timezone: its segments carry the zone's offset at every instant
    (used to read instants as local dates in SQL)."""
    return BusinessCalendar(name, zones.zone(timezone), {d: [(0, 24 * 60)] for d in range(7)}, [], set())
