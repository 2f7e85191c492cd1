"""The rows of a score's parts: its rules (`PointsRule`, `PerRule`), its decay and its clamp.

One meaning each, read by every backend:
- a `per` rule counts `runtime.per_units` of its value (rounded down; missing or negative: none),
  capped at ±cap; the operand's `Facts` say which steps a backend may skip (a count or a score is
  whole and never missing, a count never negative);
- decay applies `runtime.decay_power(percent, periods)` from one whole period on
  (`runtime.decay_periods`: none before the first full period, none for a missing date);
- the clamp bounds the rounded value.
Each row also says how lowering reads it from the syntax tree and how the published docs say it.
"""

from __future__ import annotations

from decimal import Decimal

from leadpolicy import runtime
from leadpolicy.language import ast
from leadpolicy.language.formatter import count_text, rule_label
from leadpolicy.language.formatter import number as number_text
from leadpolicy.language.words import quantity
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.contexts import (
    ExplainContext,
    LoweringContext,
    PythonContext,
    TruthContext,
    WordsContext,
    block,
)
from leadpolicy.semantics.primitives.operands import ROWS as OPERAND_ROWS
from leadpolicy.semantics.primitives.operands import days_since_of, reference
from leadpolicy.semantics.primitives.rows import ClampRow, DecayRow, Facts, RuleOutcome, RuleRow

OPERAND_FACTS = {row.node: row.facts for row in OPERAND_ROWS}


def facts(op: ir.Operand) -> Facts:
    """What lowering knows about an operand's values (its row's facts)."""
    return OPERAND_FACTS[type(op)](op)


# ---------------------------------------------------------------- +N when CONDITION


def points_lower(ctx: LoweringContext, rule: ast.PointsRule) -> ir.PointsRule:
    """Its label: the reason, or the condition as written."""
    return ir.PointsRule(rule.points, ctx.condition(rule.condition), rule.reason, rule_label(rule))


def points_words(say: WordsContext, rule: ir.PointsRule) -> str:
    return f"when {say.condition(rule.condition)}"


def points_interpret(ctx: TruthContext, rule: ir.PointsRule) -> RuleOutcome:
    fired = ctx.visit(rule.condition) is True
    return (rule.points if fired else Decimal(0)), fired, False


def points_python(gen: PythonContext, rule: ir.PointsRule, total: str, whole: bool) -> None:
    amount = gen.number(rule.points) if whole else gen.literal(rule.points)
    block(gen.w, f"if {gen.truth(rule.condition, True)}", f"{total} += {amount}")


# ---------------------------------------------------------------- +N per VALUE, capped


def per_lower(ctx: LoweringContext, rule: ast.PerRule) -> ir.PerRule:
    """Per a field or score by name, or per an event's count in a window."""
    per: ir.Ref | ir.EventCount = (
        reference(ctx, rule.field_name) if rule.window is None
        else ir.EventCount(rule.field_name, rule.window, count_text(rule.field_name, rule.window)))
    return ir.PerRule(rule.points, per, rule.cap, rule.reason, rule_label(rule))


def per_words(say: WordsContext, rule: ir.PerRule) -> str:
    cap = f"up to {say.quantity(rule.cap, 'points')}"
    if isinstance(rule.per, ir.EventCount):
        return f"for each {say.event(rule.per.event)} in the last {say.quantity(rule.per.days, 'days')}, {cap}"
    return f"for each unit of {say.name(rule.per.name)}, {cap}"


def per_points(rule: ir.PerRule, value: int | Decimal | None) -> tuple[Decimal, bool]:
    """(points, capped): points for each whole unit of the value, capped at ±cap."""
    points = rule.points * runtime.per_units(value)
    cap = abs(rule.cap)
    if abs(points) > cap:
        return (cap if points > 0 else -cap), True
    return points, False


def per_interpret(ctx: TruthContext, rule: ir.PerRule) -> RuleOutcome:
    points, capped = per_points(rule, ctx.operand(rule.per))
    return points, points != 0, capped


def per_explain(ev: ExplainContext, rule: ir.PerRule, capped: bool) -> str:
    """What a fired `per` rule counted (an event's count in its window, with their dates; a score above's
    value), and its cap when reached."""
    per, said = rule.per, ""
    if isinstance(per, ir.EventCount):
        said = f": {ev.value(per)} in the last {quantity(per.days, 'days')} ({ev.dates(per)})"
    elif per.kind is ir.RefKind.SCORE:
        said = f": {per.name} {ev.show(ev.value(per))}"
    return said + (f" (capped at {number_text(rule.cap)})" if capped else "")


def units_python(var: str, known: Facts) -> str:
    """`runtime.per_units(var)`, inline, without the steps the operand's facts make needless."""
    if known.whole and not known.nullable and known.minimum is not None and known.minimum >= 0:
        return var
    missing = f"{var} is None or " if known.nullable else ""
    floor = var if known.whole else f"floor_units({var})"
    return f"0 if {missing}{var} <= 0 else {floor}"


def per_python(gen: PythonContext, rule: ir.PerRule, total: str, whole: bool) -> None:
    w = gen.w
    var, _ = gen.operand(rule.per)
    amount = gen.number(rule.points) if whole else gen.literal(rule.points)
    cap = gen.number(rule.cap) if whole else gen.literal(abs(rule.cap))
    units, p = w.fresh("u"), w.fresh("p")
    w.line(f"{units} = {units_python(var, facts(rule.per))}")
    w.line(f"{p} = {amount} * {units}")
    block(w, f"if {p} > {cap}", f"{p} = {cap}")
    block(w, f"elif {p} < -{cap}", f"{p} = -{cap}")
    w.line(f"{total} += {p}")


# ---------------------------------------------------------------- decay P% every D days since ...


def decay_lower(ctx: LoweringContext, decay: ast.Decay) -> ir.Decay:
    """Days since a date or timestamp field, or since the last of an event."""
    since: ir.DaysSince | ir.DaysSinceEvent = (
        ir.DaysSinceEvent(decay.field_name, f"days since last {decay.field_name}") if decay.since_event
        else days_since_of(ctx, decay.field_name, f"days since {decay.field_name}"))
    return ir.Decay(decay.percent, decay.every_days, since)


def decay_words(say: WordsContext, decay: ir.Decay) -> str:
    every = "day" if decay.every_days == 1 else say.quantity(decay.every_days, "days")
    since = (f"the last {say.event(decay.since.event)}" if isinstance(decay.since, ir.DaysSinceEvent)
             else say.name(decay.since.field))
    return f"the total loses {say.number(decay.percent)}% for every {every} since {since}"


def decay_interpret(ctx: TruthContext, decay: ir.Decay, total: Decimal) -> tuple[Decimal, Decimal | None, int]:
    """(decayed total, factor or None when the date is missing, periods)."""
    days = ctx.operand(decay.since)
    if days is None:
        return total, None, 0
    periods = runtime.decay_periods(days, decay.every_days)
    factor = runtime.decay_power(decay.percent, periods)
    return runtime.decayed(total, factor), factor, periods


def decay_python(gen: PythonContext, score: ir.Score, decay: ir.Decay, total: str, value: str, rounded: str) -> None:
    """`value` = the total times its decay factor, rounded; `runtime.decay_periods` inline: the factor
    applies from one whole period on (`days >= every`), and `DecayPowers` holds `runtime.decay_power`."""
    w = gen.w
    days = gen.operand(decay.since)[0]
    powers = gen.literal(runtime.DecayPowers(decay.percent, scaled=score.whole))
    every = gen.number(decay.every_days)
    periods = f"{days} // {every}" if every.lstrip("-").isdigit() else f"int(floor_div({days}, {every}))"
    rounding = "round_billionths" if score.whole else "round_half_away"  # whole: the factor in billionths, exact
    product = (f"{total} * {powers}[{periods}]" if score.whole  # ints: exact
               else f"decayed({total}, {powers}[{periods}])")
    block(w, f"if {days} is not None and {days} >= {every}", f"{value} = {rounding}({product})")
    block(w, "else", f"{value} = {rounded}")


# ---------------------------------------------------------------- clamp


def clamp_lower(ctx: LoweringContext, clamp: ast.Clamp) -> ir.Clamp:
    return ir.Clamp(clamp.low, clamp.high)


def clamp_words(say: WordsContext, clamp: ir.Clamp) -> str:
    return f"stays between {say.number(clamp.low)} and {say.number(clamp.high)}"


def clamp_interpret(clamp: ir.Clamp, rounded: int) -> int:
    return int(max(min(Decimal(rounded), clamp.high), clamp.low))


def clamp_python(gen: PythonContext, clamp: ir.Clamp, value: str) -> None:
    w = gen.w
    high, low = gen.number(clamp.high), gen.number(clamp.low)
    if clamp.low == int(clamp.low) and clamp.high == int(clamp.high):
        block(w, f"if {value} > {high}", f"{value} = {high}")
        block(w, f"elif {value} < {low}", f"{value} = {low}")
    else:
        w.line(f"{value} = int(max(min({value}, {high}), {low}))")


ROWS = (
    RuleRow(ir.PointsRule, points_interpret, points_python, "points_rule", ast.PointsRule, points_lower, points_words,
            solver="points_rule"),
    RuleRow(ir.PerRule, per_interpret, per_python, "per_rule", ast.PerRule, per_lower, per_words,
            amount="{points} each", explain=per_explain, solver="per_rule"),
)
DECAY = DecayRow(ir.Decay, decay_interpret, decay_python, "decay", ast.Decay, decay_lower, decay_words,
                 solver="decay")
CLAMP = ClampRow(ir.Clamp, clamp_interpret, clamp_python, "clamp", ast.Clamp, clamp_lower, clamp_words,
                 solver="clamp")
ADJUST_ROWS: tuple[DecayRow | ClampRow, ...] = (DECAY, CLAMP)
