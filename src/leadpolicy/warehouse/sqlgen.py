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
import math
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from leadpolicy import zones
from leadpolicy.language.visitor import Visitor
from leadpolicy.semantics import ir
from leadpolicy.semantics.logic import FOLD_SQL_PRE, decay_factor_table, fold

DIALECTS = {
    # dialect: how to get a timestamp's epoch in microseconds (X is the timestamp)
    "duckdb": {"epoch_us": "EPOCH_US(X)"},
    "postgres": {"epoch_us": "FLOOR(EXTRACT(EPOCH FROM X) * 1000000)"},
    "spark": {"epoch_us": "UNIX_MICROS(X)"},
    "snowflake": {"epoch_us": "DATE_PART(EPOCH_MICROSECOND, X)"},
    "bigquery": {"epoch_us": "UNIX_MICROS(X)"},
}
BLANK_CHARS = " \t\n\r\f"  # schema.BLANK: text made only of these is missing
DAY_US = 86_400_000_000
FACTOR_TYPE = "DECIMAL(10, 9)"



POSTGRES_FOLD_COLLATION = "und-x-icu"


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


def fold_sql(value: exp.Expr, dialect: str) -> exp.Expr:
    """`logic.fold` in SQL. DuckDB's LOWER is the simple mapping on every code point (a test checks
    all of them), so only the final sigma is left to replace; other engines' LOWER may use the full
    mapping and context, so "İ", "Σ" and "ς" are translated first. (TRANSLATE costs DuckDB 6x a LOWER.)"""
    if dialect == "duckdb":
        return exp.func("REPLACE", exp.Lower(this=value), exp.Literal.string("ς"), exp.Literal.string("σ"))
    source, target = FOLD_SQL_PRE
    translated: exp.Expr = exp.Translate(this=value, from_=exp.Literal.string(source),
                                               to=exp.Literal.string(target))
    if dialect == "postgres":
        # PostgreSQL's LOWER follows the column's collation ("C" lowers ASCII only); ICU's root
        # collation makes it the Unicode mapping whatever the database's default is.
        translated = exp.Collate(this=translated, expression=exp.to_identifier(POSTGRES_FOLD_COLLATION, quoted=True))
    return exp.Lower(this=translated)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def epoch_us(instant: dt.datetime) -> int:
    """An aware instant as whole microseconds since 1970 UTC, as the generated SQL compares times."""
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


def epoch_us_sql(value: exp.Expr, dialect: str) -> exp.Expr:
    """A timestamp's epoch in microseconds, in a dialect."""
    template = sqlglot.parse_one(DIALECTS[dialect]["epoch_us"], read=dialect)
    return template.transform(lambda node: value.copy() if isinstance(node, exp.Column) and node.name == "X"
                              else node)


def fold_column(key: tuple[str, bool]) -> str:
    """The helper column holding a text field folded (`raw`: without the blank-to-NULL step)."""
    name, raw = key
    return f"#fold{'-raw' if raw else ''}:{name}"


class UnsupportedError(ValueError):
    """A construct the SQL target cannot express exactly."""


def _lit(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)):
        text = format(Decimal(value), "f")
        return exp.Literal.number(text) if not text.startswith("-") else exp.Neg(this=exp.Literal.number(text[1:]))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def floor_div(value: exp.Expr, divisor: int) -> exp.Expr:
    """Python's `value // divisor` in integer SQL, exact for negative values too:
    (v - ((v % d) + d) % d) / d, where the division is exact."""
    d = exp.Literal.number(divisor)
    remainder = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Mod(this=value.copy(), expression=d.copy()),
                                                    expression=d.copy())), expression=d.copy())
    exact = exp.Paren(this=exp.Sub(this=value.copy(), expression=remainder))
    return exp.cast(exp.Div(this=exact, expression=d.copy()), "BIGINT")


def _decimal(text: str, type_: str) -> exp.Expr:
    return exp.cast(exp.Literal.string(text), exp.DataType.build(type_))


EVENT_COLUMNS = ("lead", "event", "at")  # an events table: which lead, what it did, when
NOW_COLUMN, TODAY_COLUMN = "#now_us", "#today"  # a row's own evaluation time (see `_SqlGen`)


def activity_column(op: ir.EventCount | ir.DaysSinceEvent) -> str:
    """The output column of an event window or `days since last` (its text: never a field's name)."""
    return op.text


class _SqlGen(Visitor):
    def __init__(self, policy: ir.Policy, dialect: str, now: dt.datetime, per_row_now: bool = False):
        """`per_row_now`: each row carries its own evaluation time, as epoch microseconds in column `#now_us`
        and as the policy's local date in `#today`, and its events' times as epoch microseconds in
        `at_us` (`now` is then unused)."""
        if dialect not in DIALECTS:
            raise UnsupportedError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
        self.policy, self.dialect, self.now = policy, dialect, now
        self.fields = {f.name: f for f in policy.fields}
        self.factor_alias = "lpf"
        self.today = now.astimezone(zones.zone(policy.timezone)).date()
        self.now_us = epoch_us(now)
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
            if f.type is ir.Type.DATE:
                default = dt.date.fromisoformat(str(default))
            elif f.type is ir.Type.TIMESTAMP:
                raise UnsupportedError("a default for a timestamp field is not supported in SQL")
            elif f.type is ir.Type.NUMBER:
                default = Decimal(str(default))
            value = exp.Coalesce(this=value, expressions=[_lit(default)])
        return value

    def epoch_us(self, value: exp.Expr) -> exp.Expr:
        return epoch_us_sql(value, self.dialect)

    def now_sql(self) -> exp.Expr:
        return self.column(NOW_COLUMN) if self.per_row_now else exp.Literal.number(self.now_us)

    def days_since(self, name: str) -> exp.Expr:
        value = self.field_value(name)
        if self.fields[name].type is ir.Type.DATE:
            today = self.column(TODAY_COLUMN) if self.per_row_now else _lit(self.today)
            return exp.DateDiff(this=today, expression=value, unit=exp.var("DAY"))
        return self.days_before_now(self.epoch_us(value))

    def days_before_now(self, epoch_us: exp.Expr) -> exp.Expr:
        """Whole 24-hour days from an instant (in epoch microseconds) to `now`, rounded down."""
        diff = exp.Paren(this=exp.Sub(this=self.now_sql(), expression=epoch_us))
        return floor_div(exp.cast(diff, "BIGINT"), DAY_US)

    def since(self, op: ir.DaysSince | ir.DaysSinceEvent) -> exp.Expr:
        return self.days_since(op.field) if isinstance(op, ir.DaysSince) else self.column(activity_column(op))

    def activity_columns(self) -> list[exp.Expr]:
        """Each event window's count and each `days since last` as aggregates over rows (lead, event, at)
        that are at or before `now` (an event counts in N days when `now - N days < at <= now`)."""
        event, at = self.column("event"), self.column("at")
        at_us = self.column("at_us") if self.per_row_now else self.epoch_us(at)
        columns: list[exp.Expr] = []
        for op in self.policy.activity:
            is_event = exp.EQ(this=event.copy(), expression=exp.Literal.string(op.event))
            if isinstance(op, ir.EventCount):
                start = (exp.Sub(this=self.now_sql(), expression=exp.Literal.number(int(op.days) * DAY_US))
                         if self.per_row_now else exp.Literal.number(self.now_us - int(op.days) * DAY_US))
                after = exp.GT(this=at_us.copy(), expression=start)
                value: exp.Expr = exp.Count(this=exp.Case().when(exp.and_(is_event, after), exp.Literal.number(1)))
            else:
                value = self.days_before_now(exp.Max(this=exp.Case().when(is_event, at_us.copy())))
            columns.append(exp.alias_(value, activity_column(op), quoted=True))
        return columns

    def activity(self, events_table: str) -> exp.Select:
        """One row per lead with events (`#lead`, its id as text), its `activity_columns`."""
        lead, event, at = (self.column(c) for c in EVENT_COLUMNS)
        names = sorted({op.event for op in self.policy.activity})
        source = table_sql(events_table, "events table")
        wanted = exp.and_(exp.In(this=event.copy(), expressions=[exp.Literal.string(n) for n in names]),
                          exp.LTE(this=self.epoch_us(at), expression=exp.Literal.number(self.now_us)))
        return (exp.select(exp.alias_(exp.cast(lead, "VARCHAR"), "#lead", quoted=True), *self.activity_columns())
                .from_(source).where(wanted).group_by(exp.cast(lead.copy(), "VARCHAR")))

    def operand(self, op: ir.Operand, how: ir.Fold = ir.Fold.NONE, raw: bool = False) -> exp.Expr:
        """An operand's SQL. `raw`: a text field without the blank-to-NULL step (see `visit_condition`)."""
        if how is ir.Fold.LOCAL_DATE:
            raise UnsupportedError("comparing a timestamp with a date (by its local date) is not supported in SQL "
                                   "yet; compare `days since FIELD` with a number instead")
        if isinstance(op, ir.Const):
            if op.type is ir.Type.TEXT and how is ir.Fold.CASE:
                return _lit(fold(str(op.value)))
            return _lit(op.value)
        if isinstance(op, ir.DaysSince):
            return self.days_since(op.field)
        if isinstance(op, (ir.EventCount, ir.DaysSinceEvent)):
            return self.column(activity_column(op))  # counts are 0, not NULL, for a lead without events
        plain_text = raw and op.kind is ir.RefKind.FIELD and op.type.textual and self.fields[op.name].default is None
        value = self.column(op.name) if op.kind is not ir.RefKind.FIELD or plain_text else self.field_value(op.name)
        if how is ir.Fold.CASE and op.type.textual:
            if op.kind is ir.RefKind.FIELD:
                key = (op.name, plain_text)
                self.folds[key] = self.folds.get(key, 0) + 1
                if key in self.folded_once:
                    return self.column(fold_column(key))
            return fold_sql(value, self.dialect)
        return value

    # ------------------------------------------------------------ conditions
    def condition(self, cond: ir.Condition, positive: bool = True) -> exp.Expr:
        """The SQL of a condition; `positive` when it stands under an even number of `not`s.

        A decision needs a condition to be TRUE, and and/or only pass TRUE up from TRUE parts, so
        in a positive place an atom that is FALSE on a blank text (`false_when_blank`, decided at
        lowering) decides exactly as one that is unknown: its text column is read raw, without
        the blank-to-NULL CASE.
        """
        return self.visit(cond, positive)

    def visit_And(self, node: ir.And, positive: bool) -> exp.Expr:
        return exp.and_(*(exp.Paren(this=self.condition(i, positive)) for i in node.items))

    def visit_Or(self, node: ir.Or, positive: bool) -> exp.Expr:
        return exp.or_(*(exp.Paren(this=self.condition(i, positive)) for i in node.items))

    def visit_Not(self, node: ir.Not, positive: bool) -> exp.Expr:
        return exp.Not(this=exp.Paren(this=self.condition(node.item, not positive)))

    def visit_Compare(self, node: ir.Compare, positive: bool) -> exp.Expr:
        raw = positive and node.false_when_blank
        left, right = self.operand(node.left, node.fold, raw), self.operand(node.right, node.fold, raw)
        return SQL_COMPARE[node.op](this=left, expression=right)

    def visit_Between(self, node: ir.Between, positive: bool) -> exp.Expr:
        value = self.operand(node.value, node.fold)
        return exp.and_(exp.GTE(this=value, expression=self.operand(node.low, node.fold)),
                        exp.LTE(this=value.copy(), expression=self.operand(node.high, node.fold)))

    def visit_InList(self, node: ir.InList, positive: bool) -> exp.Expr:
        test = exp.In(this=self.operand(node.value, node.fold, positive and node.false_when_blank),
                      expressions=[self.operand(o, node.fold) for o in node.options])
        return exp.Not(this=exp.Paren(this=test)) if node.negated else test

    def visit_TextMatch(self, node: ir.TextMatch, positive: bool) -> exp.Expr:
        value = self.operand(node.value, ir.Fold.CASE, positive and node.false_when_blank)
        parts: list[exp.Expr] = []
        for needle in node.folded:
            lit = exp.Literal.string(needle)
            if node.how is ir.Match.STARTS:
                parts.append(exp.StartsWith(this=value.copy(), expression=lit))
            elif node.how is ir.Match.ENDS:
                parts.append(exp.EQ(this=exp.Right(this=value.copy(), expression=exp.Literal.number(len(needle))),
                                    expression=lit))
            else:
                parts.append(exp.GT(this=exp.StrPosition(this=value.copy(), substr=lit),
                                    expression=exp.Literal.number(0)))
        return exp.or_(*parts) if len(parts) > 1 else parts[0]

    def visit_IsMissing(self, node: ir.IsMissing, positive: bool) -> exp.Expr:
        test = exp.Is(this=self.operand(node.value), expression=exp.Null())
        return exp.Not(this=test) if node.negated else test

    def visit_Truthy(self, node: ir.Truthy, positive: bool) -> exp.Expr:
        return exp.EQ(this=self.operand(node.value), expression=exp.Boolean(this=True))

    def visit_Happened(self, node: ir.Happened, positive: bool) -> exp.Expr:
        return exp.GT(this=self.operand(node.count), expression=_lit(0))

    def generic_visit(self, node: ir.Node, *args: Any) -> Any:
        raise UnsupportedError(f"not a condition: {type(node).__name__}")

    # ------------------------------------------------------------ scores, grades, stages, routes
    def score(self, s: ir.Score) -> exp.Expr:
        scale = s.scale
        total_type = f"DECIMAL(18, {scale})"

        def number(value: Decimal) -> exp.Expr:  # whole numbers stay BIGINT: exact and fast
            return _lit(value) if scale == 0 else _decimal(ir.dec(value), total_type)

        zero = number(Decimal(0))
        terms: list[exp.Expr] = []
        for rule in s.rules:
            if isinstance(rule, ir.PointsRule):
                terms.append(exp.Case().when(self.condition(rule.condition), number(rule.points)).else_(zero.copy()))
            else:
                # Units past the cap change nothing, so they are limited before multiplying: a huge
                # count (1e19 clicks) must neither overflow BIGINT nor fail the batch.
                points, cap_points = abs(rule.points), abs(rule.cap)
                enough = math.ceil(cap_points / points) + 1 if points else 0
                per = rule.per
                read = self.field_value(per.name) if isinstance(per, ir.Ref) and per.kind is ir.RefKind.FIELD \
                    else self.operand(per)
                units_read = exp.Greatest(this=read, expressions=[_lit(0)], ignore_nulls=True)
                cap = number(cap_points)
                if isinstance(per, ir.EventCount) or per.kind is ir.RefKind.SCORE:
                    # A count or a score is a whole number, and never missing: no floor and no NULL, and
                    # units are never negative, so the points only reach the cap on their own side.
                    whole = exp.Least(this=units_read, expressions=[_lit(enough)], ignore_nulls=True)
                    raw = exp.Mul(this=number(rule.points), expression=whole if scale == 0 else exp.cast(
                        whole, total_type))
                    terms.append(exp.Least(this=raw, expressions=[cap], ignore_nulls=True) if rule.points >= 0
                                 else exp.Greatest(this=raw, expressions=[exp.Neg(this=cap)], ignore_nulls=True))
                    continue
                floor = exp.Floor(this=exp.Least(this=units_read, expressions=[_lit(Decimal(enough))],
                                                 ignore_nulls=True))
                units = exp.cast(floor, "BIGINT" if scale == 0 else total_type)
                raw = exp.Mul(this=number(rule.points), expression=units)
                capped = exp.Greatest(this=exp.Least(this=raw, expressions=[cap], ignore_nulls=True),
                                      expressions=[exp.Neg(this=cap.copy())], ignore_nulls=True)
                terms.append(exp.Coalesce(this=capped, expressions=[zero.copy()]))
        total: exp.Expr = terms[0] if terms else zero.copy()
        for term in terms[1:]:
            total = exp.Add(this=total, expression=term)
        total = exp.Paren(this=total)
        value: exp.Expr = total if scale == 0 else exp.Round(this=total.copy(), decimals=exp.Literal.number(0))
        if s.decay is not None:
            days = self.since(s.decay.since)
            looked_up = (self.factor_list(s, s.decay) if self.dialect in LIST_FACTORS else
                         exp.column("#f", table=self.factor_alias, quoted=True))
            factor = exp.Coalesce(this=looked_up, expressions=[_decimal("0", FACTOR_TYPE)])
            digits = len(str(int(s.bound))) + scale
            # A total that fits 8 digits times a 10-digit factor stays within 64-bit decimals.
            exact_total = exp.cast(total.copy(), f"DECIMAL({max(digits, 1) if digits <= 8 else 18}, {scale})")
            # Before the first full period (or with the field missing) the factor is 1: no decay.
            applied = exp.Case().when(exp.GTE(this=days, expression=_lit(s.decay.every_days)), factor).else_(
                _decimal("1", FACTOR_TYPE))
            value = exp.Round(this=exp.Mul(this=exact_total, expression=applied), decimals=exp.Literal.number(0))
        if s.clamp is not None:
            value = exp.Greatest(this=exp.Least(this=value, expressions=[_lit(s.clamp.high)], ignore_nulls=True),
                                 expressions=[_lit(s.clamp.low)], ignore_nulls=True)
        return exp.cast(value, "BIGINT")

    def factor_table(self, s: ir.Score, decay: ir.Decay) -> list[tuple[int, Decimal]]:
        """(periods, factor) for 1, 2, ... periods: beyond the last, every decayed total rounds to 0."""
        try:
            return decay_factor_table(decay.percent, s.bound) or [(1, Decimal(0))]
        except ValueError as exc:
            raise UnsupportedError(str(exc)) from None

    def periods(self, decay: ir.Decay) -> exp.Expr:
        every = decay.every_days
        days = self.since(decay.since)
        return (floor_div(days, int(every)) if every == every.to_integral_value() else
                exp.cast(exp.Floor(this=exp.Div(this=days, expression=_decimal(format(every, "f"), "DECIMAL(18, 6)"))),
                         "BIGINT"))

    def factor_list(self, s: ir.Score, decay: ir.Decay) -> exp.Expr:
        """DuckDB: the factor picked from a constant list by the period count (lists count from 1; past
        the end is NULL). No join, so the query keeps the input's row order."""
        factors = exp.Array(expressions=[_decimal(format(f, "f"), FACTOR_TYPE) for _, f in self.factor_table(s, decay)])
        return exp.Bracket(this=factors, expressions=[self.periods(decay)], offset=1)  # the index counts from 1

    def factor_join(self, s: ir.Score, decay: ir.Decay) -> tuple[exp.Expr, exp.Expr]:
        """(the VALUES table of decay factors by period count, the join condition on this lead's periods)."""
        rows = [exp.Tuple(expressions=[exp.Literal.number(n), _decimal(format(f, "f"), FACTOR_TYPE)])
                for n, f in self.factor_table(s, decay)]
        values = exp.Values(expressions=rows, alias=exp.TableAlias(
            this=exp.to_identifier(self.factor_alias, quoted=True),
            columns=[exp.to_identifier("#n", quoted=True), exp.to_identifier("#f", quoted=True)]))
        on = exp.EQ(this=exp.column("#n", table=self.factor_alias, quoted=True), expression=self.periods(decay))
        return values, on

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
        policy = self.policy
        source: exp.Expr = table_sql(table)
        select = exp.select(exp.Star()).from_(source)
        if policy.activity:
            if events_table is None and activity_table is None:
                raise UnsupportedError("this policy scores activity events: give the events table "
                                       "(compile --target sql --events-table TABLE)")
            # Each lead's windows come from one aggregation of the events table, joined on the lead id.
            leads = exp.to_identifier("lpl")
            counts = [exp.Coalesce(this=exp.column(activity_column(op), table="lpa", quoted=True),
                                   expressions=[_lit(0)]) if isinstance(op, ir.EventCount)
                      else exp.column(activity_column(op), table="lpa", quoted=True) for op in policy.activity]
            lead_id = exp.column(id_column, table="lpl", quoted=True)
            # An aggregate made by the caller is keyed as its leads' id column is; the events table's leads
            # are compared as text.
            on: exp.Expr = exp.EQ(this=lead_id if activity_table else exp.cast(lead_id, "VARCHAR"),
                                  expression=exp.column("#lead", table="lpa", quoted=True))
            select = (exp.select(exp.Column(this=exp.Star(), table=leads),
                                 *(exp.alias_(c, activity_column(op), quoted=True)
                                   for c, op in zip(counts, policy.activity)))
                      .from_(exp.alias_(source, "lpl", table=True))
                      .join(self.activity(events_table).subquery("lpa") if activity_table is None  # type: ignore[arg-type]
                            else exp.alias_(exp.Table(this=exp.to_identifier(activity_table, quoted=True)), "lpa",
                                            table=True), on=on, join_type="left"))
        if self.folded_once:
            folded = [exp.alias_(fold_sql(self.column(name) if raw else self.field_value(name), self.dialect),
                                 fold_column((name, raw)), quoted=True) for name, raw in sorted(self.folded_once)]
            select = exp.select(exp.Star(), *folded).from_(select.subquery("lp0"))
        layer = 0
        for step in policy.steps:
            layer += 1
            inner = f"lp{layer}"
            self.factor_alias = f"lpf{layer}"
            if isinstance(step, ir.Score):
                expression = self.score(step)
            else:
                expression = self.ladder([(e.condition, e.label) for e in step.entries])
            columns = exp.Column(this=exp.Star(), table=exp.to_identifier(inner))
            select = exp.select(columns, exp.alias_(expression, step.name, quoted=True)).from_(select.subquery(inner))
            if isinstance(step, ir.Score) and step.decay is not None and self.dialect not in LIST_FACTORS:
                # Each lead's factor comes from a join on its period count: computed once, not per CASE branch.
                values, on = self.factor_join(step, step.decay)
                select = select.join(values, on=on, join_type="left")
        stage = self.ladder([(s.condition, s.name) for s in policy.stages])
        layer += 1
        select = exp.select(exp.Star(), exp.alias_(stage, "stage", quoted=True)).from_(select.subquery(f"lp{layer}"))
        owner = exp.Case(this=self.column("stage"))
        for s in policy.stages:
            owner = owner.when(exp.Literal.string(s.name), exp.Literal.string(s.owner))
        route = exp.Case()
        for r in policy.routes:
            routed = exp.In(this=self.column("stage"), expressions=[exp.Literal.string(s) for s in r.stages])
            route = route.when(routed, self.ladder([(e.condition, e.label) for e in r.entries]))
        route_expr: exp.Expr = route.else_(exp.Null()) if route.args.get("ifs") else exp.cast(exp.Null(),
                                                                                                    "VARCHAR")
        layer += 1
        return exp.select(exp.Star(), exp.alias_(owner, "owner", quoted=True),
                          exp.alias_(route_expr, "route", quoted=True)).from_(select.subquery(f"lp{layer}"))


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


# Dialects that pick a decay factor from a constant list instead of joining a table of them: the
# query is then a chain of projections, which DuckDB guarantees keeps the input's row order.
LIST_FACTORS = {"duckdb"}

SQL_COMPARE = {ir.Op.EQ: exp.EQ, ir.Op.NE: exp.NEQ, ir.Op.LT: exp.LT, ir.Op.LE: exp.LTE, ir.Op.GT: exp.GT,
               ir.Op.GE: exp.GTE}


def compile_sql(policy: ir.Policy, dialect: str = "duckdb", table: str = "leads", now: dt.datetime | None = None,
                pretty: bool = True, events_table: str | None = None, id_column: str = "id",
                activity_table: str | None = None) -> str:
    """The SELECT for a policy's IR in a dialect; `now` (timezone-aware) is a literal in the query. A policy
    that scores activity reads `events_table` (columns lead, event, at), joined on the leads' `id_column`,
    or `activity_table`, that table already aggregated by `activity_columns` (`#lead` and one column each)."""
    if now is None:
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    check_name(id_column, "id column")
    query: exp.Expr = _SqlGen(policy, dialect, now).query(table, events_table, id_column, activity_table)
    for adapt in DIALECT_ADAPTERS.get(dialect, ()):
        query = query.transform(adapt)
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
