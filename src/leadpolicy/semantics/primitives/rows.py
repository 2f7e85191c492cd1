"""The kinds of row in the table of primitives, one per node family, each with a column per backend.

Every row has
- `interpret`: what the interpreter (and its explanations) computes, built on `runtime`/`logic`;
- `python`: the Python the generator writes, a template over the same runtime function's inputs;
- `missing` (operands): what an explanation says when the operand has no value; `since`, what it counts days
  since ("3 periods since seen"); `explain` (conditions): how an explanation says the condition holds or fails,
  (rules) what it adds after a fired rule ("3 in the last 30 days (Nov 7, Nov 8, Nov 9)");
- `fold` (conditions): how the condition reads its operands (a text ignoring case, a timestamp by its date);
- `amount` (rules): how the published docs write its points ("+2 each");
- `reads` (operands): the events it reads of a lead's, each with its window in days (None: at any age); none for
  one that reads no event. The activity windows (`WINDOWS`) are the operands with one;
- `sql`: the name of its sqlglot builder in `primitives.sql` (one builder for every dialect, dialect
  quirks as data). A name, not the function: sqlglot takes a tenth of a second to import, and
  `Policy.evaluate` and the standalone compiled module never build SQL;
- `syntax` and `lower`: the syntax-tree class lowering reads the node from, and how (the facts lowering
  records: a comparison's fold, whether it is false on a blank text, a text match's folded needles...);
- `words`: how the published docs say the node in plain English (`publish.english` is the context);
- `solver`: the name of its encoder in `primitives.smt`, the SMT terms the proofs of guarantees read (issue 27).
  A name, as `sql` is: z3 is imported by the proofs only, never by `Policy.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from leadpolicy.language.types import Type
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.contexts import (
    ExplainContext,
    LoweringContext,
    PythonContext,
    Truth,
    TruthContext,
    ValueContext,
    WordsContext,
)

if TYPE_CHECKING:
    from leadpolicy.language import ast


@dataclass(frozen=True)
class Facts:
    """What lowering knows about an operand's values: its type, whether it is a whole number, whether it
    can be missing, and the least value it can take (None: no bound)."""

    type: Type
    whole: bool
    nullable: bool
    minimum: Decimal | None


def as_they_are(node: Any) -> ir.Fold:
    """How a condition that folds nothing reads its operands."""
    return ir.Fold.NONE


@dataclass(frozen=True)
class ConditionRow:
    node: type[ir.Node]
    interpret: Callable[[TruthContext, Any], Truth]
    python: Callable[[PythonContext, Any, bool], str]  # (generator, node, want true or false) -> a bool expression
    sql: str
    syntax: type[ast.Node]
    lower: Callable[[LoweringContext, Any], ir.Condition]
    words: Callable[[WordsContext, Any, bool], str]  # (English, node, nested in and/or) -> its words
    fold: Callable[[Any], ir.Fold] = as_they_are  # how it reads its operands (Fold.CASE: a text ignoring case)
    # (interpreter, node, holds) -> how an explanation says it holds or fails, with the lead's values; None: by
    # its parts (and, or, not)
    explain: Callable[[ExplainContext, Any, bool], str] | None = None
    solver: str = ""  # its encoder in primitives.smt (ENCODERS)


@dataclass(frozen=True)
class OperandRow:
    node: type[ir.Node]
    facts: Callable[[Any], Facts]
    interpret: Callable[[ValueContext, Any], Any]
    python: Callable[[PythonContext, Any, ir.Fold], tuple[str, bool]]  # -> (expression, can be None)
    sql: str
    missing: Callable[[Any], str] | None  # what explanations say when its value is missing; None: never is
    syntax: type[ast.Node]
    lower: Callable[[LoweringContext, Any], ir.Operand]
    words: Callable[[WordsContext, Any], str]
    since: Callable[[Any], str] | None = None  # what explanations count its days since ("seen", "last demo")
    reads: Callable[[Any], tuple[EventRead, ...]] | None = None  # the events it reads; None: none
    solver: str = ""  # its encoder in primitives.smt (ENCODERS)


EventRead = tuple[str, Decimal | None]  # (event name, window in days; None: its latest at any age)


RuleOutcome = tuple[Decimal, bool, bool]  # (points added, fired, capped)


@dataclass(frozen=True)
class RuleRow:
    node: type[ir.Node]
    interpret: Callable[[TruthContext, Any], RuleOutcome]
    python: Callable[[PythonContext, Any, str, bool], None]  # (generator, rule, total variable, whole) writes lines
    sql: str
    syntax: type[ast.Node]
    lower: Callable[[LoweringContext, Any], ir.Rule]
    words: Callable[[WordsContext, Any], str]
    amount: str = "{points}"  # how the published docs write its points ("+2 each" for every unit)
    # (interpreter, rule, capped) -> what an explanation adds after a fired rule's points and label; None: nothing
    explain: Callable[[ExplainContext, Any, bool], str] | None = None
    solver: str = ""  # its encoder in primitives.smt (ENCODERS)


@dataclass(frozen=True)
class DecayRow:
    """A score's decay: the interpreter gives (decayed total, factor or None, periods); the Python template
    writes (generator, score, decay, total variable, value variable, the rounded total) into lines."""

    node: type[ir.Node]
    interpret: Callable[[TruthContext, Any, Decimal], tuple[Decimal, Decimal | None, int]]
    python: Callable[[PythonContext, ir.Score, Any, str, str, str], None]
    sql: str
    syntax: type[ast.Node]
    lower: Callable[[LoweringContext, Any], ir.Decay]
    words: Callable[[WordsContext, Any], str]
    solver: str = ""  # its encoder in primitives.smt (ENCODERS)


@dataclass(frozen=True)
class ClampRow:
    """A score's clamp of its rounded value: (clamp, value) -> value; the template bounds a variable."""

    node: type[ir.Node]
    interpret: Callable[[Any, int], int]
    python: Callable[[PythonContext, Any, str], None]
    sql: str
    syntax: type[ast.Node]
    lower: Callable[[LoweringContext, Any], ir.Clamp]
    words: Callable[[WordsContext, Any], str]
    solver: str = ""  # its encoder in primitives.smt (ENCODERS)


@dataclass(frozen=True)
class DerivedRow:
    """Inputs derived from a lead's events before any condition reads them (its activity windows): the
    batch hook computes every window the policy reads in one pass over the events."""

    nodes: tuple[type[ir.Node], ...]
    interpret: type  # the interpreter's index of one lead's events (`semantics.activity.Activity`)
    python: Callable[[PythonContext, list[tuple[tuple[Any, ...], str]]], None]  # the one-pass loop
    sql: str
    solver: str = ""  # its encoder in primitives.smt (ENCODERS)


AdjustRow = DecayRow | ClampRow
Row = ConditionRow | OperandRow | RuleRow | DecayRow | ClampRow
