"""Fixed SQL templates filled as sqlglot trees: the one way names, values and SQL pieces are put in a query.

A template is DuckDB SQL over our own names, parsed once per text (cached) and copied before each
filling, so a template costs its parse once per process, not once per use. `filled` puts in, by name:

- `tables`: a table named by a key becomes the value, one quoted identifier whatever its characters
  (a quote or a dot stays part of the name), its alias kept;
- `values`: a bare column named by a key becomes the value as a literal (`literal`); `x IN (key)` with a
  list becomes `x IN (each as a literal)`, and with an empty list FALSE, which matches nothing;
- `pieces`: a bare column named by a key becomes that tree (a query as a scalar subquery), and a table named
  by a key becomes that table under the template's alias, or that query as a subquery.

Nothing put in is read again for names, so text of a policy or a lead that looks like a placeholder stays
the literal it is. The caller writes the tree in its dialect (`.sql(dialect)`); pieces must already be
built for that dialect.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp


def literal(value: Any) -> exp.Expr:
    """A Python value as a SQL literal: None is NULL, a bool TRUE or FALSE, an int or Decimal a number
    written in full (a negative one negated), anything else its text as a string."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)):
        text = format(Decimal(value), "f")
        return exp.Literal.number(text) if not text.startswith("-") else exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.string(str(value))


@functools.lru_cache(maxsize=1024)
def _parsed(template: str) -> exp.Expr:
    """The template parsed as DuckDB SQL, once per text. Shared, so never changed: `filled` fills a copy."""
    return sqlglot.parse_one(template, read="duckdb")


def table_named(name: str) -> exp.Table:
    """A table name of ours or of the user's as one quoted identifier (never split at a dot)."""
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def filled(template: str, *, tables: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
           pieces: Mapping[str, exp.Expr] | None = None) -> exp.Expr:
    """The template with its tables, values and pieces put in (see the module's docstring), as a new tree."""
    swap = _Swap(tables or {}, values or {}, pieces or {})
    return _parsed(template).transform(swap)  # transform copies the cached tree first


def filled_select(template: str, *, tables: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None,
                  pieces: Mapping[str, exp.Expr] | None = None, joins: Sequence[exp.Join] = ()) -> exp.Select:
    """`filled` of a template that is a SELECT, with `joins` added after its own."""
    query = filled(template, tables=tables, values=values, pieces=pieces)
    if not isinstance(query, exp.Select):
        raise TypeError(f"not a SELECT template: {template[:60]!r}")
    if joins:
        query.set("joins", [*query.args.get("joins", []), *(j.copy() for j in joins)])
    return query


class _Swap:
    """The replacement of one node of a template, for `exp.Expr.transform`."""

    def __init__(self, tables: Mapping[str, str], values: Mapping[str, Any], pieces: Mapping[str, exp.Expr]):
        self.tables, self.values, self.pieces = tables, values, pieces

    def __call__(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not node.args.get("db"):
            return self._table(node)
        if isinstance(node, exp.In) and len(node.expressions) == 1 and self._is_value(node.expressions[0]):
            return self._in_list(node)
        if isinstance(node, exp.Column):
            return self._column(node)
        return node

    def _is_value(self, node: exp.Expr) -> bool:
        return isinstance(node, exp.Column) and not node.table and node.name in self.values

    def _table(self, node: exp.Table) -> exp.Expr:
        alias = node.args.get("alias")
        if node.name in self.tables:
            named = table_named(self.tables[node.name])
            named.set("alias", alias)
            return named
        piece = self.pieces.get(node.name)
        if piece is None:
            return node
        if isinstance(piece, exp.Table):
            named = piece.copy()
            if alias is not None:
                named.set("alias", alias.copy())
            return named
        return exp.Subquery(this=piece.copy(), alias=alias)

    def _in_list(self, node: exp.In) -> exp.Expr:
        items = self.values[node.expressions[0].name]
        if not isinstance(items, (list, tuple)):
            items = [items]
        if not items:
            return exp.false()
        return exp.In(this=node.this.transform(self), expressions=[literal(v) for v in items])

    def _column(self, node: exp.Column) -> exp.Expr:
        if node.table:
            return self._qualified(node)
        piece = self.pieces.get(node.name)
        if piece is not None:
            return exp.Subquery(this=piece.copy()) if isinstance(piece, exp.Query) else piece.copy()
        if node.name in self.values:
            return literal(self.values[node.name])
        return node

    def _qualified(self, node: exp.Column) -> exp.Expr:
        """A column qualified by a table put in without an alias (`"#t".x` after `FROM "#t"`), named by the
        table put in, as the query now names it."""
        if node.table in self.tables:
            name = self.tables[node.table]
        elif isinstance(self.pieces.get(node.table), exp.Table):
            name = self.pieces[node.table].alias_or_name
        else:
            return node
        qualified = node.copy()
        qualified.set("table", exp.to_identifier(name, quoted=True))
        return qualified
