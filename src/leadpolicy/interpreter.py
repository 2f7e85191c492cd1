"""Tree-walking evaluation of a checked policy for one lead at an explicit `now`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

from . import ast, logic
from .formatter import condition as condition_text
from .formatter import number as number_text
from .formatter import operand as operand_text

Truth = Optional[bool]


@dataclass
class RuleResult:
    """One scoring rule for one lead."""

    label: str  # the reason, or the rule's condition when it has none
    points: Decimal  # what it added (0 when it did not fire)
    fired: bool
    capped: bool = False
    line: int = 0

    def as_dict(self) -> dict:
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

    def as_dict(self) -> dict:
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
    route_entry: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def value(self, name: str) -> Any:
        """A decision value by the name a samples file uses: a score, a grade, stage, owner or route."""
        if name in self.scores:
            return self.scores[name].value
        if name in self.grades:
            return self.grades[name]
        if name in ("stage", "owner", "route"):
            return getattr(self, name)
        raise KeyError(name)

    def fired(self, score: str) -> list[str]:
        return [r.label for r in self.scores[score].rules if r.fired]

    def as_dict(self) -> dict:
        return {
            "policy": self.policy_id,
            "version": self.policy_version,
            "now": self.now.isoformat(),
            "scores": {k: v.value for k, v in self.scores.items()},
            "grades": dict(self.grades),
            "stage": self.stage,
            "owner": self.owner,
            "route": self.route,
            "breakdown": {k: v.as_dict() for k, v in self.scores.items()},
            "explanation": list(self.explanation),
        }


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def round_half_away(value: Decimal) -> int:
    """Round to a whole number, halves away from zero (22.5 -> 23, -22.5 -> -23)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Evaluator:
    """Evaluates one lead's typed values (see schema.LeadReader) against a policy."""

    def __init__(self, policy: ast.Policy, values: dict[str, Any], now: dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now must carry a timezone")
        self.policy = policy
        self.tz = ZoneInfo(policy.timezone)
        self.now = now
        self.env: dict[str, Any] = dict(values)

    # ------------------------------------------------------------ conditions
    def value(self, node: ast.Node) -> Any:
        if isinstance(node, ast.NameRef):
            return self.env.get(node.name)
        if isinstance(node, ast.Literal):
            if node.kind == "date":
                return dt.date.fromisoformat(node.value)  # type: ignore[arg-type]
            return node.value
        if isinstance(node, ast.DaysSince):
            days = logic.days_since(self.env.get(node.field_name), self.now, self.tz)
            return None if days is None else Decimal(days)
        raise TypeError(f"not an operand: {node!r}")

    def test(self, node: ast.Node) -> Truth:
        """The three-valued truth of a condition."""
        return evaluate_condition(node, self.value, self.tz)

    # ------------------------------------------------------------ scores
    def score(self, score: ast.Score) -> ScoreResult:
        total = Decimal(0)
        results: list[RuleResult] = []
        for rule in score.rules:
            label = rule.reason or _rule_label(rule)
            if isinstance(rule, ast.PointsRule):
                fired = self.test(rule.condition) is True
                points = rule.points if fired else Decimal(0)
                results.append(RuleResult(label, points, fired, line=rule.span.line))
            else:
                points, capped = per_points(rule, self.env.get(rule.field_name))
                results.append(RuleResult(label, points, points != 0, capped, line=rule.span.line))
            total += results[-1].points
        decayed, factor, periods = total, None, 0
        decay = score.decay
        if decay is not None:
            days = logic.days_since(self.env.get(decay.field_name), self.now, self.tz)
            if days is not None:
                periods, factor = decay_factor(decay, days)
                decayed = total * factor
        rounded = round_half_away(decayed)
        value = rounded
        clamp = score.clamp
        if clamp is not None:
            value = int(max(min(Decimal(rounded), clamp.high), clamp.low))
        return ScoreResult(score.name, value, total, decayed, factor, periods,
                           rounded if value != rounded else None, results)

    def grade(self, grade: ast.Grade) -> tuple[str | None, ast.LabelEntry | None]:
        return self.first_match(grade.entries)

    def first_match(self, entries):
        for entry in entries:
            if entry.condition is None or self.test(entry.condition) is True:
                return getattr(entry, "label", getattr(entry, "name", None)), entry
        return None, None

    # ------------------------------------------------------------ explanation
    def why_not(self, node: ast.Node) -> list[str]:
        """The parts of a condition that kept it from being true, in a rep's words."""
        truth = self.test(node)
        if truth is True:
            return []
        if isinstance(node, ast.And):
            return [part for item in node.items for part in self.why_not(item)]
        if isinstance(node, ast.Or):
            return [" and ".join(part for item in node.items for part in self.why_not(item))]
        if isinstance(node, ast.Not):
            return [self.describe(node.operand, positive=True)] if truth is False else self.missing(node)
        if truth is None:
            return self.missing(node)
        return [self.describe(node, positive=False)]

    def why(self, node: ast.Node) -> str:
        """Why a true condition holds."""
        if isinstance(node, ast.And):
            return " and ".join(self.why(i) for i in node.items)
        if isinstance(node, ast.Or):
            return next(self.why(i) for i in node.items if self.test(i) is True)
        if isinstance(node, ast.Not):
            return self.describe(node.operand, positive=False)
        return self.describe(node, positive=True)

    def missing(self, node: ast.Node) -> list[str]:
        names = sorted({n.name for n in node.walk() if isinstance(n, ast.NameRef) and self.env.get(n.name) is None}
                       | {f"days since {n.field_name}" for n in node.walk()
                          if isinstance(n, ast.DaysSince) and self.env.get(n.field_name) is None})
        return [f"{name} is missing" for name in names] or [f"{condition_text(node)} is unknown"]

    def shown(self, node: ast.Node) -> str:
        """An operand with its value, as in `engagement 23`."""
        if isinstance(node, ast.Literal):
            return operand_text(node)
        value = self.value(node)
        return f"{operand_text(node)} {_show_value(value)}"

    def describe(self, node: ast.Node, positive: bool) -> str:
        """An atom, stated as holding (positive) or as failing, with the lead's values."""
        if isinstance(node, ast.Compare):
            op = node.op if positive else logic.NEGATED[node.op]
            right = operand_text(node.right) if isinstance(node.right, ast.Literal) else self.shown(node.right)
            return f"{self.shown(node.left)} {op} {right}"
        if isinstance(node, ast.Between):
            word = "is between" if positive else "is not between"
            return f"{self.shown(node.operand)} {word} {operand_text(node.low)} and {operand_text(node.high)}"
        if isinstance(node, ast.InList):
            inside = positive != node.negated
            values = ", ".join(operand_text(v) for v in node.values)
            return f"{self.shown(node.operand)} is {'' if inside else 'not '}in ({values})"
        if isinstance(node, ast.TextMatch):
            verbs = {"contains": ("contains", "does not contain"), "contains_any": ("contains", "contains none of"),
                     "starts": ("starts with", "does not start with"), "ends": ("ends with", "does not end with")}
            verb = verbs[node.how][0 if positive else 1]
            if positive:
                hay = logic.fold(str(self.value(node.operand)))
                hits = [v for v in node.values if logic.fold(v) in hay] if node.how != "starts" and node.how != "ends" \
                    else list(node.values[:1])
                target = ", ".join(_show_value(v) for v in hits)
            else:
                target = ", ".join(_show_value(v) for v in node.values)
            return f"{self.shown(node.operand)} {verb} {target}"
        if isinstance(node, ast.IsMissing):
            present = positive == node.negated
            return f"{operand_text(node.operand)} is {'present' if present else 'missing'}"
        if isinstance(node, ast.Truthy):
            value = self.value(node.operand)
            return f"{operand_text(node.operand)} is {'yes' if value else 'no'}"
        if isinstance(node, (ast.And, ast.Or, ast.Not)):
            return f"{'' if positive else 'not '}({condition_text(node)})"
        raise TypeError(node)




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


def _rule_label(rule: ast.Node) -> str:
    if isinstance(rule, ast.PointsRule):
        return condition_text(rule.condition)
    return f"per {rule.field_name}"  # type: ignore[union-attr]


def evaluate_condition(node: ast.Node, value: Callable[[ast.Node], Any], tz: ZoneInfo) -> Truth:
    """Three-valued evaluation of a condition with `value` giving each operand's value."""
    if isinstance(node, ast.And):
        return logic.and3(evaluate_condition(i, value, tz) for i in node.items)
    if isinstance(node, ast.Or):
        return logic.or3(evaluate_condition(i, value, tz) for i in node.items)
    if isinstance(node, ast.Not):
        return logic.not3(evaluate_condition(node.operand, value, tz))
    if isinstance(node, ast.Compare):
        return logic.compare(node.op, value(node.left), value(node.right), tz)
    if isinstance(node, ast.Between):
        return logic.between(value(node.operand), value(node.low), value(node.high), tz)
    if isinstance(node, ast.InList):
        result = logic.in_list(value(node.operand), [value(v) for v in node.values], tz)
        return logic.not3(result) if node.negated else result
    if isinstance(node, ast.TextMatch):
        return logic.text_match(node.how, value(node.operand), node.values)
    if isinstance(node, ast.IsMissing):
        missing = value(node.operand) is None
        return not missing if node.negated else missing
    if isinstance(node, ast.Truthy):
        v = value(node.operand)
        return None if v is None else bool(v)
    raise TypeError(f"not a condition: {node!r}")


def per_points(rule: ast.PerRule, value: Any) -> tuple[Decimal, bool]:
    """Points for each whole unit of the field (negative values count as none), capped."""
    if value is None:
        return Decimal(0), False
    units = max(Decimal(value).to_integral_value(rounding=ROUND_FLOOR), Decimal(0))
    points = rule.points * units
    cap = abs(rule.cap)
    if abs(points) > cap:
        return (cap if points > 0 else -cap), True
    return points, False


def decay_factor(decay: ast.Decay, days: int) -> tuple[int, Decimal]:
    """(periods, factor): (1 - P/100) ** floor(days / D) to 18 places; no growth for a date in the future."""
    periods = int((Decimal(days) / decay.every_days).to_integral_value(rounding=ROUND_FLOOR))
    periods = max(periods, 0)
    return periods, logic.decay_power(decay.percent, periods)


def evaluate(policy: ast.Policy, values: dict[str, Any], now: dt.datetime) -> Decision:
    """Scores, grades, stage, owner, route and an explanation for one lead's typed values."""
    ev = Evaluator(policy, values, now)
    scores: dict[str, ScoreResult] = {}
    grades: dict[str, str | None] = {}
    explanation: list[str] = []
    for item in policy.items:
        if isinstance(item, ast.Score):
            result = ev.score(item)
            scores[item.name] = result
            ev.env[item.name] = Decimal(result.value)
            explanation.append(_explain_score(result, item))
        elif isinstance(item, ast.Grade):
            label, entry = ev.grade(item)
            grades[item.name] = label
            ev.env[item.name] = label
            if entry is None:
                explanation.append(f"{item.name}: none (no entry matched)")
            else:
                because = ev.why(entry.condition) if entry.condition is not None else "otherwise"
                explanation.append(f"{item.name} {label}: {because}")
    stage, owner = "", ""
    for entry in policy.stages:
        if entry.condition is None or ev.test(entry.condition) is True:
            stage, owner = entry.name, entry.owner
            because = ev.why(entry.condition) if entry.condition is not None else "no earlier stage matched"
            explanation.append(f"stage {stage} (owner {owner}): {because}")
            break
        explanation.append(f"not {entry.name}: " + "; ".join(ev.why_not(entry.condition)))
    route, route_entry = None, None
    for route_index, r in enumerate(policy.routes):
        if stage in r.stages:
            route, entry = ev.first_match(r.entries)
            if entry is not None:
                route_entry = (route_index, r.entries.index(entry))
            if entry is None:
                explanation.append(f"route: none ({stage} leads matched no route entry)")
            else:
                because = ev.why(entry.condition) if entry.condition is not None else "otherwise"
                explanation.append(f"route {route}: {because}")
            break
    else:
        if policy.stages:
            explanation.append(f"route: none ({stage} has no route)")
    return Decision(scores, grades, stage, owner, route, explanation, now, policy.id, policy.version,
                    env=ev.env, route_entry=route_entry)


def _explain_score(result: ScoreResult, score: ast.Score) -> str:
    parts = []
    for rule, node in zip(result.rules, score.rules):
        if not rule.fired:
            continue
        text = f"{number_text(rule.points, signed=True)} {rule.label}"
        if isinstance(node, ast.PerRule):
            text += f" (capped at {number_text(node.cap)})" if rule.capped else ""
        parts.append(text)
    line = f"{result.name} {result.value}: " + (", ".join(parts) if parts else "no rule fired")
    if result.decay_factor is not None and result.decay_periods:
        line += (f"; decayed x{_show_value(result.decay_factor)} ({result.decay_periods} periods since "
                 f"{score.decay.field_name}) {_show_value(result.total)} -> {_show_value(result.decayed)}")
    if result.clamped_from is not None:
        line += f"; clamped from {result.clamped_from}"
    return line
