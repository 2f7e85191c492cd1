"""Semantic checks over a parsed policy, as an ordered list of named stages.

Each stage reads the policy and reports into one `Context`; every problem of every stage is
found in one run. Warnings about scoring rules come last, only for a policy without errors.
"""

from __future__ import annotations

from typing import Callable

from leadpolicy.language import ast
from leadpolicy.language.checks import conditions, header, names, slas, warnings
from leadpolicy.language.checks.context import Context
from leadpolicy.language.diagnostics import Diagnostic


def _items(ctx: Context) -> None:
    """Scores, grades, stages, routes, calendars, SLAs and recycling, in source order (a condition
    sees only the scores and grades above it)."""
    for index, item in enumerate(ctx.policy.items):
        if isinstance(item, ast.Score):
            conditions.score(ctx, item, index)
        elif isinstance(item, ast.Grade):
            conditions.grade(ctx, item, index)
        elif isinstance(item, ast.Stages):
            conditions.stages(ctx, item, index)
        elif isinstance(item, ast.Route):
            conditions.route(ctx, item, index)
        elif isinstance(item, ast.Calendar):
            slas.calendar(ctx, item)
        elif isinstance(item, ast.Sla):
            slas.sla(ctx, item)
        elif isinstance(item, ast.Recycle):
            slas.recycle(ctx, item)


STAGES: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("header", header.header),
    ("lead fields", names.lead_fields),
    ("duplicate and reserved names", names.duplicates),
    ("number limits", names.number_limits),
    ("decisions, calendars and SLAs", _items),
)


def check(policy: ast.Policy, file: str) -> list[Diagnostic]:
    """All diagnostics for a policy, errors and warnings, sorted by place."""
    ctx = Context(policy, file)
    for _name, stage in STAGES:
        stage(ctx)
    if not any(d.is_error for d in ctx.diags):
        ctx.diags.extend(warnings.rule_warnings(policy, file))
    return sorted(ctx.diags, key=Diagnostic.sort_key)
