"""Compile a policy's IR to one SQL SELECT, as sqlglot expression trees, for several dialects.

The query reads a leads table with typed columns (text as VARCHAR, numbers as a numeric
type, yes/no as BOOLEAN, dates as DATE, timestamps as TIMESTAMP WITH TIME ZONE) and
returns every column plus one column per score and grade, and `stage`, `owner`, `route`.
SQL's own three-valued logic is the language's: a missing value is NULL, and a CASE
branch is taken only when its condition is TRUE.

Nothing is formatted into SQL text by hand: identifiers are quoted by sqlglot, texts are
sqlglot string literals (escaped per dialect), and numbers come from validated decimals.
Dialect differences are data (`DIALECTS`), and anything a dialect cannot express raises
`UnsupportedError` rather than giving wrong SQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from leadpolicy import zones
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.sql import (
    BLANK_CHARS,
    DIALECTS,
    EPOCH,
    UnsupportedError,
    activity_column,
    at_or_before_now_sql,
    build_clamp,
    build_condition,
    build_decay,
    build_decay_join,
    build_operand,
    build_rule,
    build_window,
    epoch_us,
    epoch_us_sql,
    event_lead_sql,
    fold_sql,
    lit,
    number_sql,
    score_sum,
    without_events_sql,
)

# The SQL backend's names other modules use; the value helpers are defined with the table of primitives
# (`semantics.primitives.sql`), where new code imports them from.
__all__ = ["BLANK_CHARS", "DIALECTS", "EPOCH", "EVENT_COLUMNS", "BadName", "UnsupportedError", "activity_column",
           "activity_columns", "activity_columns_per_row", "check_name", "compile_sql", "compile_tree", "condition_sql",
           "decisions_per_row", "epoch_us", "epoch_us_sql", "fold_column", "fold_sql", "table_sql"]


class BadName(ValueError):
    """A table or column name that cannot be one quoted identifier: empty, blank, or holding a
    character that is not printable (a newline would end the comment that names it)."""


def check_name(name: str, what: str) -> str:
    """The name, if it can be written into SQL (and its comments) as it is. Raises BadName."""
    if not name.strip():
        raise BadName(f"{what}: a name cannot be empty or blank")
    bad = next((ch for ch in name if not ch.isprintable()), None)
    if bad is not None:
        raise BadName(f"{what}: {name!r} holds {bad!r}, which is not printable; names are printable text")
    return name


def table_sql(name: str, what: str = "table") -> exp.Table:
    """The table `TABLE`, `SCHEMA.TABLE` or `CATALOG.SCHEMA.TABLE`, each part a quoted identifier
    (the parts are split at dots and used exactly as written). Raises BadName."""
    parts = check_name(name, what).split(".")
    if len(parts) > 3 or any(not part.strip() for part in parts):
        raise BadName(f"{what}: {name!r} is not TABLE, SCHEMA.TABLE or CATALOG.SCHEMA.TABLE")
    table, schema, catalog = [exp.to_identifier(part, quoted=True) for part in reversed(parts)] + [None] * (
        3 - len(parts))
    return exp.Table(this=table, db=schema, catalog=catalog)


def fold_column(key: tuple[str, bool]) -> str:
    """The helper column holding a text field folded (`raw`: without the blank-to-NULL step)."""
    name, raw = key
    return f"#fold{'-raw' if raw else ''}:{name}"


EVENT_COLUMNS = ("lead", "event", "at")  # an events table: which lead, what it did, when
NOW_COLUMN, TODAY_COLUMN = "#now_us", "#today"  # a row's own evaluation time (see `_SqlGen`)


class _SqlGen:
    def __init__(self, policy: ir.Policy, dialect: str, now: dt.datetime, per_row_now: bool = False):
        """`per_row_now`: each row carries its own evaluation time, as epoch microseconds in column `#now_us`
        and as the policy's local date in `#today`, and its events' times as epoch microseconds in
        `at_us` (`now` is then unused)."""
        if dialect not in DIALECTS:
            raise UnsupportedError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
        self.policy, self.dialect, self.now = policy, dialect, now
        self.fields = {f.name: f for f in policy.fields}
        self.factor_alias = "lpf"
        self.today_date = now.astimezone(zones.zone(policy.timezone)).date()
        self.now_epoch_us = epoch_us(now)
        self.per_row_now = per_row_now
        # A text field folded in several conditions is folded once, in a first layer (see `query`).
        self.folds: dict[tuple[str, bool], int] = {}  # (field, read raw) -> how many conditions fold it
        self.folded_once: set[tuple[str, bool]] = set()

    # ------------------------------------------------------------ values
    def column(self, name: str) -> exp.Expr:
        return exp.column(name, quoted=True)

    def field_value(self, name: str) -> exp.Expr:
        """A lead field as the language reads it: blank text is missing, then the default."""
        f = self.fields[name]
        col = self.column(name)
        if f.type.textual:
            blank = exp.EQ(this=exp.Trim(this=col.copy(), expression=exp.Literal.string(BLANK_CHARS)),
                           expression=exp.Literal.string(""))
            value: exp.Expr = exp.Case().when(blank, exp.Null()).else_(col)
        else:
            value = col
        if f.default is not None:
            default: Any = f.default
            if f.type is Type.DATE:
                default = dt.date.fromisoformat(str(default))
            elif f.type is Type.TIMESTAMP:
                raise UnsupportedError("a default for a timestamp field is not supported in SQL")
            elif f.type is Type.NUMBER:
                default = Decimal(str(default))
            value = exp.Coalesce(this=value, expressions=[lit(default)])
        return value

    def field(self, name: str) -> ir.Field:
        return self.fields[name]

    def epoch_us(self, value: exp.Expr) -> exp.Expr:
        return epoch_us_sql(value, self.dialect)

    def now_us(self) -> exp.Expr:
        """The evaluation time in epoch microseconds: the row's own, or the query's literal."""
        return self.column(NOW_COLUMN) if self.per_row_now else exp.Literal.number(self.now_epoch_us)

    def today(self) -> exp.Expr:
        """The evaluation time's date in the policy's timezone."""
        return self.column(TODAY_COLUMN) if self.per_row_now else lit(self.today_date)

    def activity_columns(self, at_us: exp.Expr | None = None) -> list[exp.Expr]:
        """Each event window's count and each `days since last` as aggregates over rows (lead, event, at)
        that are at or before `now` (the windows row: `primitives.sql.window_sql`); `at_us`: the rows' times
        in epoch microseconds, if they carry them (with a row's own `now`, column `at_us`)."""
        event, at = self.column("event"), self.column("at")
        if at_us is None:
            at_us = self.column("at_us") if self.per_row_now else self.epoch_us(at)
        now_us: exp.Expr | int = self.now_us() if self.per_row_now else self.now_epoch_us
        return [exp.alias_(build_window(op, event, at_us.copy(), now_us), activity_column(op), quoted=True)
                for op in self.policy.activity]

    def activity(self, events_table: str) -> exp.Select:
        """One row per lead with events (`#lead`, its id as text), its `activity_columns`. The events are read as
        score reads them: the lead id trimmed (`event_lead_sql`), and a row repeating another's (lead, event,
        instant) counted once (`semantics.events.Repeats`; the query rejects nothing, it has no rejects file).
        Only rows at or before `now` are kept, and a row after it is never a repeat, so keeping the distinct
        keys of those rows is the rule."""
        lead, event, at = (self.column(c) for c in EVENT_COLUMNS)
        names = sorted({op.event for op in self.policy.activity})
        at_us = self.epoch_us(at)
        wanted = exp.and_(exp.In(this=event.copy(), expressions=[exp.Literal.string(n) for n in names]),
                          at_or_before_now_sql(at_us.copy(), exp.Literal.number(self.now_epoch_us)))
        once = (exp.select(exp.alias_(event_lead_sql(lead), "lead", quoted=True), event,
                           exp.alias_(at_us, "at_us", quoted=True))
                .distinct().from_(table_sql(events_table, "events table")).where(wanted))
        return (exp.select(exp.alias_(self.column("lead"), "#lead", quoted=True),
                           *self.activity_columns(self.column("at_us")))
                .from_(once.subquery("lp_events")).group_by(self.column("lead")))

    def operand(self, op: ir.Operand, how: ir.Fold = ir.Fold.NONE, raw: bool = False) -> exp.Expr:
        """An operand's SQL (its row's builder). `raw`: a text field without the blank-to-NULL step (see
        `condition`)."""
        return build_operand(self, op, how, raw)

    def folded_field(self, key: tuple[str, bool], value: exp.Expr) -> exp.Expr:
        """A text field folded (`key`: its name, read raw): from a first layer when several conditions fold
        it (see `query`), else `value` folded here."""
        self.folds[key] = self.folds.get(key, 0) + 1
        return self.column(fold_column(key)) if key in self.folded_once else fold_sql(value, self.dialect)

    # ------------------------------------------------------------ conditions
    def condition(self, cond: ir.Condition, positive: bool = True) -> exp.Expr:
        """The SQL of a condition; `positive` when it stands under an even number of `not`s.

        A decision needs a condition to be TRUE, and and/or only pass TRUE up from TRUE parts, so
        in a positive place an atom that is FALSE on a blank text (`false_when_blank`, decided at
        lowering) decides exactly as one that is unknown: its text column is read raw, without
        the blank-to-NULL CASE.
        """
        return build_condition(self, cond, positive)

    # ------------------------------------------------------------ scores, grades, stages, routes
    def score(self, s: ir.Score) -> exp.Expr:
        """A score's value: its rules' rows summed, then decay, rounding and the clamp (their rows)."""
        terms = [build_rule(self, rule, s) for rule in s.rules] or [number_sql(Decimal(0), s.scale)]
        total = score_sum(s, terms)
        value: exp.Expr = total if s.scale == 0 else exp.Round(this=total.copy(), decimals=exp.Literal.number(0))
        if s.decay is not None:
            value = build_decay(self, s, s.decay, total)
        if s.clamp is not None:
            value = build_clamp(self, s.clamp, value)
        return exp.cast(value, "BIGINT")

    def ladder(self, entries: list[tuple[ir.Condition | None, str]]) -> exp.Expr:
        """First match of (condition, label) pairs, None meaning `otherwise`; NULL when none matches."""
        case = exp.Case()
        default: exp.Expr = exp.Null()
        for condition, label in entries:
            if condition is None:
                default = exp.Literal.string(label)
                break
            case = case.when(self.condition(condition), exp.Literal.string(label))
        if not case.args.get("ifs"):
            return default
        return case.else_(default)

    def query(self, table: str, events_table: str | None = None, id_column: str = "id",
              activity_table: str | None = None) -> exp.Select:
        """The whole query. Built twice when a text field is folded in several conditions: the first build
        counts the folds, the second reads such a field's folded text from a first layer."""
        self.folds, self.folded_once = {}, set()
        first = self._query(table, events_table, id_column, activity_table)
        again = {key for key, uses in self.folds.items() if uses > 1}
        if not again:
            return first
        self.folded_once = again
        return self._query(table, events_table, id_column, activity_table)

    def _query(self, table: str, events_table: str | None, id_column: str,
               activity_table: str | None) -> exp.Select:
        """Layers over the leads table: its windows, its folded texts, each score and grade in order, then the
        stage, and its owner and route."""
        source: exp.Expr = table_sql(table)
        select = exp.select(exp.Star()).from_(source)
        if self.policy.activity:
            select = self.with_activity(source, events_table, id_column, activity_table)
        if self.folded_once:
            folded = [exp.alias_(fold_sql(self.column(name) if raw else self.field_value(name), self.dialect),
                                 fold_column((name, raw)), quoted=True) for name, raw in sorted(self.folded_once)]
            select = exp.select(exp.Star(), *folded).from_(select.subquery("lp0"))
        for layer, step in enumerate(self.policy.steps, start=1):
            select = self.with_step(select, step, layer)
        layer = len(self.policy.steps) + 1
        stage = self.ladder([(s.condition, s.name) for s in self.policy.stages]) if self.policy.stages else \
            exp.cast(exp.Null(), "VARCHAR")  # a policy without stages decides none
        select = exp.select(exp.Star(), exp.alias_(stage, "stage", quoted=True)).from_(select.subquery(f"lp{layer}"))
        return exp.select(exp.Star(), exp.alias_(self.owner(), "owner", quoted=True),
                          exp.alias_(self.route(), "route", quoted=True)).from_(select.subquery(f"lp{layer + 1}"))

    def with_activity(self, source: exp.Expr, events_table: str | None, id_column: str,
                      activity_table: str | None) -> exp.Select:
        """The leads with their windows: one aggregation of the events table (or the caller's aggregate of it),
        joined on the lead id."""
        policy = self.policy
        if events_table is None and activity_table is None:
            raise UnsupportedError("this policy scores activity events: give the events table "
                                   "(compile --target sql --events-table TABLE)")
        counts = [without_events_sql(op, exp.column(activity_column(op), table="lpa", quoted=True))
                  for op in policy.activity]
        lead_id = exp.column(id_column, table="lpl", quoted=True)
        # An aggregate made by the caller is keyed as its leads' id column is; the events table's leads
        # are compared as text.
        on: exp.Expr = exp.EQ(this=lead_id if activity_table else exp.cast(lead_id, "VARCHAR"),
                              expression=exp.column("#lead", table="lpa", quoted=True))
        aggregate: exp.Expr = (self.activity(events_table).subquery("lpa") if events_table is not None
                               and activity_table is None else
                               exp.alias_(exp.Table(this=exp.to_identifier(activity_table, quoted=True)), "lpa",
                                          table=True))
        return (exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("lpl")),
                           *(exp.alias_(c, activity_column(op), quoted=True) for c, op in zip(counts, policy.activity)))
                .from_(exp.alias_(source, "lpl", table=True)).join(aggregate, on=on, join_type="left"))

    def with_step(self, select: exp.Select, step: ir.Step, layer: int) -> exp.Select:
        """A layer adding one score or grade column (a score that decays joins its factors where its dialect
        joins them: `primitives.sql.decay_join`)."""
        inner = f"lp{layer}"
        self.factor_alias = f"lpf{layer}"
        if isinstance(step, ir.Score):
            expression = self.score(step)
        else:
            expression = self.ladder([(e.condition, e.label) for e in step.entries])
        columns = exp.Column(this=exp.Star(), table=exp.to_identifier(inner))
        select = exp.select(columns, exp.alias_(expression, step.name, quoted=True)).from_(select.subquery(inner))
        joined = build_decay_join(self, step, step.decay) if isinstance(step, ir.Score) and step.decay else None
        if joined is not None:
            values, on = joined
            select = select.join(values, on=on, join_type="left")
        return select

    def owner(self) -> exp.Expr:
        if not self.policy.stages:
            return exp.cast(exp.Null(), "VARCHAR")
        owner = exp.Case(this=self.column("stage"))
        for s in self.policy.stages:
            owner = owner.when(exp.Literal.string(s.name), exp.Literal.string(s.owner))
        return owner

    def route(self) -> exp.Expr:
        route = exp.Case()
        for r in self.policy.routes:
            routed = exp.In(this=self.column("stage"), expressions=[exp.Literal.string(s) for s in r.stages])
            route = route.when(routed, self.ladder([(e.condition, e.label) for e in r.entries]))
        return route.else_(exp.Null()) if route.args.get("ifs") else exp.cast(exp.Null(), "VARCHAR")


def activity_columns(policy: ir.Policy, dialect: str, now: dt.datetime) -> list[exp.Expr]:
    """The aggregates of `compile_sql`'s events table, for a caller that groups the rows (lead, event,
    at) itself; rows after `now` must not reach them (an `event` of NULL reaches none)."""
    return _SqlGen(policy, dialect, now).activity_columns()


def decisions_per_row(policy: ir.Policy, dialect: str, table: str, activity_table: str | None,
                      id_column: str) -> exp.Expr:
    """The policy's decision of each row of `table`, each at its own time (`#now_us`, `#today`); its
    windows come from `activity_table`, aggregated by `activity_columns_per_row` and keyed by `id_column`."""
    gen = _SqlGen(policy, dialect, EPOCH, per_row_now=True)
    query: exp.Expr = gen.query(table, None, id_column, activity_table)
    for adapt in DIALECT_ADAPTERS.get(dialect, ()):
        query = query.transform(adapt)
    return query


def activity_columns_per_row(policy: ir.Policy, dialect: str) -> list[exp.Expr]:
    """`activity_columns` over rows (event, at_us, `#now_us`): events each counted as of its row's own time."""
    return _SqlGen(policy, dialect, EPOCH, per_row_now=True).activity_columns()


def condition_sql(policy: ir.Policy, condition: ir.Condition, dialect: str) -> exp.Expr:
    """A condition over a decided row (its fields, scores, grades and windows as columns): true, false or NULL."""
    return _SqlGen(policy, dialect, EPOCH, per_row_now=True).condition(condition)


def compile_tree(policy: ir.Policy, dialect: str, table: str, now: dt.datetime, events_table: str | None = None,
                 id_column: str = "id", activity_table: str | None = None) -> exp.Select:
    """The SELECT `compile_sql` writes, as the sqlglot tree (for callers that run it, not print it)."""
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    check_name(id_column, "id column")
    query: exp.Expr = _SqlGen(policy, dialect, now).query(table, events_table, id_column, activity_table)
    for adapt in DIALECT_ADAPTERS.get(dialect, ()):
        query = query.transform(adapt)
    assert isinstance(query, exp.Select), "a policy compiles to one SELECT"
    return query


def compile_sql(policy: ir.Policy, dialect: str = "duckdb", table: str = "leads", now: dt.datetime | None = None,
                pretty: bool = True, events_table: str | None = None, id_column: str = "id",
                activity_table: str | None = None) -> str:
    """The SELECT for a policy's IR in a dialect; `now` (timezone-aware) is a literal in the query. A policy
    that scores activity reads `events_table` (columns lead, event, at), joined on the leads' `id_column`,
    or `activity_table`, that table already aggregated by `activity_columns` (`#lead` and one column each)."""
    if now is None:
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    query = compile_tree(policy, dialect, table, now, events_table, id_column, activity_table)
    header = (f"-- Generated by leadpolicy from policy {policy.id} version {policy.version} ({policy.fingerprint}).\n"
              f"-- Evaluation time: {now.isoformat()}. Do not edit: recompile the policy.\n"
              + "".join(f"-- {note}\n" for note in DIALECT_NOTES.get(dialect, ())))
    return header + query.sql(dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE) + "\n"


def _big_numeric(node: exp.Expr) -> exp.Expr:
    """BigQuery: NUMERIC keeps 9 decimals, so a total with decimals times a 9-place factor would be
    rounded before our rounding; BIGNUMERIC keeps 38, so the product stays exact."""
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.DECIMAL:
        return exp.DataType.build("BIGDECIMAL", dialect="bigquery")
    return node


def _upper_quoted(node: exp.Expr) -> exp.Expr:
    """Snowflake stores unquoted names in upper case, so a quoted "email" would miss the EMAIL
    column of a table created the usual way: quote them in upper case."""
    if isinstance(node, exp.Identifier) and node.quoted:
        return exp.to_identifier(node.name.upper(), quoted=True)
    return node


# Dialect differences as data: rewrites of the finished query, and what its reader must know.
DIALECT_ADAPTERS = {"bigquery": (_big_numeric,), "snowflake": (_upper_quoted,)}
DIALECT_NOTES = {
    "snowflake": ("Snowflake: columns are named in upper case (\"EMAIL\"), as unquoted names are stored, and so are",
                  "the computed columns (\"FIT\", \"STAGE\"). Timestamp columns must be TIMESTAMP_TZ or",
                  "TIMESTAMP_LTZ: a TIMESTAMP_NTZ (Snowflake's default) would be read as UTC."),
    "bigquery": ("BigQuery: decimals are BIGNUMERIC so that decayed totals are rounded exactly once.",),
}
