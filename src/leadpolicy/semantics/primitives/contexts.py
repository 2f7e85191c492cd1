"""What each backend offers the rows of the table of primitives (`semantics.primitives`).

A row's column for a backend is a function of (context, node): the interpreter passes itself as a
`ValueContext`/`TruthContext` (to its explanations, an `ExplainContext`), the Python generator a
`PythonContext`, the SQL generator a `SqlContext`, the published docs' English a `WordsContext`, lowering
(syntax tree -> IR) a `LoweringContext`, and the symbolic lead of the proofs (`semantics.symbolic`) a
`SolverContext`.
The rows say what a node means; the contexts only say how that backend reads a value or writes a line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Optional, Protocol
from zoneinfo import ZoneInfo

from leadpolicy.semantics import ir

if TYPE_CHECKING:
    from sqlglot import exp

    from leadpolicy.language import ast
    from leadpolicy.language.symbols import Symbol
    from leadpolicy.semantics.activity import Activity
    from leadpolicy.semantics.primitives.smt import Sym, Tri

Truth = Optional[bool]


class TruthContext(Protocol):
    """The interpreter as conditions see it: an operand's value and a condition's three-valued truth."""

    tz: ZoneInfo

    def operand(self, node: ir.Operand) -> Any: ...

    def visit(self, node: ir.Condition) -> Truth: ...


class ExplainContext(Protocol):
    """The interpreter as explanations see it: an operand's value, and how an explanation writes a value, an
    operand with its value (`engagement 23`) and a window's events (`Nov 10, Nov 17`)."""

    tz: ZoneInfo
    now: dt.datetime
    activity: Activity

    def value(self, node: ir.Operand) -> Any: ...

    def show(self, value: Any) -> str: ...

    def shown(self, node: ir.Operand) -> str: ...

    def dates(self, count: ir.EventCount) -> str: ...


class ValueContext(Protocol):
    """The interpreter as operands see it: one lead's typed values, its events and the evaluation time."""

    tz: ZoneInfo
    now: dt.datetime
    env: dict[str, Any]
    activity: Activity


class Lines(Protocol):
    """Generated Python: lines at an indentation level, and fresh local names."""

    def line(self, text: str = "") -> None: ...

    def indent(self) -> None: ...

    def outdent(self) -> None: ...

    def fresh(self, prefix: str) -> str: ...


class PythonContext(Protocol):
    """The Python generator: operands as local expressions, conditions as plain-boolean expressions."""

    @property
    def w(self) -> Lines: ...

    def truth(self, cond: ir.Condition, want: bool) -> str: ...

    def operand(self, op: ir.Operand, how: ir.Fold = ir.Fold.NONE) -> tuple[str, bool]: ...

    def variable(self, name: str, folded: bool = False) -> str: ...

    def derived_var(self, key: tuple[Any, ...], field: str | None = None, template: str | None = None,
                    today: bool = False) -> str: ...

    def number(self, value: Decimal) -> str: ...

    def literal(self, value: Any) -> str: ...


class SqlContext(Protocol):
    """The SQL generator: a lead's row as column expressions in one dialect, the evaluation time, and the name
    of the table a score's layer joins (a decay's factors, `primitives.sql.decay_join`)."""

    dialect: str
    factor_alias: str

    def condition(self, cond: ir.Condition, positive: bool = True) -> exp.Expr: ...

    def operand(self, op: ir.Operand, how: ir.Fold = ir.Fold.NONE, raw: bool = False) -> exp.Expr: ...

    def field(self, name: str) -> ir.Field: ...

    def field_value(self, name: str) -> exp.Expr: ...

    def folded_field(self, key: tuple[str, bool], value: exp.Expr) -> exp.Expr: ...

    def column(self, name: str) -> exp.Expr: ...

    def now_us(self) -> exp.Expr: ...

    def today(self) -> exp.Expr: ...

    def epoch_us(self, value: exp.Expr) -> exp.Expr: ...


class SolverContext(Protocol):
    """The symbolic lead (`semantics.symbolic`) as the rows' solver column sees it: an operand's `Sym`, a
    condition's `Tri`, a field, score, grade or decided value, `now` (microseconds since the epoch), today and
    an instant's local date (day numbers in the policy's zone), an event's count in a window and the age of
    its latest (microseconds). It decides nothing: the rows do (`primitives.smt`)."""

    def operand(self, node: ir.Operand) -> Sym: ...

    def condition(self, node: ir.Condition) -> Tri: ...

    def ref(self, node: ir.Ref) -> Sym: ...

    def field(self, name: str) -> Sym: ...

    def now(self) -> Any: ...

    def today(self) -> Any: ...

    def local_date(self, node: ir.Operand, instant: Any) -> Any: ...

    def event_count(self, event: str, days: Decimal) -> Any: ...

    def last_event_age(self, event: str) -> Sym: ...


class WordsContext(Protocol):
    """The published docs' plain English (`publish.english`): how an event, a name, an amount of a unit and
    a number are written there, and the words of a node's children."""

    def event(self, name: str) -> str: ...

    def an_event(self, name: str) -> str: ...

    def name(self, text: str) -> str: ...

    def quantity(self, amount: Decimal, unit: str) -> str: ...

    def number(self, value: Decimal) -> str: ...

    def operand(self, op: ir.Operand) -> str: ...

    def condition(self, cond: ir.Condition, nested: bool = False) -> str: ...


class LoweringContext(Protocol):
    """Lowering (`semantics.lowering`) as rows see it: the checked policy's symbols, a child lowered, and a
    condition's source text (empty when the lowering keeps none)."""

    symbols: dict[str, Symbol]

    def operand(self, node: ast.Node) -> ir.Operand: ...

    def condition(self, node: ast.Node) -> ir.Condition: ...

    def text(self, node: ast.Node) -> str: ...


def block(w: Lines, head: str, *body: str) -> None:
    """`head:` and its indented body lines."""
    w.line(f"{head}:")
    w.indent()
    for text in body:
        w.line(text)
    w.outdent()
