"""The rows of the operands: how lowering reads them from the syntax tree and what it knows of their
values (`Facts`), their value in the interpreter, the Python expression the generator reads them from, and
their words in the published docs. Activity windows are one derived-inputs row (`WINDOWS`): every window a
policy reads is computed in one pass over the events.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from leadpolicy.language import ast
from leadpolicy.language.formatter import literal
from leadpolicy.language.formatter import operand as operand_text
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.primitives.contexts import LoweringContext, PythonContext, ValueContext, WordsContext, block
from leadpolicy.semantics.primitives.rows import DerivedRow, EventRead, Facts, OperandRow

REF_KINDS = {kind.value: kind for kind in ir.RefKind}

# ---------------------------------------------------------------- constants and references


def const_lower(ctx: LoweringContext, node: ast.Literal) -> ir.Const:
    """A literal: a date as a `datetime.date`, anything else as the parser read it, with its canonical text."""
    value = dt.date.fromisoformat(str(node.value)) if node.kind is Type.DATE else node.value
    return ir.Const(value, node.kind, literal(node))  # type: ignore[arg-type]  # ast.Literal.value is an object


def const_words(say: WordsContext, node: ir.Const) -> str:
    if node.type is Type.TEXT:
        return f'"{node.value}"'
    if node.type is Type.YESNO:
        return "yes" if node.value else "no"
    if node.type is Type.NUMBER:
        return say.number(cast(Decimal, node.value))  # a number literal holds a Decimal
    return str(node.value)


def const_facts(node: ir.Const) -> Facts:
    number = node.type is Type.NUMBER and isinstance(node.value, Decimal)
    whole = number and node.value == node.value.to_integral_value()  # type: ignore[union-attr]
    return Facts(node.type, whole, False, node.value if number else None)  # type: ignore[arg-type]


def const_value(ctx: ValueContext, node: ir.Const) -> Any:
    return node.value


def const_python(gen: PythonContext, node: ir.Const, how: ir.Fold) -> tuple[str, bool]:
    value = node.value
    if node.type is Type.NUMBER and isinstance(value, Decimal):
        return gen.number(value), False
    if node.type is Type.TEXT:
        return repr(logic.fold(str(value)) if how is ir.Fold.CASE else value), False
    if node.type is Type.YESNO:
        return repr(bool(value)), False
    return gen.literal(value), False


def reference(ctx: LoweringContext, name: str) -> ir.Ref:
    """A field, score or grade by name, with its kind, type and whether it can be missing."""
    sym = ctx.symbols[name]
    return ir.Ref(name, REF_KINDS[sym.kind], sym.type, sym.nullable, name)


def ref_lower(ctx: LoweringContext, node: ast.NameRef) -> ir.Ref:
    return reference(ctx, node.name)


def ref_words(say: WordsContext, node: ir.Ref) -> str:
    return say.name(node.name)


def ref_facts(node: ir.Ref) -> Facts:
    """A score is a whole number (rounded, then clamped); a field or grade is as declared."""
    return Facts(node.type, node.kind is ir.RefKind.SCORE, node.nullable, None)


def ref_value(ctx: ValueContext, node: ir.Ref) -> Any:
    return ctx.env.get(node.name)


# `logic.fold` of a present text and `logic.local_date` of a present timestamp, in generated code; ASCII
# text (nearly all of it) is lowered inline.
FOLD_TEMPLATE = "({value}.lower() if {value}.isascii() else fold({value}))"
LOCAL_DATE_TEMPLATE = "local_date({value}, TZ)"


def ref_python(gen: PythonContext, node: ir.Ref, how: ir.Fold) -> tuple[str, bool]:
    """A field, score or grade as read: its variable, or one derived from a field once per lead (folded,
    or a timestamp's local date); a grade's folded label is computed right after the grade."""
    if how is ir.Fold.CASE and node.kind is ir.RefKind.GRADE:
        return gen.variable(node.name, folded=True), node.nullable
    if how is ir.Fold.CASE and node.type.textual:
        return gen.derived_var(("fold", node.name), node.name, FOLD_TEMPLATE), node.nullable
    if how is ir.Fold.LOCAL_DATE and node.type is Type.TIMESTAMP:
        return gen.derived_var(("localdate", node.name), node.name, LOCAL_DATE_TEMPLATE), node.nullable
    return gen.variable(node.name), node.nullable


# ---------------------------------------------------------------- days since a field


def days_since_of(ctx: LoweringContext, field: str, text: str) -> ir.DaysSince:
    sym = ctx.symbols[field]
    return ir.DaysSince(field, sym.type, sym.nullable, text)


def days_since_lower(ctx: LoweringContext, node: ast.DaysSince) -> ir.DaysSince:
    return days_since_of(ctx, node.field_name, operand_text(node))


def days_since_words(say: WordsContext, node: ir.DaysSince) -> str:
    return f"days since {say.name(node.field)}"


def days_since_facts(node: ir.DaysSince) -> Facts:
    return Facts(Type.NUMBER, True, node.nullable, None)  # a date in the future is days before: negative


def days_since_value(ctx: ValueContext, node: ir.DaysSince) -> Decimal | None:
    days = logic.days_since(ctx.env.get(node.field), ctx.now, ctx.tz)
    return None if days is None else Decimal(days)


def days_since_template(of: Type) -> str:
    """`logic.days_since` of a present value, in generated code: elapsed 24-hour days to `now` for a
    timestamp, calendar days to today (`now`'s date in the policy's zone) for a date. A timedelta's `days` is
    its floor division by a day (its seconds are never negative), at a twentieth of the cost."""
    return "(now - {value}).days" if of is Type.TIMESTAMP else "(today - {value}).days"


def days_since_python(gen: PythonContext, node: ir.DaysSince, how: ir.Fold) -> tuple[str, bool]:
    template = days_since_template(node.of)
    return gen.derived_var(("days", node.field), node.field, template, today=node.of is Type.DATE), node.nullable


# ---------------------------------------------------------------- activity windows


def event_count_lower(ctx: LoweringContext, node: ast.EventCount) -> ir.EventCount:
    return ir.EventCount(node.event, node.days, operand_text(node))


def event_count_words(say: WordsContext, node: ir.EventCount) -> str:
    return f"the count of {say.event(node.event)} in the last {say.quantity(node.days, 'days')}"


def event_count_facts(node: ir.EventCount) -> Facts:
    return Facts(Type.NUMBER, True, False, Decimal(0))  # a count: whole, never missing, never negative


def event_count_value(ctx: ValueContext, node: ir.EventCount) -> Decimal:
    return Decimal(ctx.activity.count(node.event, node.days, ctx.now))


def event_count_python(gen: PythonContext, node: ir.EventCount, how: ir.Fold) -> tuple[str, bool]:
    return gen.derived_var(("count", node.event, node.days)), False


def days_since_event_lower(ctx: LoweringContext, node: ast.DaysSinceEvent) -> ir.DaysSinceEvent:
    return ir.DaysSinceEvent(node.event, operand_text(node))


def days_since_event_words(say: WordsContext, node: ir.DaysSinceEvent) -> str:
    return f"days since the last {say.event(node.event)}"


def days_since_event_facts(node: ir.DaysSinceEvent) -> Facts:
    return Facts(Type.NUMBER, True, True, Decimal(0))  # events after now never count: never negative


def days_since_event_value(ctx: ValueContext, node: ir.DaysSinceEvent) -> Decimal | None:
    days = logic.days_since(ctx.activity.last(node.event, ctx.now), ctx.now, ctx.tz)
    return None if days is None else Decimal(days)


def days_since_event_python(gen: PythonContext, node: ir.DaysSinceEvent, how: ir.Fold) -> tuple[str, bool]:
    return gen.derived_var(("lastdays", node.event)), True


# The window's cut-off (`runtime.window_start`, `runtime.in_window`) as the generated loop writes it.
PY_WINDOW_START = "now - DAY * {days}"
PY_AFTER_NOW = "at > now"  # not in_window for any start: skipped before any window is tested
PY_AFTER_START = "at > {start}"  # with at <= now already known: in_window(at, start, now)


def windows_python(gen: PythonContext, wanted: list[tuple[tuple[Any, ...], str]]) -> None:
    """Every event window and `days since last` the decisions read, in one pass over the events.
    `wanted`: (("count", event, days) or ("lastdays", event), its variable)."""
    w = gen.w
    by_event: dict[str, list[tuple[tuple[Any, ...], str]]] = {}
    starts: dict[Decimal, str] = {}
    for key, var in wanted:
        by_event.setdefault(key[1], []).append((key, var))
        if key[0] == "count":
            w.line(f"{var} = 0")
            if key[2] not in starts:
                starts[key[2]] = w.fresh("since")
                w.line(f"{starts[key[2]]} = {PY_WINDOW_START.format(days=int(key[2]))}")
        else:
            w.line(f"{var}_at = None")
    w.line("for name, at in events:")
    w.indent()
    block(w, f"if {PY_AFTER_NOW}", "continue")
    for i, (event, items) in enumerate(by_event.items()):
        w.line(f"{'if' if i == 0 else 'elif'} name == {event!r}:")
        w.indent()
        for key, var in items:
            test, update = ((PY_AFTER_START.format(start=starts[key[2]]), f"{var} += 1") if key[0] == "count"
                            else (f"{var}_at is None or at > {var}_at", f"{var}_at = at"))
            block(w, f"if {test}", update)
        w.outdent()
    w.outdent()
    for key, var in wanted:
        if key[0] == "lastdays":
            days = days_since_template(Type.TIMESTAMP).format(value=f"{var}_at")
            w.line(f"{var} = None if {var}_at is None else {days}")


def ref_missing(node: ir.Ref) -> str:
    return f"{node.name} is missing"


def days_since_missing(node: ir.DaysSince) -> str:
    return f"{node.text} is missing"


def days_since_event_missing(node: ir.DaysSinceEvent) -> str:
    return f"no {node.event} yet"


def days_since_origin(node: ir.DaysSince) -> str:
    return node.field


def days_since_event_origin(node: ir.DaysSinceEvent) -> str:
    return f"last {node.event}"


def event_count_reads(node: ir.EventCount) -> tuple[EventRead, ...]:
    return ((node.event, node.days),)


def days_since_event_reads(node: ir.DaysSinceEvent) -> tuple[EventRead, ...]:
    return ((node.event, None),)


ROWS = (
    OperandRow(ir.Const, const_facts, const_value, const_python, "const", None,
               syntax=ast.Literal, lower=const_lower, words=const_words, solver="const"),
    OperandRow(ir.Ref, ref_facts, ref_value, ref_python, "ref", ref_missing,
               syntax=ast.NameRef, lower=ref_lower, words=ref_words, solver="ref"),
    OperandRow(ir.DaysSince, days_since_facts, days_since_value, days_since_python, "days_since", days_since_missing,
               syntax=ast.DaysSince, lower=days_since_lower, words=days_since_words, since=days_since_origin,
               solver="days_since"),
    OperandRow(ir.EventCount, event_count_facts, event_count_value, event_count_python, "event_count", None,
               syntax=ast.EventCount, lower=event_count_lower, words=event_count_words,
               reads=event_count_reads, solver="event_count"),
    OperandRow(ir.DaysSinceEvent, days_since_event_facts, days_since_event_value, days_since_event_python,
               "days_since_event", days_since_event_missing,
               syntax=ast.DaysSinceEvent, lower=days_since_event_lower, words=days_since_event_words,
               since=days_since_event_origin, reads=days_since_event_reads, solver="days_since_event"),
)
# the operands that read a lead's events, computed together before any condition reads them
WINDOWS = DerivedRow(tuple(row.node for row in ROWS if row.reads is not None), Activity, windows_python, "windows",
                     solver="windows")
