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

Text from the policy reaches the query only as literals (sqlglot placeholders); the template holds
our own names.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from leadpolicy.semantics import ir
from leadpolicy.sla import rules
from leadpolicy.sla.calendar_tables import BUCKET_US, DAY_US, to_us

ELAPSED_US = {"minutes": 60_000_000, "hours": 3_600_000_000, "days": DAY_US}
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


def literal(value: Any) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)):
        text = format(Decimal(value), "f")
        return exp.Literal.number(text) if not text.startswith("-") else exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.string(str(value))


PLACEHOLDER = re.compile(r'(IN \()?"(#[a-z]+[0-9]*|#piece_[a-z]+)"(\))?')


def fill(template: str, values: dict[str, Any], dialect: str = "duckdb",
         pieces: dict[str, exp.Expr] | None = None) -> str:
    """The template (DuckDB SQL) with each placeholder, a quoted name that is a key of `values`, made a
    literal (a list fills an `IN ("#name")`; an empty one matches nothing), and each key of `pieces` (as a
    column or a table) made that expression or subquery. DuckDB's text is the template with these put in
    place in one pass, so nothing put in is read again for placeholders; another dialect's is the
    template parsed, its placeholders replaced in the tree, and written in that dialect."""
    pieces = pieces or {}
    if dialect != "duckdb":
        return fill_tree(template, values, pieces).sql(dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)

    def swap(match: re.Match[str]) -> str:
        name = match.group(2)
        if name in pieces:
            inner = pieces[name].sql("duckdb")
            return (match.group(1) or "") + (f"({inner})" if isinstance(pieces[name], exp.Query) else inner) + (
                match.group(3) or "")
        if name not in values:
            return match.group(0)
        value = values[name]
        if match.group(1) and match.group(3) and isinstance(value, list):
            items = ", ".join(literal(v).sql("duckdb") for v in value)
            return f"IN ({items or 'SELECT NULL WHERE false'})"
        return (match.group(1) or "") + literal(value).sql("duckdb") + (match.group(3) or "")

    return PLACEHOLDER.sub(swap, template)


def fill_tree(template: str, values: dict[str, Any], pieces: dict[str, exp.Expr] | None = None) -> exp.Expr:
    """`fill` as a tree, to be written in any dialect (the pieces must be in that dialect already)."""
    pieces = pieces or {}
    tree = sqlglot.parse_one(template, read="duckdb")

    def placeholder(node: exp.Expr) -> bool:
        return isinstance(node, exp.Column) and not node.table and node.name in values

    def swap_node(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name in pieces:
            return exp.Subquery(this=pieces[node.name].copy(), alias=node.args.get("alias"))
        if isinstance(node, exp.Column) and not node.table and node.name in pieces:
            return pieces[node.name].copy()
        if isinstance(node, exp.In) and len(node.expressions) == 1 and placeholder(node.expressions[0]):
            items = values[node.expressions[0].name]
            if not items:
                return exp.false()
            return exp.In(this=node.this, expressions=[literal(v) for v in items])
        if placeholder(node):
            return literal(values[node.name])
        return node

    return tree.transform(swap_node)


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
    return exp.Paren(this=sqlglot.parse_one(text, read="duckdb"))


def utc_day(t: str) -> str:
    return floor_div(t, DAY_US)


class _Measure:
    """Time measured as one limit is: the SQL for O(t) (a join and a value), T(x) and next-open lookups."""

    def __init__(self, sql: "SlaSql", measure: rules.Measure):
        self.sql = sql
        self.unit = measure.unit
        self.business = measure.business
        self.calendar = sql.placeholder(measure.business_calendar) if self.business else None
        self.days = measure.open_days or 0
        self.amount_us = measure.span_us or 0

    def at(self, alias: str, t: str) -> tuple[str, str]:
        """(join, value): the measure at instant t, read from segment `alias`."""
        if not self.business:
            return "", t
        segments = self.sql.tables.segments
        join = (f" LEFT JOIN {segments} AS {alias} ON {alias}.calendar = {self.calendar} AND {alias}.day = "
                f"{utc_day(t)} AND {alias}.start_us <= {t} AND {t} < {alias}.end_us")
        return join, f"({alias}.before_us + CASE WHEN {alias}.open THEN {t} - {alias}.start_us ELSE 0 END)"

    def instant(self, alias: str, x: str) -> tuple[str, str]:
        """(join, value): the first instant at which the measure reaches x (x above zero)."""
        if not self.business:
            return "", x
        segments = self.sql.tables.segments
        bucket = floor_div(f"({x}) - 1", BUCKET_US)
        join = (f" LEFT JOIN {segments} AS {alias} ON {alias}.calendar = {self.calendar} AND {alias}.open AND "
                f"{alias}.bucket = {bucket} AND "
                f"{alias}.before_us < {x} AND {x} <= {alias}.before_us + {alias}.end_us - {alias}.start_us")
        return join, f"({alias}.start_us + ({x}) - {alias}.before_us)"

    def base(self, source: str, start: str) -> str:
        """SELECT *, base_us (the deadline before pauses) FROM source, for clocks starting at `start`."""
        if not self.business:
            return f"SELECT s.*, s.{start} + {self.amount_us} AS base_us FROM {source} AS s"
        join_o, o_start = self.at("o", f"s.{start}")
        if self.unit == "business hours":
            join_t, deadline = self.instant("t", f"{o_start} + {self.amount_us}")
            return f"SELECT s.*, {deadline} AS base_us FROM {source} AS s{join_o}{join_t}"
        # Business days: the first open moment at or after the start, then its local time of day on the
        # open day `days` later, turned into an instant as that day's offsets say.
        segments, days = self.sql.tables.segments, self.sql.tables.open_days
        x = o_start
        open_at = f"(n.start_us + {x} - n.before_us)"
        tod = floor_mod(f"{open_at} + n.offset_us", DAY_US)
        return (f"SELECT s.*, d.midnight_us + {tod} - CASE WHEN {tod} >= d.switch_us THEN d.offset_b ELSE d.offset_a "
                f"END AS base_us FROM {source} AS s{join_o} LEFT JOIN {segments} AS n ON n.calendar = "
                f"{self.calendar} AND n.open AND n.bucket = {floor_div(x, BUCKET_US)} "
                f"AND n.before_us <= {x} AND {x} < n.before_us + n.end_us - n.start_us LEFT JOIN {days} AS d ON "
                f"d.calendar = {self.calendar} AND d.open_day = n.open_day + {self.days}")


class SlaSql:
    """The SQL of one SLA's clocks or counts at `now`."""

    def __init__(self, policy: ir.Policy, sla: ir.Sla, now: dt.datetime, tables: Tables = DEFAULT_TABLES):
        self.policy, self.sla, self.tables = policy, sla, tables
        self.now_us = to_us(now)
        self.values: dict[str, Any] = {}  # placeholder -> literal value
        self.pieces: dict[str, exp.Expr] = {}  # placeholder -> SQL made from the policy, in the target dialect

    def clock_rule(self) -> rules.ClockRule:
        """The SLA's clock rules, as the reference engine reads them."""
        return rules.clock_rule(self.sla)

    def placeholder(self, value: Any) -> str:
        name = f"#v{len(self.values)}"
        self.values[name] = value
        return f'"{name}"'

    def query(self, dialect: str = "duckdb") -> str:
        if self.sla.clock is not None and self.sla.limit is not None:
            return fill(self.clocks(), self.values, dialect)
        if self.sla.counts:
            return fill(self.counts(), self.values, dialect)
        raise SlaSqlError(f"sla {self.sla.name} has no clock or count: volumes are counted per period")

    # ---------------------------------------------------------------- clocks
    def _clock_ctes(self) -> list[str]:
        """The clocks of the SLA (`spans`, with their `tier`) and their pauses (`pauses`)."""
        rule = self.clock_rule()
        pausing, resuming = sorted(rule.pauses.pausing), sorted(rule.pauses.resuming)
        events = self.tables.events
        ev = (f"SELECT lead, event, at_us, seq, CASE WHEN event IN ({self.placeholder(list(rule.starts))}) THEN 1 "
              f"WHEN event IN ({self.placeholder(list(rule.stops))}) THEN 2 "
              f"WHEN event IN ({self.placeholder(pausing)}) THEN 3 ELSE 4 END AS kind FROM {events} "
              f"WHERE event IN ({self.placeholder([*rule.starts, *rule.stops, *pausing, *resuming])})")
        order = "PARTITION BY lead ORDER BY at_us, seq"
        if rule.each_time:
            spans = (
                f"edges AS (SELECT * FROM (SELECT lead, event, at_us, seq, kind, LAG(kind) OVER ({order}) AS prev "
                "FROM ev WHERE kind IN (1, 2)) AS e WHERE kind <> COALESCE(prev, 2)), "
                f"spans AS (SELECT lead, start_us, start_row, stop_us, stop_row, stop_event FROM (SELECT lead, kind, "
                f"at_us AS start_us, seq AS start_row, LEAD(at_us) OVER ({order}) AS stop_us, LEAD(seq) OVER "
                f"({order}) AS stop_row, LEAD(event) OVER ({order}) AS stop_event FROM edges) AS e WHERE kind = 1)")
            inside = ("(e.at_us > c.start_us OR (e.at_us = c.start_us AND e.seq > c.start_row)) AND (c.stop_us IS "
                      "NULL OR e.at_us < c.stop_us OR (e.at_us = c.stop_us AND e.seq < c.stop_row))")
        else:
            spans = (
                f"firsts AS (SELECT lead, start_us, start_row FROM (SELECT lead, at_us AS start_us, seq AS start_row, "
                f"ROW_NUMBER() OVER ({order}) AS n FROM ev WHERE kind = 1) AS f WHERE n = 1), "
                "stops AS (SELECT lead, stop_us, stop_row, stop_event FROM (SELECT f.lead, e.at_us AS stop_us, e.seq "
                "AS stop_row, e.event AS stop_event, ROW_NUMBER() OVER (PARTITION BY f.lead ORDER BY e.at_us, e.seq) "
                "AS n FROM firsts AS f JOIN ev AS e ON e.lead = f.lead AND e.kind = 2 AND e.at_us >= f.start_us) AS s "
                "WHERE n = 1), "
                "spans AS (SELECT f.lead, f.start_us, f.start_row, s.stop_us, s.stop_row, s.stop_event FROM firsts "
                "AS f LEFT JOIN stops AS s ON s.lead = f.lead)")
            inside = "e.at_us >= c.start_us AND (c.stop_us IS NULL OR e.at_us < c.stop_us)"
        tiers = self.tables.tiers
        tier_of = (f"LEFT JOIN {tiers} AS r ON r.lead = c.lead AND r.start_row = c.start_row" if tiers else "")
        otherwise = rule.otherwise.index
        ctes = [
            f"ev AS ({ev})", spans,
            f"tiered AS (SELECT c.*, {'COALESCE(r.tier, ' + str(otherwise) + ')' if tiers else str(otherwise)} AS tier "
            f"FROM spans AS c {tier_of})",
            "marks AS (SELECT c.lead, c.start_row, e.at_us, e.seq, e.kind, LAG(e.kind) OVER (PARTITION BY c.lead, "
            f"c.start_row ORDER BY e.at_us, e.seq) AS prev FROM spans AS c JOIN ev AS e ON e.lead = c.lead AND "
            f"e.kind IN (3, 4) AND {inside})",
            "flips AS (SELECT *, LEAD(at_us) OVER (PARTITION BY lead, start_row ORDER BY at_us, seq) AS next_us "
            "FROM marks WHERE kind <> COALESCE(prev, 4))",
            "pauses AS (SELECT p.lead, p.start_row, p.at_us AS ps, p.seq AS pseq, COALESCE(p.next_us, c.stop_us) "
            "AS pe FROM flips "
            "AS p JOIN spans AS c ON c.lead = p.lead AND c.start_row = p.start_row WHERE p.kind = 3)",
        ]
        return ctes

    def ignored(self, dialect: str = "duckdb") -> str:
        """How many pause and resume events the SLA ignores: outside any clock, or pausing a paused clock."""
        ctes = self._clock_ctes()
        return fill(f"WITH {', '.join(ctes)} SELECT (SELECT COUNT(*) FROM ev WHERE kind IN (3, 4)) - "
                    "(SELECT COUNT(*) FROM flips) AS ignored", self.values, dialect)

    def tiers(self, leads: str, dialect: str = "duckdb") -> str:
        return fill(self.tiers_template(leads, dialect), self.values, dialect, self.pieces)

    def tiers_template(self, leads: str, dialect: str = "duckdb") -> str:
        """(lead, start_row, tier) of each clock whose lead has a row in `leads` (its id as text in `#id`): the
        first tier whose condition holds as the policy decides the lead at the clock's start, from its row and
        its events up to and including the start; `otherwise` is the number of tiers. A clock whose lead has
        no row is not listed (it takes `otherwise`)."""
        from leadpolicy.warehouse.sqlgen import activity_columns_per_row, condition_sql, decisions_per_row

        policy = self.policy
        ctes = self._clock_ctes()
        segments = self.tables.segments
        zone = self.placeholder(ZONE)
        local_day = floor_div("c.start_us + z.offset_us", DAY_US)
        ctes.append(
            'lp_starts AS (SELECT ROW_NUMBER() OVER (ORDER BY c.lead, c.start_row) AS "#clock", c.lead AS "#lead", '
            f'c.start_row AS "#start_row", c.start_us AS "#now_us", DATE \'1970-01-01\' + CAST({local_day} AS INTEGER) '
            f'AS "#today" FROM spans AS c JOIN {segments} AS z ON z.calendar = {zone} AND z.day = '
            f"{utc_day('c.start_us')} AND z.start_us <= c.start_us AND c.start_us < z.end_us)")
        activity = "lp_clock_activity"
        if policy.activity:
            names = sorted({op.event for op in policy.activity})
            counted = sqlglot.parse_one(
                f'SELECT s."#clock" AS "#lead" FROM lp_starts AS s JOIN {self.tables.events} AS e ON e.lead = '
                's."#lead" AND e.at_us <= s."#now_us" GROUP BY s."#clock", s."#now_us"', read="duckdb")
            assert isinstance(counted, exp.Select)
            counted = counted.select(*activity_columns_per_row(policy, dialect), copy=False).where(
                exp.In(this=exp.column("event", table="e"), expressions=[literal(n) for n in names]), copy=False)
            self.pieces["#piece_activity"] = counted
            ctes.append(f'{activity} AS (SELECT * FROM "#piece_activity" AS a)')
        ctes.append('lp_clock_leads AS (SELECT l.*, s."#clock", s."#lead", s."#start_row", s."#now_us", s."#today" '
                    f'FROM lp_starts AS s JOIN {leads} AS l ON l."#id" = s."#lead")')
        self.pieces["#piece_decided"] = decisions_per_row(policy, dialect, "lp_clock_leads",
                                                          activity if policy.activity else None, "#clock")
        choice = exp.Case()
        rule = self.clock_rule()
        for tier in rule.tiers:
            if tier.condition is not None:
                choice = choice.when(condition_sql(policy, tier.condition, dialect), exp.Literal.number(tier.index))
        self.pieces["#piece_choice"] = choice.else_(exp.Literal.number(rule.otherwise.index))
        return (f'WITH {", ".join(ctes)} SELECT "#lead" AS lead, "#start_row" AS start_row, "#piece_choice" AS '
                'tier FROM "#piece_decided" AS d')

    def clocks(self) -> str:
        rule = self.clock_rule()
        ctes = self._clock_ctes()
        finals = []
        for tier in rule.tiers:
            ctes += self._tier(tier.index, _Measure(self, tier.measure))
            finals.append(f"SELECT * FROM judged{tier.index}")
        tier_text = "CASE tier " + " ".join(f"WHEN {t.index} THEN {self.placeholder(t.text)}" for t in rule.tiers) + \
            " END"
        return (f"WITH {', '.join(ctes)} SELECT {self.placeholder(rule.sla)} AS sla, lead, start_row, start_us, "
                f"stop_us, stop_event, {tier_text} AS tier, deadline_us, status, used_us, paused_us, late_us, "
                f"full_us, at_risk, escalated_to FROM ({' UNION ALL '.join(finals)}) AS j")

    def _tier(self, i: int, m: _Measure) -> list[str]:
        now = self.now_us
        based = m.base(f"(SELECT * FROM tiered WHERE tier = {i})", "start_us")
        join_ps, m_ps = m.at("a", "p.ps")
        join_pe, m_pe = m.at("b", f"COALESCE(p.pe, {now})")
        join_mb, m_base = m.at("mb", "c.base_us")
        counted = ("CASE WHEN COALESCE(cum, 0) = 0 THEN ps < base_us ELSE m_ps < m_base + cum END")
        join_ms, m_start = m.at("ms", "c.start_us")
        join_me, m_end = m.at("me", f"COALESCE(c.stop_us, {now})")
        return [
            f"base{i} AS ({based})",
            f"measured{i} AS (SELECT c.lead, c.start_row, c.start_us, c.stop_us, c.stop_event, c.tier, c.base_us, "
            f"{m_base} AS m_base, {m_start} AS m_start, {m_end} AS m_end FROM base{i} AS c{join_mb}{join_ms}{join_me})",
            f"paused{i} AS (SELECT p.lead, p.start_row, p.ps, p.pseq, p.pe, {m_ps} AS m_ps, "
            f"GREATEST({m_pe} - {m_ps}, 0) AS "
            f"amount FROM pauses AS p JOIN base{i} AS c ON c.lead = p.lead AND c.start_row = p.start_row"
            f"{join_ps}{join_pe})",
            f"summed{i} AS (SELECT p.*, c.base_us, c.m_base, SUM(amount) OVER (PARTITION BY p.lead, p.start_row "
            "ORDER BY p.ps NULLS FIRST, p.pseq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum "
            "FROM "
            f"paused{i} AS p JOIN measured{i} AS c ON c.lead = p.lead AND c.start_row = p.start_row)",
            f"counted{i} AS (SELECT lead, start_row, SUM(CASE WHEN {counted} THEN amount ELSE 0 END) AS paused_us, "
            f"MAX(CASE WHEN pe IS NULL AND {counted} THEN 1 ELSE 0 END) AS still_paused FROM summed{i} "
            "GROUP BY lead, start_row)",
            *self._judged(i, m),
        ]

    def _judged(self, i: int, m: _Measure) -> list[str]:
        now = self.now_us
        join_d, moved = m.instant("t", "c.m_base + COALESCE(q.paused_us, 0)")
        deadline = f"CASE WHEN COALESCE(q.paused_us, 0) = 0 THEN c.base_us ELSE {moved} END"
        thresholds = self.clock_rule().thresholds
        percent_scale = thresholds.scale

        def reached(percent: Decimal) -> str:
            scaled = thresholds.scaled(percent)
            return (f"(CASE WHEN full_us = 0 THEN {100 * percent_scale} >= {scaled} ELSE CAST(used_us AS "
                    f"DECIMAL(38, 0)) * {100 * percent_scale} >= CAST(full_us AS DECIMAL(38, 0)) * {scaled} END)")

        warn_at = thresholds.warn_at
        at_risk = f"stop_us IS NULL AND {reached(warn_at)}" if warn_at is not None else "false"
        steps = thresholds.highest_first()
        escalated = ("CASE " + " ".join(f"WHEN stop_us IS NULL AND {reached(percent)} THEN {self.placeholder(to)}"
                                         for percent, to in steps) + " END") if steps else "CAST(NULL AS VARCHAR)"
        return [
            f"deadlines{i} AS (SELECT c.*, COALESCE(q.paused_us, 0) AS paused_us, COALESCE(q.still_paused, 0) = 1 "
            f"AS still_paused, {deadline} AS deadline_us, c.m_end - c.m_start - COALESCE(q.paused_us, 0) AS used_us, "
            f"c.m_base - c.m_start AS full_us FROM measured{i} AS c LEFT JOIN counted{i} AS q ON q.lead = c.lead AND "
            f"q.start_row = c.start_row{join_d})",
            f"statused{i} AS (SELECT *, CASE WHEN stop_us IS NOT NULL THEN CASE WHEN stop_us <= deadline_us THEN 'met' "
            f"ELSE 'breached' END WHEN still_paused OR {now} <= deadline_us THEN 'pending' ELSE 'breached' END AS "
            f"status FROM deadlines{i})",
            f"judged{i} AS (SELECT lead, start_row, start_us, stop_us, stop_event, tier, deadline_us, status, used_us, "
            f"paused_us, CASE WHEN status = 'breached' THEN COALESCE(stop_us, {now}) - deadline_us END AS late_us, "
            f"full_us, {at_risk} AS at_risk, {escalated} AS escalated_to FROM statused{i})",
        ]

    # ---------------------------------------------------------------- counts
    def counts(self) -> str:
        parts = []
        for rule in self.sla.counts:
            m = _Measure(self, rules.measure(rule.within))
            after, event = self.placeholder(rule.after), self.placeholder(rule.event)
            firsts = (f"(SELECT lead, start_us FROM (SELECT lead, at_us AS start_us, ROW_NUMBER() OVER (PARTITION BY "
                      f"lead ORDER BY at_us, seq) AS n FROM {self.tables.events} WHERE event = {after}) AS f "
                      "WHERE n = 1)")
            windows = m.base(firsts, "start_us")
            needed = int(rule.at_least)
            parts.append(
                f"SELECT {self.placeholder(self.sla.name)} AS sla, w.lead, w.start_us, w.base_us AS window_end_us, "
                f"COUNT(e.seq) AS n_events, {needed} AS needed, CASE WHEN COUNT(e.seq) >= {needed} THEN 'met' WHEN "
                f"{self.now_us} >= w.base_us THEN 'breached' ELSE 'pending' END AS status FROM ({windows}) AS w LEFT "
                f"JOIN {self.tables.events} AS e ON e.lead = w.lead AND e.event = {event} AND e.at_us >= w.start_us "
                "AND e.at_us <= w.base_us GROUP BY w.lead, w.start_us, w.base_us")
        return " UNION ALL ".join(parts)

