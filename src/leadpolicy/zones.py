"""One time-zone database for every engine: the `tzdata` package's (docs/warehouse.md, "Time zones").

`zoneinfo.ZoneInfo(name)` reads the host's database first (/usr/share/zoneinfo), which may be older or
newer than the `tzdata` package, and DuckDB reads its own (ICU's). Zones whose rules changed recently
(America/Havana from November 2026) then put one naive local time at two instants. So every zone
leadpolicy reads comes from the `tzdata` package, loaded explicitly (the host application's zoneinfo
search path is left alone), and DuckDB is used for a zone only when its data agrees with the package's
over the years a run decides (`duckdb_disagreement`).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable
from importlib import resources

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "Etc/UCT", "UCT"})


@functools.lru_cache(maxsize=None)
def database_version() -> str:
    """The IANA release of the time-zone data every engine reads, such as 2026f."""
    import tzdata

    return str(tzdata.IANA_VERSION)


@functools.lru_cache(maxsize=None)
def names() -> frozenset[str]:
    """Every zone name the database knows."""
    text = resources.files("tzdata").joinpath("zones").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


class PackageZone(zoneinfo.ZoneInfo):
    """A zone read from the `tzdata` package that copies and pickles by name (a zone read from a file
    otherwise cannot be copied), coming back as the same object."""

    def __reduce__(self) -> tuple[Callable[[str], zoneinfo.ZoneInfo], tuple[str]]:
        return zone, (self.key,)


@functools.lru_cache(maxsize=None)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The named zone from the `tzdata` package (one object per name). Raises ZoneInfoNotFoundError
    for a name the package does not have."""
    if name not in names():
        raise zoneinfo.ZoneInfoNotFoundError(f"no time zone named {name!r} in tzdata {database_version()}")
    with resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).open("rb") as handle:
        return PackageZone.from_file(handle, key=name)


def decided_years(now: dt.datetime) -> tuple[int, int]:
    """The years a run at `now` decides over: activity windows reach back at most ten years."""
    return max(now.year - 10, 1), min(now.year + 1, 9999)


def _instants(tz: dt.tzinfo, first: int, last: int) -> list[dt.datetime]:
    """Noon UTC of every day in the years, and each side of every change of UTC offset among them (found
    between two days whose offsets differ, to the second)."""
    day = dt.datetime(first, 1, 1, 12, tzinfo=dt.timezone.utc)
    end = dt.datetime(last, 12, 31, 12, tzinfo=dt.timezone.utc)
    found = []
    while day <= end:
        found.append(day)
        following = day + dt.timedelta(days=1)
        if following <= end and day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            low, high = day, following
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found += [low.replace(microsecond=0), high.replace(microsecond=0) + dt.timedelta(seconds=1)]
        day = following
    return found


@functools.lru_cache(maxsize=64)
def duckdb_disagreement(name: str, first: int, last: int) -> str | None:
    """None when DuckDB's time-zone data gives the `tzdata` package's UTC offset for `name` at every
    instant `_instants` picks in the years `first` to `last`; else a sentence saying where it does not."""
    import duckdb

    if name in UTC_NAMES:
        return None
    tz = zone(name)
    instants = _instants(tz, first, last)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        # timezone(zone, instant) is the wall clock there; less the instant's UTC wall clock, its offset.
        offsets = [row[0] for row in con.execute(
            "SELECT epoch(timezone(?, t)) - epoch(timezone('UTC', t)) FROM unnest(?::TIMESTAMPTZ[]) "
            "WITH ORDINALITY AS u(t, i) ORDER BY i", [name, instants]).fetchall()]
    except duckdb.Error:
        return f"{name}: DuckDB's time-zone data (ICU) does not know this zone"
    finally:
        con.close()
    for instant, duck in zip(instants, offsets):
        ours = instant.astimezone(tz).utcoffset()
        if ours is not None and duck is not None and dt.timedelta(seconds=duck) != ours:
            return (f"{name}: DuckDB's time-zone data (ICU) and tzdata {database_version()} disagree on the UTC "
                    f"offset at {instant.isoformat().replace('+00:00', 'Z')} ({_offset(dt.timedelta(seconds=duck))} "
                    f"against {_offset(ours)}), so one local time would be two instants")
    return None


def _offset(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
