"""Words of the SLA language that every phase reads: time units, day names, clock times, holiday calendars.

They live in language so the checker and lowering need nothing from sla (the layers run
language -> semantics -> sla); the SLA engines import them from here.
"""

from __future__ import annotations

import functools

from leadpolicy.language.diagnostics import did_you_mean

# The units of an SLA's limits and count windows, as lowering normalises them (the plural); the checker, the
# SLA rules and both SLA engines name them by these constants.
MINUTES, HOURS, DAYS = "minutes", "hours", "days"
BUSINESS = "business"  # the grammar's word before a unit of open time
BUSINESS_HOURS, BUSINESS_DAYS = f"{BUSINESS} hours", f"{BUSINESS} days"
ELAPSED_UNITS = (MINUTES, HOURS, DAYS)  # real time
BUSINESS_UNITS = (BUSINESS_HOURS, BUSINESS_DAYS)  # open time on a calendar
CLOCK_UNITS = (*ELAPSED_UNITS, *BUSINESS_UNITS)
COUNT_UNITS = (DAYS, HOURS, BUSINESS_DAYS, BUSINESS_HOURS)
UNIT_ALIASES = {"minute": MINUTES, "hour": HOURS, "day": DAYS, "business hour": BUSINESS_HOURS,
                "business day": BUSINESS_DAYS}
DAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


@functools.lru_cache(maxsize=None)
def holiday_codes() -> dict[str, tuple[str, ...]]:
    """Country code -> subdivision codes the holidays package knows."""
    import holidays

    return {code: tuple(subs) for code, subs in holidays.list_supported_countries().items()}


def holiday_problem(country: str, subdivision: str | None) -> tuple[str, str | None] | None:
    """(message, hint) when the holidays package knows no such country or subdivision."""
    codes = holiday_codes()
    if country not in codes:
        return f'no holiday calendar for country "{country}"', (
            did_you_mean(country, codes) or "use an ISO 3166 code such as \"US\", \"DE\" or \"GB\"")
    if subdivision is not None and subdivision not in codes[country]:
        return f'"{subdivision}" is not a subdivision of {country}', did_you_mean(subdivision, codes[country])
    return None


def unit_named(written: str) -> str:
    """A unit as written (`hour`, `business day`) as lowering normalises it; an unknown word is kept."""
    return UNIT_ALIASES.get(written, written)


def is_business(unit: str) -> bool:
    """Whether a unit measures open time on a calendar: written `business NAME`, as the grammar reads it (the
    checker asks for a calendar even when NAME is no unit), so normalised it is one of BUSINESS_UNITS."""
    return unit.startswith(BUSINESS)


def clock_minutes(text: str) -> int | None:
    """Minutes since midnight of an `HH:MM` time (24:00 is the end of the day), or None when out of range."""
    hours, minutes = (int(x) for x in text.split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes
