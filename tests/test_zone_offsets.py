"""The spans of a zone's offset with which the search excludes a model's wrong offset (`offsets.offset_span`):
true (every instant in the span has the zone's offset there) and as wide as the zone allows, so a zone whose
offset has not changed for decades is settled by one fact, not by one fact per year of the 8,000 admitted."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from leadpolicy import runtime, zones
from leadpolicy.semantics.symbolic import Found, SymbolicLead, find
from leadpolicy.semantics.symbolic.offsets import at_us, offset_at, offset_span, to_us

from .engines import policy_from_text

UTC = dt.timezone.utc
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Apia",
         "Africa/Casablanca", "Asia/Tehran", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kathmandu"]
FIRST = to_us(dt.datetime(runtime.FIRST_YEAR, 1, 1, tzinfo=UTC))
LAST = to_us(dt.datetime(runtime.LAST_YEAR, 12, 31, 23, 59, tzinfo=UTC))


def test_a_zone_without_changes_since_1945_is_one_span_to_the_last_admitted_year():
    first, end, offset = offset_span("Asia/Kolkata", to_us(dt.datetime(2500, 1, 1, tzinfo=UTC)))
    assert offset == 5 * 3600 + 1800
    assert first <= to_us(dt.datetime(1946, 1, 1, tzinfo=UTC)) and end > LAST


def test_a_zone_with_summer_time_is_one_span_per_season():
    first, end, offset = offset_span("Europe/Berlin", to_us(dt.datetime(2026, 7, 1, tzinfo=UTC)))
    assert offset == 7200
    assert at_us(first) == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert at_us(end) == dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(ZONES), instant=st.integers(FIRST, LAST), inside=st.lists(st.floats(0, 1), max_size=8))
def test_every_instant_of_a_span_has_the_zone_offset_and_its_edges_do_not(name, instant, inside):
    tz = zones.zone(name)
    first, end, offset = offset_span(name, instant)
    assert first <= instant < end and offset_at(tz, at_us(instant)) == offset
    lo, hi = max(first, FIRST), min(end - 1, LAST)
    for where in [lo, hi, *(lo + int(f * (hi - lo)) for f in inside)]:
        assert offset_at(tz, at_us(where)) == offset, (name, at_us(where))
    if first > FIRST:
        assert offset_at(tz, at_us(first - 1)) != offset
    if end <= LAST:
        assert offset_at(tz, at_us(end)) != offset


KOLKATA = """policy "kolkata" version 1.0.0 {
  owner a "A"
  owner b "B"
  timezone "Asia/Kolkata"
  lead {
    d date
  }
  stages {
    hot when d >= 2026-06-01 owner b
    rest otherwise owner a
  }
  route for hot {
    "one" when days since d > 0
    "two" otherwise
  }
}
"""


def test_each_route_of_a_policy_reading_local_dates_in_a_zone_without_changes_is_found():
    """Once Unknown: 200 refinements of one year each were not enough for the years z3 chose."""
    policy = policy_from_text(KOLKATA)
    for entry in range(2):
        found = find(lambda lead, e=entry: lead.route_entry_is(0, e), [SymbolicLead(policy.ir)], 20.0)
        assert isinstance(found, Found), (entry, found)
