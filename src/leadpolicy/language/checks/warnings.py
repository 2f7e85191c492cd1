"""Warnings about scoring rules, given once a policy has no errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from leadpolicy.language import ast
from leadpolicy.language.checks.context import MAX_PLACES, MAX_WHOLE_DIGITS, Reasoning
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.symbols import symbol_table


def rule_warnings(policy: ast.Policy, file: str, reasoning: Reasoning) -> Iterable[Diagnostic]:
    """never-true and always-true warnings for scoring rules (run when there are no errors)."""
    symbols = symbol_table(policy)
    for score in policy.scores:
        for rule in score.rules:
            if not isinstance(rule, ast.PointsRule):
                continue
            verdict = reasoning.satisfiability(rule.condition, symbols, policy.timezone)
            if verdict == "never":
                yield Diagnostic("never-true", "this condition can never be true, so the rule never fires",
                                 file, rule.condition.span, hint="check the numbers and the and/or")
            elif verdict == "always":
                yield Diagnostic("always-true", "this condition is always true, so every lead gets these points",
                                 file, rule.condition.span)


def within_limits(value: Decimal) -> bool:
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    exponent = value.as_tuple().exponent
    return value.adjusted() < MAX_WHOLE_DIGITS and isinstance(exponent, int) and exponent >= -MAX_PLACES


def short_number(value: Decimal) -> str:
    """A number as written, shortened when it is very long (messages stay readable)."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:10]}...{text[-4:]} ({len(text)} characters)"
