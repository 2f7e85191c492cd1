"""Business calendars: open time, deadlines, holidays, closed dates and DST, with property tests."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadpolicy.language.parser import parse_text
from leadpolicy.semantics import lowering
from leadpolicy.sla.calendars import BusinessCalendar

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def calendar(body: str) -> BusinessCalendar:
    text = f'policy "c" version 1.0.0 {{\n calendar cal {{\n{body}\n }}\n}}\n'
    result = parse_text(text)
    assert result.policy is not None, result.diagnostics
    return BusinessCalendar.from_ir(lowering.calendar(result.policy.calendars[0]))


US = calendar('timezone "America/New_York"\nopen mon-fri 09:00-17:00\nholidays "US"\nclosed 2026-12-24')
DE = calendar('timezone "Europe/Berlin"\nopen mon-thu 09:00-12:30\nopen mon-thu 13:30-18:00\nopen fri 09:00-15:00\n'
              'holidays "DE" "BE"')
ALWAYS = calendar('timezone "Europe/Berlin"\nopen mon-sun 00:00-24:00')


def ny(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=NY)


def berlin(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


H = dt.timedelta(hours=1)


@pytest.mark.parametrize("start,end,hours", [
    ("2026-11-20 16:00", "2026-11-23 11:00", 3),  # Friday to Monday
    ("2026-11-25 15:00", "2026-11-27 11:30", 4.5),  # Thanksgiving closed
    ("2026-11-21 10:00", "2026-11-22 10:00", 0),  # a weekend
    ("2026-12-23 08:00", "2026-12-28 10:00", 9),  # Christmas Eve closed, Christmas a holiday
    ("2026-11-23 11:00", "2026-11-23 10:00", 0),  # end before start
])
def test_open_time_between_instants(start, end, hours):
    assert US.elapsed(ny(start), ny(end)) == hours * H


@pytest.mark.parametrize("start,hours,deadline", [
    ("2026-11-20 16:00", 4, "2026-11-23 12:00"),
    ("2026-11-25 15:00", 4, "2026-11-27 11:00"),
    ("2026-11-21 10:00", 1, "2026-11-23 10:00"),  # a weekend start waits for Monday
    ("2026-11-23 17:00", 1, "2026-11-24 10:00"),  # a start at closing time
])
def test_business_hour_deadlines(start, hours, deadline):
    assert US.add_hours(ny(start), hours * H) == ny(deadline)


@pytest.mark.parametrize("start,days,deadline", [
    ("2026-11-16 10:00", 2, "2026-11-18 10:00"),  # Monday + 2 = Wednesday
    ("2026-11-20 10:00", 1, "2026-11-23 10:00"),  # Friday + 1 = Monday
    ("2026-11-25 10:00", 1, "2026-11-27 10:00"),  # Thanksgiving skipped
    ("2026-11-20 18:00", 1, "2026-11-24 09:00"),  # after hours: moves to Monday 09:00 first
    ("2026-12-23 10:00", 1, "2026-12-28 10:00"),  # closed date and holiday skipped
])
def test_business_day_deadlines(start, days, deadline):
    assert US.add_days(ny(start), days) == ny(deadline)


def test_lunch_break_and_subdivision_holidays():
    # 12:45 is in the lunch break: the clock starts at 13:30.
    assert DE.next_open(berlin("2026-11-18 12:45")) == berlin("2026-11-18 13:30")
    assert DE.elapsed(berlin("2026-11-18 12:00"), berlin("2026-11-18 14:00")) == 1 * H
    # Berlin observes International Women's Day (March 8); 2027-03-08 is a Monday.
    assert not DE.is_open_day(dt.date(2027, 3, 8))
    assert DE.is_open_day(dt.date(2027, 3, 9))


def test_dst_days_count_real_hours():
    # Europe/Berlin falls back on 2026-10-25: that Sunday lasts 25 hours.
    assert ALWAYS.elapsed(berlin("2026-10-25 00:00"), berlin("2026-10-26 00:00")) == 25 * H
    # and springs forward on 2026-03-29: 23 hours.
    assert ALWAYS.elapsed(berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")) == 23 * H
    assert ALWAYS.add_hours(berlin("2026-03-29 00:00"), 23 * H) == berlin("2026-03-30 00:00")


def test_describe():
    assert DE.describe() == "Mon-Thu 09:00-12:30, 13:30-18:00; Fri 09:00-15:00 Europe/Berlin"


INSTANTS = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31),
                        timezones=st.sampled_from([dt.timezone.utc]))
DURATIONS = st.integers(min_value=1, max_value=60 * 80).map(lambda m: dt.timedelta(minutes=m))
CALENDARS = st.sampled_from([US, DE, ALWAYS])


@settings(max_examples=150, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS)
def test_deadline_measured_back_gives_the_duration(cal, start, duration):
    deadline = cal.add_hours(start, duration)
    assert cal.elapsed(start, deadline) == duration


@settings(max_examples=150, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS, DURATIONS)
def test_elapsed_time_is_monotone_and_additive(cal, start, a, b):
    middle, end = start + a, start + a + b
    assert cal.elapsed(start, middle) <= cal.elapsed(start, end)
    assert cal.elapsed(start, middle) + cal.elapsed(middle, end) == cal.elapsed(start, end)
    assert cal.elapsed(start, end) <= end - start


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([US, DE]), INSTANTS, st.integers(min_value=1, max_value=10))
def test_business_days_land_on_open_days_at_the_same_local_time(cal, start, days):
    begin = cal.next_open(start).astimezone(cal.tz)
    deadline = cal.add_days(start, days).astimezone(cal.tz)
    assert cal.is_open_day(deadline.date())
    assert deadline.time() == begin.time()
    open_days_between = sum(cal.is_open_day(begin.date() + dt.timedelta(days=i))
                            for i in range(1, (deadline.date() - begin.date()).days + 1))
    assert open_days_between == days


NY_ALWAYS = calendar('timezone "America/New_York"\nopen mon-sun 00:00-24:00')
NY_SHIFT = calendar('timezone "America/New_York"\nopen mon-sun 01:00-03:30, 08:00-17:00')
BERLIN_SHIFT = calendar('timezone "Europe/Berlin"\nopen mon-sun 01:00-03:30, 08:00-17:00')
DST_WEEKS = st.sampled_from([
    (dt.datetime(2026, 3, 5, tzinfo=dt.timezone.utc), NY_SHIFT),
    (dt.datetime(2026, 10, 29, tzinfo=dt.timezone.utc), NY_SHIFT),
    (dt.datetime(2026, 3, 26, tzinfo=dt.timezone.utc), BERLIN_SHIFT),
    (dt.datetime(2026, 10, 22, tzinfo=dt.timezone.utc), BERLIN_SHIFT),
])


def test_new_york_dst_days():
    assert NY_ALWAYS.elapsed(ny("2026-03-08 00:00"), ny("2026-03-09 00:00")) == 23 * H
    assert NY_ALWAYS.elapsed(ny("2026-11-01 00:00"), ny("2026-11-02 00:00")) == 25 * H
    # Open 01:00-03:30 on the spring-forward night: 02:00-03:00 does not exist, so 1.5 hours are open.
    assert NY_SHIFT.elapsed(ny("2026-03-08 00:00"), ny("2026-03-08 04:00")) == 1.5 * H


@settings(max_examples=200, deadline=None)
@given(DST_WEEKS, st.integers(min_value=0, max_value=7 * 24 * 60), DURATIONS)
def test_dst_weeks_deadlines_measure_back(week, offset_minutes, duration):
    start_of_week, cal = week
    start = start_of_week + dt.timedelta(minutes=offset_minutes)
    deadline = cal.add_hours(start, duration)
    assert cal.elapsed(start, deadline) == duration
    assert deadline >= start + duration  # open time never runs faster than real time


# ------------------------------------------------ the calendar as tables (what the SQL SLA engine reads)

LORD_HOWE = calendar('timezone "Australia/Lord_Howe"\nopen mon-sat 01:00-03:00, 20:00-24:00')
TABLED = {"US": US, "DE": DE, "ALWAYS": ALWAYS, "LORD_HOWE": LORD_HOWE}
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 11, 30)


@functools.lru_cache(maxsize=None)
def _tables(name: str):
    from leadpolicy.sla import calendar_tables

    return calendar_tables.expand(TABLED[name], FIRST, LAST)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(TABLED)), st.integers(0, 240 * 24 * 60), st.integers(1, 40 * 60))
def test_the_tables_give_the_calendars_open_time_and_deadlines(name, minute, hours_minutes):
    """O(t) read from the segment holding t is the calendar's open time since the table's start; the
    instant at which O reaches x (found by its hour of open time) is the calendar's `add_hours`."""
    from leadpolicy.sla.calendar_tables import BUCKET_US, DAY_US, from_us, to_us

    segments, _ = _tables(name)
    start = from_us(segments[0].start_us)
    t = start + dt.timedelta(days=1, minutes=minute)
    holding = [s for s in segments if s.day == to_us(t) // DAY_US and s.start_us <= to_us(t) < s.end_us]
    assert len(holding) == 1
    s = holding[0]
    open_time = s.before_us + (to_us(t) - s.start_us if s.open else 0)
    calendar_ = TABLED[name]
    assert open_time == calendar_.elapsed(start, t) // dt.timedelta(microseconds=1)
    x = open_time + hours_minutes * 60_000_000
    reaching = [s for s in segments if s.open and s.bucket == (x - 1) // BUCKET_US and s.before_us < x
                <= s.before_us + s.end_us - s.start_us]
    assert len(reaching) == 1
    instant = from_us(reaching[0].start_us + x - reaching[0].before_us)
    assert instant == calendar_.add_hours(t, dt.timedelta(minutes=hours_minutes))


def test_the_open_days_turn_a_local_time_into_the_instant_zoneinfo_gives():
    from leadpolicy.sla.calendar_tables import DAY_US, from_us

    _, days = _tables("ALWAYS")
    for day in days:
        for minutes in range(0, 24 * 60, 30):
            tod = minutes * 60_000_000
            instant = from_us(day.midnight_us + tod - (day.offset_b if tod >= day.switch_us else day.offset_a))
            local = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=day.midnight_us + tod)
            # as UTC: Python calls a time in a skipped or repeated hour unequal to any other zone's (PEP 495)
            assert instant == local.replace(tzinfo=BERLIN).astimezone(dt.timezone.utc), (local, instant)
    assert sum(d.switch_us < DAY_US for d in days) == 2  # the two days of the year the clocks change
