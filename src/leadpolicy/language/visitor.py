"""Traversal shared by the syntax tree and the IR: children and walks, and `visit_<NodeClass>` methods
with a generic fallback."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator


class TreeNode:
    """Children and walks for the dataclass nodes of the syntax tree and the IR, derived from their
    declared fields (a node's `span` is where it stands, not a child)."""

    __slots__ = ()

    def children(self) -> Iterator[Any]:
        names = _CHILD_FIELDS.get(type(self))
        if names is None:
            names = _CHILD_FIELDS[type(self)] = tuple(
                f.name for f in dataclasses.fields(self) if f.name != "span")  # type: ignore[arg-type]
        for name in names:
            value = getattr(self, name)
            if isinstance(value, TreeNode):
                yield value
            elif isinstance(value, tuple):
                yield from (item for item in value if isinstance(item, TreeNode))

    def walk(self) -> Iterator[Any]:
        """This node and all nodes below it, depth first, without recursion."""
        stack: list[TreeNode] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.children())))


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


class Visitor:
    """Calls `visit_<NodeClass>(node, *args)`; `generic_visit` for a node without its own method.

    The method for each (visitor class, node class) pair is looked up once and kept.
    """

    def visit(self, node: Any, *args: Any) -> Any:
        method = _DISPATCH.get((type(self), type(node)))
        if method is None:
            found: Callable[..., Any] = getattr(type(self), f"visit_{type(node).__name__}", type(self).generic_visit)
            method = _DISPATCH[(type(self), type(node))] = found
        return method(self, node, *args)

    def generic_visit(self, node: Any, *args: Any) -> Any:
        for child in node.children():  # every node class of both trees has children()
            self.visit(child, *args)
        return None


_DISPATCH: dict[tuple[type, type], Callable[..., Any]] = {}
