"""The solver column of the table of primitives: each row's meaning as SMT terms (z3), for the proofs of
guarantees (issue 27). A row's `solver` names its encoder here, as its `sql` names a builder in
`primitives.sql`; the symbolic lead (`semantics.symbolic`) is the context every encoder reads.

Values are `Sym(present, value)`: a number an exact rational (Real), a yes/no a Bool, a text its folded
value (`runtime.fold`: every comparison and text match of the language reads a text folded) as a String, a
date a whole day number and a timestamp whole microseconds since the epoch. Conditions are three-valued,
`Tri(true, false)` (never both; neither is unknown), combined as SQL does. z3 is imported here and in the
symbolic package only: `Policy.evaluate`, the interpreter, the generators and the CLI's start never do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import z3

from leadpolicy import runtime
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.primitives.contexts import SolverContext
from leadpolicy.semantics.primitives.scores import facts

DAY_US = 86_400_000_000  # a day in microseconds: timestamps are whole microseconds since the epoch
HOUR_US = 3_600_000_000
EPOCH_DATE = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class Unsupported(ValueError):
    """A construct the solver cannot encode exactly (a proof of it is `unknown`, never a guess)."""


@dataclass(frozen=True)
class Sym:
    """An operand's value: whether it is present, and its value (meaningful only when present)."""

    present: Any  # z3 BoolRef
    value: Any  # z3 ExprRef


@dataclass(frozen=True)
class Tri:
    """A condition's three-valued truth: when it is true, when it is false (neither: unknown)."""

    true: Any
    false: Any


def all_of(items: list[Any]) -> Any:
    return z3.BoolVal(True) if not items else items[0] if len(items) == 1 else z3.And(items)


def any_of(items: list[Any]) -> Any:
    return z3.BoolVal(False) if not items else items[0] if len(items) == 1 else z3.Or(items)


def atom(present: Any, holds: Any) -> Tri:
    """An atom over present values: true or false when they are, unknown otherwise."""
    return Tri(z3.And(present, holds), z3.And(present, z3.Not(holds)))


def day_number(day: dt.date) -> int:
    return (day - EPOCH_DATE).days


def instant_us(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def number(value: Decimal) -> Any:
    return z3.RealVal(format(value, "f"))


MAX_CHAR = 0x2FFFF  # the last character z3's strings hold
# the longest text constant the solver is given: at 1,000 every form (contains, starts/ends with, contains any, =,
# in, a field compared with another, a monotone pair) ends within 2.6 s at a 2 s time-out, at 2,000 within 2.7 s
# of CPU, at 5,000 `contains` runs past 60 s (tests/test_long_texts.py; X5, 2026-12-06)
MAX_TEXT = 1_000


def text(value: str) -> Any:
    """A text constant, character by character: z3 reads `\\u{...}` in a literal as an escape, so every
    character is written as one (a policy's backslash stays a backslash)."""
    if len(value) > MAX_TEXT:  # z3 overruns its time-out on a long constant (see MAX_TEXT)
        raise Unsupported(f"a text of {len(value)} characters is longer than the solver reasons about "
                          f"(at most {MAX_TEXT:,})")
    if any(ord(c) > MAX_CHAR for c in value):
        raise Unsupported(f"the text {value!r} has a character past U+{MAX_CHAR:X}, which the solver cannot hold")
    return z3.StringVal("".join(f"\\u{{{ord(c):x}}}" for c in value))


# ---------------------------------------------------------------- and, or, not


def and_(ctx: SolverContext, node: ir.And) -> Tri:
    """SQL AND: true when all are, false when one is (`logic.and3`)."""
    parts = [ctx.condition(i) for i in node.items]
    return Tri(all_of([p.true for p in parts]), any_of([p.false for p in parts]))


def or_(ctx: SolverContext, node: ir.Or) -> Tri:
    """SQL OR: true when one is, false when all are (`logic.or3`)."""
    parts = [ctx.condition(i) for i in node.items]
    return Tri(any_of([p.true for p in parts]), all_of([p.false for p in parts]))


def not_(ctx: SolverContext, node: ir.Not) -> Tri:
    part = ctx.condition(node.item)
    return Tri(part.false, part.true)


# ---------------------------------------------------------------- atoms


def read(ctx: SolverContext, node: ir.Operand, how: ir.Fold) -> Sym:
    """An operand as a comparison reads it: a timestamp compared with a date by its local date (texts are
    folded already)."""
    value = ctx.operand(node)
    if how is ir.Fold.LOCAL_DATE and node.type is Type.TIMESTAMP:
        return Sym(value.present, ctx.local_date(node, value.value))
    return value


def ordered(value: Any) -> Any:
    """A yes/no as Python orders it (no < yes); anything else as it is."""
    return z3.If(value, 1, 0) if z3.is_bool(value) else value


SMT_OP: dict[ir.Op, Callable[[Any, Any], Any]] = {
    ir.Op.EQ: lambda a, b: a == b, ir.Op.NE: lambda a, b: a != b,
    ir.Op.LT: lambda a, b: ordered(a) < ordered(b), ir.Op.LE: lambda a, b: ordered(a) <= ordered(b),
    ir.Op.GT: lambda a, b: ordered(a) > ordered(b), ir.Op.GE: lambda a, b: ordered(a) >= ordered(b)}


def compared(op: ir.Op, a: Sym, b: Sym) -> Tri:
    """`a OP b`: unknown when either side is missing (`logic.compare`)."""
    return atom(z3.And(a.present, b.present), SMT_OP[op](a.value, b.value))


def compare(ctx: SolverContext, node: ir.Compare) -> Tri:
    """A blank text is never present (the lead reader reads it as missing), so `false_when_blank` changes
    nothing here, as in the interpreter."""
    return compared(node.op, read(ctx, node.left, node.fold), read(ctx, node.right, node.fold))


def between(ctx: SolverContext, node: ir.Between) -> Tri:
    """value >= low and value <= high, three-valued (`logic.between`)."""
    value, low, high = (read(ctx, o, node.fold) for o in (node.value, node.low, node.high))
    above, below = compared(ir.Op.GE, value, low), compared(ir.Op.LE, value, high)
    return Tri(z3.And(above.true, below.true), z3.Or(above.false, below.false))


def in_list(ctx: SolverContext, node: ir.InList) -> Tri:
    """SQL IN over constants (`logic.in_list`); `not in` its negation."""
    value = read(ctx, node.value, node.fold)
    inside = any_of([value.value == read(ctx, o, node.fold).value for o in node.options])
    result = atom(value.present, inside)
    return Tri(result.false, result.true) if node.negated else result


MATCH: dict[ir.Match, Callable[[Any, str], Any]] = {
    ir.Match.STARTS: lambda hay, n: z3.PrefixOf(text(n), hay),
    ir.Match.ENDS: lambda hay, n: z3.SuffixOf(text(n), hay),
    ir.Match.CONTAINS: lambda hay, n: z3.Contains(hay, text(n)),
    ir.Match.CONTAINS_ANY: lambda hay, n: z3.Contains(hay, text(n))}


def text_match(ctx: SolverContext, node: ir.TextMatch) -> Tri:
    """The folded value against the folded needles (`logic.text_match`)."""
    value = ctx.operand(node.value)
    return atom(value.present, any_of([MATCH[node.how](value.value, n) for n in node.folded]))


def is_missing(ctx: SolverContext, node: ir.IsMissing) -> Tri:
    """Never unknown."""
    present = ctx.operand(node.value).present
    missing = present if node.negated else z3.Not(present)
    return Tri(missing, z3.Not(missing))


def truthy(ctx: SolverContext, node: ir.Truthy) -> Tri:
    value = ctx.operand(node.value)
    return atom(value.present, value.value)


def happened(ctx: SolverContext, node: ir.Happened) -> Tri:
    """`runtime.happened`: the window holds at least one event; never unknown."""
    holds = ctx.event_count(node.count.event, node.count.days) >= runtime.HAPPENED_AT_LEAST
    return Tri(holds, z3.Not(holds))


# ---------------------------------------------------------------- operands


def const(ctx: SolverContext, node: ir.Const) -> Sym:
    value = node.value
    if node.type is Type.NUMBER and isinstance(value, Decimal):
        return Sym(z3.BoolVal(True), number(value))
    if node.type is Type.YESNO:
        return Sym(z3.BoolVal(True), z3.BoolVal(bool(value)))
    if isinstance(value, dt.date):
        return Sym(z3.BoolVal(True), z3.IntVal(day_number(value)))
    return Sym(z3.BoolVal(True), text(logic.fold(str(value))))


def ref(ctx: SolverContext, node: ir.Ref) -> Sym:
    """A field, score, grade or decided value, as the symbolic lead holds it."""
    return ctx.ref(node)


def days_since(ctx: SolverContext, node: ir.DaysSince) -> Sym:
    """`logic.days_since`: whole 24-hour days to `now` for a timestamp (rounded down), calendar days to today
    in the policy's zone for a date."""
    value = ctx.field(node.field)
    days = (ctx.now() - value.value) / DAY_US if node.of is Type.TIMESTAMP else ctx.today() - value.value
    return Sym(value.present, z3.ToReal(days))


def event_count(ctx: SolverContext, node: ir.EventCount) -> Sym:
    return Sym(z3.BoolVal(True), z3.ToReal(ctx.event_count(node.event, node.days)))


def days_since_event(ctx: SolverContext, node: ir.DaysSinceEvent) -> Sym:
    """Whole 24-hour days since the latest event at or before now; missing when there is none."""
    age = ctx.last_event_age(node.event)
    return Sym(age.present, z3.ToReal(age.value / DAY_US))


# ---------------------------------------------------------------- rules, decay, clamp, rounding


def points_rule(ctx: SolverContext, rule: ir.PointsRule) -> Any:
    """+N only when the condition is true."""
    return z3.If(ctx.condition(rule.condition).true, number(rule.points), z3.RealVal(0))


def per_units(value: Sym, whole: bool) -> Any:
    """`runtime.per_units`: whole units rounded down; missing or negative, none (a value the operand's facts
    say is whole is its own units)."""
    units = z3.ToReal(z3.ToInt(value.value)) if not whole else value.value
    return z3.If(z3.And(value.present, units > 0), units, z3.RealVal(0))


def capped(points: Any, cap: Decimal) -> Any:
    limit = number(abs(cap))
    return z3.If(points > limit, limit, z3.If(points < -limit, -limit, points))


def per_rule(ctx: SolverContext, rule: ir.PerRule) -> Any:
    """Points per whole unit, capped at ±cap (`scores.per_points`)."""
    return capped(number(rule.points) * per_units(ctx.operand(rule.per), facts(rule.per).whole), rule.cap)


def factors(score: ir.Score, decay: ir.Decay) -> list[tuple[int, Decimal]]:
    """(periods, factor) as the SQL factor table has them (`logic.decay_factor_table`): past the last, every
    decayed total rounds to 0."""
    if decay.percent == 0:
        return []
    try:
        return logic.decay_factor_table(decay.percent, score.bound)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None


def decay(ctx: SolverContext, score: ir.Score, node: ir.Decay, total: Any) -> Any:
    """The total times its factor from one whole period on (`runtime.decay_periods`, `runtime.decay_power`);
    none before, or with the date missing. Past the factor table the total is 0 (it rounds to 0)."""
    if node.percent == 0:
        return total
    days = ctx.operand(node.since)
    periods = z3.ToInt(days.value / number(node.every_days))
    decayed: Any = z3.RealVal(0)
    for n, factor in reversed(factors(score, node)):
        decayed = z3.If(periods == n, total * number(factor), decayed)
    return z3.If(z3.And(days.present, days.value >= number(node.every_days)), decayed, total)


def round_half_away(value: Any, whole: bool = False) -> Any:
    """`runtime.round_half_away`: to a whole number, halves away from zero (a Real; a value known to be whole,
    a total of whole points without decay, is its own)."""
    if whole:
        return value
    half = z3.RealVal("1/2")
    return z3.ToReal(z3.If(value >= 0, z3.ToInt(value + half), -z3.ToInt(-value + half)))


def clamp(ctx: SolverContext, node: ir.Clamp, rounded: Any) -> Any:
    """`scores.clamp_interpret`: bounded, then `int()` (toward zero) when a bound is not whole."""
    high, low = number(node.high), number(node.low)
    bounded = z3.If(rounded > high, high, z3.If(rounded < low, low, rounded))
    if node.low == node.low.to_integral_value() and node.high == node.high.to_integral_value():
        return bounded
    return z3.ToReal(z3.If(bounded >= 0, z3.ToInt(bounded), -z3.ToInt(-bounded)))


# ---------------------------------------------------------------- activity windows


def lesser(a: Any, b: Any) -> Any:
    return z3.If(a <= b, a, b)


def windows(has: Any, age: Any, counts: list[tuple[int, Any]], oldest: Any) -> list[Any]:
    """What makes an event's latest age and its counts (window days, count), windows ascending, a history
    of events at distinct microseconds at or before now and at most `oldest` old (the earliest instant a
    reader takes): `runtime.in_window` (start < at <= now) puts an event of age A in the window of N days
    exactly when A < N days; every count is that many events, latest first, each window's extra events in its
    band of ages (at most one per microsecond)."""
    facts = [age >= 0, z3.Implies(has, age <= oldest)]
    previous_us, previous = z3.IntVal(0), z3.IntVal(0)
    for days, count in counts:
        window_us = lesser(z3.IntVal(days * DAY_US), oldest + 1)
        facts.append((count >= 1) == z3.And(has, age < days * DAY_US))
        room = z3.If(age < previous_us, window_us - previous_us, z3.If(age < window_us, window_us - age, 0))
        facts += [count >= previous, count - previous <= z3.If(has, room, 0)]
        previous_us, previous = window_us, count
    return facts


# ---------------------------------------------------------------- the names the rows give

CONDITION_ENCODERS: dict[str, Callable[[SolverContext, Any], Tri]] = {
    "and_": and_, "or_": or_, "not_": not_, "compare": compare, "between": between, "in_list": in_list,
    "text_match": text_match, "is_missing": is_missing, "truthy": truthy, "happened": happened}
OPERAND_ENCODERS: dict[str, Callable[[SolverContext, Any], Sym]] = {
    "const": const, "ref": ref, "days_since": days_since, "event_count": event_count,
    "days_since_event": days_since_event}
RULE_ENCODERS: dict[str, Callable[[SolverContext, Any], Any]] = {"points_rule": points_rule, "per_rule": per_rule}
ENCODERS: dict[str, Callable[..., Any]] = {**CONDITION_ENCODERS, **OPERAND_ENCODERS, **RULE_ENCODERS,
                                           "decay": decay, "clamp": clamp, "windows": windows}
