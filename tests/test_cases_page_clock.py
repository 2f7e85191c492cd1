"""The published cases page tells every time on one clock, the policy's: a case's `now` and its events' times
read back, in the policy's zone, as the instants the samples file wrote, whatever offset each was written at
(a time in the hour a clock change repeats says which of the two it is); and every count of a unit agrees
with its number ("1 second", "2 seconds")."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from leadpolicy.publish import english
from leadpolicy.publish.site import render_site

from .conftest import POLICIES

NEW_YORK = ZoneInfo("America/New_York")  # the reference policy's time zone
UTC = dt.timezone.utc

SAMPLES = """\
policy: inbound-activity.policy
leads:
  - name: gap now
    lead: {email: a@b.io, employees: 300, industry: software, source: webinar}
    now: 2026-03-08T02:30
    events:
      - {event: email_click, at: 2026-02-06T08:30:00Z}
      - {event: demo_request, at: 2026-03-08T07:30:00Z}
      - {event: demo_request, at: 2026-03-08T07:30:01Z}
      - {event: demo_request, at: 2026-03-08T09:31:00+01:00}
    expect: {engagement: 45}
  - name: fold now
    lead: {email: a@b.io, employees: 300, industry: software, source: webinar}
    now: 2026-11-01T01:30:00-05:00
    events:
      - {event: email_click, at: 2026-11-01T05:30:00Z}
      - {event: email_click, at: 2026-11-01T06:30:00Z}
      - {event: webinar_attended, at: 2026-11-01T01:30:00-04:00}
    expect: {engagement: 15}
"""
# The instants each case's times name, in the order the page lists them: its `now`, then its events.
WRITTEN = {
    "gap now": ["2026-03-08T07:30:00Z", "2026-02-06T08:30:00Z", "2026-03-08T07:30:00Z", "2026-03-08T07:30:01Z",
                "2026-03-08T08:31:00Z"],
    "fold now": ["2026-11-01T06:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T05:30:00Z"],
}
# A time as the page writes it: `Sun 2026-03-08 03:30`, with `(UTC-04:00)` after it when its wall clock is one
# of the hour a clock change repeats.
PAGE_TIME = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{4}-\d\d-\d\d \d\d:\d\d)(?: \(UTC([+-]\d\d:\d\d)\))?")
QUANTITY = re.compile(r"\b(\d+(?:\.\d+)?) (second|minute|hour|day|business hour|time)(s?)\b")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("clock")
    (folder / "inbound-activity.policy").write_text((POLICIES / "inbound-activity.policy").read_text())
    (folder / "inbound-activity.samples.yaml").write_text(SAMPLES)
    pages, diags = render_site([str(folder / "inbound-activity.policy")], folder / "site")
    assert not diags, diags
    return pages[0].read_text()


def _case_lines(page: str, name: str) -> list[str]:
    """A lead case's line and its events' lines, as the page's Markdown list writes them."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\d+\. \*\*{re.escape(name)}\*\*", line))
    found = [lines[start]]
    for line in lines[start + 1:]:
        if re.match(r"\d+\. ", line) or line.startswith("#"):
            break
        if line.strip().startswith("- "):
            found.append(line.strip())
    return found


def _instant(wall: str, offset: str) -> dt.datetime:
    """A page's time read in the policy's zone; one of a repeated hour at the offset the page gives."""
    local = dt.datetime.strptime(wall, "%Y-%m-%d %H:%M")
    if not offset:
        zoned = local.replace(tzinfo=NEW_YORK)
        assert zoned.utcoffset() == zoned.replace(fold=1).utcoffset(), f"{wall} is a repeated hour, said once"
        return zoned.astimezone(UTC)
    fixed = local.replace(tzinfo=dt.datetime.strptime(offset, "%z").tzinfo)
    assert fixed.astimezone(NEW_YORK).replace(tzinfo=None) == local, f"{wall} UTC{offset} is not New York's"
    return fixed.astimezone(UTC)


def _times(lines: list[str]) -> list[dt.datetime]:
    return [_instant(wall, offset) for line in lines for wall, offset in PAGE_TIME.findall(line)]


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_every_time_of_a_case_reads_back_in_the_policys_zone_as_the_instant_written(page, name):
    lines = _case_lines(page, name)
    assert "as of" in lines[0], lines
    # Each time truncated to the minute the page shows.
    assert _times(lines) == [_utc(t).replace(second=0) for t in WRITTEN[name]], lines


def test_an_event_at_now_shows_the_wall_clock_of_now(page):
    lines = _case_lines(page, "gap now")
    now = PAGE_TIME.search(lines[0].split("as of", 1)[1])
    at_now = [line for line in lines[1:] if line.endswith(", now")]
    assert now and len(at_now) == 1, lines
    assert PAGE_TIME.search(at_now[0]).group(0) == now.group(0), lines  # type: ignore[union-attr]


def test_the_page_says_which_clock_its_times_are_on(page):
    cases = page[page.index("## Agreed sample cases"):]
    said = re.sub(r"\\(.)", r"\1", next(line for line in cases.splitlines() if "time zone" in line))  # Markdown
    assert said.endswith("time zone, America/New_York."), said


def _quantities(text: str) -> list[tuple[Decimal, str]]:
    return [(Decimal(amount), plural) for amount, _, plural in QUANTITY.findall(text)]


def test_every_count_on_the_cases_page_agrees_with_its_number(page):
    found = _quantities(page[:page.index("## Source")])  # the policy's source is as written: `within 1 business hours`
    assert (Decimal(1), "") in found, found  # "1 second after now"
    assert all((plural == "s") == (amount != 1) for amount, plural in found), found


@pytest.mark.parametrize("seconds", [1, 2, 59, 60, 61, 3600, 3660, 7260, 86400, 86460, 90000, 176400])
def test_before_or_after_agrees_each_unit_with_its_number(seconds):
    now = dt.datetime(2026, 11, 20, 12, tzinfo=UTC)
    for at, side in ((now - dt.timedelta(seconds=seconds), "before"), (now + dt.timedelta(seconds=seconds), "after")):
        said = english.before_or_after(at, now)
        assert said.endswith(f" {side} now"), said
        counts = _quantities(said)
        assert counts and all((plural == "s") == (amount != 1) for amount, plural in counts), said
        units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
        shown = sum(int(amount) * units[unit] for amount, unit, _ in QUANTITY.findall(said))
        assert 0 <= seconds - shown < (3600 if seconds >= 86400 else 60), said  # the two largest parts
