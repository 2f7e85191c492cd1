"""Running the SLA SQL (`sla_sql`) on DuckDB: the calendar tables, the queries, and their rows read back
as the reference engine's results.

The event table `lp_sla_events` (seq, lead, event, at_us, reason) holds checked events at or before
`now`; `sla_files` makes it from a file, `load_events` from `Event`s (for timelines and tests).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

from leadpolicy.semantics import ir
from leadpolicy.semantics.leads import as_instant
from leadpolicy.sla import calendar_tables
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
)
from leadpolicy.warehouse.sla_sql import DEFAULT_TABLES, ZONE, SlaSql, Tables, fill
from leadpolicy.warehouse.sqlgen import fold_sql

EVENTS = "lp_sla_events"
MARGIN_DAYS = 7


class SqlEngineError(RuntimeError):
    """The SQL engine could not judge a clock (a calendar table too short): never a silent wrong answer."""


def load_events(con, events: Iterable[Event], now: dt.datetime) -> None:
    """Table `lp_sla_events` from events in memory (those after `now` left out, as the reader leaves them)."""
    now = as_instant(now)
    rows = [(e.row or i + 1, e.lead, e.event, to_us(e.at), e.reason) for i, e in enumerate(events) if e.at <= now]
    con.execute(f"CREATE OR REPLACE TABLE {EVENTS} (seq BIGINT, lead VARCHAR, event VARCHAR, at_us BIGINT, "
                "reason VARCHAR)")
    insert_rows(con, EVENTS, rows, 5)


def business_calendars(policy: ir.Policy) -> dict[str, BusinessCalendar]:
    """The calendars some limit measures business time on."""
    limits = [limit for sla in policy.slas for limit in
              [*(t.limit for t in sla.tiers), *([sla.limit] if sla.limit else []), *(c.within for c in sla.counts)]]
    names = {limit.calendar for limit in limits if limit.calendar and limit.unit.startswith("business")}
    return {c.name: BusinessCalendar.from_ir(c) for c in policy.calendars if c.name in names}


def _reach(policy: ir.Policy, calendar: BusinessCalendar, now: dt.datetime) -> dt.date:
    """A local date past every deadline a clock started by `now` can have on this calendar."""
    hours, days = 0.0, 0
    for sla in policy.slas:
        for limit in [*(t.limit for t in sla.tiers), *([sla.limit] if sla.limit else []),
                      *(c.within for c in sla.counts)]:
            if limit.calendar == calendar.name and limit.unit == "business hours":
                hours = max(hours, float(limit.amount))
            elif limit.calendar == calendar.name and limit.unit == "business days":
                days = max(days, int(limit.amount))
    # Paused time is at most the open time from a start to now, so a deadline is at most one limit past now.
    end = calendar.add_days(calendar.add_hours(now, dt.timedelta(hours=hours)), days + 2)
    return calendar.local_day(end) + dt.timedelta(days=MARGIN_DAYS)


SEGMENT_TYPES = ("VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BOOLEAN", "BIGINT", "BIGINT", "BIGINT", "BIGINT")
OPEN_DAY_TYPES = ("VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT")


def calendar_rows(policy: ir.Policy, first: dt.datetime, now: dt.datetime,
                  only: ir.Sla | None = None) -> tuple[list[tuple], list[tuple]]:
    """The rows of the segment and open-day tables: each business calendar, and the policy's timezone
    (under `ZONE`, open around the clock), from the day before `first` to past every deadline; `only`:
    just what that SLA reads."""
    segments: list[tuple] = []
    days: list[tuple] = []
    zone = calendar_tables.zone_calendar(ZONE, policy.timezone)
    calendars = business_calendars(policy)
    if only is not None:
        used = {limit.calendar for limit in [*(t.limit for t in only.tiers), *([only.limit] if only.limit else []),
                                             *(c.within for c in only.counts)]}
        calendars = {name: c for name, c in calendars.items() if name in used}
    for calendar in [*calendars.values(), *([zone] if only is None or only.tiers else [])]:
        start = calendar.local_day(first) - dt.timedelta(days=1)
        last = (_reach(policy, calendar, now) if calendar is not zone
                else calendar.local_day(max(first, now)) + dt.timedelta(days=1))
        cut, open_days = calendar_tables.expand(calendar, start, last, buckets=calendar is not zone)
        segments += [s.row() for s in cut]
        days += [d.row() for d in open_days]
    return segments, days


def create_calendar_tables(con, policy: ir.Policy, first: dt.datetime, now: dt.datetime,
                           tables: Tables = DEFAULT_TABLES) -> None:
    """The tables of `calendar_rows` in DuckDB."""
    segments, days = calendar_rows(policy, first, now)
    for table, names, types, rows in ((tables.segments, calendar_tables.SEGMENT_COLUMNS, SEGMENT_TYPES, segments),
                                      (tables.open_days, calendar_tables.OPEN_DAY_COLUMNS, OPEN_DAY_TYPES, days)):
        con.execute(f"CREATE OR REPLACE TABLE {table} ({', '.join(f'{n} {t}' for n, t in zip(names, types))})")
        insert_rows(con, table, rows, len(names))


def insert_rows(con, table: str, rows: list[tuple], width: int) -> None:
    """Rows into a table in one statement, column by column (DuckDB's executemany runs one per row)."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows)]
    con.execute(f"INSERT INTO {table} SELECT {', '.join('UNNEST(?)' for _ in range(width))}", columns)


def evaluate(con, policy: ir.Policy, now: dt.datetime, leads: str | None = None,
             volumes_from: dt.datetime | None = None) -> TimelineResult:
    """Every SLA over table `lp_sla_events`, as `SlaEngine.evaluate` reports it (its calendar tables made
    here). `leads`: a table of the leads' records, typed, with their id as text in `#id`, for tiers.
    `volumes_from`: where volume periods start (else at the first event)."""
    now = as_instant(now)
    engine = SlaEngine(policy)
    out = TimelineResult(now)
    (first_us,) = con.execute(f"SELECT MIN(at_us) FROM {EVENTS}").fetchone()
    if first_us is None:
        out.volumes = engine.volume_results({}, now, volumes_from)
        return out
    create_calendar_tables(con, policy, from_us(first_us), now, Tables(events=EVENTS))
    for number, sla in enumerate(policy.slas):
        tables = Tables(events=EVENTS)
        if sla.tiers and leads is not None:
            tiers = f"lp_tiers_{number}"
            con.execute(f"CREATE OR REPLACE TABLE {tiers} AS " + SlaSql(policy, sla, now, tables).tiers(leads))
            tables = Tables(events=EVENTS, tiers=tiers)
        if sla.clock is not None and sla.limit is not None:
            sql = SlaSql(policy, sla, now, tables)
            zone = engine.zone_of(sla)
            for row in con.execute(sql.query()).fetchall():
                out.clocks.append(clock_result(row, zone, now))
            ignored = con.execute(SlaSql(policy, sla, now, tables).ignored()).fetchone()[0]
            if ignored:
                out.ignored_pauses[sla.name] = int(ignored)
        elif sla.counts:
            rule = sla.counts[0]
            zone = engine.calendars[rule.within.calendar].tz if rule.within.calendar else engine.tz
            for row in con.execute(SlaSql(policy, sla, now, tables).query()).fetchall():
                out.counts.append(count_result(row, zone))
    out.violations = violations(con, policy)
    out.recycles = recycles(con, policy)
    counts = volume_counts(con, policy, engine)
    out.volumes = engine.volume_results(counts, now, volumes_from or from_us(first_us))
    return out


def clock_result(row: tuple, zone, now: dt.datetime) -> ClockResult:
    (sla, lead, _, start, stop, stop_event, tier, deadline, status, used, paused, late, full, at_risk,
     escalated) = row
    if deadline is None:
        raise SqlEngineError(f"sla {sla}: lead {lead}'s clock from {from_us(start).isoformat()} has no deadline "
                             "in the calendar tables")
    result = ClockResult(sla, lead, from_us(start), from_us(deadline).astimezone(zone), status,
                         from_us(stop) if stop is not None else None, stop_event, _delta(used), _delta(late), tier,
                         _delta(paused) or dt.timedelta(0))
    if stop is None:
        result.used_percent = round(used / full * 100, 3) if full else 100.0
        result.at_risk, result.escalated_to = bool(at_risk), escalated
    return result


def count_result(row: tuple, zone) -> CountResult:
    sla, lead, start, window_end, count, needed, status = row
    if window_end is None:
        raise SqlEngineError(f"sla {sla}: lead {lead}'s count window has no end in the calendar tables")
    return CountResult(sla, lead, from_us(start), from_us(window_end).astimezone(zone), int(count), int(needed),
                       status)


def _delta(value: int | None) -> dt.timedelta | None:
    return None if value is None else dt.timedelta(microseconds=int(value))


def violations(con, policy: ir.Policy) -> list[ReasonViolation]:
    found = []
    for sla in policy.slas:
        for needs in sla.reasons:
            reason = fold_sql(_column("COALESCE(reason, '')"), "duckdb").sql("duckdb")
            query = fill(f"SELECT lead, event, at_us, reason FROM {EVENTS} WHERE event = \"#event\" AND "
                         f"{reason} NOT IN "
                         '("#allowed") ORDER BY lead, at_us, seq', {"#event": needs.event,
                                                                   "#allowed": [_fold(r) for r in needs.reasons]})
            found += [ReasonViolation(sla.name, lead, event, from_us(at), why)
                      for lead, event, at, why in con.execute(query).fetchall()]
    return found


def recycles(con, policy: ir.Policy) -> list[RecycleEntry]:
    found = []
    for rule in policy.recycle:
        delay = dt.timedelta(days=float(rule.after_days))
        reason = fold_sql(_column("COALESCE(reason, '')"), "duckdb").sql("duckdb")
        query = fill(f"SELECT lead, event, at_us FROM {EVENTS} WHERE event = \"#event\" AND {reason} = \"#reason\" "
                     "ORDER BY lead, at_us, seq", {"#event": rule.event, "#reason": _fold(rule.reason)})
        found += [RecycleEntry(lead, event, rule.reason, rule.stage, from_us(at) + delay)
                  for lead, event, at in con.execute(query).fetchall()]
    return found


def volume_counts(con, policy: ir.Policy, engine: SlaEngine) -> dict[str, dict[dt.datetime, int]]:
    """Each volume SLA's events per period: counted per local day in SQL, summed into periods here."""
    counts: dict[str, dict[dt.datetime, int]] = {}
    for sla, rule in engine.volume_rules():
        query = fill(f"SELECT CAST((e.at_us + z.offset_us - (e.at_us + z.offset_us) % {DAY_US}) / {DAY_US} AS BIGINT) "
                     f"AS local_day, COUNT(*) FROM {EVENTS} AS e JOIN lp_segments AS z ON z.calendar = \"#zone\" AND "
                     f"z.day = CAST((e.at_us - e.at_us % {DAY_US}) / {DAY_US} AS BIGINT) AND z.start_us <= e.at_us "
                     "AND e.at_us < z.end_us WHERE e.event = \"#event\" GROUP BY local_day",
                     {"#zone": ZONE, "#event": rule.event})
        per = counts.setdefault(sla.name, defaultdict(int))
        for local_day, count in con.execute(query).fetchall():
            day = dt.date(1970, 1, 1) + dt.timedelta(days=int(local_day))
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=engine.tz)
            per[_period_start(rule.per, noon, engine)] += int(count)
    return counts


def _period_start(period: str, instant: dt.datetime, engine: SlaEngine) -> dt.datetime:
    from leadpolicy.sla.engine import period_start

    return period_start(period, instant, engine.tz)


def _column(sql: str):
    import sqlglot

    return sqlglot.parse_one(sql, read="duckdb")


def _fold(text: str) -> str:
    from leadpolicy.semantics.logic import fold

    return fold(text)
