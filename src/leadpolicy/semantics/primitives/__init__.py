"""The table of primitives: one row per IR node, each with the meaning every backend reads.

sqlglot keeps one table of how each expression is written (its TRANSFORMS), Jinja2 one of its
operators; this is leadpolicy's. A node's row holds the facts lowering records about it, the function
the interpreter and explanations call, the Python template the generator writes, the name of its sqlglot
builder (`primitives.sql`, every dialect) and the name of its z3 encoder (`primitives.smt`), which the
proofs of guarantees read.
The interpreter, the Python generator, the SQL generator and the published docs' English each dispatch on
`row_of(node)`, and lowering on the row of a syntax node's class (`SYNTAX`); none decides a node's meaning
on its own. Activity windows are one derived-inputs row (`WINDOWS`), whose batch hook
computes every window in one pass over a lead's events.

docs/internals.md, "The table of primitives" and "Adding a construct", says which files a new node touches.
"""

from __future__ import annotations

from typing import Any

from leadpolicy.language import ast
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives import conditions, operands, scores
from leadpolicy.semantics.primitives.rows import (
    AdjustRow,
    ConditionRow,
    DerivedRow,
    EventRead,
    Facts,
    OperandRow,
    Row,
    RuleRow,
)

CONDITIONS: dict[type[ir.Node], ConditionRow] = {row.node: row for row in conditions.ROWS}
OPERANDS: dict[type[ir.Node], OperandRow] = {row.node: row for row in operands.ROWS}
RULES: dict[type[ir.Node], RuleRow] = {row.node: row for row in scores.ROWS}
ADJUSTS: dict[type[ir.Node], AdjustRow] = {row.node: row for row in scores.ADJUST_ROWS}
WINDOWS: DerivedRow = operands.WINDOWS
TABLE: dict[type[ir.Node], Row] = {**CONDITIONS, **OPERANDS, **RULES, **ADJUSTS}

# The same rows by the syntax-tree class lowering reads each node from.
CONDITION_SYNTAX: dict[type[ast.Node], ConditionRow] = {row.syntax: row for row in conditions.ROWS}
OPERAND_SYNTAX: dict[type[ast.Node], OperandRow] = {row.syntax: row for row in operands.ROWS}
RULE_SYNTAX: dict[type[ast.Node], RuleRow] = {row.syntax: row for row in scores.ROWS}
SYNTAX: dict[type[ast.Node], Row] = {row.syntax: row for row in TABLE.values()}

# The nodes that hold a decision's parts together, walked by each backend's own loop, not rows: a score's
# rules in order, the first matching entry of a grade, stage or route.
STRUCTURE: tuple[type[ir.Node], ...] = (ir.Score, ir.Grade, ir.Entry, ir.Stage, ir.Route)


def row_of(node: Any) -> Row:
    """The row of an IR node (KeyError for a node that has none)."""
    return TABLE[type(node)]


def condition_row(node: ir.Condition) -> ConditionRow:
    return CONDITIONS[type(node)]


def operand_row(node: ir.Operand) -> OperandRow:
    return OPERANDS[type(node)]


def rule_row(node: ir.Rule) -> RuleRow:
    return RULES[type(node)]


def adjust_row(node: ir.Decay | ir.Clamp) -> AdjustRow:
    return ADJUSTS[type(node)]


def reads_events(node: Any) -> tuple[EventRead, ...]:
    """The events an IR node reads itself (its row's `reads`): none for a node that is no such operand."""
    row = OPERANDS.get(type(node))
    return row.reads(node) if row is not None and row.reads is not None else ()


def events_read(node: ir.Node | None) -> tuple[EventRead, ...]:
    """The events an IR expression (or a whole policy) reads, each with its window in days (None: its latest at
    any age), in first-use order: `reads_events` of every node in it."""
    if node is None:
        return ()
    return tuple(dict.fromkeys(read for part in node.walk() for read in reads_events(part)))


facts = scores.facts

__all__ = ["ADJUSTS", "CONDITIONS", "CONDITION_SYNTAX", "OPERANDS", "OPERAND_SYNTAX", "RULES", "RULE_SYNTAX",
           "STRUCTURE", "SYNTAX", "TABLE", "WINDOWS", "EventRead", "Facts", "Row", "adjust_row", "condition_row",
           "events_read", "facts", "operand_row", "reads_events", "row_of", "rule_row"]
