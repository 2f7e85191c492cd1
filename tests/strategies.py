"""Hypothesis strategies for leads, shared by every differential test.

Leads come the ways users send them: JSON values (str, int, float, bool), YAML-typed values
(`datetime.date`, `datetime.datetime`, Decimal), blanks and non-ASCII text, times at clock
changes, and (in `any_leads`) values of the wrong type.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

NEW_YORK = dt.timezone(dt.timedelta(hours=-5))
TEXTS = st.sampled_from([
    "", "  ", "\t", "\u00a0", "VP Sales", "vp of sales", "Head of Growth", "CHIEF of staff", "Engineer",
    "sam@gmail.com", "SAM@GMAIL.COM", "x@competitor.com", "ana@bigsoft.io", "DE", "de", "Uk", "US", "fabrik.de",
    "software", "Software", "free", "trial", "team", "premium", "İSTANBUL", "straße", "ΟΔΟΣ", "Ünïcödé", "東京",
    "O'Brien \"quoted\"", "🚀 launch"])
NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=2000),
    st.sampled_from([0, 1, 3, 5, 49, 50, 60, 199, 200, 1000, 1.5, 2.5, 7.9, 199.5, -0.5, 1e-9, 1e19]),
    st.decimals(min_value=-100, max_value=5000, places=2, allow_nan=False, allow_infinity=False))
EDGE_TIMES = ["2026-11-01T01:30:00", "2026-03-08T02:30:00", "2026-11-01T00:30:00", "2026-10-25T02:30:00",
              "2026-11-20T12:00:00Z", "2026-11-20", "1900-01-01T00:00:00+23:59"]
TIMESTAMP_OBJECTS = st.datetimes(min_value=dt.datetime(2026, 6, 1), max_value=dt.datetime(2026, 12, 31),
                                 timezones=st.sampled_from([dt.timezone.utc, NEW_YORK, None]))
TIMESTAMPS = st.one_of(TIMESTAMP_OBJECTS.map(lambda d: d.isoformat()), TIMESTAMP_OBJECTS, st.sampled_from(EDGE_TIMES),
                       st.dates(min_value=dt.date(2026, 6, 1), max_value=dt.date(2026, 12, 31)))
DATE_OBJECTS = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31))
DATES = st.one_of(DATE_OBJECTS.map(lambda d: d.isoformat()), DATE_OBJECTS)
WRONG = st.sampled_from([None, "", [], {}, "many", True, float("nan"), "2026-13-01", "yesterday", Decimal("1e400")])
NOWS = st.sampled_from([dt.datetime(2026, 11, 20, 12, tzinfo=NEW_YORK), dt.datetime(2026, 12, 31, 23, 59, 59,
                                                                                    tzinfo=dt.timezone.utc),
                        dt.datetime.fromisoformat("2026-11-01T01:30:00-04:00"),
                        dt.datetime.fromisoformat("2026-11-01T23:45:00-05:00")])


def values_for(field_type: str):
    return {"text": TEXTS, "number": NUMBERS, "yes/no": st.booleans(), "date": DATES, "timestamp": TIMESTAMPS,
            "one of": TEXTS}[field_type]


def spelled_choices(choices):
    """A choice as declared or as a CRM might spell it: text comparison reads these as the choice
    (docs/language.md), so every engine must decide them alike."""
    from leadpolicy.semantics.logic import fold

    def spellings(choice: str):
        variants = [choice, choice.upper(), choice.lower(), choice.title(), choice.swapcase()]
        return st.sampled_from([v for v in dict.fromkeys(variants) if fold(v) == fold(choice)])

    return st.sampled_from(choices).flatmap(spellings)


@st.composite
def any_leads(draw, policy, wrong: bool = True):
    """A lead for the policy: fields absent, of their type, one of their choices, or (`wrong`) of another type."""
    lead = {}
    for f in policy.ir.fields:
        choice = draw(st.integers(0, 39))
        if choice == 0 or (choice < 6 and not f.required):
            continue
        if choice == 39 and wrong:
            lead[f.name] = draw(WRONG)
        elif f.type == "one of" and choice < 36:
            lead[f.name] = draw(spelled_choices(f.choices))
        else:
            lead[f.name] = draw(values_for(f.type))
    return lead


@st.composite
def valid_leads(draw, policy):
    """A lead the policy's schema accepts."""
    return draw(any_leads(policy, wrong=False).filter(lambda lead: not policy.validate(lead)))


MICROSECOND = dt.timedelta(microseconds=1)
EVENT_ZONES = st.sampled_from([dt.timezone.utc, NEW_YORK, dt.timezone(dt.timedelta(hours=5, minutes=30))])


@st.composite
def event_logs(draw, policy, now: dt.datetime, max_size: int = 12):
    """What one lead did: events the policy declares (or uses) at times around `now`, many of them on
    the edge of a window (exactly N×24 h before `now`, a microsecond either side), at `now`, after it,
    and two at one instant; times as aware datetimes or ISO text in several offsets. (A row repeating another,
    the same event at the same instant, is a reader's reject: see tests/test_event_duplicates.py.)"""
    from leadpolicy.semantics import ir

    names = sorted({e.name for e in policy.ir.events} | {op.event for op in policy.ir.activity})
    windows = sorted({int(op.days) for op in policy.ir.activity if isinstance(op, ir.EventCount)})
    edges = [dt.timedelta(days=d) + nudge for d in windows for nudge in (-MICROSECOND, dt.timedelta(0), MICROSECOND)]
    edges += [dt.timedelta(0), -MICROSECOND, -dt.timedelta(days=1)]
    seconds = st.integers(-86_400, 120 * 86_400).map(lambda s: dt.timedelta(seconds=s))
    offsets = st.one_of(st.sampled_from(edges), seconds)
    events = []
    for _ in range(draw(st.integers(0, max_size))):
        at = (now - draw(offsets)).astimezone(draw(EVENT_ZONES))
        events.append({"event": draw(st.sampled_from(names)), "at": at.isoformat() if draw(st.booleans()) else at})
    if events and len(names) > 1 and draw(st.booleans()):  # another event at the same instant
        twin = dict(draw(st.sampled_from(events)))
        events.append({**twin, "event": draw(st.sampled_from([n for n in names if n != twin["event"]]))})
    return once_each(events)


def once_each(events: list[dict]) -> list[dict]:
    """The rows less those repeating an earlier one (the same event at the same instant)."""
    seen, kept = set(), []
    for e in events:
        at = e["at"] if isinstance(e["at"], dt.datetime) else dt.datetime.fromisoformat(e["at"])
        if (e["event"], at) not in seen:
            seen.add((e["event"], at))
            kept.append(e)
    return kept
