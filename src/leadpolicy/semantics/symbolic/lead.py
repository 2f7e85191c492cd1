"""The symbolic lead: any lead the lead block admits, any history of the declared events at or before `now`,
any `now`, decided by the policy as SMT terms. Every node is encoded by its row's solver column
(`primitives.smt`); this class walks the decision's structure exactly as the interpreter does (a score's
rules in order, then decay, rounding and clamp; first-match grades, stages and routes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import z3

from leadpolicy.language.types import Type
from leadpolicy.semantics import ir, logic, primitives
from leadpolicy.semantics.primitives import scores, smt
from leadpolicy.semantics.primitives.smt import Sym, Tri
from leadpolicy.semantics.symbolic.variables import (
    FIRST_INSTANT,
    EventVars,
    GrownEvent,
    Variables,
    field_value,
    local_day,
    seen_by,
    window_days,
)

NOW_KEY = "now"


def first_match(conditions: list[Any | None]) -> Any:
    """The index of the first entry whose condition is true (None: `otherwise`), -1 when none is."""
    index: Any = z3.IntVal(-1)
    for i, truth in reversed(list(enumerate(conditions))):
        index = z3.IntVal(i) if truth is None else z3.If(truth, i, index)
    return index


def chosen(index: Any, labels: list[str]) -> Any:
    """The folded label at a first-match index (any text when none matched)."""
    value: Any = z3.StringVal("")
    for i, label in reversed(list(enumerate(labels))):
        value = z3.If(index == i, smt.text(logic.fold(label)), value)
    return value


class SymbolicLead:
    """One symbolic lead decided by a policy (see the module's docstring). `admitted` holds the facts every
    admitted lead satisfies, for the variables encoded so far: read it after building a goal."""

    def __init__(self, policy: ir.Policy, name: str = "a", variables: Variables | None = None):
        self.policy = policy
        self.name = name
        self.vars = variables if variables is not None else Variables.fresh(f"{name}.", policy.timezone)
        self.fields = {f.name: f for f in policy.fields}
        self.own_fields: dict[str, Sym] = {}
        self.own_events: dict[str, GrownEvent] = {}
        self.along: tuple[str, bool] | None = None
        self.base: SymbolicLead | None = None
        self.cache: dict[Any, Any] = {}

    @property
    def admitted(self) -> list[Any]:
        return self.vars.admitted

    # ------------------------------------------------------------ what the rows read (SolverContext)
    def condition(self, node: ir.Condition) -> Tri:
        key = ("condition", node)
        if key not in self.cache:
            self.cache[key] = smt.CONDITION_ENCODERS[primitives.condition_row(node).solver](self, node)
        return self.cache[key]  # type: ignore[no-any-return]  # a Tri, cached by node

    def operand(self, node: ir.Operand) -> Sym:
        return smt.OPERAND_ENCODERS[primitives.operand_row(node).solver](self, node)

    def ref(self, node: ir.Ref) -> Sym:
        if node.kind is ir.RefKind.SCORE:
            return self.score(node.name)
        if node.kind is ir.RefKind.GRADE:
            return self.grade(node.name)
        if node.kind is ir.RefKind.DECIDED:
            return self.decided(node.name)
        return self.field(node.name)

    def field(self, name: str) -> Sym:
        """A field as the policy reads it (a missing value takes its default)."""
        f = self.fields[name]
        return self.own_fields.get(name) or seen_by(f, self.vars.field(f), self.policy.timezone)

    def now(self) -> Any:
        return self.vars.now

    def today(self) -> Any:
        return local_day(self.vars.now, self.vars.offset(NOW_KEY, self.vars.now, self.policy.timezone))

    def local_date(self, node: ir.Operand, instant: Any) -> Any:
        """A timestamp field's local date (the only timestamps are fields)."""
        name = node.name if isinstance(node, ir.Ref) else str(node)
        key = f"{self.name}:{name}" if name in self.own_fields else name
        return local_day(instant, self.vars.offset(key, instant, self.policy.timezone))

    def event(self, name: str) -> EventVars | GrownEvent:
        return self.own_events.get(name) or self.vars.event(name)

    def event_count(self, event: str, days: Decimal) -> Any:
        return self.event(event).count(window_days(days), self.vars)

    def last_event_age(self, event: str) -> Sym:
        history = self.event(event)
        return Sym(history.has, history.age)

    # ------------------------------------------------------------ the decisions
    def step(self, name: str) -> ir.Score | ir.Grade:
        return next(s for s in self.policy.steps if s.name == name)

    def defined(self, key: str, sort: Any, term: Any) -> Any:
        """A named variable equal to `term` (so models show it, and terms share it)."""
        if key not in self.cache:
            var = z3.Const(f"{self.name}.{key}", sort)
            self.vars.admitted.append(var == term)
            self.cache[key] = var
        return self.cache[key]

    def score_value(self, score: ir.Score) -> Any:
        """Rules in order, decay, rounding (halves away from zero) and clamp, as the interpreter."""
        parts = [smt.RULE_ENCODERS[primitives.rule_row(r).solver](self, r) for r in score.rules]
        total = z3.Sum(parts) if parts else z3.RealVal(0)
        if score.decay is not None:
            total = smt.ENCODERS[scores.DECAY.solver](self, score, score.decay, total)
        rounded = smt.round_half_away(total, whole=score.whole and score.decay is None)
        return rounded if score.clamp is None else smt.ENCODERS[scores.CLAMP.solver](self, score.clamp, rounded)

    def score(self, name: str) -> Sym:
        step = self.step(name)
        assert isinstance(step, ir.Score), name
        if ("score", name) not in self.cache:
            self.cache[("score", name)] = self.defined(f"score:{name}", z3.RealSort(), self.score_value(step))
        return Sym(z3.BoolVal(True), self.cache[("score", name)])

    def grade_index(self, name: str) -> Any:
        step = self.step(name)
        assert isinstance(step, ir.Grade), name
        truths = [None if e.condition is None else self.condition(e.condition).true for e in step.entries]
        return self.defined(f"grade:{name}", z3.IntSort(), first_match(truths))

    def grade(self, name: str) -> Sym:
        step = self.step(name)
        assert isinstance(step, ir.Grade), name
        index = self.grade_index(name)
        return Sym(index >= 0, chosen(index, [e.label for e in step.entries]))

    def stage_index(self) -> Any:
        truths = [None if s.condition is None else self.condition(s.condition).true for s in self.policy.stages]
        return self.defined("stage", z3.IntSort(), first_match(truths))

    def stage_is(self, index: int) -> Any:
        """The decided stage is `policy.stages[index]`."""
        return self.stage_index() == index

    def route_of(self, stage: int) -> int | None:
        """The route that decides a stage's route (the first naming it), None when none does."""
        return next((i for i, r in enumerate(self.policy.routes) if stage in r.stage_indices), None)

    def route_index(self, route: int) -> Any:
        entries = self.policy.routes[route].entries
        truths = [None if e.condition is None else self.condition(e.condition).true for e in entries]
        return self.defined(f"route:{route}", z3.IntSort(), first_match(truths))

    def route_entry_is(self, route: int, entry: int | None) -> Any:
        """The decided stage is routed by `policy.routes[route]` and its entry `entry` matched (None: none)."""
        stages = [i for i in range(len(self.policy.stages)) if self.route_of(i) == route]
        matched = self.route_index(route) == (-1 if entry is None else entry)
        return z3.And(smt.any_of([self.stage_is(i) for i in stages]), matched)

    def decided(self, name: str) -> Sym:
        """`stage`, `route`, `owner` (folded texts) or `handoff` (yes/no), as guarantees read them."""
        stages = self.policy.stages
        index = self.stage_index()
        if name == "stage":
            return Sym(z3.BoolVal(True), chosen(index, [s.name for s in stages]))
        if name == "owner":
            return Sym(z3.BoolVal(True), chosen(index, [s.owner for s in stages]))
        if name == "handoff":
            last = stages[-1].owner if stages else ""
            return Sym(z3.BoolVal(True), smt.any_of([index == i for i, s in enumerate(stages) if s.owner != last]))
        if name == "route":
            return self.route()
        raise KeyError(name)

    def route(self) -> Sym:
        """The decided route's label: missing when the stage has no route or no entry matched."""
        present, value = [], z3.StringVal("")
        for r, route in enumerate(self.policy.routes):
            for e, entry in enumerate(route.entries):
                holds = self.route_entry_is(r, e)
                present.append(holds)
                value = z3.If(holds, smt.text(logic.fold(entry.label)), value)
        return Sym(smt.any_of(present), value)

    # ------------------------------------------------------------ pairs and other policies
    def grown(self, along: str, along_event: bool, name: str = "b") -> SymbolicLead:
        """A second lead equal to this one but for `along`: a number, date or timestamp field present in both
        and larger in the second, or one more `along` event at some instant at or before the same `now`."""
        other = SymbolicLead(self.policy, name, self.vars)
        other.own_fields, other.own_events, other.along, other.base = (
            dict(self.own_fields), dict(self.own_events), (along, along_event), self)
        if along_event:
            extra = z3.Int(f"{name}.#{along}.extra")
            base = self.event(along)
            assert isinstance(base, EventVars), "one more event of one already grown"
            other.own_events[along] = GrownEvent(base, extra)
            self.vars.admitted += [extra >= 0, extra <= self.vars.now - FIRST_INSTANT,
                                   z3.Implies(base.has, extra != base.age)]
            return other
        mine = self.field(along)
        f = self.fields[along]
        value, facts = field_value(f, f"{name}.{along}")
        other.own_fields[along] = Sym(z3.BoolVal(True), value)
        larger = value > mine.value
        self.vars.admitted += [*facts, mine.present, larger]
        return other

    def under(self, policy: ir.Policy, name: str = "b") -> SymbolicLead:
        """This same lead (its fields by name and type, its events, `now`) decided by another policy."""
        return SymbolicLead(policy, name, self.vars)

    def field_type(self, name: str) -> Type:
        return self.fields[name].type

