"""Running the SLA SQL (`sla_sql`) on DuckDB: the calendar tables, the queries, and their rows read back
as the reference engine's results.

The event table `lp_sla_events` (seq, lead, event, at_us, reason) holds checked events at or before
`now`; `sla_files` makes it from a file, `load_events` from `Event`s (for timelines and tests).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

import duckdb
from sqlglot import exp

from leadpolicy.runtime import seen_at
from leadpolicy.semantics import ir
from leadpolicy.semantics.leads import as_instant
from leadpolicy.semantics.logic import fold
from leadpolicy.sla import calendar_tables, rules
from leadpolicy.sla.calendar_tables import DAY_US, from_us, to_us
from leadpolicy.sla.calendars import BusinessCalendar
from leadpolicy.sla.engine import (
    ClockResult,
    CountResult,
    Event,
    ReasonViolation,
    RecycleEntry,
    SlaEngine,
    TimelineResult,
    period_start,
)
from leadpolicy.warehouse.sla_sql import (
    CLOCK_COLUMNS,
    COUNT_COLUMNS,
    DEFAULT_TABLES,
    ZONE,
    SlaSql,
    Tables,
    arithmetic,
    floor_div,
    utc_day,
)
from leadpolicy.warehouse.sqlgen import fold_sql
from leadpolicy.warehouse.templates import filled, literal

EVENTS = "lp_sla_events"
MARGIN_DAYS = 7


class SqlEngineError(RuntimeError):
    """The SQL engine could not judge a clock (a calendar table too short): never a silent wrong answer."""


def load_events(con: duckdb.DuckDBPyConnection, events: Iterable[Event], now: dt.datetime) -> None:
    """Table `lp_sla_events` from events in memory (those after `now` left out, as the reader leaves them)."""
    now = as_instant(now)
    rows = [(e.row or i + 1, e.lead, e.event, to_us(e.at), e.reason) for i, e in enumerate(events)
            if seen_at(e.at, now)]
    con.execute(create_table(EVENTS, ("seq", "lead", "event", "at_us", "reason"),
                             ("BIGINT", "VARCHAR", "VARCHAR", "BIGINT", "VARCHAR")))
    insert_rows(con, EVENTS, rows, 5)


def create_table(name: str, names: Sequence[str], types: Sequence[str]) -> str:
    """CREATE OR REPLACE TABLE with the columns and types given (DuckDB)."""
    schema = exp.Schema(this=exp.to_table(name), expressions=[
        exp.ColumnDef(this=exp.to_identifier(n), kind=exp.DataType.build(t, dialect="duckdb"))
        for n, t in zip(names, types)])
    return exp.Create(this=schema, kind="TABLE", replace=True).sql("duckdb")


def create_table_as(name: str, query: exp.Query) -> str:
    """CREATE OR REPLACE TABLE name AS the query (DuckDB)."""
    return exp.Create(this=exp.to_table(name), kind="TABLE", replace=True, expression=query).sql("duckdb")



def limits_of(sla: ir.Sla) -> list[ir.Limit]:
    """Every limit of an SLA: its tiers', its `otherwise` one and its count windows."""
    return [*(t.limit for t in sla.tiers), *([sla.limit] if sla.limit else []), *(c.within for c in sla.counts)]


def business_calendars(policy: ir.Policy) -> dict[str, BusinessCalendar]:
    """The calendars some limit measures business time on."""
    limits = [limit for sla in policy.slas for limit in limits_of(sla)]
    names = {rules.measure(limit).business_calendar for limit in limits}
    return {c.name: BusinessCalendar.from_ir(c) for c in policy.calendars if c.name in names}


def _reach(policy: ir.Policy, calendar: BusinessCalendar, now: dt.datetime) -> dt.date:
    """A local date past every deadline a clock started by `now` can have on this calendar."""
    hours, days = 0.0, 0
    measures = [rules.measure(limit) for sla in policy.slas for limit in limits_of(sla)]
    for measure in (m for m in measures if m.business_calendar == calendar.name):
        if measure.open_days is None:
            hours = max(hours, float(measure.amount))
        else:
            days = max(days, measure.open_days)
    # Paused time is at most the open time from a start to now, so a deadline is at most one limit past now.
    end = calendar.add_days(calendar.add_hours(now, dt.timedelta(hours=hours)), days + 2)
    return calendar.local_day(end) + dt.timedelta(days=MARGIN_DAYS)


SEGMENT_TYPES = ("VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BOOLEAN", "BIGINT", "BIGINT", "BIGINT", "BIGINT")
OPEN_DAY_TYPES = ("VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT")


def calendar_plan(policy: ir.Policy, first: dt.datetime, now: dt.datetime,
                  only: ir.Sla | None = None) -> list[tuple[BusinessCalendar, dt.date, dt.date, bool]]:
    """(calendar, first date, last date, buckets) of each calendar table: each business calendar, and the
    policy's timezone (under `ZONE`, open around the clock), from the day before `first` to past every
    deadline; `only`: just what that SLA reads."""
    zone = calendar_tables.zone_calendar(ZONE, policy.timezone)
    calendars = business_calendars(policy)
    if only is not None:
        used = {limit.calendar for limit in limits_of(only)}
        calendars = {name: c for name, c in calendars.items() if name in used}
    plan = []
    for calendar in [*calendars.values(), *([zone] if only is None or only.tiers else [])]:
        start = calendar.local_day(first) - dt.timedelta(days=1)
        last = (_reach(policy, calendar, now) if calendar is not zone
                else calendar.local_day(max(first, now)) + dt.timedelta(days=1))
        plan.append((calendar, start, last, calendar is not zone))
    return plan


def calendar_rows(policy: ir.Policy, first: dt.datetime, now: dt.datetime,
                  only: ir.Sla | None = None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of the segment and open-day tables of `calendar_plan`."""
    segments: list[tuple[Any, ...]] = []
    days: list[tuple[Any, ...]] = []
    for calendar, start, last, buckets in calendar_plan(policy, first, now, only):
        cut, open_days = calendar_tables.expand(calendar, start, last, buckets=buckets)
        segments += [s.row() for s in cut]
        days += [d.row() for d in open_days]
    return segments, days


# The calendar tables hold a row per day (and business calendars a few) from the log's first event to past
# --now: an open clock's time used is measured up to now. 174 years took 1.0 GB and 9 s (74 years: 0.5 GB,
# 4 s), so a longer span is refused, and `--engine auto` reads it with the Python engine (2 s for 574 years).
MAX_SPAN_YEARS = 120


class SpanTooLong(ValueError):
    """A log whose first event is too long before `now` for the SQL engine's calendar tables."""


def check_span(first: dt.datetime, now: dt.datetime) -> None:
    """Raises SpanTooLong when `now` is more than MAX_SPAN_YEARS after `first`."""
    if now - first > dt.timedelta(days=MAX_SPAN_YEARS * 365.25):
        raise SpanTooLong(f"the event log starts {first.date().isoformat()} and --now is {now.date().isoformat()}, "
                          f"more than {MAX_SPAN_YEARS} years later: the SQL engine's calendar tables hold a row per "
                          "day between them, too many to hold; --engine python reads it (and --engine auto picks "
                          "it)")


def create_calendar_tables(con: duckdb.DuckDBPyConnection, policy: ir.Policy, first: dt.datetime, now: dt.datetime,
                           tables: Tables = DEFAULT_TABLES) -> None:
    """The tables of `calendar_rows` in DuckDB."""
    segments, days = calendar_rows(policy, first, now)
    for table, names, types, rows in ((tables.segments, calendar_tables.SEGMENT_COLUMNS, SEGMENT_TYPES, segments),
                                      (tables.open_days, calendar_tables.OPEN_DAY_COLUMNS, OPEN_DAY_TYPES, days)):
        con.execute(create_table(table, names, types))
        insert_rows(con, table, rows, len(names))


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]], width: int) -> None:
    """Rows into a table in one statement, column by column (DuckDB's executemany runs one per row)."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows)]
    unnest = exp.select(*(exp.Unnest(expressions=[exp.Placeholder()]) for _ in range(width)))
    con.execute(exp.insert(unnest, exp.to_table(table)).sql("duckdb"), columns)


CLOCKS, COUNTS = "lp_clock_results", "lp_count_results"  # each with `local_day`: the start's local date, as a number


def judge(con: duckdb.DuckDBPyConnection, policy: ir.Policy, now: dt.datetime, leads: str | None = None,
          volumes_from: dt.datetime | None = None) -> TimelineResult:
    """Every SLA over table `lp_sla_events`: its clocks and counts into tables `lp_clock_results` and
    `lp_count_results` (columns `sla_sql.CLOCK_COLUMNS` and `COUNT_COLUMNS`, and `local_day`, the start's
    day in the policy's timezone as days since 1970-01-01); its volumes, reason violations, recycling and
    ignored pauses returned. The calendar tables are made here. `leads`: a table of the leads' records,
    typed, with their id as text in `#id`, for tiers. `volumes_from`: where volume periods start (else at
    the first event)."""
    now = as_instant(now)
    engine = SlaEngine(policy)
    out = TimelineResult(now)
    first_us = _first_event_us(con)
    clocks: list[exp.Query] = []
    counts: list[exp.Query] = []
    if first_us is not None:
        check_span(from_us(first_us), now)
        create_calendar_tables(con, policy, from_us(first_us), now, Tables(events=EVENTS))
        for number, sla in enumerate(policy.slas):
            _sla_queries(con, policy, sla, number, now, leads, out, clocks, counts)
    _result_table(con, CLOCKS, clocks, CLOCK_COLUMNS, "deadline_us")
    _result_table(con, COUNTS, counts, COUNT_COLUMNS, "window_end_us")
    if first_us is not None:
        out.violations = violations(con, policy)
        out.recycles = recycles(con, policy)
    counted = volume_counts(con, policy, engine) if first_us is not None else {}
    out.volumes = engine.volume_results(counted, now, volumes_from or (from_us(first_us) if first_us else None))
    return out


def _first_event_us(con: duckdb.DuckDBPyConnection) -> int | None:
    row = con.execute(exp.select(exp.Min(this=exp.column("at_us"))).from_(EVENTS).sql("duckdb")).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _sla_queries(con: duckdb.DuckDBPyConnection, policy: ir.Policy, sla: ir.Sla, number: int, now: dt.datetime,
                 leads: str | None, out: TimelineResult, clocks: list[exp.Query], counts: list[exp.Query]) -> None:
    """The SLA's clock or count query into `clocks` or `counts` (its tiers tabled first, its ignored pauses
    counted into `out`)."""
    tables = Tables(events=EVENTS)
    if sla.tiers and leads is not None:
        tiers = f"lp_tiers_{number}"
        con.execute(create_table_as(tiers, SlaSql(policy, sla, now, tables).tiers_tree(leads)))
        tables = Tables(events=EVENTS, tiers=tiers)
    if sla.clock is not None and sla.limit is not None:
        clocks.append(SlaSql(policy, sla, now, tables).clocks())
        row = con.execute(SlaSql(policy, sla, now, tables).ignored()).fetchone()
        if row is not None and row[0]:
            out.ignored_pauses[sla.name] = int(row[0])
    elif sla.counts:
        counts.append(SlaSql(policy, sla, now, tables).counts())


# The results with the local day of their start, as `load_events`' policy zone tells it.
LOCAL_DAY = ('SELECT r.*, "#local_day" AS local_day FROM "#results" AS r LEFT JOIN lp_segments AS z ON z.calendar = '
             '"#zone" AND z.day = "#utc_day" AND z.start_us <= r.start_us AND r.start_us < z.end_us')


def _result_table(con: duckdb.DuckDBPyConnection, table: str, queries: list[exp.Query], columns: Sequence[str],
                  deadline: str) -> None:
    """Table `table` of the queries' rows with their `local_day` (empty, typed, without queries); raises
    SqlEngineError for a row without its deadline (a calendar table too short)."""
    if not queries:
        nulls = [exp.alias_(exp.cast(exp.Null(), TYPES.get(c, "VARCHAR")), c) for c in columns]
        empty = exp.select(*nulls, exp.alias_(exp.cast(exp.Null(), "BIGINT"), "local_day")).where(exp.false())
        con.execute(create_table_as(table, empty))
        return
    selects = [exp.select("*").from_(q.subquery(f"lp_sla_{i}")) for i, q in enumerate(queries)]
    union = selects[0] if len(selects) == 1 else exp.union(*selects, distinct=False)
    pieces = {"#results": union, "#local_day": arithmetic(floor_div("r.start_us + z.offset_us", DAY_US)),
              "#utc_day": arithmetic(utc_day("r.start_us"))}
    query = filled(LOCAL_DAY, values={"#zone": ZONE}, pieces=pieces)
    assert isinstance(query, exp.Query)
    con.execute(create_table_as(table, query))
    missing = con.execute(exp.select("sla", "lead", "start_us").from_(table).where(
        exp.column(deadline).is_(exp.Null())).limit(1).sql("duckdb")).fetchone()
    if missing:
        raise SqlEngineError(f"sla {missing[0]}: lead {missing[1]}'s clock from "
                             f"{from_us(missing[2]).isoformat()} has no deadline in the calendar tables")


TYPES = {"start_row": "BIGINT", "start_us": "BIGINT", "stop_us": "BIGINT", "deadline_us": "BIGINT",
         "used_us": "BIGINT", "paused_us": "BIGINT", "late_us": "BIGINT", "full_us": "BIGINT", "at_risk": "BOOLEAN",
         "window_end_us": "BIGINT", "n_events": "BIGINT", "needed": "BIGINT"}


def evaluate(con: duckdb.DuckDBPyConnection, policy: ir.Policy, now: dt.datetime, leads: str | None = None,
             volumes_from: dt.datetime | None = None) -> TimelineResult:
    """`judge`, with every clock and count read back as the reference engine's results (for timelines and
    tests; a report aggregates the tables instead)."""
    out = judge(con, policy, now, leads, volumes_from)
    zones = SlaEngine(policy).display_zones()
    clocks = exp.select(*CLOCK_COLUMNS).from_(CLOCKS).sql("duckdb")
    counts = exp.select(*COUNT_COLUMNS).from_(COUNTS).sql("duckdb")
    out.clocks = [clock_result(row, zones[row[0]]) for row in con.execute(clocks).fetchall()]
    out.counts = [count_result(row, zones[row[0]]) for row in con.execute(counts).fetchall()]
    return out


def _in_days(first: int | None, last: int | None) -> exp.Expr:
    day = exp.column("local_day")
    bounds = ([exp.GTE(this=day.copy(), expression=literal(int(first)))] if first is not None else []) + (
        [exp.LTE(this=day.copy(), expression=literal(int(last)))] if last is not None else [])
    return exp.and_(*bounds) if bounds else exp.true()


def tallies(con: duckdb.DuckDBPyConnection, first_day: int | None, last_day: int | None) -> list[tuple[Any, ...]]:
    """(sla, kind, local_day, tier, status, how many) of the clocks and counts starting in the range of
    local days (as days since 1970-01-01; None: unbounded)."""
    where = _in_days(first_day, last_day)
    clocks = exp.select("sla", exp.Literal.string("clock"), "local_day", "tier", "status",
                        exp.Count(this=exp.Star())).from_(CLOCKS).where(where.copy()).group_by(
                            "sla", "local_day", "tier", "status")
    counts = exp.select("sla", exp.Literal.string("count"), "local_day", exp.Null(), "status",
                        exp.Count(this=exp.Star())).from_(COUNTS).where(where.copy()).group_by(
                            "sla", "local_day", "status")
    return con.execute(exp.union(clocks, counts, distinct=False).sql("duckdb")).fetchall()


def results(con: duckdb.DuckDBPyConnection, policy: ir.Policy, first_day: int | None, last_day: int | None,
            which: str, limit: int | None = None) -> Iterator[ClockResult | CountResult]:
    """The clocks and counts starting in the range, as the reference's results: `which` is "breached"
    (by SLA, deadline, lead and start), "open" (clocks not stopped) or "all" (by lead). Read in batches."""
    zones = SlaEngine(policy).display_zones()
    where = _in_days(first_day, last_day)
    breached = exp.column("status").eq(exp.Literal.string("breached"))
    clock_filter = {"breached": breached, "open": exp.column("stop_us").is_(exp.Null()), "all": exp.true()}[which]
    count_filter = {"breached": breached.copy(), "open": exp.false(), "all": exp.true()}[which]
    # The reference's orders: breaches by SLA, deadline, lead and start; the details lead by lead, each
    # lead's clocks (SLA by SLA as the policy lists them, by start) before its counts.
    position = exp.Case(this=exp.column("sla"), ifs=[exp.If(this=literal(sla.name), true=literal(i))
                                                     for i, sla in enumerate(policy.slas)])
    order: list[str | exp.Expr] = (["sla", "deadline_us", "lead", "start_us"] if which == "breached"
                                   else ["lead", "kind", position, "start_us"])
    # A count's row is laid out as a clock's: its count and need where the stop event and tier go, its window's
    # end where the deadline goes (so breaches sort by it, as the reference sorts them).
    count_row = [exp.column("sla"), exp.column("lead"), exp.Null(), exp.column("start_us"), exp.Null(),
                 exp.cast(exp.column("n_events"), "VARCHAR"), exp.cast(exp.column("needed"), "VARCHAR"),
                 exp.column("window_end_us"), exp.column("status")]
    pad = [exp.Null() for _ in range(len(CLOCK_COLUMNS) - len(count_row))]
    clocks = exp.select(exp.alias_(exp.Literal.string("clock"), "kind"), *CLOCK_COLUMNS).from_(CLOCKS).where(
        exp.and_(where.copy(), clock_filter))
    counts = exp.select(exp.Literal.string("count"), *count_row, *pad).from_(COUNTS).where(
        exp.and_(where.copy(), count_filter))
    union = exp.union(clocks, counts, distinct=False)
    ordered = exp.select("*").from_(union.subquery("lp_results")).order_by(*order, dialect="duckdb")
    query = (ordered.limit(int(limit)) if limit is not None else ordered).sql("duckdb")
    cursor = con.execute(query)
    while True:
        rows = cursor.fetchmany(10_000)
        if not rows:
            return
        for kind, *row in rows:
            if kind == "clock":
                yield clock_result(tuple(row), zones[row[0]])
            else:
                sla, lead, _, start, _, n_events, needed, window_end, status = row[:9]
                yield count_result((sla, lead, start, window_end, n_events, needed, status), zones[sla])


def clock_result(row: tuple[Any, ...], zone: ZoneInfo) -> ClockResult:
    (sla, lead, _, start, stop, stop_event, tier, deadline, status, used, paused, late, full, at_risk,
     escalated) = row
    result = ClockResult(sla, lead, from_us(start), from_us(deadline).astimezone(zone), status,
                         from_us(stop) if stop is not None else None, stop_event, _delta(used), _delta(late), tier,
                         _delta(paused) or dt.timedelta(0))
    if stop is None:
        result.used_percent = round(used / full * 100, 3) if full else 100.0
        result.at_risk, result.escalated_to = bool(at_risk), escalated
    return result


def count_result(row: tuple[Any, ...], zone: ZoneInfo) -> CountResult:
    sla, lead, start, window_end, count, needed, status = row
    return CountResult(sla, lead, from_us(start), from_us(window_end).astimezone(zone), int(count), int(needed),
                       status)


def _delta(value: int | None) -> dt.timedelta | None:
    return None if value is None else dt.timedelta(microseconds=int(value))


def violations(con: duckdb.DuckDBPyConnection, policy: ir.Policy) -> list[ReasonViolation]:
    found = []
    for sla in policy.slas:
        for needs in sla.reasons:
            allowed = [literal(fold(r)) for r in needs.reasons]
            query = exp.select("lead", "event", "at_us", "reason").from_(EVENTS).where(exp.and_(
                exp.column("event").eq(literal(needs.event)),
                exp.not_(exp.In(this=_folded_reason(), expressions=allowed) if allowed else exp.false()),
            )).order_by("lead", "at_us", "seq", dialect="duckdb").sql("duckdb")
            found += [ReasonViolation(sla.name, lead, event, from_us(at), why)
                      for lead, event, at, why in con.execute(query).fetchall()]
    return found


def recycles(con: duckdb.DuckDBPyConnection, policy: ir.Policy) -> list[RecycleEntry]:
    found = []
    for rule in policy.recycle:
        delay = dt.timedelta(days=float(rule.after_days))
        query = exp.select("lead", "event", "at_us").from_(EVENTS).where(exp.and_(
            exp.column("event").eq(literal(rule.event)), _folded_reason().eq(literal(fold(rule.reason))),
        )).order_by("lead", "at_us", "seq", dialect="duckdb").sql("duckdb")
        found += [RecycleEntry(lead, event, rule.reason, rule.stage, from_us(at) + delay)
                  for lead, event, at in con.execute(query).fetchall()]
    return found


def volume_counts(con: duckdb.DuckDBPyConnection, policy: ir.Policy,
                  engine: SlaEngine) -> dict[str, dict[dt.datetime, int]]:
    """Each volume SLA's events per period: counted per local day in SQL, summed into periods here."""
    counts: dict[str, dict[dt.datetime, int]] = {}
    for sla, rule in engine.volume_rules():
        pieces = {"#local_day": arithmetic(floor_div("e.at_us + z.offset_us", DAY_US)),
                  "#utc_day": arithmetic(utc_day("e.at_us"))}
        query = filled(PER_LOCAL_DAY, values={"#zone": ZONE, "#event": rule.event}, pieces=pieces).sql("duckdb")
        per = counts.setdefault(sla.name, defaultdict(int))
        for local_day, count in con.execute(query).fetchall():
            day = dt.date(1970, 1, 1) + dt.timedelta(days=int(local_day))
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=engine.tz)
            per[period_start(rule.per, noon, engine.tz)] += int(count)
    return counts


PER_LOCAL_DAY = ('SELECT "#local_day" AS local_day, COUNT(*) FROM lp_sla_events AS e JOIN lp_segments AS z ON '
                 'z.calendar = "#zone" AND z.day = "#utc_day" AND z.start_us <= e.at_us AND e.at_us < z.end_us WHERE '
                 'e.event = "#event" GROUP BY local_day')


def _folded_reason() -> exp.Expr:
    """A row's reason as the reference compares it (`logic.fold`), in DuckDB."""
    reason = exp.Coalesce(this=exp.column("reason"), expressions=[exp.Literal.string("")])
    return fold_sql(reason, "duckdb")
