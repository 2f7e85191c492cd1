"""Semantic checks over a parsed policy, as an ordered list of named stages.

Each stage reads the policy and reports into one `Context`; every problem of every stage is
found in one run. Warnings about scoring rules come last, only for a policy without errors.
"""

from __future__ import annotations

from typing import Callable

from leadpolicy.language import ast
from leadpolicy.language.checks import conditions, events, guarantees, header, names, slas, teams, warnings
from leadpolicy.language.checks.context import Context, Reasoning
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.visitor import Visitor


class _Items(Visitor):
    """Scores, grades, stages, routes, calendars, SLAs and recycling, in source order (a condition
    sees only the scores and grades above it); header items were checked by their own stage."""

    def visit_Score(self, item: ast.Score, ctx: Context, index: int) -> None:
        conditions.score(ctx, item, index)

    def visit_Grade(self, item: ast.Grade, ctx: Context, index: int) -> None:
        conditions.grade(ctx, item, index)

    def visit_Stages(self, item: ast.Stages, ctx: Context, index: int) -> None:
        conditions.stages(ctx, item, index)

    def visit_Route(self, item: ast.Route, ctx: Context, index: int) -> None:
        conditions.route(ctx, item, index)

    def visit_Calendar(self, item: ast.Calendar, ctx: Context, index: int) -> None:
        slas.calendar(ctx, item)

    def visit_Sla(self, item: ast.Sla, ctx: Context, index: int) -> None:
        slas.sla(ctx, item)
        for limit in item.all(ast.ClockLimit):  # a tier's condition sees every score and grade
            if limit.condition is not None:
                conditions.condition(ctx, limit.condition, len(ctx.policy.items))

    def visit_Recycle(self, item: ast.Recycle, ctx: Context, index: int) -> None:
        slas.recycle(ctx, item)

    def generic_visit(self, item: ast.Node, ctx: Context, index: int) -> None:
        pass


def _items(ctx: Context) -> None:
    visitor = _Items()
    for index, item in enumerate(ctx.policy.items):
        visitor.visit(item, ctx, index)


STAGES: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("header", header.header),
    ("lead fields", names.lead_fields),
    ("duplicate and reserved names", names.duplicates),
    ("number limits", names.number_limits),
    ("events and outcomes", events.events),
    ("decisions, calendars and SLAs", _items),
    ("guarantees", guarantees.guarantees),
    ("teams", teams.teams),
)


def check(policy: ast.Policy, file: str, reasoning: Reasoning) -> list[Diagnostic]:
    """All diagnostics for a policy, errors and warnings, sorted by place; `reasoning` decides which
    conditions can never be true or never be reached."""
    ctx = Context(policy, file, reasoning)
    for _name, stage in STAGES:
        stage(ctx)
    if not any(d.is_error for d in ctx.diags):
        ctx.diags.extend(warnings.rule_warnings(policy, file, reasoning))
    return sorted(ctx.diags, key=Diagnostic.sort_key)
