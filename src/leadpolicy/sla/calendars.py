"""Business calendars: open hours in a timezone, holidays, closed dates, business-time arithmetic.

All arithmetic is on real instants: an open range is turned into a pair of UTC
instants for each local day, so a DST change shortens or lengthens the open time
of that day exactly as the wall clock does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Container, Sequence
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.language.units import DAY_INDEX, clock_minutes
from leadpolicy.semantics import ir

UTC = dt.timezone.utc
SEARCH_DAYS = 3 * 366  # how far to look for open time before giving up


class CalendarError(ValueError):
    """A calendar with no open time in reach of a deadline."""


def _minutes(text: str) -> int:
    minutes = clock_minutes(text)
    if minutes is None:
        raise CalendarError(f"{text} is not a time of day")  # the checker refuses such a calendar first
    return minutes


@dataclass
class BusinessCalendar:
    """A calendar ready for arithmetic."""

    name: str
    tz: ZoneInfo
    hours: dict[int, list[tuple[int, int]]]  # weekday -> merged (start, end) minutes
    holiday_sets: Sequence[Container[dt.date]]  # holidays.HolidayBase objects
    closed: set[dt.date]
    _cache: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_ir(cls, cal: ir.Calendar) -> "BusinessCalendar":
        import holidays

        hours: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
        for open_hours in cal.open:
            for a, b in open_hours.days:
                days = range(a, b + 1) if a <= b else list(range(a, 7)) + list(range(0, b + 1))
                for day in days:
                    hours[day].extend((_minutes(s), _minutes(e)) for s, e in open_hours.ranges)
        sets = [holidays.country_holidays(h.country, subdiv=h.subdivision) for h in cal.holidays]
        return cls(cal.name, zones.zone(cal.timezone), {d: _merge(r) for d, r in hours.items()}, sets, set(cal.closed))

    def is_open_day(self, day: dt.date) -> bool:
        return (bool(self.hours[day.weekday()]) and day not in self.closed
                and not any(day in h for h in self.holiday_sets))

    def intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The open intervals of a local day, as UTC instants (memoized: days repeat across leads)."""
        cached = self._cache.get(day)
        if cached is None:
            cached = [] if not self.is_open_day(day) else [
                (self._instant(day, start), self._instant(day, end)) for start, end in self.hours[day.weekday()]]
            self._cache[day] = cached
        return cached

    def _instant(self, day: dt.date, minutes: int) -> dt.datetime:
        # A wall-clock time on that day (24:00 is the next midnight), then the real instant.
        local = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=minutes)
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def local_day(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Open time between two instants (zero when end is before start)."""
        total = dt.timedelta(0)
        if end <= start:
            return total
        day, last = self.local_day(start), self.local_day(end)
        while day <= last:
            for a, b in self.intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def add_hours(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant when `amount` of open time has passed since `start`."""
        remaining = amount
        day = self.local_day(start)
        for _ in range(SEARCH_DAYS):
            for a, b in self.intervals(day):
                lo = max(a, start)
                if b <= lo:
                    continue
                if remaining <= b - lo:
                    return lo + remaining
                remaining -= b - lo
            day += dt.timedelta(days=1)
        raise CalendarError(f"calendar {self.name} has no open time within {SEARCH_DAYS} days")

    def next_open(self, instant: dt.datetime) -> dt.datetime:
        """The instant itself when open, else the next moment the calendar opens."""
        day = self.local_day(instant)
        for _ in range(SEARCH_DAYS):
            for a, b in self.intervals(day):
                if b > instant:
                    return max(a, instant)
            day += dt.timedelta(days=1)
        raise CalendarError(f"calendar {self.name} has no open time within {SEARCH_DAYS} days")

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The same local time of day `days` open days later; a start outside open hours
        first moves to the next open moment."""
        begin = self.next_open(start).astimezone(self.tz)
        day = begin.date()
        for _ in range(days):
            day += dt.timedelta(days=1)
            for _ in range(SEARCH_DAYS):
                if self.is_open_day(day):
                    break
                day += dt.timedelta(days=1)
            else:
                raise CalendarError(f"calendar {self.name} has no open day within {SEARCH_DAYS} days")
        return dt.datetime.combine(day, begin.time(), tzinfo=self.tz).astimezone(UTC)

    def describe(self) -> str:
        """Open hours in words, e.g. 'Mon-Fri 09:00-17:00 America/New_York'."""
        names = list(DAY_INDEX)
        groups: list[tuple[list[int], list[tuple[int, int]]]] = []
        for day in range(7):
            if not self.hours[day]:
                continue
            if groups and groups[-1][1] == self.hours[day] and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], self.hours[day]))
        parts = []
        for days, ranges in groups:
            label = names[days[0]].title() + ("" if len(days) == 1 else "-" + names[days[-1]].title())
            text = ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in ranges)
            parts.append(f"{label} {text}")
        return "; ".join(parts) + f" {self.tz.key}"


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
