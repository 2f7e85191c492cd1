"""Policy.instant reads `now` by runtime's rules (checked_instant, read_instant): one year check for every
kind of `now`, aware, naive or text, in the same words."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

import leadpolicy
from leadpolicy.runtime import OutOfRange

from .conftest import POLICIES

POLICY = leadpolicy.load(POLICIES / "inbound-activity.policy")
ZONE = ZoneInfo(POLICY.ir.timezone)


class Stamp(dt.datetime):
    """A datetime subclass, as a dataframe library's timestamp is."""


@pytest.mark.parametrize("now", [
    dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(9999, 12, 31, tzinfo=ZoneInfo("Europe/Berlin")),
    dt.datetime(999, 1, 1), "0999-01-01T00:00:00Z", Stamp(1899, 12, 31, tzinfo=dt.timezone.utc)], ids=str)
def test_a_now_outside_the_supported_years_is_out_of_range_whatever_its_kind(now):
    with pytest.raises(OutOfRange, match="is outside the supported years 1900 to 9899"):
        POLICY.instant(now)


def test_a_fixed_offset_now_is_the_instant_itself():
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert POLICY.instant(now) is now


@pytest.mark.parametrize("now", [dt.datetime(2026, 11, 20, 12), "2026-11-20T12:00:00",
                                 Stamp(2026, 11, 20, 12, tzinfo=ZONE)], ids=str)
def test_a_naive_or_zoned_now_is_read_in_the_policys_zone_as_a_utc_instant(now):
    assert POLICY.instant(now) == dt.datetime(2026, 11, 20, 12, tzinfo=ZONE)
    assert POLICY.instant(now).utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("now", [1763658000, 1.5, True, b"2026-11-20T12:00:00Z", ["2026-11-20"]], ids=repr)
def test_a_now_of_another_kind_is_a_value_error_naming_the_kinds_it_reads(now):
    """docs/api.md: `instant` (and so evaluate and evaluate_many) raises ValueError for a `now` it cannot read,
    never an AttributeError from inside."""
    for call in (POLICY.instant, lambda n: POLICY.evaluate({"email": "a@b.io"}, now=n),
                 lambda n: list(POLICY.evaluate_many([{"email": "a@b.io"}], now=n))):
        with pytest.raises(ValueError, match="now must be a datetime, a date or ISO 8601 text"):
            call(now)
