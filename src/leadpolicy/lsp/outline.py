"""The outline of a policy (document symbols), its folding ranges, and formatting as `leadpolicy fmt` does it."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from lsprotocol import types

from leadpolicy.language import ast
from leadpolicy.lsp.document import offset_to_position, to_range

Kind = types.SymbolKind


def formatting_edits(text: str, file: str) -> list[types.TextEdit] | None:
    """One edit replacing the whole text by `fmt`'s output; [] when already formatted; None when the text does
    not parse (nothing to format: the diagnostics say why)."""
    from leadpolicy.language.formatter import format_policy
    from leadpolicy.language.parser import parse_text

    parsed = parse_text(text, file)
    if parsed.policy is None:
        return None
    formatted = format_policy(parsed.policy, parsed.comments)
    if formatted == text:
        return []
    whole = types.Range(start=types.Position(line=0, character=0), end=offset_to_position(text, len(text)))
    return [types.TextEdit(range=whole, new_text=formatted)]


def _symbol(text: str, name: str, detail: str | None, kind: Kind, node: ast.Node,
            children: Iterable[types.DocumentSymbol] = ()) -> types.DocumentSymbol:
    where = to_range(text, node.span)
    return types.DocumentSymbol(name=name or "(unnamed)", detail=detail, kind=kind, range=where,
                                selection_range=types.Range(start=where.start, end=where.start),
                                children=list(children) or None)


def _lead(text: str, node: ast.LeadBlock) -> types.DocumentSymbol:
    fields = [_symbol(text, f.name, str(f.type.name), Kind.Field, f) for f in node.fields]
    return _symbol(text, "lead", "fields", Kind.Struct, node, fields)


def _rule_name(rule: ast.Node) -> str:
    from leadpolicy.language.formatter import rule_text

    return rule_text(rule).strip()


def _score(text: str, node: ast.Score) -> types.DocumentSymbol:
    rules = [_symbol(text, _rule_name(r), None, Kind.Property, r) for r in node.items
             if isinstance(r, (ast.PointsRule, ast.PerRule))]
    return _symbol(text, node.name, node.label or "score", Kind.Function, node, rules)


def _entries(text: str, entries: Iterable[ast.LabelEntry], kind: Kind) -> list[types.DocumentSymbol]:
    return [_symbol(text, e.label, None if e.condition else "otherwise", kind, e) for e in entries]


def _grade(text: str, node: ast.Grade) -> types.DocumentSymbol:
    return _symbol(text, node.name, f"grade from {node.source}", Kind.Enum, node,
                   _entries(text, node.entries, Kind.EnumMember))


def _stages(text: str, node: ast.Stages) -> types.DocumentSymbol:
    stages = [_symbol(text, e.name, f"owner {e.owner}", Kind.EnumMember, e) for e in node.entries]
    return _symbol(text, "stages", None, Kind.Enum, node, stages)


def _route(text: str, node: ast.Route) -> types.DocumentSymbol:
    return _symbol(text, "route for " + ", ".join(node.stages), None, Kind.Object, node,
                   _entries(text, node.entries, Kind.EnumMember))


def _events(text: str, node: ast.Events) -> types.DocumentSymbol:
    events = [_symbol(text, e.name, e.label, Kind.Event, e) for e in node.events]
    return _symbol(text, "events", None, Kind.Namespace, node, events)


def _guarantees(text: str, node: ast.Guarantees) -> types.DocumentSymbol:
    claims = [_symbol(text, g.name, "guarantee", Kind.Boolean, g) for g in node.guarantees]
    return _symbol(text, "guarantees", None, Kind.Namespace, node, claims)


def _team(text: str, node: ast.Team) -> types.DocumentSymbol:
    members = [_symbol(text, m.person, "member", Kind.Constant, m) for m in node.items if isinstance(m, ast.Member)]
    return _symbol(text, node.name, node.label or "team", Kind.Class, node, members)


BLOCKS: dict[type, Callable[[str, Any], types.DocumentSymbol]] = {
    ast.LeadBlock: _lead, ast.Score: _score, ast.Grade: _grade, ast.Stages: _stages, ast.Route: _route,
    ast.Events: _events, ast.Guarantees: _guarantees, ast.Team: _team,
    ast.Calendar: lambda text, n: _symbol(text, n.name, "calendar", Kind.Module, n),
    ast.Sla: lambda text, n: _symbol(text, n.name, n.label or "sla", Kind.Method, n),
    ast.Recycle: lambda text, n: _symbol(text, "recycle", None, Kind.Namespace, n),
    ast.Outcomes: lambda text, n: _symbol(text, "outcomes", None, Kind.Namespace, n),
}


def document_symbols(text: str, policy: ast.Policy) -> list[types.DocumentSymbol]:
    """The policy and its blocks, each with what it declares, in source order."""
    blocks = [BLOCKS[type(item)](text, item) for item in policy.items if type(item) in BLOCKS]
    return [_symbol(text, policy.id, policy.version, Kind.Package, policy, blocks)]


def folding_ranges(text: str, policy: ast.Policy) -> list[types.FoldingRange]:
    """A fold for every block that spans more than one line (the policy, its blocks, their nested blocks)."""
    folds: list[types.FoldingRange] = []
    for node in [policy, *policy.items]:
        where = to_range(text, node.span)
        if where.end.line > where.start.line:
            folds.append(types.FoldingRange(start_line=where.start.line, end_line=where.end.line,
                                            kind=types.FoldingRangeKind.Region))
    return folds
