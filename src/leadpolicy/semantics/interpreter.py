"""The reference evaluator: a policy's IR evaluated for one lead at an explicit `now`, with explanations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

from leadpolicy import runtime, zones
from leadpolicy.language.formatter import number as number_text
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.activity import NO_ACTIVITY, Activity
from leadpolicy.semantics.primitives import scores

Truth = Optional[bool]


@dataclass
class RuleResult:
    """One scoring rule for one lead."""

    label: str  # the reason, or the rule's condition when it has none
    points: Decimal  # what it added (0 when it did not fire)
    fired: bool
    capped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.label, "points": _num(self.points), "fired": self.fired, "capped": self.capped}


@dataclass
class ScoreResult:
    name: str
    value: int
    total: Decimal  # sum of rules, before decay
    decayed: Decimal  # after decay, before rounding
    decay_factor: Decimal | None
    decay_periods: int
    clamped_from: int | None  # the rounded value when the clamp changed it
    rules: list[RuleResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "total": _num(self.total),
            "decay_factor": _num(self.decay_factor) if self.decay_factor is not None else None,
            "decay_periods": self.decay_periods,
            "clamped_from": self.clamped_from,
            "rules": [r.as_dict() for r in self.rules],
        }


@dataclass
class Decision:
    """Everything a policy decides about one lead."""

    scores: dict[str, ScoreResult]
    grades: dict[str, str | None]
    stage: str
    owner: str
    route: str | None
    explanation: list[str]
    now: dt.datetime
    policy_id: str = ""
    policy_version: str = ""
    env: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    activity: Activity = field(default=NO_ACTIVITY, repr=False, compare=False)
    route_entry: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def value(self, name: str) -> Any:
        """A decision value by the name a samples file uses: a score, a grade, stage, owner or route."""
        if name in self.scores:
            return self.scores[name].value
        if name in self.grades:
            return self.grades[name]
        if name in ("stage", "owner", "route"):
            return getattr(self, name) or None  # "": a policy without stages decides none
        raise KeyError(name)

    def fired(self, score: str) -> list[str]:
        return [r.label for r in self.scores[score].rules if r.fired]

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "version": self.policy_version,
            "now": self.now.isoformat(),
            "scores": {k: v.value for k, v in self.scores.items()},
            "grades": dict(self.grades),
            "stage": self.stage or None,  # "": a policy without stages decides none
            "owner": self.owner or None,
            "route": self.route,
            "breakdown": {k: v.as_dict() for k, v in self.scores.items()},
            "explanation": list(self.explanation),
        }


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class Truths:
    """The three-valued truth of IR conditions, by their rows in the table of primitives; `operand`
    gives each operand's value."""

    def __init__(self, operand: Callable[[ir.Operand], Any], tz: ZoneInfo):
        self.operand = operand
        self.tz = tz

    def visit(self, node: ir.Condition) -> Truth:
        try:
            row = primitives.CONDITIONS[type(node)]
        except KeyError:
            raise TypeError(f"not a condition: {node!r}") from None
        return row.interpret(self, node)


class Evaluator(Truths):
    """Evaluates one lead's typed values (see schema.LeadReader) and its events against a policy's IR."""

    def __init__(self, policy: ir.Policy, values: dict[str, Any], now: dt.datetime,
                 activity: Activity = NO_ACTIVITY):
        if now.tzinfo is None:
            raise ValueError("now must carry a timezone")
        super().__init__(self.value, zones.zone(policy.timezone))
        self.policy = policy
        self.now = now
        self.env: dict[str, Any] = dict(values)
        self.activity = activity

    # ------------------------------------------------------------ conditions
    def value(self, node: ir.Operand) -> Any:
        return primitives.OPERANDS[type(node)].interpret(self, node)

    def test(self, node: ir.Condition) -> Truth:
        """The three-valued truth of a condition."""
        return self.visit(node)

    # ------------------------------------------------------------ scores
    def score(self, score: ir.Score) -> ScoreResult:
        results = [RuleResult(rule.label, *primitives.RULES[type(rule)].interpret(self, rule)) for rule in score.rules]
        total = sum((r.points for r in results), Decimal(0))
        decayed, factor, periods = total, None, 0
        if score.decay is not None:
            decayed, factor, periods = scores.DECAY.interpret(self, score.decay, total)
        rounded = runtime.round_half_away(decayed)  # halves away from zero (22.5 -> 23, -22.5 -> -23)
        value = rounded if score.clamp is None else scores.CLAMP.interpret(score.clamp, rounded)
        return ScoreResult(score.name, value, total, decayed, factor, periods,
                           rounded if value != rounded else None, results)

    def first_match(self, entries: tuple[ir.Entry, ...]) -> ir.Entry | None:
        return next((e for e in entries if e.condition is None or self.test(e.condition) is True), None)

    # ------------------------------------------------------------ explanation
    def why_not(self, node: ir.Condition) -> list[str]:
        """The parts of a condition that kept it from being true, in a rep's words."""
        truth = self.test(node)
        if truth is True:
            return []
        if isinstance(node, ir.And):
            return [part for item in node.items for part in self.why_not(item)]
        if isinstance(node, ir.Or):
            return [" and ".join(part for item in node.items for part in self.why_not(item))]
        if isinstance(node, ir.Not):
            return [self.describe(node.item, positive=True)] if truth is False else self.missing(node)
        if truth is None:
            return self.missing(node)
        return [self.describe(node, positive=False)]

    def why(self, node: ir.Condition) -> str:
        """Why a true condition holds."""
        if isinstance(node, ir.And):
            return " and ".join(self.why(i) for i in node.items)
        if isinstance(node, ir.Or):
            return next(self.why(i) for i in node.items if self.test(i) is True)
        if isinstance(node, ir.Not):
            return self.describe(node.item, positive=False)
        return self.describe(node, positive=True)

    def missing(self, node: ir.Condition) -> list[str]:
        """The operands without a value, in their rows' words: missing fields first, then events not yet seen."""
        said: set[tuple[bool, str]] = set()
        for part in node.walk():
            row = primitives.OPERANDS.get(type(part))
            if row is not None and row.missing is not None and self.value(part) is None:
                said.add((type(part) in primitives.WINDOWS.nodes, row.missing(part)))
        return [words for _, words in sorted(said)] or [f"{node.text} is unknown"]

    def shown(self, node: ir.Operand) -> str:
        """An operand with its value, as in `engagement 23`."""
        if isinstance(node, ir.Const):
            return node.text
        return f"{node.text} {_show_value(self.value(node))}"

    def describe(self, node: ir.Condition, positive: bool) -> str:
        """An atom, stated as holding (positive) or as failing, with the lead's values (its row's words)."""
        row = primitives.CONDITIONS.get(type(node))
        if row is None or row.explain is None:
            return f"{'' if positive else 'not '}({node.text})"
        return row.explain(self, node, positive)

    def show(self, value: Any) -> str:
        return _show_value(value)

    def dates(self, count: ir.EventCount) -> str:
        """The window's events as local dates, `Nov 10, Nov 17`."""
        times = self.activity.within(count.event, count.days, self.now)
        return ", ".join(f"{t.astimezone(self.tz):%b} {t.astimezone(self.tz).day}" for t in times)


def _show_value(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Decimal):
        return number_text(value.normalize())
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def evaluate(policy: ir.Policy, values: dict[str, Any], now: dt.datetime, activity: Activity = NO_ACTIVITY
             ) -> Decision:
    """Scores, grades, stage, owner, route and an explanation for one lead's typed values and events."""
    ev = Evaluator(policy, values, now, activity)
    scores: dict[str, ScoreResult] = {}
    grades: dict[str, str | None] = {}
    explanation: list[str] = []
    for step in policy.steps:
        if isinstance(step, ir.Score):
            result = ev.score(step)
            scores[step.name] = result
            ev.env[step.name] = Decimal(result.value)
            explanation.append(_explain_score(result, step, ev))
        else:
            entry = ev.first_match(step.entries)
            label = None if entry is None else entry.label
            for missed in step.entries[:None if entry is None else step.entries.index(entry)]:
                if missed.condition is not None:  # the higher grades missed, as the stages missed are said
                    explanation.append(f"not {step.name} {missed.label}: " + "; ".join(ev.why_not(missed.condition)))
            grades[step.name] = label
            ev.env[step.name] = label
            if entry is None:
                explanation.append(f"{step.name}: none (no entry matched)")
            else:
                because = ev.why(entry.condition) if entry.condition is not None else "otherwise"
                explanation.append(f"{step.name} {label}: {because}")
    stage, owner, stage_index = "", "", -1
    for index, candidate in enumerate(policy.stages):
        if candidate.condition is None or ev.test(candidate.condition) is True:
            stage, owner, stage_index = candidate.name, candidate.owner, index
            because = ev.why(candidate.condition) if candidate.condition is not None else "no earlier stage matched"
            explanation.append(f"stage {stage} (owner {owner}): {because}")
            break
        explanation.append(f"not {candidate.name}: " + "; ".join(ev.why_not(candidate.condition)))
    route, route_entry = None, None
    for route_index, r in enumerate(policy.routes):
        if stage_index in r.stage_indices:
            entry = ev.first_match(r.entries)
            if entry is None:
                explanation.append(f"route: none ({stage} leads matched no route entry)")
            else:
                route, route_entry = entry.label, (route_index, r.entries.index(entry))
                because = ev.why(entry.condition) if entry.condition is not None else "otherwise"
                explanation.append(f"route {route}: {because}")
            break
    else:
        if policy.stages:
            explanation.append(f"route: none ({stage} has no route)")
    return Decision(scores, grades, stage, owner, route, explanation, now, policy.id, policy.version,
                    env=ev.env, activity=activity, route_entry=route_entry)


def _explain_score(result: ScoreResult, score: ir.Score, ev: Evaluator) -> str:
    parts = []
    for rule, node in zip(result.rules, score.rules):
        if not rule.fired:
            continue
        said = primitives.rule_row(node).explain
        parts.append(f"{number_text(rule.points, signed=True)} {rule.label}"
                     + ("" if said is None else said(ev, node, rule.capped)))
    line = f"{result.name} {result.value}: " + (", ".join(parts) if parts else "no rule fired")
    if result.decay_factor is not None and result.decay_periods and score.decay is not None:
        since = score.decay.since
        counted_from = primitives.operand_row(since).since
        source = since.text if counted_from is None else counted_from(since)
        line += (f"; decayed x{_show_value(result.decay_factor)} ({result.decay_periods} periods since "
                 f"{source}) {_show_value(result.total)} -> {_show_value(result.decayed)}")
    if result.clamped_from is not None:
        line += f"; clamped from {result.clamped_from}"
    return line
