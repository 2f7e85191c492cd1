"""Words of the SLA language that every phase reads: time units, day names, clock times, holiday calendars.

They live in language so the checker and lowering need nothing from sla (the layers run
language -> semantics -> sla); the SLA engines import them from here.
"""

from __future__ import annotations

import functools

from leadpolicy.language.diagnostics import did_you_mean

UNIT_ALIASES = {"minute": "minutes", "hour": "hours", "day": "days", "business hour": "business hours",
                "business day": "business days"}
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


def clock_minutes(text: str) -> int | None:
    """Minutes since midnight of an `HH:MM` time (24:00 is the end of the day), or None when out of range."""
    hours, minutes = (int(x) for x in text.split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes
