"""Traversal shared by the syntax tree and the IR: `visit_<NodeClass>` methods with a generic fallback."""

from __future__ import annotations

from typing import Any, Callable


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
