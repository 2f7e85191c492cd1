"""Lowering: a checked syntax tree becomes the typed IR, with every semantic decision made here once."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from leadpolicy.language import ast
from leadpolicy.language.formatter import condition as condition_text
from leadpolicy.language.formatter import condition_texts, format_policy, literal, window
from leadpolicy.language.formatter import operand as operand_text
from leadpolicy.language.symbols import Symbol, symbol_table
from leadpolicy.language.types import Type
from leadpolicy.language.units import DAY_INDEX, UNIT_ALIASES
from leadpolicy.language.visitor import Visitor
from leadpolicy.runtime import BLANK
from leadpolicy.semantics import ir
from leadpolicy.semantics.leads import field_default, lead_schema
from leadpolicy.semantics.logic import fold


def fingerprint(policy: ast.Policy) -> str:
    """sha256 of the canonical formatted source without comments: reformatting keeps it."""
    return "sha256:" + hashlib.sha256(format_policy(policy).encode("utf-8")).hexdigest()


REF_KINDS = {kind.value: kind for kind in ir.RefKind}
MATCHES = {"contains": ir.Match.CONTAINS, "contains_any": ir.Match.CONTAINS_ANY, "starts": ir.Match.STARTS,
           "starts_any": ir.Match.STARTS, "ends": ir.Match.ENDS, "ends_any": ir.Match.ENDS}


def fold_for(types: set[Type]) -> ir.Fold:
    """How operands of these types are compared: text ignoring case, a timestamp with a date by its local date."""
    if any(t.textual for t in types):
        return ir.Fold.CASE
    if Type.DATE in types and Type.TIMESTAMP in types:
        return ir.Fold.LOCAL_DATE
    return ir.Fold.NONE


def _blank(text: str) -> bool:
    return text.strip(BLANK) == ""


def _false_on_blank_text(const: ir.Operand) -> bool:
    """Whether `VALUE = const` is FALSE, not unknown, when VALUE is a blank text."""
    return isinstance(const, ir.Const) and const.type is Type.TEXT and not _blank(str(const.value))


class Lowering(Visitor):
    """Lowers the conditions and items of one checked policy (use `lower` for a whole policy)."""

    def __init__(self, symbols: dict[str, Symbol], texts: bool = True):
        self.symbols = symbols
        self.texts = texts  # the source text of each condition, for explanations (analysis needs none)
        self.text_of = condition_texts()

    def operand(self, node: ast.Node) -> ir.Operand:
        if isinstance(node, ast.Literal):
            kind = node.kind
            value = node.value
            if kind is Type.DATE:
                value = dt.date.fromisoformat(str(value))
            return ir.Const(value, kind, literal(node))  # type: ignore[arg-type]
        if isinstance(node, ast.NameRef):
            sym = self.symbols[node.name]
            return ir.Ref(node.name, REF_KINDS[sym.kind], sym.type, sym.nullable, node.name)
        if isinstance(node, ast.DaysSince):
            sym = self.symbols[node.field_name]
            return ir.DaysSince(node.field_name, sym.type, sym.nullable, operand_text(node))
        if isinstance(node, ast.EventCount):
            return ir.EventCount(node.event, node.days, operand_text(node))
        if isinstance(node, ast.DaysSinceEvent):
            return ir.DaysSinceEvent(node.event, operand_text(node))
        raise TypeError(f"not an operand: {node!r}")

    def condition(self, node: ast.Node) -> ir.Condition:
        lowered: ir.Condition = self.visit(node, self.text_of(node) if self.texts else "")
        return lowered

    def visit_And(self, node: ast.And, text: str) -> ir.Condition:
        return ir.And(tuple(self.condition(i) for i in node.items), text)

    def visit_Or(self, node: ast.Or, text: str) -> ir.Condition:
        return ir.Or(tuple(self.condition(i) for i in node.items), text)

    def visit_Not(self, node: ast.Not, text: str) -> ir.Condition:
        return ir.Not(self.condition(node.operand), text)

    def visit_Compare(self, node: ast.Compare, text: str) -> ir.Condition:
        left, right = self.operand(node.left), self.operand(node.right)
        op = ir.Op(node.op)
        consts = [o for o in (left, right) if isinstance(o, ir.Const)]
        false_when_blank = op is ir.Op.EQ and len(consts) == 1 and _false_on_blank_text(consts[0])
        return ir.Compare(op, left, right, fold_for({left.type, right.type}), false_when_blank, text)

    def visit_Between(self, node: ast.Between, text: str) -> ir.Condition:
        value, low, high = self.operand(node.operand), self.operand(node.low), self.operand(node.high)
        return ir.Between(value, low, high, fold_for({value.type, low.type, high.type}), text)

    def visit_InList(self, node: ast.InList, text: str) -> ir.Condition:
        value = self.operand(node.operand)
        options = tuple(self.operand(v) for v in node.values)
        false_when_blank = not node.negated and all(
            not (o.type is Type.TEXT and _blank(str(o.value))) for o in options)  # type: ignore[union-attr]
        return ir.InList(value, options, node.negated, fold_for({value.type, *(o.type for o in options)}),  # type: ignore[arg-type]
                         false_when_blank, text)

    def visit_TextMatch(self, node: ast.TextMatch, text: str) -> ir.Condition:
        needles = tuple(node.values)
        return ir.TextMatch(MATCHES[node.how], self.operand(node.operand), needles,
                            tuple(fold(n) for n in needles), not any(_blank(n) for n in needles), text)

    def visit_Happened(self, node: ast.Happened, text: str) -> ir.Condition:
        return ir.Happened(ir.EventCount(node.event, node.days, "count " + window(node.event, node.days)), text)

    def visit_IsMissing(self, node: ast.IsMissing, text: str) -> ir.Condition:
        return ir.IsMissing(self.operand(node.operand), node.negated, text)

    def visit_Truthy(self, node: ast.Truthy, text: str) -> ir.Condition:
        return ir.Truthy(self.operand(node.operand), text)

    def generic_visit(self, node: ast.Node, *args: object) -> ir.Condition:
        raise TypeError(f"not a condition: {node!r}")

    def maybe(self, node: ast.Node | None) -> ir.Condition | None:
        return None if node is None else self.condition(node)

    def score(self, score: ast.Score) -> ir.Score:
        rules: list[ir.Rule] = []
        for rule in score.rules:
            if isinstance(rule, ast.PointsRule):
                rules.append(ir.PointsRule(rule.points, self.condition(rule.condition), rule.reason,
                                           rule.reason or condition_text(rule.condition)))
            else:
                rules.append(ir.PerRule(rule.points, self.per(rule), rule.cap, rule.reason,
                                        rule.reason or f"per {rule.field_name}"))
        amounts = [r.points for r in rules] + [r.cap for r in rules if isinstance(r, ir.PerRule)]
        whole = all(a == a.to_integral_value() for a in amounts)
        scale = max([len(ir.dec(a).partition(".")[2]) for a in amounts] + [0])
        bound = sum((abs(r.points) if isinstance(r, ir.PointsRule) else abs(r.cap) for r in rules), Decimal(0))
        decay = score.decay
        clamp = score.clamp
        return ir.Score(
            score.name, score.label, tuple(rules),
            None if decay is None else ir.Decay(decay.percent, decay.every_days, self.since(decay)),
            None if clamp is None else ir.Clamp(clamp.low, clamp.high),
            whole, scale, bound)

    def per(self, rule: ast.PerRule) -> ir.Ref | ir.EventCount:
        if rule.window is not None:
            return ir.EventCount(rule.field_name, rule.window, "count " + window(rule.field_name, rule.window))
        sym = self.symbols[rule.field_name]
        return ir.Ref(rule.field_name, REF_KINDS[sym.kind], sym.type, sym.nullable, rule.field_name)

    def since(self, decay: ast.Decay) -> ir.DaysSince | ir.DaysSinceEvent:
        if decay.since_event:
            return ir.DaysSinceEvent(decay.field_name, f"days since last {decay.field_name}")
        sym = self.symbols[decay.field_name]
        return ir.DaysSince(decay.field_name, sym.type, sym.nullable, f"days since {decay.field_name}")

    def entries(self, entries: tuple[ast.LabelEntry, ...]) -> tuple[ir.Entry, ...]:
        return tuple(ir.Entry(e.label, self.maybe(e.condition)) for e in entries)


def calendar(cal: ast.Calendar) -> ir.Calendar:
    opens, holidays, closed = [], [], []
    for item in cal.items:
        if isinstance(item, ast.OpenHours):
            opens.append(ir.OpenHours(tuple((DAY_INDEX[a], DAY_INDEX[b]) for a, b in item.days),
                                      tuple((a, b) for a, b in item.ranges)))
        elif isinstance(item, ast.Holidays):
            holidays.append(ir.HolidaySource(item.country, item.subdivision))
        elif isinstance(item, ast.Closed):
            closed.append(dt.date.fromisoformat(item.date))
    return ir.Calendar(cal.name, cal.timezone.name if cal.timezone else "UTC", tuple(opens), tuple(holidays),
                       tuple(closed))


def _limit(node: ast.ClockLimit) -> ir.Limit:
    return ir.Limit(node.amount, UNIT_ALIASES.get(node.unit, node.unit), node.calendar)


def sla(node: ast.Sla, lowering: Lowering) -> ir.Sla:
    owner, span, target, warn = (node.first(ast.SlaOwner), node.first(ast.ClockSpan), node.first(ast.Target),
                                 node.first(ast.Warn))
    limits = node.all(ast.ClockLimit)
    return ir.Sla(
        node.name, node.label, node.kind, owner.team if owner else None,
        ir.Clock(tuple(span.starts), tuple(span.stops), span.each_time) if span else None,
        _limit(limits[-1]) if limits else None,
        tuple(ir.Tier(_limit(t), lowering.condition(t.condition)) for t in limits if t.condition is not None),
        target.percent if target else None,
        tuple(ir.CountRule(c.count, c.event, ir.Limit(c.window, UNIT_ALIASES.get(c.window_unit, c.window_unit),
                                                      c.calendar), c.after) for c in node.all(ast.CountRule)),
        tuple(ir.VolumeRule(v.count, v.event, v.period) for v in node.all(ast.VolumeRule)),
        tuple(ir.NeedsReason(n.event, tuple(n.reasons)) for n in node.all(ast.NeedsReason)),
        tuple(ir.Pause(p.start, p.end) for p in node.all(ast.Pause)),
        warn.percent if warn else None,
        tuple(ir.Escalation(e.to, e.percent) for e in node.all(ast.Escalate)))


def lower(policy: ast.Policy) -> ir.Policy:
    """The IR of a checked policy (call only on a policy without errors)."""
    lowering = Lowering(symbol_table(policy))
    steps: list[ir.Step] = []
    for item in policy.items:
        if isinstance(item, ast.Score):
            steps.append(lowering.score(item))
        elif isinstance(item, ast.Grade):
            steps.append(ir.Grade(item.name, item.source, lowering.entries(item.entries)))
    stage_names = [s.name for s in policy.stages]
    return ir.Policy(
        id=policy.id, version=policy.version, fingerprint=fingerprint(policy), title=policy.title,
        owners=tuple(ir.Owner(o.team, o.person) for o in policy.owners), timezone=policy.timezone,
        effective=policy.effective, lead_schema=lead_schema(policy),
        fields=tuple(ir.Field(f.name, Type(f.type.name), tuple(f.type.choices), f.required, field_default(f))
                     for f in policy.fields),
        steps=tuple(steps),
        stages=tuple(ir.Stage(s.name, s.owner, lowering.maybe(s.condition)) for s in policy.stages),
        routes=tuple(ir.Route(tuple(r.stages), tuple(i for i, name in enumerate(stage_names) if name in r.stages),
                              lowering.entries(r.entries)) for r in policy.routes),
        calendars=tuple(calendar(c) for c in policy.calendars),
        slas=tuple(sla(s, lowering) for s in policy.slas),
        recycle=tuple(ir.RecycleRule(r.event, r.reason, r.stage, r.after) for r in policy.recycle_rules),
        events=tuple(ir.EventDecl(e.name, e.label) for e in policy.events or ()),
        declares_events=policy.events is not None,
        outcomes=tuple(ir.Outcome(o.kind, tuple(o.events)) for o in policy.outcomes),
    )
