"""Each rule of each score as a column of its own, decided by the same engines as every decision.

The derived policy is the policy's IR with, right after each score, one more score per rule named
`#rule:SCORE:INDEX` that holds only that rule (no decay, no clamp): a points rule's copy earns 1 point, so its
column is 1 where the rule fired and 0 where it did not, whatever its points (0 included); a per rule's copy is
the rule as written, so its column is its contribution in points (in its smallest decimal when its points or cap
have decimals, as a score's value is a whole number: see `per_unit`). A score with a decay gets two more, its
rules with the decay and with neither (`#decay:SCORE:kept`, `#decay:SCORE:full`, no clamp in either): the points
the decay took off the score are full - kept (`value`). Grades, stages and routes read only the policy's own
scores, so the derived policy decides every lead exactly as the policy does.

A decay is read as a per rule of -1 point per point it takes away: its column's value is the points it took
(positive where it lowered a positive total; negative where it raised a negative total towards 0, which the
score reads as points given), its expected sign is negative (a lead the decay took points from is expected to
win less, as a lead with fewer points), and it "fired" for the leads whose score it changed. The clamp is left
out: the loss is the decay's own, not what the clamp would have cut anyway.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlglot import exp

from leadpolicy.api import Policy
from leadpolicy.language import ast
from leadpolicy.language.formatter import rule_text
from leadpolicy.measure.calibration import RuleColumn
from leadpolicy.semantics import ir
from leadpolicy.semantics.linemap import places

PREFIX = "#rule:"  # no policy name starts with '#': the columns never meet a score, grade or field
DECAY_PREFIX = "#decay:"
DECAY_POINTS = Decimal(-1)  # a decay's points per point it takes away (its expected sign: see the module)


def column_name(score: str, index: int) -> str:
    return f"{PREFIX}{score}:{index}"


def decay_columns(score: str) -> tuple[str, str]:
    """The names of a decayed score's copies: (its rules with the decay, its rules alone), neither clamped."""
    return f"{DECAY_PREFIX}{score}:kept", f"{DECAY_PREFIX}{score}:full"


def with_rule_columns(policy: Policy) -> tuple[Policy, list[RuleColumn]]:
    """The policy with one more score per rule and two per decay (see the module), and those rules and decays
    as columns, in order (a score's decay after its rules)."""
    lines = places(policy.tree)
    written = {s.name: s.decay for s in policy.tree.scores}
    steps: list[ir.Step] = []
    columns: list[RuleColumn] = []
    for step in policy.ir.steps:
        steps.append(step)
        if isinstance(step, ir.Score):
            for index, rule in enumerate(step.rules):
                steps.append(_rule_score(step.name, index, rule))
                columns.append(_column(step.name, index, rule, lines.get(("rule", step.name, index), 0)))
            decay = written.get(step.name)
            if step.decay is not None and decay is not None:
                steps += _decay_scores(step)
                columns.append(_decay_column(step, decay, lines.get(("decay", step.name), 0)))
    return Policy(policy.tree, dataclasses.replace(policy.ir, steps=tuple(steps))), columns


def value(column: RuleColumn) -> exp.Expr:
    """The column's value in table `feedback` (0 where it is NULL): a decay's is the points it took away."""
    if column.kind != "decay":
        return _zero_if_null(column.column)
    kept, full = decay_columns(column.score)
    return exp.Sub(this=_zero_if_null(full), expression=_zero_if_null(kept))


def _zero_if_null(name: str) -> exp.Expr:
    return exp.Coalesce(this=exp.column(name, quoted=True), expressions=[exp.Literal.number(0)])


def _decay_scores(score: ir.Score) -> list[ir.Step]:
    """The score's rules with its decay, and with neither, both unclamped."""
    kept, full = decay_columns(score.name)
    return [dataclasses.replace(score, name=kept, label=None, clamp=None),
            dataclasses.replace(score, name=full, label=None, decay=None, clamp=None)]


def _decay_column(score: ir.Score, decay: ast.Decay, line: int) -> RuleColumn:
    return RuleColumn(score=score.name, index=len(score.rules), column=f"{DECAY_PREFIX}{score.name}", kind="decay",
                      points=DECAY_POINTS, cap=None, label=rule_text(decay), reason=None, line=line)


def _rule_score(score: str, index: int, rule: ir.Rule) -> ir.Score:
    """A score holding only `rule` (a points rule earning 1), with no decay and no clamp."""
    if isinstance(rule, ir.PointsRule):
        one = Decimal(1)
        return ir.Score(column_name(score, index), None, (dataclasses.replace(rule, points=one),), None, None,
                        True, 0, one)
    shift = _shift(rule.points, rule.cap)
    whole = dataclasses.replace(rule, points=(rule.points * shift).to_integral_value(),
                                cap=(rule.cap * shift).to_integral_value())
    return ir.Score(column_name(score, index), None, (whole,), None, None, True, 0, abs(whole.cap))


def _column(score: str, index: int, rule: ir.Rule, line: int) -> RuleColumn:
    per = isinstance(rule, ir.PerRule)
    return RuleColumn(score=score, index=index, column=column_name(score, index), kind="per" if per else "points",
                      points=rule.points, cap=rule.cap if isinstance(rule, ir.PerRule) else None,
                      label=rule.label, reason=rule.reason, line=line)


def per_unit(rule: RuleColumn) -> Decimal:
    """What the rule's column holds per firing (a points rule: 1) or per unit (a per rule: its points, in its
    smallest decimal: `+2.5 per clicks up to 10` holds 25 per click, up to 100; a decay: one point taken)."""
    if rule.kind == "per":
        return (rule.points * _shift(rule.points, rule.cap)).to_integral_value()
    return Decimal(1)


def _shift(points: Decimal, cap: Decimal | None) -> Decimal:
    """10 ** the most decimal places of a per rule's points and cap: a score's value is a whole number, so the
    copy of `+2.5 per clicks` earns 25 per click (2.5 would round to 3, and one click would read as 1.2)."""
    decimals = max(len(ir.dec(a).partition(".")[2]) for a in (points, cap if cap is not None else points))
    return Decimal(10) ** decimals
