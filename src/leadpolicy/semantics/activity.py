"""What leads did: one lead's events indexed for its windows (rows are read by `semantics.events`).

A window of N days is real time: an event counts when `now - N×24h < at <= now`, so windows
are exact across clock changes, and events after `now` never count.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any, Iterable

DAY = dt.timedelta(days=1)


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

    def within(self, event: str, days: Any, now: dt.datetime) -> list[dt.datetime]:
        """The event's times in the window of `days` days up to `now`, oldest first."""
        values = self.times.get(event, ())
        high = bisect.bisect_right(values, now)
        low = bisect.bisect_right(values, now - DAY * int(days), 0, high)
        return list(values[low:high])

    def count(self, event: str, days: Any, now: dt.datetime) -> int:
        values = self.times.get(event, ())
        high = bisect.bisect_right(values, now)
        return high - bisect.bisect_right(values, now - DAY * int(days), 0, high)

    def last(self, event: str, now: dt.datetime) -> dt.datetime | None:
        """The latest time of the event at or before `now`."""
        values = self.times.get(event, ())
        high = bisect.bisect_right(values, now)
        return values[high - 1] if high else None


NO_ACTIVITY = Activity()
