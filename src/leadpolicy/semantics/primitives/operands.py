"""The rows of the operands: what lowering knows of their values (`Facts`), their value in the
interpreter, and the Python expression the generator reads them from. Activity windows are one
derived-inputs row (`WINDOWS`): every window a policy reads is computed in one pass over the events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from leadpolicy.language.types import Type
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.primitives.contexts import PythonContext, ValueContext, block
from leadpolicy.semantics.primitives.rows import DerivedRow, Facts, OperandRow

# ---------------------------------------------------------------- constants and references


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


def event_count_facts(node: ir.EventCount) -> Facts:
    return Facts(Type.NUMBER, True, False, Decimal(0))  # a count: whole, never missing, never negative


def event_count_value(ctx: ValueContext, node: ir.EventCount) -> Decimal:
    return Decimal(ctx.activity.count(node.event, node.days, ctx.now))


def event_count_python(gen: PythonContext, node: ir.EventCount, how: ir.Fold) -> tuple[str, bool]:
    return gen.derived_var(("count", node.event, node.days)), False


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
            w.line(f"{var} = None if {var}_at is None else (now - {var}_at).days")  # whole days, floored


def ref_missing(node: ir.Ref) -> str:
    return f"{node.name} is missing"


def days_since_missing(node: ir.DaysSince) -> str:
    return f"{node.text} is missing"


def days_since_event_missing(node: ir.DaysSinceEvent) -> str:
    return f"no {node.event} yet"


ROWS = (
    OperandRow(ir.Const, const_facts, const_value, const_python, "const", None),
    OperandRow(ir.Ref, ref_facts, ref_value, ref_python, "ref", ref_missing),
    OperandRow(ir.DaysSince, days_since_facts, days_since_value, days_since_python, "days_since", days_since_missing),
    OperandRow(ir.EventCount, event_count_facts, event_count_value, event_count_python, "event_count", None),
    OperandRow(ir.DaysSinceEvent, days_since_event_facts, days_since_event_value, days_since_event_python,
               "days_since_event", days_since_event_missing),
)
WINDOWS = DerivedRow((ir.EventCount, ir.DaysSinceEvent), Activity, windows_python, "windows")
