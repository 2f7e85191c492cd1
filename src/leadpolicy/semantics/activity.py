"""What leads did: one lead's events indexed for its windows (rows are read by `semantics.events`).

A window of N days is real time: an event counts when `now - N×24h < at <= now`
(`runtime.window_start`, `runtime.in_window`, the one definition every engine's window follows), so
windows are exact across clock changes, and events after `now` never count.
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal
from typing import Iterable

from leadpolicy.runtime import window_start


class Activity:
    """One lead's events by name, each name's times sorted, for windows at any `now`."""

    __slots__ = ("times",)

    def __init__(self, events: Iterable[tuple[str, dt.datetime]] = ()):
        times: dict[str, list[dt.datetime]] = {}
        for name, at in events:
            times.setdefault(name, []).append(at)
        for values in times.values():
            values.sort()
        self.times = times

    def _bounds(self, values: list[dt.datetime], days: int | Decimal, now: dt.datetime) -> tuple[int, int]:
        """The slice of sorted times `runtime.in_window` keeps: after the window's start, at or before now."""
        high = bisect.bisect_right(values, now)
        return bisect.bisect_right(values, window_start(now, days), 0, high), high

    def within(self, event: str, days: int | Decimal, now: dt.datetime) -> list[dt.datetime]:
        """The event's times in the window of `days` days up to `now`, oldest first."""
        values = self.times.get(event, [])
        low, high = self._bounds(values, days, now)
        return values[low:high]

    def count(self, event: str, days: int | Decimal, now: dt.datetime) -> int:
        values = self.times.get(event, [])
        low, high = self._bounds(values, days, now)
        return high - low

    def last(self, event: str, now: dt.datetime) -> dt.datetime | None:
        """The latest time of the event at or before `now` (events after it never count)."""
        values = self.times.get(event, [])
        high = bisect.bisect_right(values, now)
        return values[high - 1] if high else None


NO_ACTIVITY = Activity()
