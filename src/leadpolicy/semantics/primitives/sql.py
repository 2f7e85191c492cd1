"""The SQL column of the table of primitives: one sqlglot builder per node, for every dialect.

A row of `semantics.primitives` names its builder here (`BUILDERS`); the SQL generator
(`warehouse.sqlgen`) calls `build_condition`, `build_operand`, ... which look the builder up by the
node's row. Dialect differences are data (`DIALECTS`, `fold_sql`), and anything a dialect cannot express
raises `UnsupportedError` rather than giving wrong SQL. Nothing is formatted into SQL text by hand:
identifiers are quoted by sqlglot, texts are sqlglot string literals, numbers come from validated decimals.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Callable

import sqlglot
from sqlglot import exp

from leadpolicy import runtime
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir
from leadpolicy.semantics.logic import FOLD_SQL_PRE, decay_factor_table, fold
from leadpolicy.semantics.primitives import WINDOWS, row_of
from leadpolicy.semantics.primitives.contexts import SqlContext
from leadpolicy.semantics.primitives.scores import facts

DIALECTS = {
    # dialect: how to get a timestamp's epoch in microseconds (X is the timestamp), and how a decayed score's
    # factors reach a lead (`decay_factor_sql`): "list", picked from a constant list by the period count (no
    # join, so the query is a chain of projections, which DuckDB guarantees keeps the input's row order), or
    # "join", a VALUES table joined on the period count (computed once per lead, not per CASE branch)
    "duckdb": {"epoch_us": "EPOCH_US(X)", "factors": "list"},
    "postgres": {"epoch_us": "FLOOR(EXTRACT(EPOCH FROM X) * 1000000)", "factors": "join"},
    "spark": {"epoch_us": "UNIX_MICROS(X)", "factors": "join"},
    "snowflake": {"epoch_us": "DATE_PART(EPOCH_MICROSECOND, X)", "factors": "join"},
    "bigquery": {"epoch_us": "UNIX_MICROS(X)", "factors": "join"},
}
BLANK_CHARS = runtime.BLANK  # text made only of these is missing
DAY_US = 86_400_000_000
FACTOR_TYPE = "DECIMAL(10, 9)"
MAX_TOTAL_WHOLE_DIGITS = 18  # with 9 places, a 27-digit total: its product with a factor fits 38
MAX_PLAIN_TERMS = 20  # DECIMAL(18, s) terms: 20 of them summed are 37 digits wide, within 38
POSTGRES_FOLD_COLLATION = "und-x-icu"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class UnsupportedError(ValueError):
    """A construct the SQL target cannot express exactly."""


# ---------------------------------------------------------------- values


def lit(value: Any) -> exp.Expr:
    """A validated constant as a SQL literal: yes/no, an exact number, a date, or an escaped text."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)):
        text = format(Decimal(value), "f")
        return exp.Literal.number(text) if not text.startswith("-") else exp.Neg(this=exp.Literal.number(text[1:]))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def decimal_sql(text: str, type_: str) -> exp.Expr:
    return exp.cast(exp.Literal.string(text), exp.DataType.build(type_))


def floor_div(value: exp.Expr, divisor: int) -> exp.Expr:
    """Python's `value // divisor` in integer SQL, exact for negative values too:
    (v - ((v % d) + d) % d) / d, where the division is exact."""
    d = exp.Literal.number(divisor)
    remainder = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Mod(this=value.copy(), expression=d.copy()),
                                                    expression=d.copy())), expression=d.copy())
    exact = exp.Paren(this=exp.Sub(this=value.copy(), expression=remainder))
    return exp.cast(exp.Div(this=exact, expression=d.copy()), "BIGINT")


def fold_sql(value: exp.Expr, dialect: str) -> exp.Expr:
    """`logic.fold` in SQL. DuckDB's LOWER is the simple mapping on every code point (a test checks
    all of them), so only the final sigma is left to replace; other engines' LOWER may use the full
    mapping and context, so "İ", "Σ" and "ς" are translated first. (TRANSLATE costs DuckDB 6x a LOWER.)"""
    if dialect == "duckdb":
        return exp.func("REPLACE", exp.Lower(this=value), exp.Literal.string("ς"), exp.Literal.string("σ"))
    source, target = FOLD_SQL_PRE
    translated: exp.Expr = exp.Translate(this=value, from_=exp.Literal.string(source), to=exp.Literal.string(target))
    if dialect == "postgres":
        # PostgreSQL's LOWER follows the column's collation ("C" lowers ASCII only); ICU's root
        # collation makes it the Unicode mapping whatever the database's default is.
        translated = exp.Collate(this=translated, expression=exp.to_identifier(POSTGRES_FOLD_COLLATION, quoted=True))
    return exp.Lower(this=translated)


def epoch_us(instant: dt.datetime) -> int:
    """An aware instant as whole microseconds since 1970 UTC, as the generated SQL compares times."""
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


def epoch_us_sql(value: exp.Expr, dialect: str) -> exp.Expr:
    """A timestamp's epoch in microseconds, in a dialect."""
    template = sqlglot.parse_one(DIALECTS[dialect]["epoch_us"], read=dialect)
    return template.transform(lambda node: value.copy() if isinstance(node, exp.Column) and node.name == "X"
                              else node)


# ---------------------------------------------------------------- activity windows: `runtime.in_window` in SQL


def event_lead_sql(lead: exp.Expr) -> exp.Expr:
    """An event row's lead id as every reader takes it: as text, without the blanks around it (the compiled SLA
    and decision queries; `score --events` and `sla` trim the same characters)."""
    return exp.Trim(this=exp.cast(lead, "VARCHAR"), expression=exp.Literal.string(BLANK_CHARS))


def at_or_before_now_sql(at_us: exp.Expr, now_us: exp.Expr) -> exp.Expr:
    """The window's upper cut-off (`at <= now`): an event after `now` counts in no window."""
    return exp.LTE(this=at_us, expression=now_us)


def after_window_start_sql(at_us: exp.Expr, now_us: exp.Expr | int, days: Decimal) -> exp.Expr:
    """The window's lower cut-off (`now - days×24h < at`), times in epoch microseconds."""
    start: exp.Expr = (exp.Literal.number(now_us - int(days) * DAY_US) if isinstance(now_us, int) else
                       exp.Sub(this=now_us, expression=exp.Literal.number(int(days) * DAY_US)))
    return exp.GT(this=at_us, expression=start)


def days_before_now_sql(now_us: exp.Expr, at_us: exp.Expr) -> exp.Expr:
    """`logic.days_since` of a timestamp: whole 24-hour days from an instant to `now` (both in epoch
    microseconds), rounded down."""
    diff = exp.Paren(this=exp.Sub(this=now_us, expression=at_us))
    return floor_div(exp.cast(diff, "BIGINT"), DAY_US)


def window_sql(op: ir.EventCount | ir.DaysSinceEvent, event: exp.Expr, at_us: exp.Expr,
               now_us: exp.Expr | int) -> exp.Expr:
    """The aggregate of one window over a lead's rows (event, at) already at or before `now`: the count
    of the event's rows after the window's start, or whole days since the latest of them."""
    is_event = exp.EQ(this=event.copy(), expression=exp.Literal.string(op.event))
    if isinstance(op, ir.EventCount):
        after = after_window_start_sql(at_us.copy(), now_us, op.days)
        return exp.Count(this=exp.Case().when(exp.and_(is_event, after), exp.Literal.number(1)))
    now = exp.Literal.number(now_us) if isinstance(now_us, int) else now_us
    return days_before_now_sql(now, exp.Max(this=exp.Case().when(is_event, at_us.copy())))


# ---------------------------------------------------------------- conditions


SQL_COMPARE = {ir.Op.EQ: exp.EQ, ir.Op.NE: exp.NEQ, ir.Op.LT: exp.LT, ir.Op.LE: exp.LTE, ir.Op.GT: exp.GT,
               ir.Op.GE: exp.GTE}


def and_(gen: SqlContext, node: ir.And, positive: bool) -> exp.Expr:
    return exp.and_(*(exp.Paren(this=gen.condition(i, positive)) for i in node.items))


def or_(gen: SqlContext, node: ir.Or, positive: bool) -> exp.Expr:
    return exp.or_(*(exp.Paren(this=gen.condition(i, positive)) for i in node.items))


def not_(gen: SqlContext, node: ir.Not, positive: bool) -> exp.Expr:
    return exp.Not(this=exp.Paren(this=gen.condition(node.item, not positive)))


def compare(gen: SqlContext, node: ir.Compare, positive: bool) -> exp.Expr:
    raw = positive and node.false_when_blank
    left, right = gen.operand(node.left, node.fold, raw), gen.operand(node.right, node.fold, raw)
    return SQL_COMPARE[node.op](this=left, expression=right)


def between(gen: SqlContext, node: ir.Between, positive: bool) -> exp.Expr:
    value = gen.operand(node.value, node.fold)
    return exp.and_(exp.GTE(this=value, expression=gen.operand(node.low, node.fold)),
                    exp.LTE(this=value.copy(), expression=gen.operand(node.high, node.fold)))


def in_list(gen: SqlContext, node: ir.InList, positive: bool) -> exp.Expr:
    test = exp.In(this=gen.operand(node.value, node.fold, positive and node.false_when_blank),
                  expressions=[gen.operand(o, node.fold) for o in node.options])
    return exp.Not(this=exp.Paren(this=test)) if node.negated else test


def _text_test(how: ir.Match, value: exp.Expr, needle: str) -> exp.Expr:
    lit_needle = exp.Literal.string(needle)
    if how is ir.Match.STARTS:
        return exp.StartsWith(this=value.copy(), expression=lit_needle)
    if how is ir.Match.ENDS:
        return exp.EQ(this=exp.Right(this=value.copy(), expression=exp.Literal.number(len(needle))),
                      expression=lit_needle)
    return exp.GT(this=exp.StrPosition(this=value.copy(), substr=lit_needle), expression=exp.Literal.number(0))


def text_match(gen: SqlContext, node: ir.TextMatch, positive: bool) -> exp.Expr:
    value = gen.operand(node.value, ir.Fold.CASE, positive and node.false_when_blank)
    parts = [_text_test(node.how, value, needle) for needle in node.folded]
    return exp.or_(*parts) if len(parts) > 1 else parts[0]


def is_missing(gen: SqlContext, node: ir.IsMissing, positive: bool) -> exp.Expr:
    test = exp.Is(this=gen.operand(node.value), expression=exp.Null())
    return exp.Not(this=test) if node.negated else test


def truthy(gen: SqlContext, node: ir.Truthy, positive: bool) -> exp.Expr:
    return exp.EQ(this=gen.operand(node.value), expression=exp.Boolean(this=True))


def happened(gen: SqlContext, node: ir.Happened, positive: bool) -> exp.Expr:
    """`runtime.happened`: the count is at least HAPPENED_AT_LEAST."""
    return exp.GTE(this=gen.operand(node.count), expression=lit(runtime.HAPPENED_AT_LEAST))


# ---------------------------------------------------------------- operands


def const(gen: SqlContext, op: ir.Const, how: ir.Fold, raw: bool) -> exp.Expr:
    if op.type is Type.TEXT and how is ir.Fold.CASE:
        return lit(fold(str(op.value)))
    return lit(op.value)


def ref(gen: SqlContext, op: ir.Ref, how: ir.Fold, raw: bool) -> exp.Expr:
    """A field, score or grade column. `raw`: a text field without a default read without the
    blank-to-NULL step (see `sqlgen._SqlGen.condition`); folded, a field is folded once per query."""
    field = op.kind is ir.RefKind.FIELD
    plain_text = raw and field and op.type.textual and gen.field(op.name).default is None
    value = gen.field_value(op.name) if field and not plain_text else gen.column(op.name)
    if how is ir.Fold.CASE and op.type.textual:
        return gen.folded_field((op.name, plain_text), value) if field else fold_sql(value, gen.dialect)
    return value


def days_since(gen: SqlContext, op: ir.DaysSince, how: ir.Fold, raw: bool) -> exp.Expr:
    """`logic.days_since` of a field: calendar days to today (`now`'s date in the policy's zone) for a
    date, whole 24-hour days to `now` for a timestamp."""
    value = gen.field_value(op.field)
    if op.of is Type.DATE:
        return exp.DateDiff(this=gen.today(), expression=value, unit=exp.var("DAY"))
    return days_before_now_sql(gen.now_us(), gen.epoch_us(value))


def activity_column(op: ir.EventCount | ir.DaysSinceEvent) -> str:
    """The output column of an event window or `days since last` (its text: never a field's name)."""
    return op.text


def without_events_sql(op: ir.EventCount | ir.DaysSinceEvent, aggregated: exp.Expr) -> exp.Expr:
    """A window's aggregated column as a lead reads it, NULL for a lead without events (the left join found
    no row): 0 for a window whose facts say it is never missing (a count), else as it is."""
    return aggregated if facts(op).nullable else exp.Coalesce(this=aggregated, expressions=[lit(0)])


def event_count(gen: SqlContext, op: ir.EventCount, how: ir.Fold, raw: bool) -> exp.Expr:
    return gen.column(activity_column(op))  # 0, not NULL, for a lead without events (`without_events_sql`)


def days_since_event(gen: SqlContext, op: ir.DaysSinceEvent, how: ir.Fold, raw: bool) -> exp.Expr:
    return gen.column(activity_column(op))


# ---------------------------------------------------------------- a score's parts


def number_sql(value: Decimal, scale: int) -> exp.Expr:
    """A score's amount: whole numbers stay BIGINT (exact and fast), others DECIMAL(18, scale)."""
    return lit(value) if scale == 0 else decimal_sql(ir.dec(value), f"DECIMAL(18, {scale})")


def points_rule(gen: SqlContext, rule: ir.PointsRule, score: ir.Score) -> exp.Expr:
    zero = number_sql(Decimal(0), score.scale)
    return exp.Case().when(gen.condition(rule.condition), number_sql(rule.points, score.scale)).else_(zero)


def per_rule(gen: SqlContext, rule: ir.PerRule, score: ir.Score) -> exp.Expr:
    """`per_points`, as DECIMAL(18, scale) like every fractional term (it is within its cap, which is one): the
    product is wider, and in Spark a sum of such terms past 38 digits drops places (`score_sum`)."""
    points = per_points(gen, rule, score)
    return points if score.scale == 0 else exp.cast(points, f"DECIMAL(18, {score.scale})")


def per_points(gen: SqlContext, rule: ir.PerRule, score: ir.Score) -> exp.Expr:
    """`runtime.per_units` times the points, capped. Units past the cap change nothing, so they are
    limited before multiplying: a huge count (1e19 clicks) must neither overflow BIGINT nor fail the batch."""
    scale, per = score.scale, rule.per
    points, cap_points = abs(rule.points), abs(rule.cap)
    enough = math.ceil(cap_points / points) + 1 if points else 0
    read = gen.field_value(per.name) if isinstance(per, ir.Ref) and per.kind is ir.RefKind.FIELD \
        else gen.operand(per)
    units_read = exp.Greatest(this=read, expressions=[lit(0)], ignore_nulls=True)
    cap = number_sql(cap_points, scale)
    known = facts(per)
    if known.whole and not known.nullable:
        # No floor and no NULL, and units are never negative, so the points only reach the cap on their side.
        whole = exp.Least(this=units_read, expressions=[lit(enough)], ignore_nulls=True)
        raw = exp.Mul(this=number_sql(rule.points, scale),
                      expression=whole if scale == 0 else exp.cast(whole, f"DECIMAL(18, {scale})"))
        return (exp.Least(this=raw, expressions=[cap], ignore_nulls=True) if rule.points >= 0
                else exp.Greatest(this=raw, expressions=[exp.Neg(this=cap)], ignore_nulls=True))
    floor = exp.Floor(this=exp.Least(this=units_read, expressions=[lit(Decimal(enough))], ignore_nulls=True))
    units = exp.cast(floor, "BIGINT" if scale == 0 else f"DECIMAL(18, {scale})")
    raw = exp.Mul(this=number_sql(rule.points, scale), expression=units)
    capped = exp.Greatest(this=exp.Least(this=raw, expressions=[cap], ignore_nulls=True),
                          expressions=[exp.Neg(this=cap.copy())], ignore_nulls=True)
    return exp.Coalesce(this=capped, expressions=[number_sql(Decimal(0), score.scale)])


def decay_periods_sql(gen: SqlContext, decay: ir.Decay) -> exp.Expr:
    """`runtime.decay_periods` before its `max(..., 0)`: the factor applies only from one period on."""
    every = decay.every_days
    days = gen.operand(decay.since)
    return (floor_div(days, int(every)) if every == every.to_integral_value() else
            exp.cast(exp.Floor(this=exp.Div(this=days, expression=decimal_sql(format(every, "f"), "DECIMAL(18, 6)"))),
                     "BIGINT"))


def factor_table(score: ir.Score, decay: ir.Decay) -> list[tuple[int, Decimal]]:
    """(periods, factor) for 1, 2, ... periods (`logic.decay_factor_table`): beyond the last, every decayed
    total rounds to 0; a score whose every total rounds to 0 from one period on has the one factor 0."""
    try:
        return decay_factor_table(decay.percent, score.bound) or [(1, Decimal(0))]
    except ValueError as exc:
        raise UnsupportedError(str(exc)) from None


def decay_factor_sql(gen: SqlContext, score: ir.Score, decay: ir.Decay) -> exp.Expr:
    """A lead's decay factor: from the list of them by its period count (lists count from 1; past the end is
    NULL), or read from the table of them joined on it (`decay_join`), as the dialect carries them."""
    if DIALECTS[gen.dialect]["factors"] == "list":
        listed = [decimal_sql(format(f, "f"), FACTOR_TYPE) for _, f in factor_table(score, decay)]
        factors = exp.Array(expressions=listed)
        return exp.Bracket(this=factors, expressions=[decay_periods_sql(gen, decay)], offset=1)
    return exp.column("#f", table=gen.factor_alias, quoted=True)


def decay_join(gen: SqlContext, score: ir.Score, decay: ir.Decay) -> tuple[exp.Expr, exp.Expr] | None:
    """(the VALUES table of a decayed score's factors by period count, the join condition on this lead's
    periods), for a dialect that joins its factors; None for one that lists them."""
    if DIALECTS[gen.dialect]["factors"] == "list":
        return None
    rows = [exp.Tuple(expressions=[exp.Literal.number(n), decimal_sql(format(f, "f"), FACTOR_TYPE)])
            for n, f in factor_table(score, decay)]
    values = exp.Values(expressions=rows, alias=exp.TableAlias(
        this=exp.to_identifier(gen.factor_alias, quoted=True),
        columns=[exp.to_identifier("#n", quoted=True), exp.to_identifier("#f", quoted=True)]))
    on = exp.EQ(this=exp.column("#n", table=gen.factor_alias, quoted=True), expression=decay_periods_sql(gen, decay))
    return values, on


def total_type(score: ir.Score) -> str:
    """The DECIMAL a fractional total is summed and decayed in, wide enough for the score's largest total. An
    8-digit total times the 10-digit factor stays within 64-bit decimals; up to 27 digits, sums and the product
    (at most 38 digits, Spark's p1 + p2 + 1 included) are exact in every engine. A total of more than 18 whole
    digits is refused: Spark would drop places of it, and its score would not fit the BIGINT a decision holds."""
    whole_digits = len(str(int(score.bound)))
    if whole_digits > MAX_TOTAL_WHOLE_DIGITS:
        raise UnsupportedError(f"score {score.name} can total {ir.dec(score.bound)} points, more than SQL sums "
                               f"and decays exactly ({MAX_TOTAL_WHOLE_DIGITS} whole digits)")
    digits = whole_digits + score.scale
    return f"DECIMAL({max(digits, 1) if digits <= 8 else max(digits, 18)}, {score.scale})"


def score_sum(score: ir.Score, terms: list[exp.Expr]) -> exp.Expr:
    """The rules' rows summed. Each sum of two DECIMALs is a digit wider, and past 38 digits Spark drops places
    (down to 6) rather than failing, so past 20 fractional terms (each DECIMAL(18, scale)) each partial sum is
    cast back to the total's type (`total_type`), which holds every partial sum exactly."""
    long_sum = score.scale > 0 and len(terms) > MAX_PLAIN_TERMS
    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
        if long_sum:
            total = exp.cast(total, total_type(score))
    return exp.Paren(this=total)


def decay(gen: SqlContext, score: ir.Score, decay: ir.Decay, total: exp.Expr) -> exp.Expr:
    """The total times its factor, rounded. Before the first full period (or with the date missing) the
    factor is 1; past the factor table every decayed total rounds to 0 (`logic.decay_factor_table`)."""
    factor = exp.Coalesce(this=decay_factor_sql(gen, score, decay), expressions=[decimal_sql("0", FACTOR_TYPE)])
    exact_total = exp.cast(total.copy(), total_type(score))
    applied = exp.Case().when(exp.GTE(this=gen.operand(decay.since), expression=lit(decay.every_days)), factor).else_(
        decimal_sql("1", FACTOR_TYPE))
    return exp.Round(this=exp.Mul(this=exact_total, expression=applied), decimals=exp.Literal.number(0))


def clamp(gen: SqlContext, clamp: ir.Clamp, value: exp.Expr) -> exp.Expr:
    return exp.Greatest(this=exp.Least(this=value, expressions=[lit(clamp.high)], ignore_nulls=True),
                        expressions=[lit(clamp.low)], ignore_nulls=True)


# ---------------------------------------------------------------- dispatch by the table's rows

ConditionBuilder = Callable[[SqlContext, Any, bool], exp.Expr]
OperandBuilder = Callable[[SqlContext, Any, ir.Fold, bool], exp.Expr]
RuleBuilder = Callable[[SqlContext, Any, ir.Score], exp.Expr]

CONDITION_BUILDERS: dict[str, ConditionBuilder] = {
    "and_": and_, "or_": or_, "not_": not_, "compare": compare, "between": between, "in_list": in_list,
    "text_match": text_match, "is_missing": is_missing, "truthy": truthy, "happened": happened}
OPERAND_BUILDERS: dict[str, OperandBuilder] = {
    "const": const, "ref": ref, "days_since": days_since, "event_count": event_count,
    "days_since_event": days_since_event}
RULE_BUILDERS: dict[str, RuleBuilder] = {"points_rule": points_rule, "per_rule": per_rule}
DECAY_BUILDERS = {"decay": decay}
DECAY_JOINS = {"decay": decay_join}  # what a decay joins to its score's layer (its factors), by the same row
WINDOW_BUILDERS = {"windows": window_sql}
CLAMP_BUILDERS = {"clamp": clamp}
BUILDERS: dict[str, Callable[..., exp.Expr]] = {
    **CONDITION_BUILDERS, **OPERAND_BUILDERS, **RULE_BUILDERS, **DECAY_BUILDERS, **CLAMP_BUILDERS, **WINDOW_BUILDERS}


def build_condition(gen: SqlContext, node: ir.Condition, positive: bool) -> exp.Expr:
    return CONDITION_BUILDERS[row_of(node).sql](gen, node, positive)


def build_operand(gen: SqlContext, op: ir.Operand, how: ir.Fold, raw: bool) -> exp.Expr:
    if how is ir.Fold.LOCAL_DATE:
        raise UnsupportedError("comparing a timestamp with a date (by its local date) is not supported in SQL "
                               "yet; compare `days since FIELD` with a number instead")
    return OPERAND_BUILDERS[row_of(op).sql](gen, op, how, raw)


def build_decay(gen: SqlContext, score: ir.Score, node: ir.Decay, total: exp.Expr) -> exp.Expr:
    builder: Callable[[SqlContext, ir.Score, ir.Decay, exp.Expr], exp.Expr] = DECAY_BUILDERS[row_of(node).sql]
    return builder(gen, score, node, total)


def build_decay_join(gen: SqlContext, score: ir.Score, node: ir.Decay) -> tuple[exp.Expr, exp.Expr] | None:
    """(table, join condition) the decay's row joins to its score's layer, or None."""
    joins: Callable[[SqlContext, ir.Score, ir.Decay], tuple[exp.Expr, exp.Expr] | None] = DECAY_JOINS[row_of(node).sql]
    return joins(gen, score, node)


def build_clamp(gen: SqlContext, node: ir.Clamp, value: exp.Expr) -> exp.Expr:
    builder: Callable[[SqlContext, ir.Clamp, exp.Expr], exp.Expr] = CLAMP_BUILDERS[row_of(node).sql]
    return builder(gen, node, value)


def build_window(op: ir.EventCount | ir.DaysSinceEvent, event: exp.Expr, at_us: exp.Expr,
                 now_us: exp.Expr | int) -> exp.Expr:
    """One window's aggregate, by the derived-inputs row of activity windows."""
    builder: Callable[..., exp.Expr] = WINDOW_BUILDERS[WINDOWS.sql]
    return builder(op, event, at_us, now_us)


def build_rule(gen: SqlContext, rule: ir.Rule, score: ir.Score) -> exp.Expr:
    return RULE_BUILDERS[row_of(rule).sql](gen, rule, score)
