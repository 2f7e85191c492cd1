"""The rows of the condition nodes: how lowering reads each from the syntax tree (with the facts it records:
a comparison's fold, whether it is false on a blank text, a text match's folded needles), its three-valued
truth for the interpreter, the Python the generator writes for it (its SQL builder is named here and lives
in `primitives.sql`), and its words in the published docs.

Generated Python writes each condition as two plain-boolean expressions, T(c) ("c is true",
want=True) and F(c) ("c is false"), which is SQL's three-valued logic: T(a and b) = T(a) and T(b),
F(a and b) = F(a) or F(b), T(not a) = F(a), and an atom over a missing value is neither.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from leadpolicy import runtime
from leadpolicy.language import ast
from leadpolicy.language.formatter import count_text
from leadpolicy.language.types import Type
from leadpolicy.language.words import quantity
from leadpolicy.runtime import BLANK
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.primitives.contexts import (
    ExplainContext,
    LoweringContext,
    PythonContext,
    Truth,
    TruthContext,
    WordsContext,
)
from leadpolicy.semantics.primitives.rows import ConditionRow

PY_OP = {ir.Op.EQ: "==", ir.Op.NE: "!=", ir.Op.LT: "<", ir.Op.LE: "<=", ir.Op.GT: ">", ir.Op.GE: ">="}
MATCHES = {"contains": ir.Match.CONTAINS, "contains_any": ir.Match.CONTAINS_ANY, "starts": ir.Match.STARTS,
           "starts_any": ir.Match.STARTS, "ends": ir.Match.ENDS, "ends_any": ir.Match.ENDS}

# The published docs' words (publish.english) for a comparison, and for how often an event happened:
# `Called the API at least 3 times in the last 7 days`.
OPS = {ir.Op.EQ: "is", ir.Op.NE: "is not", ir.Op.LT: "is below", ir.Op.LE: "is at most", ir.Op.GT: "is above",
       ir.Op.GE: "is at least"}
HOW_OFTEN = {ir.Op.EQ: "exactly", ir.Op.NE: "other than", ir.Op.LT: "fewer than", ir.Op.LE: "at most",
             ir.Op.GT: "more than", ir.Op.GE: "at least"}
MATCH_VERBS = {ir.Match.CONTAINS: "contains", ir.Match.CONTAINS_ANY: "contains", ir.Match.STARTS: "starts with",
               ir.Match.ENDS: "ends with"}


def fold_for(types: set[Type]) -> ir.Fold:
    """How operands of these types are compared: text ignoring case, a timestamp with a date by its local date."""
    if any(t.textual for t in types):
        return ir.Fold.CASE
    if Type.DATE in types and Type.TIMESTAMP in types:
        return ir.Fold.LOCAL_DATE
    return ir.Fold.NONE


def blank(text: str) -> bool:
    return text.strip(BLANK) == ""


def false_on_blank_text(const: ir.Operand) -> bool:
    """Whether `VALUE = const` is FALSE, not unknown, when VALUE is a blank text."""
    return isinstance(const, ir.Const) and const.type is Type.TEXT and not blank(str(const.value))


def listing(values: list[str], joiner: str) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" {joiner} " + values[-1]


def guard(operands: list[tuple[str, bool]], test: str) -> str:
    """`test`, only when every nullable operand is present (else neither true nor false)."""
    checks = [f"{expr} is not None" for expr, nullable in operands if nullable]
    return "(" + " and ".join([*checks, test]) + ")"


# ---------------------------------------------------------------- and, or, not


def and_lower(ctx: LoweringContext, node: ast.And) -> ir.And:
    return ir.And(tuple(ctx.condition(i) for i in node.items), ctx.text(node))


def or_lower(ctx: LoweringContext, node: ast.Or) -> ir.Or:
    return ir.Or(tuple(ctx.condition(i) for i in node.items), ctx.text(node))


def not_lower(ctx: LoweringContext, node: ast.Not) -> ir.Not:
    return ir.Not(ctx.condition(node.operand), ctx.text(node))


def joined_words(say: WordsContext, items: tuple[ir.Condition, ...], joiner: str, nested: bool) -> str:
    """An and/or in words; parenthesized inside another condition."""
    text = f" {joiner} ".join(say.condition(i, True) for i in items)
    return f"({text})" if nested else text


def and_words(say: WordsContext, node: ir.And, nested: bool) -> str:
    return joined_words(say, node.items, "and", nested)


def or_words(say: WordsContext, node: ir.Or, nested: bool) -> str:
    return joined_words(say, node.items, "or", nested)


def not_words(say: WordsContext, node: ir.Not, nested: bool) -> str:
    return f"not {say.condition(node.item, True)}"


def and_truth(ctx: TruthContext, node: ir.And) -> Truth:
    return logic.and3(ctx.visit(i) for i in node.items)


def and_python(gen: PythonContext, node: ir.And, want: bool) -> str:
    return "(" + (" and " if want else " or ").join(gen.truth(i, want) for i in node.items) + ")"


def or_truth(ctx: TruthContext, node: ir.Or) -> Truth:
    return logic.or3(ctx.visit(i) for i in node.items)


def or_python(gen: PythonContext, node: ir.Or, want: bool) -> str:
    return "(" + (" or " if want else " and ").join(gen.truth(i, want) for i in node.items) + ")"


def not_truth(ctx: TruthContext, node: ir.Not) -> Truth:
    return logic.not3(ctx.visit(node.item))


def not_python(gen: PythonContext, node: ir.Not, want: bool) -> str:
    return gen.truth(node.item, not want)


# ---------------------------------------------------------------- atoms


def compare_lower(ctx: LoweringContext, node: ast.Compare) -> ir.Compare:
    """`=` against one non-blank text constant is FALSE, not unknown, on a blank text (`false_when_blank`)."""
    left, right = ctx.operand(node.left), ctx.operand(node.right)
    op = ir.Op(node.op)
    consts = [o for o in (left, right) if isinstance(o, ir.Const)]
    false_when_blank = op is ir.Op.EQ and len(consts) == 1 and false_on_blank_text(consts[0])
    return ir.Compare(op, left, right, fold_for({left.type, right.type}), false_when_blank, ctx.text(node))


def compare_words(say: WordsContext, node: ir.Compare, nested: bool) -> str:
    """`fit is at least 40`; an event count against a number says how often the event happened."""
    left, right = node.left, node.right
    if isinstance(left, ir.EventCount) and isinstance(right, ir.Const) and right.type is Type.NUMBER:
        times = say.quantity(cast(Decimal, right.value), "times")  # a number constant holds a Decimal
        return f"{say.event(left.event)} {HOW_OFTEN[node.op]} {times} in the last {say.quantity(left.days, 'days')}"
    return f"{say.operand(left)} {OPS[node.op]} {say.operand(right)}"


def compare_truth(ctx: TruthContext, node: ir.Compare) -> Truth:
    return logic.compare(node.op, ctx.operand(node.left), ctx.operand(node.right), node.fold, ctx.tz)


def compare_python(gen: PythonContext, node: ir.Compare, want: bool) -> str:
    a, b = gen.operand(node.left, node.fold), gen.operand(node.right, node.fold)
    symbol = node.op if want else node.op.negated
    return guard([a, b], f"{a[0]} {PY_OP[symbol]} {b[0]}")


def between_lower(ctx: LoweringContext, node: ast.Between) -> ir.Between:
    value, low, high = ctx.operand(node.operand), ctx.operand(node.low), ctx.operand(node.high)
    return ir.Between(value, low, high, fold_for({value.type, low.type, high.type}), ctx.text(node))


def between_words(say: WordsContext, node: ir.Between, nested: bool) -> str:
    return f"{say.operand(node.value)} is between {say.operand(node.low)} and {say.operand(node.high)}"


def between_truth(ctx: TruthContext, node: ir.Between) -> Truth:
    return logic.between(ctx.operand(node.value), ctx.operand(node.low), ctx.operand(node.high), node.fold, ctx.tz)


def between_python(gen: PythonContext, node: ir.Between, want: bool) -> str:
    value, low, high = (gen.operand(o, node.fold) for o in (node.value, node.low, node.high))
    if want:
        return guard([value, low, high], f"{low[0]} <= {value[0]} <= {high[0]}")
    # F(a and b) = F(a) or F(b): false when a known side fails.
    below = guard([value, low], f"{value[0]} < {low[0]}")
    above = guard([value, high], f"{value[0]} > {high[0]}")
    return f"({below} or {above})"


def in_list_lower(ctx: LoweringContext, node: ast.InList) -> ir.InList:
    """`in` a list without a blank text is FALSE, not unknown, on a blank text (`false_when_blank`)."""
    value = ctx.operand(node.operand)
    options = tuple(cast(ir.Const, ctx.operand(v)) for v in node.values)  # the parser admits literals only
    false_when_blank = not node.negated and all(
        not (o.type is Type.TEXT and blank(str(o.value))) for o in options)
    return ir.InList(value, options, node.negated, fold_for({value.type, *(o.type for o in options)}),
                     false_when_blank, ctx.text(node))


def in_list_words(say: WordsContext, node: ir.InList, nested: bool) -> str:
    values = listing([say.operand(o) for o in node.options], "or")
    return f"{say.operand(node.value)} is {'not ' if node.negated else ''}{values}"


def in_list_truth(ctx: TruthContext, node: ir.InList) -> Truth:
    result = logic.in_list(ctx.operand(node.value), [o.value for o in node.options], node.fold, ctx.tz)
    return logic.not3(result) if node.negated else result


def in_list_python(gen: PythonContext, node: ir.InList, want: bool) -> str:
    value, nullable = gen.operand(node.value, node.fold)
    options = [gen.operand(o, node.fold)[0] for o in node.options]
    inside = want != node.negated
    return guard([(value, nullable)], f"{value} {'in' if inside else 'not in'} ({', '.join(options)},)")


def text_match_lower(ctx: LoweringContext, node: ast.TextMatch) -> ir.TextMatch:
    """The needles as written and folded; FALSE, not unknown, on a blank text unless a needle is blank."""
    needles = tuple(node.values)
    return ir.TextMatch(MATCHES[node.how], ctx.operand(node.operand), needles,
                        tuple(logic.fold(n) for n in needles), not any(blank(n) for n in needles), ctx.text(node))


def text_match_words(say: WordsContext, node: ir.TextMatch, nested: bool) -> str:
    values = listing([f'"{n}"' for n in node.needles], "or")
    return f"{say.operand(node.value)} {MATCH_VERBS[node.how]} {values}"


def text_match_truth(ctx: TruthContext, node: ir.TextMatch) -> Truth:
    return logic.text_match(node.how, ctx.operand(node.value), node.folded)


TEXT_MATCH_PY = {ir.Match.STARTS: "{value}.startswith({needle})", ir.Match.ENDS: "{value}.endswith({needle})",
                 ir.Match.CONTAINS: "{needle} in {value}", ir.Match.CONTAINS_ANY: "{needle} in {value}"}


def text_match_python(gen: PythonContext, node: ir.TextMatch, want: bool) -> str:
    value, nullable = gen.operand(node.value, ir.Fold.CASE)
    test = " or ".join(TEXT_MATCH_PY[node.how].format(value=value, needle=repr(n)) for n in node.folded)
    return guard([(value, nullable)], f"({test})" if want else f"not ({test})")


def is_missing_lower(ctx: LoweringContext, node: ast.IsMissing) -> ir.IsMissing:
    return ir.IsMissing(ctx.operand(node.operand), node.negated, ctx.text(node))


def is_missing_words(say: WordsContext, node: ir.IsMissing, nested: bool) -> str:
    return f"{say.operand(node.value)} is {'known' if node.negated else 'unknown'}"


def is_missing_truth(ctx: TruthContext, node: ir.IsMissing) -> Truth:
    missing = ctx.operand(node.value) is None
    return not missing if node.negated else missing


def is_missing_python(gen: PythonContext, node: ir.IsMissing, want: bool) -> str:
    value, nullable = gen.operand(node.value)
    is_missing = want != node.negated
    if not nullable:
        return "False" if is_missing else "True"
    return f"{value} is None" if is_missing else f"{value} is not None"


def truthy_lower(ctx: LoweringContext, node: ast.Truthy) -> ir.Truthy:
    return ir.Truthy(ctx.operand(node.operand), ctx.text(node))


def truthy_words(say: WordsContext, node: ir.Truthy, nested: bool) -> str:
    return f"{say.operand(node.value)} is yes"


def truthy_truth(ctx: TruthContext, node: ir.Truthy) -> Truth:
    value = ctx.operand(node.value)
    return None if value is None else bool(value)


def truthy_python(gen: PythonContext, node: ir.Truthy, want: bool) -> str:
    return f"{gen.operand(node.value)[0]} is {want}"


def happened_lower(ctx: LoweringContext, node: ast.Happened) -> ir.Happened:
    return ir.Happened(ir.EventCount(node.event, node.days, count_text(node.event, node.days)), ctx.text(node))


def happened_words(say: WordsContext, node: ir.Happened, nested: bool) -> str:
    return f"{say.an_event(node.count.event)} in the last {say.quantity(node.count.days, 'days')}"


def happened_truth(ctx: TruthContext, node: ir.Happened) -> Truth:
    return runtime.happened(ctx.operand(node.count))


def happened_python(gen: PythonContext, node: ir.Happened, want: bool) -> str:
    """`runtime.happened`, inline: the count is never missing."""
    return f"{gen.operand(node.count)[0]} {'>=' if want else '<'} {runtime.HAPPENED_AT_LEAST}"


# ---------------------------------------------------------------- explanations, with the lead's values

TEXT_VERBS = {  # how a text match reads when it holds, and when it does not
    ir.Match.CONTAINS: ("contains", "does not contain"), ir.Match.CONTAINS_ANY: ("contains", "contains none of"),
    ir.Match.STARTS: ("starts with", "does not start with"), ir.Match.ENDS: ("ends with", "does not end with")}


def compare_explain(ev: ExplainContext, node: ir.Compare, positive: bool) -> str:
    op = node.op if positive else node.op.negated
    right = node.right.text if isinstance(node.right, ir.Const) else ev.shown(node.right)
    return f"{ev.shown(node.left)} {op} {right}"


def between_explain(ev: ExplainContext, node: ir.Between, positive: bool) -> str:
    word = "is between" if positive else "is not between"
    return f"{ev.shown(node.value)} {word} {node.low.text} and {node.high.text}"


def in_list_explain(ev: ExplainContext, node: ir.InList, positive: bool) -> str:
    inside = positive != node.negated
    values = ", ".join(o.text for o in node.options)
    return f"{ev.shown(node.value)} is {'' if inside else 'not '}in ({values})"


def text_match_explain(ev: ExplainContext, node: ir.TextMatch, positive: bool) -> str:
    """The needles the value holds (when it holds), or all of them (when it does not)."""
    verb = TEXT_VERBS[node.how][0 if positive else 1]
    hits = list(node.needles)
    if positive:
        value = ev.value(node.value)
        hits = [v for v, folded in zip(node.needles, node.folded) if logic.text_match(node.how, value, (folded,))]
    return f"{ev.shown(node.value)} {verb} {', '.join(ev.show(v) for v in hits)}"


def is_missing_explain(ev: ExplainContext, node: ir.IsMissing, positive: bool) -> str:
    present = positive == node.negated
    return f"{node.value.text} is {'present' if present else 'missing'}"


def truthy_explain(ev: ExplainContext, node: ir.Truthy, positive: bool) -> str:
    return f"{node.value.text} is {'yes' if ev.value(node.value) else 'no'}"


def happened_explain(ev: ExplainContext, node: ir.Happened, positive: bool) -> str:
    """`demo_request in the last 30 days (Nov 18)`, or why not, with when the last one was."""
    count = node.count
    window = f"in the last {quantity(count.days, 'days')}"
    if positive:
        return f"{count.event} {window} ({ev.dates(count)})"
    last = ev.activity.last(count.event, ev.now)
    if last is None:
        return f"no {count.event} {window} (none before now)"
    ago = logic.days_since(last, ev.now, ev.tz) or 0  # never None: `last` is a timestamp
    return f"no {count.event} {window} (last one {quantity(ago, 'days')} ago)"


def its_fold(node: ir.Compare | ir.Between | ir.InList) -> ir.Fold:
    """How a comparison reads its operands: as lowering recorded (`fold_for` of their types)."""
    return node.fold


def ignoring_case(node: ir.TextMatch) -> ir.Fold:
    """A text match reads its value ignoring case, always."""
    return ir.Fold.CASE


ROWS = (
    ConditionRow(ir.And, and_truth, and_python, "and_", ast.And, and_lower, and_words,
                 solver="and_"),
    ConditionRow(ir.Or, or_truth, or_python, "or_", ast.Or, or_lower, or_words,
                 solver="or_"),
    ConditionRow(ir.Not, not_truth, not_python, "not_", ast.Not, not_lower, not_words,
                 solver="not_"),
    ConditionRow(ir.Compare, compare_truth, compare_python, "compare", ast.Compare, compare_lower, compare_words,
                 fold=its_fold, explain=compare_explain, solver="compare"),
    ConditionRow(ir.Between, between_truth, between_python, "between", ast.Between, between_lower, between_words,
                 fold=its_fold, explain=between_explain, solver="between"),
    ConditionRow(ir.InList, in_list_truth, in_list_python, "in_list", ast.InList, in_list_lower, in_list_words,
                 fold=its_fold, explain=in_list_explain, solver="in_list"),
    ConditionRow(ir.TextMatch, text_match_truth, text_match_python, "text_match", ast.TextMatch, text_match_lower,
                 text_match_words, fold=ignoring_case, explain=text_match_explain,
                 solver="text_match"),
    ConditionRow(ir.IsMissing, is_missing_truth, is_missing_python, "is_missing", ast.IsMissing, is_missing_lower,
                 is_missing_words, explain=is_missing_explain, solver="is_missing"),
    ConditionRow(ir.Truthy, truthy_truth, truthy_python, "truthy", ast.Truthy, truthy_lower, truthy_words,
                 explain=truthy_explain, solver="truthy"),
    ConditionRow(ir.Happened, happened_truth, happened_python, "happened", ast.Happened, happened_lower,
                 happened_words, explain=happened_explain, solver="happened"),
)
