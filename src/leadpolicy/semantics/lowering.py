"""Lowering: a checked syntax tree becomes the typed IR, with every semantic decision made once. A condition,
operand, rule, decay or clamp is lowered by its row in the table of primitives (`semantics.primitives`);
this module lowers the policy's structure around them (scores, grades, stages, routes, SLAs, calendars,
guarantees, teams)."""

from __future__ import annotations

import datetime as dt
import hashlib

from leadpolicy.language import ast
from leadpolicy.language.checks.conditions import score_bound
from leadpolicy.language.formatter import claim_text, condition_texts, format_policy, quote
from leadpolicy.language.symbols import Symbol, decided_symbols, symbol_table
from leadpolicy.language.types import Type
from leadpolicy.language.units import DAY_INDEX, UNIT_ALIASES
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.leads import field_default, lead_schema


def fingerprint(policy: ast.Policy) -> str:
    """sha256 of the canonical formatted source without comments: reformatting keeps it."""
    return "sha256:" + hashlib.sha256(format_policy(policy).encode("utf-8")).hexdigest()


class Lowering:
    """Lowers the conditions and items of one checked policy (use `lower` for a whole policy). Each syntax
    node is lowered by the row of its class in the table of primitives (`primitives.SYNTAX`); this is the
    rows' `LoweringContext`."""

    def __init__(self, symbols: dict[str, Symbol], texts: bool = True):
        self.symbols = symbols
        self.texts = texts  # the source text of each condition, for explanations (analysis needs none)
        self.text_of = condition_texts()

    def text(self, node: ast.Node) -> str:
        return self.text_of(node) if self.texts else ""

    def operand(self, node: ast.Node) -> ir.Operand:
        if isinstance(node, ast.BareName):  # a stage or team beside the decided value, in a guarantee
            return ir.Const(node.name, Type.TEXT, quote(node.name))
        row = primitives.OPERAND_SYNTAX.get(type(node))
        if row is None:
            raise TypeError(f"not an operand: {node!r}")
        return row.lower(self, node)

    def condition(self, node: ast.Node) -> ir.Condition:
        row = primitives.CONDITION_SYNTAX.get(type(node))
        if row is None:
            raise TypeError(f"not a condition: {node!r}")
        return row.lower(self, node)

    def maybe(self, node: ast.Node | None) -> ir.Condition | None:
        return None if node is None else self.condition(node)

    def score(self, score: ast.Score) -> ir.Score:
        rules = [primitives.RULE_SYNTAX[type(rule)].lower(self, rule) for rule in score.rules]
        amounts = [r.points for r in rules] + [r.cap for r in rules if isinstance(r, ir.PerRule)]
        whole = all(a == a.to_integral_value() for a in amounts)
        scale = max([len(ir.dec(a).partition(".")[2]) for a in amounts] + [0])
        decay, clamp = score.decay, score.clamp
        return ir.Score(
            score.name, score.label, tuple(rules),
            None if decay is None else primitives.scores.DECAY.lower(self, decay),
            None if clamp is None else primitives.scores.CLAMP.lower(self, clamp),
            whole, scale, score_bound(score.rules))

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


def guarantee(node: ast.Guarantee, symbols: dict[str, Symbol]) -> ir.Guarantee:
    """A guarantee's IR: its conditions read the decided values (`ir.Ref` of kind DECIDED, from
    `decided_symbols`) and a stage or team named bare as a text constant; `along` is an event unless it names a
    lead field."""
    lowering = Lowering({**symbols, **decided_symbols()})
    along = symbols.get(node.along) if node.along is not None else None
    along_event = node.along is not None and (along is None or along.kind != "field")
    return ir.Guarantee(node.name, ir.ClaimKind(node.kind), lowering.maybe(node.condition), lowering.maybe(node.then),
                        node.score, node.along, along_event, claim_text(node))


def team(node: ast.Team) -> ir.Team:
    """A checked team's IR: each member's name and email read from "Name <email>", its weight 1 unless given."""
    members = []
    for m in node.members:
        name, _, email = m.person.rpartition("<")
        members.append(ir.Member(m.person, name.strip(), email.rstrip(">").strip(),
                                 1 if m.weight is None else int(m.weight), None if m.cap is None else int(m.cap),
                                 m.cap_period if m.cap is not None else None, m.calendar))
    return ir.Team(node.name, node.label, node.calendar, ir.AssignHow(str(node.assign)), tuple(members),
                   node.first(ast.MatchAccounts) is not None, node.fallback)


def lower(policy: ast.Policy) -> ir.Policy:
    """The IR of a checked policy (call only on a policy without errors)."""
    symbols = symbol_table(policy)
    lowering = Lowering(symbols)
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
        guarantees=tuple(guarantee(g, symbols) for g in policy.guarantees),
        teams=tuple(team(t) for t in policy.team_blocks),
    )
