"""The rows of the condition nodes: each node's three-valued truth for the interpreter, and the Python the
generator writes for it (its SQL builder is named here and lives in `primitives.sql`).

Generated Python writes each condition as two plain-boolean expressions, T(c) ("c is true",
want=True) and F(c) ("c is false"), which is SQL's three-valued logic: T(a and b) = T(a) and T(b),
F(a and b) = F(a) or F(b), T(not a) = F(a), and an atom over a missing value is neither.
"""

from __future__ import annotations

from leadpolicy import runtime
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.primitives.contexts import PythonContext, Truth, TruthContext
from leadpolicy.semantics.primitives.rows import ConditionRow

PY_OP = {ir.Op.EQ: "==", ir.Op.NE: "!=", ir.Op.LT: "<", ir.Op.LE: "<=", ir.Op.GT: ">", ir.Op.GE: ">="}


def guard(operands: list[tuple[str, bool]], test: str) -> str:
    """`test`, only when every nullable operand is present (else neither true nor false)."""
    checks = [f"{expr} is not None" for expr, nullable in operands if nullable]
    return "(" + " and ".join([*checks, test]) + ")"


# ---------------------------------------------------------------- and, or, not


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


def compare_truth(ctx: TruthContext, node: ir.Compare) -> Truth:
    return logic.compare(node.op, ctx.operand(node.left), ctx.operand(node.right), node.fold, ctx.tz)


def compare_python(gen: PythonContext, node: ir.Compare, want: bool) -> str:
    a, b = gen.operand(node.left, node.fold), gen.operand(node.right, node.fold)
    symbol = node.op if want else node.op.negated
    return guard([a, b], f"{a[0]} {PY_OP[symbol]} {b[0]}")


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


def in_list_truth(ctx: TruthContext, node: ir.InList) -> Truth:
    result = logic.in_list(ctx.operand(node.value), [o.value for o in node.options], node.fold, ctx.tz)
    return logic.not3(result) if node.negated else result


def in_list_python(gen: PythonContext, node: ir.InList, want: bool) -> str:
    value, nullable = gen.operand(node.value, node.fold)
    options = [gen.operand(o, node.fold)[0] for o in node.options]
    inside = want != node.negated
    return guard([(value, nullable)], f"{value} {'in' if inside else 'not in'} ({', '.join(options)},)")


def text_match_truth(ctx: TruthContext, node: ir.TextMatch) -> Truth:
    return logic.text_match(node.how, ctx.operand(node.value), node.folded)


TEXT_MATCH_PY = {ir.Match.STARTS: "{value}.startswith({needle})", ir.Match.ENDS: "{value}.endswith({needle})",
                 ir.Match.CONTAINS: "{needle} in {value}", ir.Match.CONTAINS_ANY: "{needle} in {value}"}


def text_match_python(gen: PythonContext, node: ir.TextMatch, want: bool) -> str:
    value, nullable = gen.operand(node.value, ir.Fold.CASE)
    test = " or ".join(TEXT_MATCH_PY[node.how].format(value=value, needle=repr(n)) for n in node.folded)
    return guard([(value, nullable)], f"({test})" if want else f"not ({test})")


def is_missing_truth(ctx: TruthContext, node: ir.IsMissing) -> Truth:
    missing = ctx.operand(node.value) is None
    return not missing if node.negated else missing


def is_missing_python(gen: PythonContext, node: ir.IsMissing, want: bool) -> str:
    value, nullable = gen.operand(node.value)
    is_missing = want != node.negated
    if not nullable:
        return "False" if is_missing else "True"
    return f"{value} is None" if is_missing else f"{value} is not None"


def truthy_truth(ctx: TruthContext, node: ir.Truthy) -> Truth:
    value = ctx.operand(node.value)
    return None if value is None else bool(value)


def truthy_python(gen: PythonContext, node: ir.Truthy, want: bool) -> str:
    return f"{gen.operand(node.value)[0]} is {want}"


def happened_truth(ctx: TruthContext, node: ir.Happened) -> Truth:
    return runtime.happened(ctx.operand(node.count))


def happened_python(gen: PythonContext, node: ir.Happened, want: bool) -> str:
    """`runtime.happened`, inline: the count is never missing."""
    return f"{gen.operand(node.count)[0]} {'>=' if want else '<'} {runtime.HAPPENED_AT_LEAST}"


ROWS = (
    ConditionRow(ir.And, and_truth, and_python, "and_"),
    ConditionRow(ir.Or, or_truth, or_python, "or_"),
    ConditionRow(ir.Not, not_truth, not_python, "not_"),
    ConditionRow(ir.Compare, compare_truth, compare_python, "compare"),
    ConditionRow(ir.Between, between_truth, between_python, "between"),
    ConditionRow(ir.InList, in_list_truth, in_list_python, "in_list"),
    ConditionRow(ir.TextMatch, text_match_truth, text_match_python, "text_match"),
    ConditionRow(ir.IsMissing, is_missing_truth, is_missing_python, "is_missing"),
    ConditionRow(ir.Truthy, truthy_truth, truthy_python, "truthy"),
    ConditionRow(ir.Happened, happened_truth, happened_python, "happened"),
)
