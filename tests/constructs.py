"""Every operand of the table of primitives, as syntax nodes the generated-policy tests draw.

tests/test_random_policies.py (policies decided alike by every engine) and tests/test_formatter.py (the
formatter's round trip) take their operands from here: one strategy per row of `primitives.OPERANDS`, built
from the row's syntax node with a strategy per attribute that each file gives. A new operand's row reaches
both with no edit of theirs, unless its node has an attribute neither names: then `ungenerated` lists it, and
each file's test of it fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hypothesis import strategies as st

from leadpolicy.language import ast
from leadpolicy.semantics import primitives

Values = Mapping[str, st.SearchStrategy]


def syntax_nodes() -> list[type[ast.Node]]:
    """The syntax node of each operand row but a constant's (each file draws its literals itself)."""
    return [row.syntax for row in primitives.OPERANDS.values() if row.syntax is not ast.Literal]


def attributes(node: type[ast.Node]) -> list[str]:
    """What a node must be given: its attributes without a default (spans have one)."""
    return [f.name for f in dataclasses.fields(node)
            if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


def ungenerated(values: Values) -> list[str]:
    """'Node.attribute' for each attribute of an operand's node that `values` gives no strategy for."""
    return [f"{node.__name__}.{name}" for node in syntax_nodes() for name in attributes(node) if name not in values]


def operand_nodes(values: Values) -> st.SearchStrategy[ast.Node]:
    """A syntax node of any operand whose every attribute has a strategy in `values`."""
    return st.one_of([st.builds(node, **{name: values[name] for name in attributes(node)})
                      for node in syntax_nodes() if all(name in values for name in attributes(node))])
