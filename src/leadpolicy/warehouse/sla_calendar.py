"""The calendar tables of `sla.calendar_tables` made by the query itself, for `compile --sla`.

Written out as VALUES, a year of a business calendar was a few thousand rows (half a megabyte of SQL, more
in BigQuery's syntax, whose limit on a query's text is 1 MB). Here the query makes them: a series of day
numbers (ten digits cross-joined: plain SQL every dialect runs), each day's open hours from its weekday,
less the holidays and closed dates of the range, turned into instants by the zone's offsets. What only
Python knows comes as short literal lists: the weekly hours, the closed days (holidays of the `holidays`
package, `closed` dates) and the offset changes of the zone within the range (a couple a year).

Each step restates `calendar_tables.expand`, and a test compares the tables row for row:
- a local wall-clock time reads with the offset before a change until the later of the two wall-clock
  times of the change (zoneinfo's fold=0: the earlier offset in a gap or an overlap);
- open intervals are cut at the zone's changes, clipped to the table's range, and their open time is
  summed before each (`before_us`); each is then cut at UTC days and, with buckets, at each whole hour of
  open time;
- closed segments fill what is left, cut at UTC days: a zero-length mark at each UTC midnight of the range
  sits among the open intervals, so every gap between two neighbours lies within one UTC day.

Windows order with NULLS FIRST (no value is NULL), BigQuery's default, so every dialect writes them.
All values are integers (days since 1970-01-01, microseconds): no date or zone function of any dialect.
Calendar names reach the SQL only as literals.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlglot import exp

from leadpolicy.sla.calendar_tables import BUCKET_US, DAY_US, EPOCH, OPEN_DAY_COLUMNS, SEGMENT_COLUMNS, to_us
from leadpolicy.sla.calendars import BusinessCalendar
from leadpolicy.warehouse.sla_sql import arithmetic, floor_div, floor_mod
from leadpolicy.warehouse.templates import filled, literal

MINUTE_US = 60_000_000
SECOND_US = 1_000_000
FAR_US = 1 << 62  # the open ends of the first and last offset periods
EPOCH_DATE = dt.date(1970, 1, 1)
# Open hours of one local day are at most a day plus a clock change: never more cuts than 100 (two digits).
MAX_CUTS = 99

Plan = Iterable[tuple[BusinessCalendar, dt.date, dt.date, bool]]


def _day_number(day: dt.date) -> int:
    return (day - EPOCH_DATE).days


def _offset_at(zone: ZoneInfo, instant_us: int) -> int:
    offset = (EPOCH + dt.timedelta(microseconds=instant_us)).astimezone(zone).utcoffset()
    assert offset is not None
    return offset // dt.timedelta(microseconds=1)


def _changes(zone: ZoneInfo, start_us: int, end_us: int) -> list[tuple[int, int, int]]:
    """(instant, offset before, offset from it) of each change of the zone's offset in [start, end): a
    change found between two UTC midnights, then its whole second found by halving."""
    found = []
    day = start_us // DAY_US * DAY_US
    while day < end_us:
        before, after = _offset_at(zone, day), _offset_at(zone, day + DAY_US)
        if before != after:
            low, high = day // SECOND_US, (day + DAY_US) // SECOND_US  # offset(low) == before, offset(high) != it
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_at(zone, middle * SECOND_US) == before:
                    low = middle
                else:
                    high = middle
            found.append((high * SECOND_US, before, _offset_at(zone, high * SECOND_US)))
        day += DAY_US
    return found


Row = tuple[Any, ...]


def _periods(name: str, zone: ZoneInfo, start_us: int, end_us: int) -> tuple[list[Row], list[Row]]:
    """The zone's offsets over the range as (calendar, from_us, to_us, offset_us) rows: by UTC instant, and
    by wall-clock time (a change takes effect at the later of its two wall-clock readings)."""
    changes = _changes(zone, start_us, end_us)
    offsets = [_offset_at(zone, start_us), *(after for _, _, after in changes)]
    utc_edges = [-FAR_US, *(at for at, _, _ in changes), FAR_US]
    wall_edges = [-FAR_US, *(at + max(before, after) for at, before, after in changes), FAR_US]
    utc = [(name, utc_edges[i], utc_edges[i + 1], offset) for i, offset in enumerate(offsets)]
    wall = [(name, wall_edges[i], wall_edges[i + 1], offset) for i, offset in enumerate(offsets)]
    return utc, wall


def _inputs(plan: Plan) -> tuple[dict[str, list[tuple[Any, ...]]], int]:
    """The literal rows of each input table, and the longest run of days the series must number."""
    rows: dict[str, list[tuple[Any, ...]]] = {"ranges": [], "hours": [], "closed": [], "utc": [], "wall": []}
    longest = 0
    for calendar, first, last, buckets in plan:
        name, zone = calendar.name, calendar.tz
        start_day, end_day = first - dt.timedelta(days=1), last + dt.timedelta(days=1)
        table_start = to_us(dt.datetime.combine(first, dt.time(0), tzinfo=zone)) // DAY_US * DAY_US
        after_last = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        table_end = (to_us(after_last) // DAY_US + 1) * DAY_US
        days = (end_day - start_day).days
        longest = max(longest, days, (table_end - table_start) // DAY_US)
        rows["ranges"].append((name, _day_number(start_day), days, table_start, table_end,
                               (table_end - table_start) // DAY_US, buckets))
        rows["hours"] += [(name, weekday, start * MINUTE_US, end * MINUTE_US)
                          for weekday, ranges in calendar.hours.items() for start, end in ranges]
        rows["closed"] += [(name, _day_number(day)) for day in (start_day + dt.timedelta(days=i)
                                                                 for i in range(days + 1))
                           if calendar.hours[day.weekday()] and not calendar.is_open_day(day)]
        utc, wall = _periods(name, zone, min(table_start, _day_number(start_day) * DAY_US) - 2 * DAY_US,
                             max(table_end, (_day_number(end_day) + 2) * DAY_US) + 2 * DAY_US)
        rows["utc"] += utc
        rows["wall"] += wall
    return rows, longest


COLUMNS = {
    "ranges": ("calendar", "first_day", "days", "table_start", "table_end", "utc_days", "buckets"),
    "hours": ("calendar", "weekday", "start_us", "end_us"),
    "closed": ("calendar", "day_no"),
    "utc": ("calendar", "from_us", "to_us", "offset_us"),
    "wall": ("calendar", "from_us", "to_us", "offset_us"),
}


def _values(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> exp.Expr:
    """A VALUES table; one row of NULLs that no join matches when there are none."""
    body = [exp.Tuple(expressions=[literal(v) for v in row]) for row in rows] or [
        exp.Tuple(expressions=[exp.Null() for _ in names])]
    values = exp.Values(expressions=body, alias=exp.TableAlias(
        this=exp.to_identifier("v"), columns=[exp.to_identifier(n) for n in names]))
    return exp.select("*").from_(values)


def _numbers(longest: int) -> exp.Select:
    """A query of the numbers 0 to 10**k - 1 (k digits cross-joined), past `longest` and MAX_CUTS."""
    digits = len(str(max(longest, MAX_CUTS)))
    terms = [exp.Mul(this=exp.column("d", table=f"d{i}"), expression=literal(10 ** i)) for i in range(digits)]
    total: exp.Expr = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    tables = [exp.alias_(exp.to_table("lp_cal_digits"), f"d{i}", table=True) for i in range(digits)]
    query = exp.select(exp.alias_(total, "n")).from_(tables[0])
    for table in tables[1:]:
        query = query.join(table, join_type="CROSS")
    return query


def _weekday(day: str) -> str:
    return floor_mod(f"{day} + 3", 7)  # 1970-01-01 was a Thursday; Monday is 0


# The CTEs that make the tables from the inputs, as fixed templates: `"#name"` is one of `_pieces()` (an
# expression over our own column names and numbers). Each reads the one before it, and the day series is read
# twice: Spark writes a CTE's whole query into every place that reads it (as it checks a query), and the clocks
# read the segments a dozen times, so the chain must stay short wherever it is copied.
MADE = [
    ("lp_cal_dates",
     'SELECT r.calendar, r.first_day + n.n AS day_no, r.table_start + n.n * "#day" AS mark_us, n.n <= r.days AS '
     "is_day, n.n <= r.utc_days AS is_mark FROM lp_cal_ranges AS r JOIN lp_cal_numbers AS n ON n.n <= "
     "GREATEST(r.days, r.utc_days)"),
    ("lp_cal_open_dates",
     "SELECT x.calendar, x.day_no, ROW_NUMBER() OVER (PARTITION BY x.calendar ORDER BY x.day_no NULLS FIRST) "
     "- 1 AS open_day FROM lp_cal_dates AS x JOIN (SELECT DISTINCT calendar, weekday FROM lp_cal_hours) AS w "
     'ON w.calendar = x.calendar AND w.weekday = "#weekday" LEFT JOIN lp_cal_closed AS c ON '
     "c.calendar = x.calendar AND c.day_no = x.day_no WHERE x.is_day AND c.day_no IS NULL"),
    ("lp_open_days",
     'SELECT x.calendar, x.open_day, "#midnight" AS midnight_us, a.offset_us AS offset_a, b.offset_us AS '
     'offset_b, CASE WHEN a.offset_us = b.offset_us THEN "#day" ELSE "#switch" END AS switch_us FROM '
     'lp_cal_open_dates AS x JOIN lp_cal_wall AS a ON a.calendar = x.calendar AND a.from_us <= "#midnight" AND '
     '"#midnight" < a.to_us JOIN lp_cal_wall AS b ON b.calendar = x.calendar AND b.from_us <= "#last_us" AND '
     '"#last_us" < b.to_us'),
    ("lp_cal_instants",
     'SELECT x.calendar, x.open_day, "#midnight" + h.start_us - a.offset_us AS lo, "#midnight" + h.end_us - '
     "b.offset_us AS hi FROM lp_cal_open_dates AS x JOIN lp_cal_hours AS h ON h.calendar = x.calendar AND "
     'h.weekday = "#weekday" JOIN lp_cal_wall AS a ON a.calendar = x.calendar AND a.from_us <= "#midnight" + '
     'h.start_us AND "#midnight" + h.start_us < a.to_us JOIN lp_cal_wall AS b ON b.calendar = x.calendar AND '
     'b.from_us <= "#midnight" + h.end_us AND "#midnight" + h.end_us < b.to_us'),
    ("lp_cal_pieces",
     "SELECT i.calendar, i.open_day, GREATEST(i.lo, u.from_us, r.table_start) AS lo, LEAST(i.hi, u.to_us, "
     "r.table_end) AS hi, u.offset_us FROM lp_cal_instants AS i JOIN lp_cal_utc AS u ON u.calendar = "
     "i.calendar AND u.from_us < i.hi AND i.lo < u.to_us JOIN lp_cal_ranges AS r ON r.calendar = i.calendar "
     "WHERE GREATEST(i.lo, u.from_us, r.table_start) < LEAST(i.hi, u.to_us, r.table_end)"),
    ("lp_cal_items",  # the open pieces, and a mark of no length at each UTC midnight of the range
     "SELECT calendar, lo, hi, open_day, offset_us FROM lp_cal_pieces UNION ALL SELECT calendar, mark_us AS "
     "lo, mark_us AS hi, CAST(NULL AS BIGINT) AS open_day, CAST(NULL AS BIGINT) AS offset_us FROM "
     "lp_cal_dates WHERE is_mark"),
    ("lp_cal_before",
     "SELECT i.*, r.buckets, COALESCE(SUM(i.hi - i.lo) OVER (PARTITION BY i.calendar ORDER BY i.lo NULLS FIRST, "
     "i.hi NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before_us, MAX(i.hi) OVER "
     "(PARTITION BY i.calendar ORDER BY i.lo NULLS FIRST, i.hi NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND 1 "
     "PRECEDING) AS prev_hi FROM lp_cal_items AS i JOIN lp_cal_ranges AS r ON r.calendar = i.calendar"),
    ("lp_cal_cuts",  # where segments start: an open piece's start (0), UTC midnights (1) and whole hours of
     # open time (2) in it; the gap before an item (3)
     "SELECT DISTINCT b.calendar, b.lo, b.hi, b.before_us, b.buckets, b.open_day, b.offset_us, k.kind = 3 AS "
     'gap, CASE k.kind WHEN 0 THEN b.lo WHEN 1 THEN "#day_cut" WHEN 2 THEN "#bucket_cut" ELSE b.prev_hi END '
     "AS at_us FROM lp_cal_before AS b CROSS JOIN lp_cal_kinds AS k CROSS JOIN (SELECT d0.d + 10 * d1.d AS n "
     "FROM lp_cal_digits AS d0 CROSS JOIN lp_cal_digits AS d1) AS s WHERE (k.kind = 0 AND s.n = 0 AND "
     'b.open_day IS NOT NULL) OR (k.kind = 1 AND b.open_day IS NOT NULL AND "#day_cut" < b.hi) OR (k.kind = 2 '
     'AND b.open_day IS NOT NULL AND b.buckets AND "#bucket_cut" < b.hi) OR (k.kind = 3 AND s.n = 0 AND '
     "b.prev_hi < b.lo)"),
    ("lp_segments",
     'SELECT r.calendar, "#segment_day" AS day, r.at_us AS start_us, CASE WHEN r.gap THEN r.lo '
     "ELSE COALESCE(LEAD(r.at_us) OVER (PARTITION BY r.calendar, r.lo, r.gap ORDER BY r.at_us NULLS FIRST), "
     "r.hi) END AS end_us, NOT r.gap AS open, CASE WHEN r.gap THEN r.before_us ELSE r.before_us + r.at_us - "
     'r.lo END AS before_us, CASE WHEN NOT r.gap AND r.buckets THEN "#bucket" END AS bucket, CASE WHEN NOT '
     "r.gap THEN r.open_day END AS open_day, CASE WHEN NOT r.gap THEN r.offset_us END AS offset_us FROM "
     "lp_cal_cuts AS r"),
]


def _pieces() -> dict[str, exp.Expr]:
    """The expressions the templates of MADE name (integer arithmetic over their own columns)."""
    day, hour = DAY_US, BUCKET_US
    midnight, last_us = f"x.day_no * {day}", f"(x.day_no + 1) * {day} - 1"
    texts = {
        "#day": str(day),
        "#weekday": _weekday("x.day_no"),
        "#midnight": midnight,
        "#last_us": last_us,
        "#switch": f"{floor_div(f'b.from_us - {midnight} + {SECOND_US - 1}', SECOND_US)} * {SECOND_US}",
        "#day_cut": f"({floor_div('b.lo', day)} + 1 + s.n) * {day}",
        "#bucket_cut": f"b.lo + ({floor_div('b.before_us', hour)} + 1 + s.n) * {hour} - b.before_us",
        "#segment_day": floor_div("r.at_us", day),
        "#bucket": floor_div("r.before_us + r.at_us - r.lo", hour),
    }
    return {name: arithmetic(text) for name, text in texts.items()}


def _made() -> list[tuple[str, exp.Expr]]:
    pieces = _pieces()
    return [(name, filled(template, pieces=pieces)) for name, template in MADE]


def calendar_ctes(plan: Plan) -> list[tuple[str, exp.Expr]]:
    """(name, query) of each CTE that makes `lp_segments` and `lp_open_days` (their columns as
    `calendar_tables.SEGMENT_COLUMNS` and `OPEN_DAY_COLUMNS`) for the calendars of `sla_run.calendar_plan`."""
    rows, longest = _inputs(plan)
    if not rows["ranges"]:  # an SLA in elapsed time, untiered: the tables are never read
        return [(name, _values([], columns).where(exp.false()))  # type: ignore[attr-defined]
                for name, columns in (("lp_segments", SEGMENT_COLUMNS), ("lp_open_days", OPEN_DAY_COLUMNS))]
    ctes: list[tuple[str, exp.Expr]] = [
        ("lp_cal_digits", _values([(d,) for d in range(10)], ("d",))),
        ("lp_cal_kinds", _values([(k,) for k in range(4)], ("kind",))),
        ("lp_cal_numbers", _numbers(longest)),
        *((f"lp_cal_{table}", _values(rows[table], COLUMNS[table])) for table in COLUMNS),
    ]
    return ctes + _made()
