"""A date is read by its shape before its year, as a timestamp is (runtime.read_calendar_date): a text of no
date's shape is "not a date" on every path, whatever year it starts with."""
import argparse

import pytest

from leadpolicy.cli.flags import date_arg
from leadpolicy.runtime import OutOfRange, read_calendar_date

NOT_DATES = ["0999-01-01x", "10000-01-01", "0000-01-01T00:00", "9999-1-1"]


@pytest.mark.parametrize("text", NOT_DATES)
def test_a_text_of_no_dates_shape_is_not_a_date_whatever_its_year(text):
    with pytest.raises(ValueError) as raised:
        read_calendar_date(text)
    assert not isinstance(raised.value, OutOfRange)
    assert str(raised.value) == f"{text!r} is not a date (YYYY-MM-DD)"


@pytest.mark.parametrize("text", ["0999-01-01", "9900-01-01", " 0000-01-01 "])
def test_a_date_of_the_right_shape_outside_the_years_is_out_of_range(text):
    with pytest.raises(OutOfRange):
        read_calendar_date(text)


@pytest.mark.parametrize("text", NOT_DATES)
def test_a_date_flag_says_not_a_date_for_a_text_of_no_dates_shape(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a date"):
        date_arg(text)


@pytest.mark.parametrize("text", ["infinity", "-infinity"])
def test_an_infinite_date_is_out_of_range_as_an_infinite_timestamp_is(text):
    with pytest.raises(OutOfRange):
        read_calendar_date(text)
