"""SLA clocks and counts in SQL, with the meaning of `sla.engine` (the reference), for every dialect.

The query reads an event table (`seq`, the row's order among rows at one instant, `lead`, `event`,
`at_us`, `reason`: checked rows, none after `now`, times as epoch microseconds) and, for business
time, the calendar tables of `sla.calendar_tables`. Each step is the reference's loop restated over sets:

- Clocks. Without `each time` a lead's clock runs from its first start to the first stop at or
  after it. With it, starts and stops flip a clock open and shut, so a start or stop matters
  exactly when it differs from the one before it (`LAG`), and each effective start pairs with the
  next effective stop (`LEAD`). Pauses and resumes within a clock flip it the same way.
- Time is measured as the limit is: real microseconds, or open time O(t) from the segment holding
  t. A deadline with pauses is the instant at which the measure reaches the start's, plus the
  limit, plus the paused time counted; a pause counts while it starts before the deadline so far,
  and the first that does not ends the counting (the reference's `break`), so the counted pauses
  are those whose start is below the limit plus the pauses before them.

Every query is a sqlglot tree, written in any dialect: fixed templates (DuckDB SQL over our own names)
whose "#name" columns and tables are filled with trees (`templates.filled`, the one filler). Text from the
policy reaches them only as literals, table names through `exp.to_table`; the templates hold our own names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlglot
from sqlglot import exp

from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.sql import at_or_before_now_sql
from leadpolicy.sla import rules
from leadpolicy.sla.calendar_tables import BUCKET_US, DAY_US, to_us
from leadpolicy.warehouse.templates import filled, filled_select, literal

CLOCK_COLUMNS = ("sla", "lead", "start_row", "start_us", "stop_us", "stop_event", "tier", "deadline_us", "status",
                 "used_us", "paused_us", "late_us", "full_us", "at_risk", "escalated_to")
COUNT_COLUMNS = ("sla", "lead", "start_us", "window_end_us", "n_events", "needed", "status")


ZONE = "#zone"  # the calendar name under which the segments of the policy's timezone are tabled


class SlaSqlError(ValueError):
    """An SLA this SQL cannot state."""


@dataclass(frozen=True)
class Tables:
    """Where the query finds its inputs (names as SQL, made by the caller)."""

    events: str = "lp_sla_events"
    segments: str = "lp_segments"
    open_days: str = "lp_open_days"
    tiers: str | None = None  # (lead, start_row, tier): the tier index of each clock; none: every clock `otherwise`


DEFAULT_TABLES = Tables()


def floor_mod(t: str, d: int) -> str:
    """t mod d, from 0 to d - 1, on every dialect: SQL's % keeps the sign of t, and instants before
    1970 are negative."""
    return f"((({t}) % {d} + {d}) % {d})"


def floor_div(t: str, d: int) -> str:
    """t divided by d rounded down, as Python's // (see `floor_mod`)."""
    return f"CAST((({t}) - {floor_mod(t, d)}) / {d} AS BIGINT)"


def arithmetic(text: str) -> exp.Expr:
    """One of our own integer expressions (`floor_div`, `utc_day`... over our column names and numbers) as a
    tree, parenthesised so that it keeps its meaning wherever a template puts it."""
    return exp.Paren(this=filled(text))


def utc_day(t: str) -> str:
    return floor_div(t, DAY_US)


def floor_div_of(t: exp.Expr, d: int) -> exp.Expr:
    """`floor_div` of an expression, as a tree."""
    return filled(floor_div('"#t"', d), pieces={"#t": t})


def floor_mod_of(t: exp.Expr, d: int) -> exp.Expr:
    """`floor_mod` of an expression, as a tree."""
    return filled(floor_mod('"#t"', d), pieces={"#t": t})


def with_ctes(ctes: Sequence[tuple[str, exp.Expr]], body: exp.Select) -> exp.Select:
    """The body after `WITH name AS (query), ...`."""
    for name, query in ctes:
        body = body.with_(name, as_=query, copy=False)
    return body


def is_one_of(column: str, values: Sequence[str]) -> exp.Expr:
    """column IN (the values as literals); none: false."""
    if not values:
        return exp.false()
    return exp.In(this=exp.column(column), expressions=[literal(v) for v in values])


def union_all(queries: Sequence[exp.Query]) -> exp.Query:
    return queries[0] if len(queries) == 1 else exp.union(*queries, distinct=False, copy=False)


def _aliased(query: exp.Expr, alias: str) -> exp.Expr:
    """The template's `seg` (a segment row) renamed `alias`."""

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table == "seg":
            return exp.column(node.name, table=alias)
        if isinstance(node, exp.TableAlias) and node.name == "seg":
            return exp.TableAlias(this=exp.to_identifier(alias))
        return node

    return query.transform(rename)


def _join_of(template: str, alias: str, pieces: dict[str, exp.Expr]) -> exp.Join:
    """The one join of a `SELECT * FROM x LEFT JOIN ... AS seg ON ...` template, its segment named `alias`."""
    query = _aliased(filled_select(template, pieces=pieces), alias)
    join = query.args["joins"][0]
    assert isinstance(join, exp.Join)
    return join


# The segment holding instant #t, and the measure there (open time before it).
SEGMENT_AT = ('SELECT * FROM x LEFT JOIN "#segments" AS seg ON seg.calendar = "#calendar" AND seg.day = "#day" '
              'AND seg.start_us <= "#t" AND "#t" < seg.end_us')
MEASURE_AT = '(seg.before_us + CASE WHEN seg.open THEN "#t" - seg.start_us ELSE 0 END)'
# The open segment in which the measure reaches #x, and the instant it does.
SEGMENT_REACHING = ('SELECT * FROM x LEFT JOIN "#segments" AS seg ON seg.calendar = "#calendar" AND seg.open AND '
                    'seg.bucket = "#bucket" AND seg.before_us < "#x" AND "#x" <= seg.before_us + seg.end_us - '
                    'seg.start_us')
INSTANT_REACHING = '(seg.start_us + ("#x") - seg.before_us)'
ELAPSED_BASE = 'SELECT s.*, "#start" + "#amount" AS base_us FROM "#source" AS s'
HOURS_BASE = 'SELECT s.*, "#deadline" AS base_us FROM "#source" AS s'
# Business days: the first open moment at or after the start (#x its measure), then its local time of day
# (#tod) on the open day `#days` later, turned into an instant as that day's offsets say.
DAYS_BASE = ('SELECT s.*, d.midnight_us + "#tod" - CASE WHEN "#tod" >= d.switch_us THEN d.offset_b ELSE d.offset_a '
             'END AS base_us FROM "#source" AS s LEFT JOIN "#segments" AS n ON n.calendar = "#calendar" AND n.open '
             'AND n.bucket = "#bucket" AND n.before_us <= "#x" AND "#x" < n.before_us + n.end_us - n.start_us '
             'LEFT JOIN "#open_days" AS d ON d.calendar = "#calendar" AND d.open_day = n.open_day + "#days"')
OPEN_AT = '(n.start_us + "#x" - n.before_us)'


class _Measure:
    """Time measured as one limit is: O(t) (joins and a value), T(x) and the deadline before pauses, as trees."""

    def __init__(self, tables: Tables, measure: rules.Measure):
        self.tables = tables
        self.business = measure.business
        self.calendar = literal(measure.business_calendar) if self.business else exp.Null()
        self.open_days = measure.open_days  # None: the limit is open time (business hours), not whole open days
        self.amount_us = measure.span_us or 0

    def _segments(self) -> dict[str, exp.Expr]:
        return {"#segments": exp.to_table(self.tables.segments), "#calendar": self.calendar}

    def at(self, alias: str, t: exp.Expr) -> tuple[list[exp.Join], exp.Expr]:
        """(joins, value): the measure at instant t, read from segment `alias`."""
        if not self.business:
            return [], t
        join = _join_of(SEGMENT_AT, alias, {**self._segments(), "#day": floor_div_of(t, DAY_US), "#t": t})
        return [join], _aliased(filled(MEASURE_AT, pieces={"#t": t}), alias)

    def instant(self, alias: str, x: exp.Expr) -> tuple[list[exp.Join], exp.Expr]:
        """(joins, value): the first instant at which the measure reaches x (x above zero)."""
        if not self.business:
            return [], x
        bucket = floor_div_of(filled('("#x") - 1', pieces={"#x": x}), BUCKET_US)
        join = _join_of(SEGMENT_REACHING, alias, {**self._segments(), "#bucket": bucket, "#x": x})
        return [join], _aliased(filled(INSTANT_REACHING, pieces={"#x": x}), alias)

    def base(self, source: exp.Query, start: str) -> exp.Select:
        """SELECT *, base_us (the deadline before pauses) FROM source, for clocks starting at column `start`."""
        start_at = exp.column(start, table="s")
        if not self.business:
            pieces = {"#start": start_at, "#amount": literal(self.amount_us), "#source": source}
            return filled_select(ELAPSED_BASE, pieces=pieces)
        joins_o, o_start = self.at("o", start_at)
        if self.open_days is None:
            joins_t, deadline = self.instant("t", exp.Add(this=o_start, expression=literal(self.amount_us)))
            return filled_select(HOURS_BASE, pieces={"#deadline": deadline, "#source": source},
                                 joins=[*joins_o, *joins_t])
        open_at = filled(OPEN_AT, pieces={"#x": o_start})
        tod = floor_mod_of(filled('"#open_at" + n.offset_us', pieces={"#open_at": open_at}), DAY_US)
        query = filled_select(DAYS_BASE, pieces={**self._segments(), "#tod": tod, "#source": source, "#x": o_start,
                                   "#bucket": floor_div_of(o_start, BUCKET_US),
                                   "#open_days": exp.to_table(self.tables.open_days), "#days": literal(self.open_days)})
        query.set("joins", [*(j.copy() for j in joins_o), *query.args["joins"]])
        return query


CLOCK_EVENTS = ('SELECT lead, event, at_us, seq, CASE WHEN "#is_start" THEN 1 WHEN "#is_stop" THEN 2 WHEN "#is_pause" '
                'THEN 3 ELSE 4 END AS kind FROM "#events" WHERE "#is_any"')
# Each time: starts and stops that differ from the one before (edges), each start paired with the next stop.
EDGES = ('SELECT * FROM (SELECT lead, event, at_us, seq, kind, LAG(kind) OVER (PARTITION BY lead ORDER BY at_us, seq) '
         'AS prev FROM ev WHERE kind IN (1, 2)) AS e WHERE kind <> COALESCE(prev, 2)')
EDGE_SPANS = ('SELECT lead, start_us, start_row, stop_us, stop_row, stop_event FROM (SELECT lead, kind, at_us AS '
              'start_us, seq AS start_row, LEAD(at_us) OVER (PARTITION BY lead ORDER BY at_us, seq) AS stop_us, '
              'LEAD(seq) OVER (PARTITION BY lead ORDER BY at_us, seq) AS stop_row, LEAD(event) OVER (PARTITION BY '
              'lead ORDER BY at_us, seq) AS stop_event FROM edges) AS e WHERE kind = 1')
INSIDE_EDGE_SPAN = ('(e.at_us > c.start_us OR (e.at_us = c.start_us AND e.seq > c.start_row)) AND (c.stop_us IS NULL '
                    'OR e.at_us < c.stop_us OR (e.at_us = c.stop_us AND e.seq < c.stop_row))')
# Once: a lead's first start, and the first stop at or after it.
FIRSTS = ('SELECT lead, start_us, start_row FROM (SELECT lead, at_us AS start_us, seq AS start_row, ROW_NUMBER() OVER '
          '(PARTITION BY lead ORDER BY at_us, seq) AS n FROM ev WHERE kind = 1) AS f WHERE n = 1')
FIRST_STOPS = ('SELECT lead, stop_us, stop_row, stop_event FROM (SELECT f.lead, e.at_us AS stop_us, e.seq AS stop_row, '
               'e.event AS stop_event, ROW_NUMBER() OVER (PARTITION BY f.lead ORDER BY e.at_us, e.seq) AS n FROM '
               'firsts AS f JOIN ev AS e ON e.lead = f.lead AND e.kind = 2 AND e.at_us >= f.start_us) AS s WHERE n = 1')
FIRST_SPANS = ('SELECT f.lead, f.start_us, f.start_row, s.stop_us, s.stop_row, s.stop_event FROM firsts AS f LEFT JOIN '
               'stops AS s ON s.lead = f.lead')
INSIDE_FIRST_SPAN = 'e.at_us >= c.start_us AND (c.stop_us IS NULL OR e.at_us < c.stop_us)'
TIERED_READ = ('SELECT c.*, COALESCE(r.tier, "#otherwise") AS tier FROM spans AS c LEFT JOIN "#tiers" AS r ON '
               'r.lead = c.lead AND r.start_row = c.start_row')
TIERED_OTHERWISE = 'SELECT c.*, "#otherwise" AS tier FROM spans AS c'
MARKS = ('SELECT c.lead, c.start_row, e.at_us, e.seq, e.kind, LAG(e.kind) OVER (PARTITION BY c.lead, c.start_row ORDER '
         'BY e.at_us, e.seq) AS prev FROM spans AS c JOIN ev AS e ON e.lead = c.lead AND e.kind IN (3, 4) AND '
         '"#inside"')
FLIPS = ('SELECT *, LEAD(at_us) OVER (PARTITION BY lead, start_row ORDER BY at_us, seq) AS next_us FROM marks WHERE '
         'kind <> COALESCE(prev, 4)')
PAUSES = ('SELECT p.lead, p.start_row, p.at_us AS ps, p.seq AS pseq, COALESCE(p.next_us, c.stop_us) AS pe FROM flips '
          'AS p JOIN spans AS c ON c.lead = p.lead AND c.start_row = p.start_row WHERE p.kind = 3')
IGNORED = 'SELECT (SELECT COUNT(*) FROM ev WHERE kind IN (3, 4)) - (SELECT COUNT(*) FROM flips) AS ignored'

# A tier's steps (CTEs numbered by the tier: `base` is `base0` for tier 0).
TIER_STEPS = frozenset({"base", "measured", "paused", "summed", "counted", "deadlines", "statused", "judged"})
MEASURED = ('SELECT c.lead, c.start_row, c.start_us, c.stop_us, c.stop_event, c.tier, c.base_us, "#m_base" AS m_base, '
            '"#m_start" AS m_start, "#m_end" AS m_end FROM base AS c')
PAUSED = ('SELECT p.lead, p.start_row, p.ps, p.pseq, p.pe, "#m_ps" AS m_ps, GREATEST("#m_pe" - "#m_ps", 0) AS amount '
          'FROM pauses AS p JOIN base AS c ON c.lead = p.lead AND c.start_row = p.start_row')
SUMMED = ('SELECT p.*, c.base_us, c.m_base, SUM(amount) OVER (PARTITION BY p.lead, p.start_row ORDER BY p.ps NULLS '
          'FIRST, p.pseq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum FROM paused AS p JOIN '
          'measured AS c ON c.lead = p.lead AND c.start_row = p.start_row')
# A pause counts while it starts below the deadline so far (see the module's docstring).
COUNTED = ('SELECT lead, start_row, SUM(CASE WHEN CASE WHEN COALESCE(cum, 0) = 0 THEN ps < base_us ELSE m_ps < m_base '
           '+ cum END THEN amount ELSE 0 END) AS paused_us, MAX(CASE WHEN pe IS NULL AND CASE WHEN COALESCE(cum, 0) = '
           '0 THEN ps < base_us ELSE m_ps < m_base + cum END THEN 1 ELSE 0 END) AS still_paused FROM summed GROUP BY '
           'lead, start_row')
MOVED = 'c.m_base + COALESCE(q.paused_us, 0)'
DEADLINES = ('SELECT c.*, COALESCE(q.paused_us, 0) AS paused_us, COALESCE(q.still_paused, 0) = 1 AS still_paused, '
             'CASE WHEN COALESCE(q.paused_us, 0) = 0 THEN c.base_us ELSE "#moved" END AS deadline_us, c.m_end - '
             'c.m_start - COALESCE(q.paused_us, 0) AS used_us, c.m_base - c.m_start AS full_us FROM measured AS c '
             'LEFT JOIN counted AS q ON q.lead = c.lead AND q.start_row = c.start_row')
STATUSED = ("SELECT *, CASE WHEN stop_us IS NOT NULL THEN CASE WHEN stop_us <= deadline_us THEN 'met' ELSE 'breached' "
            "END WHEN still_paused OR \"#now\" <= deadline_us THEN 'pending' ELSE 'breached' END AS status FROM "
            "deadlines")
JUDGED = ("SELECT lead, start_row, start_us, stop_us, stop_event, tier, deadline_us, status, used_us, paused_us, CASE "
          "WHEN status = 'breached' THEN COALESCE(stop_us, \"#now\") - deadline_us END AS late_us, full_us, "
          "\"#at_risk\" AS at_risk, \"#escalated\" AS escalated_to FROM statused")
REACHED = ('(CASE WHEN full_us = 0 THEN "#hundred" >= "#scaled" ELSE CAST(used_us AS DECIMAL(38, 0)) * "#hundred" >= '
           'CAST(full_us AS DECIMAL(38, 0)) * "#scaled" END)')
RUNNING_AND = 'stop_us IS NULL AND "#reached"'
NO_ESCALATION = "CAST(NULL AS VARCHAR)"
CLOCKS = ('SELECT "#sla" AS sla, lead, start_row, start_us, stop_us, stop_event, "#tier_text" AS tier, deadline_us, '
          'status, used_us, paused_us, late_us, full_us, at_risk, escalated_to FROM "#judged" AS j')

# Tiers: each clock's start (its lead, instant and local day), the lead's row as of then, its first tier.
STARTS = ('SELECT ROW_NUMBER() OVER (ORDER BY c.lead, c.start_row) AS "#clock", c.lead AS "#lead", c.start_row AS '
          '"#start_row", "#decided_at" AS "#now_us", DATE \'1970-01-01\' + CAST("#local_day" AS INTEGER) AS '
          '"#today" FROM spans AS c JOIN "#segments" AS z ON z.calendar = "#zone" AND z.day = "#utc_day" AND '
          'z.start_us <= c.start_us AND c.start_us < z.end_us')
ACTIVITY_AT_START = ('SELECT s."#clock" AS "#lead" FROM lp_starts AS s JOIN "#events" AS e ON e.lead = s."#lead" AND '
                     '"#seen" GROUP BY s."#clock", s."#now_us"')
ACTIVITY = 'SELECT * FROM "#counted" AS a'
CLOCK_LEADS = ('SELECT l.*, s."#clock", s."#lead", s."#start_row", s."#now_us", s."#today" FROM lp_starts AS s JOIN '
               '"#leads" AS l ON l."#id" = s."#lead"')
TIERS = 'SELECT "#lead" AS lead, "#start_row" AS start_row, "#choice" AS tier FROM "#decided" AS d'

# Counts: a lead's first `after` event opens a window; its events counted in it.
FIRST_AFTER = ('SELECT lead, start_us FROM (SELECT lead, at_us AS start_us, ROW_NUMBER() OVER (PARTITION BY lead '
               'ORDER BY at_us, seq) AS n FROM "#events" WHERE event = "#after") AS f WHERE n = 1')
COUNTED_IN_WINDOW = ("SELECT \"#sla\" AS sla, w.lead, w.start_us, w.base_us AS window_end_us, COUNT(e.seq) AS "
                     "n_events, \"#needed\" AS needed, CASE WHEN COUNT(e.seq) >= \"#needed\" THEN 'met' WHEN "
                     "\"#closed\" THEN 'breached' ELSE 'pending' END AS status FROM \"#windows\" AS w LEFT "
                     "JOIN \"#events\" AS e ON e.lead = w.lead AND e.event = \"#event\" AND \"#in_window\" "
                     "GROUP BY w.lead, w.start_us, w.base_us")
# The clock's moments the rules name (`rules.ClockMoment`), as the clock CTEs (`spans AS c`) hold them.
CLOCK_MOMENTS = {rules.ClockMoment.START: exp.column("start_us", table="c")}


def window_holds_sql(window: rules.Window, at: exp.Expr, start: exp.Expr, end: exp.Expr) -> exp.Expr:
    """`rules.Window.holds` in SQL: an event at `at` counts in the window from `start` to `end`."""
    after_start = exp.GTE(this=at, expression=start) if window.start_included else exp.GT(this=at, expression=start)
    before_end = (exp.LTE(this=at.copy(), expression=end) if window.end_included
                  else exp.LT(this=at.copy(), expression=end))
    return exp.and_(after_start, before_end)


def window_closed_sql(now: exp.Expr, end: exp.Expr) -> exp.Expr:
    """`rules.Window.closed` in SQL: the window's end is seen at `now`."""
    return at_or_before_now_sql(end, now)


def _numbered(query: exp.Expr, i: int) -> exp.Expr:
    """The query with each tier step it reads numbered for tier i."""

    def number(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not node.db and node.name in TIER_STEPS:
            node.set("this", exp.to_identifier(f"{node.name}{i}"))
        return node

    return query.transform(number)


class SlaSql:
    """The SQL of one SLA's clocks or counts at `now`, as sqlglot trees."""

    def __init__(self, policy: ir.Policy, sla: ir.Sla, now: dt.datetime, tables: Tables = DEFAULT_TABLES):
        self.policy, self.sla, self.tables = policy, sla, tables
        self.now = literal(to_us(now))

    def clock_rule(self) -> rules.ClockRule:
        """The SLA's clock rules, as the reference engine reads them."""
        return rules.clock_rule(self.sla)

    def query(self) -> exp.Query:
        """The SLA's clocks or counts."""
        if self.sla.clock is not None and self.sla.limit is not None:
            return self.clocks()
        if self.sla.counts:
            return self.counts()
        raise SlaSqlError(f"sla {self.sla.name} has no clock or count: volumes are counted per period")

    # ---------------------------------------------------------------- clocks
    def _clock_ctes(self) -> list[tuple[str, exp.Expr]]:
        """The clocks of the SLA (`spans`, with their `tier`) and their pauses (`pauses`)."""
        rule = self.clock_rule()
        pausing, resuming = sorted(rule.pauses.pausing), sorted(rule.pauses.resuming)
        ev = filled(CLOCK_EVENTS, pieces={
            "#is_start": is_one_of("event", list(rule.starts)), "#is_stop": is_one_of("event", list(rule.stops)),
            "#is_pause": is_one_of("event", pausing), "#events": exp.to_table(self.tables.events),
            "#is_any": is_one_of("event", [*rule.starts, *rule.stops, *pausing, *resuming])})
        if rule.each_time:
            spans = [("edges", filled(EDGES)), ("spans", filled(EDGE_SPANS))]
            inside = INSIDE_EDGE_SPAN
        else:
            spans = [("firsts", filled(FIRSTS)), ("stops", filled(FIRST_STOPS)),
                     ("spans", filled(FIRST_SPANS))]
            inside = INSIDE_FIRST_SPAN
        otherwise = {"#otherwise": literal(rule.otherwise.index)}
        tiered = (filled(TIERED_READ, pieces={**otherwise, "#tiers": exp.to_table(self.tables.tiers)})
                  if self.tables.tiers else filled(TIERED_OTHERWISE, pieces=otherwise))
        return [("ev", ev), *spans, ("tiered", tiered),
                ("marks", filled(MARKS, pieces={"#inside": filled(inside)})),
                ("flips", filled(FLIPS)), ("pauses", filled(PAUSES))]

    def ignored_tree(self) -> exp.Select:
        """How many pause and resume events the SLA ignores: outside any clock, or pausing a paused clock."""
        return with_ctes(self._clock_ctes(), filled_select(IGNORED))

    def ignored(self, dialect: str = "duckdb") -> str:
        return _written(self.ignored_tree(), dialect)

    def tiers_tree(self, leads: str, dialect: str = "duckdb") -> exp.Select:
        """(lead, start_row, tier) of each clock whose lead has a row in `leads` (its id as text in `#id`): the
        first tier whose condition holds as the policy decides the lead at the clock's start, from its row and
        its events up to and including the start; `otherwise` is the number of tiers. A clock whose lead has
        no row is not listed (it takes `otherwise`). The policy's parts are written for `dialect`."""
        from leadpolicy.warehouse.sqlgen import decisions_per_row

        policy = self.policy
        ctes = self._clock_ctes()
        ctes.append(("lp_starts", filled(STARTS, pieces={
            "#local_day": floor_div_of(filled("c.start_us + z.offset_us"), DAY_US),
            "#utc_day": floor_div_of(exp.column("start_us", table="c"), DAY_US),
            "#segments": exp.to_table(self.tables.segments), "#zone": literal(ZONE),
            "#decided_at": CLOCK_MOMENTS[rules.TIER_DECIDED_AT]})))
        activity = "lp_clock_activity"
        if policy.activity:
            ctes.append((activity, filled_select(ACTIVITY, pieces={"#counted": self._activity(dialect)})))
        ctes.append(("lp_clock_leads", filled(CLOCK_LEADS, pieces={"#leads": exp.to_table(leads)})))
        decided = decisions_per_row(policy, dialect, "lp_clock_leads", activity if policy.activity else None,
                                    "#clock")
        choice = self._tier_choice(dialect)
        return with_ctes(ctes, filled_select(TIERS, pieces={"#choice": choice, "#decided": decided}))

    def _activity(self, dialect: str) -> exp.Select:
        """The activity columns the policy reads, per clock, from the lead's events up to the clock's start."""
        from leadpolicy.warehouse.sqlgen import activity_columns_per_row

        names = sorted({op.event for op in self.policy.activity})
        seen = at_or_before_now_sql(filled("e.at_us"), filled('s."#now_us"'))  # up to the tier's moment
        counted = filled_select(ACTIVITY_AT_START, pieces={"#events": exp.to_table(self.tables.events), "#seen": seen})
        return counted.select(*activity_columns_per_row(self.policy, dialect), copy=False).where(
            exp.In(this=exp.column("event", table="e"), expressions=[literal(n) for n in names]), copy=False)

    def _tier_choice(self, dialect: str) -> exp.Expr:
        """The index of the first tier whose condition holds, else `otherwise`'s."""
        from leadpolicy.warehouse.sqlgen import condition_sql

        choice = exp.Case()
        rule = self.clock_rule()
        for tier in rule.tiers:
            if tier.condition is not None:
                holds = condition_sql(self.policy, tier.condition, dialect)
                choice = choice.when(holds, exp.Literal.number(tier.index))
        return choice.else_(exp.Literal.number(rule.otherwise.index))

    def clocks(self) -> exp.Select:
        rule = self.clock_rule()
        ctes = self._clock_ctes()
        finals: list[exp.Query] = []
        tier_text = exp.Case(this=exp.column("tier"))
        for tier in rule.tiers:
            ctes += [(f"{name}{tier.index}", query) for name, query in self._tier(tier.index, _Measure(self.tables,
                                                                                                      tier.measure))]
            finals.append(exp.select("*").from_(exp.to_table(f"judged{tier.index}")))
            tier_text = tier_text.when(exp.Literal.number(tier.index), literal(tier.text))
        body = filled_select(CLOCKS, pieces={"#sla": literal(rule.sla), "#tier_text": tier_text,
                                             "#judged": union_all(finals)})
        return with_ctes(ctes, body)

    def _tier(self, i: int, m: _Measure) -> list[tuple[str, exp.Expr]]:
        """The steps of tier i (named without their number), from its clocks' base deadline to their judgement."""
        source = filled_select("SELECT * FROM tiered WHERE tier = \"#tier\"", pieces={"#tier": literal(i)})
        joins_ps, m_ps = m.at("a", exp.column("ps", table="p"))
        joins_pe, m_pe = m.at("b", exp.func("COALESCE", exp.column("pe", table="p"), self.now))
        joins_mb, m_base = m.at("mb", exp.column("base_us", table="c"))
        joins_ms, m_start = m.at("ms", exp.column("start_us", table="c"))
        joins_me, m_end = m.at("me", exp.func("COALESCE", exp.column("stop_us", table="c"), self.now))
        steps: list[tuple[str, exp.Expr]] = [
            ("base", m.base(source, "start_us")),
            ("measured", filled_select(MEASURED, pieces={"#m_base": m_base, "#m_start": m_start, "#m_end": m_end},
                                joins=[*joins_mb, *joins_ms, *joins_me])),
            ("paused", filled_select(PAUSED, pieces={"#m_ps": m_ps, "#m_pe": m_pe},
                                      joins=[*joins_ps, *joins_pe])),
            ("summed", filled(SUMMED)),
            ("counted", filled(COUNTED)),
            *self._judged(m),
        ]
        return [(name, _numbered(query, i)) for name, query in steps]

    def _judged(self, m: _Measure) -> list[tuple[str, exp.Expr]]:
        joins_d, moved = m.instant("t", filled(MOVED))
        thresholds = self.clock_rule().thresholds
        hundred = literal(100 * thresholds.scale)

        def running_and_reached(percent: Decimal) -> exp.Expr:
            reached = filled(REACHED, pieces={"#hundred": hundred, "#scaled": literal(thresholds.scaled(percent))})
            return filled(RUNNING_AND, pieces={"#reached": reached})

        warn_at = thresholds.warn_at
        at_risk = running_and_reached(warn_at) if warn_at is not None else exp.false()
        steps = thresholds.highest_first()
        escalated: exp.Expr = filled(NO_ESCALATION)
        if steps:
            escalated = exp.Case()
            for percent, to in steps:
                escalated = escalated.when(running_and_reached(percent), literal(to))
        return [
            ("deadlines", filled_select(DEADLINES, pieces={"#moved": moved}, joins=joins_d)),
            ("statused", filled(STATUSED, pieces={"#now": self.now})),
            ("judged", filled(JUDGED, pieces={"#now": self.now, "#at_risk": at_risk, "#escalated": escalated})),
        ]

    # ---------------------------------------------------------------- counts
    def counts(self) -> exp.Query:
        parts: list[exp.Query] = []
        events = exp.to_table(self.tables.events)
        for rule in self.sla.counts:
            m = _Measure(self.tables, rules.measure(rule.within))
            firsts = filled_select(FIRST_AFTER, pieces={"#events": events, "#after": literal(rule.after)})
            needed = literal(int(rule.at_least))
            end = exp.column("base_us", table="w")
            in_window = window_holds_sql(rules.COUNT_WINDOW, exp.column("at_us", table="e"),
                                         exp.column("start_us", table="w"), end)
            parts.append(filled_select(COUNTED_IN_WINDOW, pieces={
                "#sla": literal(self.sla.name), "#needed": needed, "#closed": window_closed_sql(self.now, end),
                "#in_window": in_window, "#events": events, "#windows": m.base(firsts, "start_us"),
                "#event": literal(rule.event)}))
        return union_all(parts)


def _written(query: exp.Expr, dialect: str) -> str:
    return query.sql(dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
