"""Proofs without a declared guarantee (issue 27; docs/prove.md): which first-match entries and points rules
some lead reaches (with a witness lead) and which none can (proved), and routes that let a routed lead through
with no queue (`route-gap`).

Every witness is re-decided by the compiled evaluator (`api.Policy.evaluate`) before it counts: a stage by
its name, a grade or route entry by its label (a routed stage for a route), a points rule by the breakdown
saying it fired. One witness often reaches many entries at once (its stage, its grades, its route and every
rule that fired), so each search marks all that its witness reaches, and the next search is only for what is
still open. What is not decided within the time given is `unknown`, and `check` says nothing of it.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

from leadpolicy.api import Decision
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.semantics import ir

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.semantics.symbolic import SymbolicLead, Witness

# check's searches are bounded by the solver's resource count (the same answer on a fast or a loaded machine, so
# check says the same thing everywhere), and by time only as a guard against a hang; what is left undecided is
# not said.
RESOURCES = 2_000_000  # the solver's resource limit per search (its `rlimit`)
BUDGET = 20.0  # seconds check spends per policy on route gaps and exact reach, at most
ENTRY_TIMEOUT = 5.0  # seconds one search may take
NEVER_TRUE_HINT = "check the numbers (can the rules of a score it reads add up to them?), the texts and the and/or"
Status = Literal["reachable", "unreachable", "never-true", "unknown"]
KINDS = ("stage", "grade", "route", "rule")


@dataclass(frozen=True)
class Place:
    """A first-match entry or a points rule: `kind` stage, grade, route or rule; `part` the grade's, route's or
    score's position in the policy's grades, routes or scores (0 for stages); `index` the entry's or rule's."""

    kind: str
    part: int
    index: int
    name: str  # as messages name it: `stage sql`, `grade tier entry A`, `route for mql, sql entry "x"`, ...
    otherwise: bool = False  # an `otherwise` entry (searched for witnesses, never reported by check)


@dataclass(frozen=True)
class Reach:
    place: Place
    status: Status
    witness: Witness | None = None
    seconds: float = 0.0
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.place.kind, "name": self.place.name, "status": self.status,
                               "seconds": round(self.seconds, 3)}
        if self.witness is not None:
            out["witness"] = self.witness.as_json()
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class RouteGap:
    route: int
    stage: str  # the routed stage the witness is decided
    witness: Witness


def places(policy: ir.Policy) -> list[Place]:
    """Every stage, grade entry, route entry and points rule, in the policy's order."""
    out = [Place("stage", 0, i, f"stage {s.name}", s.condition is None) for i, s in enumerate(policy.stages)]
    for g, grade in enumerate(policy.grades):
        out += [Place("grade", g, e, f'{grade.name} "{entry.label}"', entry.condition is None)
                for e, entry in enumerate(grade.entries)]
    for r, route in enumerate(policy.routes):
        out += [Place("route", r, e, f'route for {", ".join(route.stages)} "{entry.label}"', entry.condition is None)
                for e, entry in enumerate(route.entries)]
    for s, score in enumerate(policy.scores):
        out += [Place("rule", s, k, f'{score.name} rule "{rule.label}"') for k, rule in enumerate(score.rules)]
    return out


# ---------------------------------------------------------------- goals and what a decision reaches


def goal(policy: ir.Policy, place: Place) -> Callable[[SymbolicLead], Any]:
    """The place is the one decided (a rule: it fires)."""
    if place.kind == "stage":
        return lambda lead: lead.stage_is(place.index)
    if place.kind == "grade":
        return lambda lead: lead.grade_index(policy.grades[place.part].name) == place.index
    if place.kind == "route":
        return lambda lead: lead.route_entry_is(place.part, place.index)
    rule = policy.scores[place.part].rules[place.index]
    if isinstance(rule, ir.PerRule):  # it adds points: some of what it counts, within its cap
        return lambda lead: per_points(lead, rule) != 0
    return lambda lead: lead.condition(rule.condition).true


def per_points(lead: SymbolicLead, rule: ir.PerRule) -> Any:
    from leadpolicy.semantics.primitives import smt

    return smt.per_rule(lead, rule)


def condition_of(policy: ir.Policy, place: Place) -> ir.Condition | None:
    if place.kind == "stage":
        return policy.stages[place.index].condition
    if place.kind == "grade":
        return policy.grades[place.part].entries[place.index].condition
    if place.kind == "route":
        return policy.routes[place.part].entries[place.index].condition
    rule = policy.scores[place.part].rules[place.index]
    return rule.condition if isinstance(rule, ir.PointsRule) else None


def decide(policy: Policy, w: Witness) -> Decision | None:
    """A witness re-decided by the compiled evaluator (None when it refuses the lead: not a witness)."""
    events = [{"event": e, "at": at} for e, at in w.events]
    try:
        return policy.evaluate(w.lead, w.now, events)
    except ValueError:  # a LeadError, or a `now` outside the years the readers accept
        return None


def unique_entry(entries: Sequence[ir.Entry], label: str | None) -> int | None:
    """The entry giving `label`, when exactly one does (a label two entries give names neither)."""
    hits = [i for i, e in enumerate(entries) if label is not None and e.label == label]
    return hits[0] if len(hits) == 1 else None


def reached(policy: ir.Policy, d: Decision) -> Iterator[tuple[str, int, int]]:
    """(kind, part, index) of every place a decision shows reached."""
    yield from ladders_reached(policy, {"stage": d.stage, "route": d.route, **d.grades})
    breakdown = d.breakdown
    for s, score in enumerate(policy.scores):
        for k, rule in enumerate(breakdown[score.name]["rules"]):
            if rule["fired"]:
                yield "rule", s, k


def ladders_reached(policy: ir.Policy, values: Mapping[str, Any]) -> Iterator[tuple[str, int, int]]:
    """(kind, part, index) of the stage, grade entries and route entry decided values show reached (`stage`,
    `route` and each grade by its name, as a decision or a sample case's actual values hold them)."""
    stage = next((i for i, s in enumerate(policy.stages) if s.name == values.get("stage")), None)
    if stage is None:
        return
    yield "stage", 0, stage
    for g, grade in enumerate(policy.grades):
        entry = unique_entry(grade.entries, values.get(grade.name))
        if entry is not None:
            yield "grade", g, entry
    route = next((r for r, x in enumerate(policy.routes) if stage in x.stage_indices), None)
    entry = None if route is None else unique_entry(policy.routes[route].entries, values.get("route"))
    if route is not None and entry is not None:
        yield "route", route, entry


def confirms(policy: ir.Policy, place: Place, d: Decision) -> bool:
    """The decision is the place's (by name or label; a rule fired)."""
    if place.kind == "stage":
        return d.stage == policy.stages[place.index].name
    if place.kind == "grade":
        grade = policy.grades[place.part]
        return d.grades.get(grade.name) == grade.entries[place.index].label
    if place.kind == "route":
        route = policy.routes[place.part]
        return d.stage in route.stages and d.route == route.entries[place.index].label
    return bool(d.breakdown[policy.scores[place.part].name]["rules"][place.index]["fired"])


# ---------------------------------------------------------------- the searches


class Budget:
    """Seconds left for a policy's searches; each search gets at most ENTRY_TIMEOUT of them."""

    def __init__(self, seconds: float, per_search: float = ENTRY_TIMEOUT):
        self.end = time.perf_counter() + seconds
        self.per_search = per_search

    def next(self) -> float:
        return min(self.per_search, self.end - time.perf_counter())


def search(policy: Policy, place: Place, budget: Budget) -> Reach:
    """One place: reachable with a confirmed witness, proved unreachable (never-true when its own condition
    can never be true either), or unknown."""
    from leadpolicy.semantics.symbolic import Found, Impossible, SymbolicLead, find

    seconds = budget.next()
    if seconds <= 0:
        return Reach(place, "unknown", reason="no time left")

    def confirm(found: tuple[Witness, ...]) -> bool:
        d = decide(policy, found[0])
        return d is not None and confirms(policy.ir, place, d)

    result = find(goal(policy.ir, place), [SymbolicLead(policy.ir)], seconds, confirm)
    if isinstance(result, Found):
        return Reach(place, "reachable", result.witnesses[0], result.seconds)
    if not isinstance(result, Impossible):
        return Reach(place, "unknown", seconds=result.seconds, reason=result.reason)
    condition = condition_of(policy.ir, place)
    if place.kind == "rule" or condition is None:
        return Reach(place, "never-true" if place.kind == "rule" else "unreachable", seconds=result.seconds)
    alone = find(lambda lead: lead.condition(condition).true, [SymbolicLead(policy.ir)], max(budget.next(), 0.001))
    status: Status = "never-true" if isinstance(alone, Impossible) else "unreachable"
    return Reach(place, status, seconds=result.seconds + alone.seconds)


def reachability(policy: Policy, seconds: float = BUDGET, per_search: float = ENTRY_TIMEOUT,
                 budget: Budget | None = None, seen: Iterable[Mapping[str, Any]] = ()) -> list[Reach]:
    """Every place (see `places`) reachable with a witness, unreachable, never-true, or unknown when the
    search ran out of time; a witness of one place marks every other place its decision reaches. `seen`:
    decided values of real leads (sample cases'), whose places are reachable without a search (no witness)."""
    budget = budget or Budget(seconds, per_search)
    found: dict[tuple[str, int, int], Reach] = {}
    for values in seen:
        for key in ladders_reached(policy.ir, values):
            found.setdefault(key, Reach(place_at(policy.ir, key), "reachable", reason="a sample case reaches it"))
    for place in places(policy.ir):
        key = (place.kind, place.part, place.index)
        if key in found:
            continue
        reach = search(policy, place, budget)
        found[key] = reach
        if reach.witness is not None:
            decision = decide(policy, reach.witness)
            assert decision is not None  # confirmed by the search
            for other in reached(policy.ir, decision):
                found.setdefault(other, Reach(place_at(policy.ir, other), "reachable", reach.witness))
    return [found[(p.kind, p.part, p.index)] for p in places(policy.ir)]


def place_at(policy: ir.Policy, key: tuple[str, int, int]) -> Place:
    return next(p for p in places(policy) if (p.kind, p.part, p.index) == key)


def route_gaps(policy: Policy, seconds: float = BUDGET, per_search: float = ENTRY_TIMEOUT,
               budget: Budget | None = None) -> list[RouteGap]:
    """Each route without `otherwise` that some lead of a stage it routes reaches with no entry matching, with
    that lead (confirmed: decided a stage of the route, with no route)."""
    from leadpolicy.semantics.symbolic import Found, SymbolicLead, find

    budget = budget or Budget(seconds, per_search)
    gaps = []
    for r, route in enumerate(policy.ir.routes):
        if route.entries and route.entries[-1].condition is None:
            continue

        def confirm(found: tuple[Witness, ...], route: ir.Route = route) -> bool:
            d = decide(policy, found[0])
            return d is not None and d.stage in route.stages and d.route is None

        seconds = budget.next()
        if seconds <= 0:
            break
        result = find(lambda lead, r=r: lead.route_entry_is(r, None), [SymbolicLead(policy.ir)], seconds, confirm)
        if isinstance(result, Found):
            w = result.witnesses[0]
            decision = decide(policy, w)
            assert decision is not None and decision.stage is not None  # confirmed by the search; a route's stage
            gaps.append(RouteGap(r, decision.stage, w))
    return gaps


# ---------------------------------------------------------------- what check says


def witness_text(w: Witness) -> str:
    """A witness on one line: now, the lead as JSON, its events."""
    events = ", ".join(f"{e} at {at.isoformat()}" for e, at in w.events) or "none"
    return f"now {w.now.isoformat()}, lead {json.dumps(w.lead, sort_keys=True)}, events: {events}"


def tree_node(tree: ast.Policy, place: Place) -> ast.Node:
    """The syntax node of a place, for a diagnostic's position."""
    if place.kind == "stage":
        return tree.stages[place.index]
    if place.kind == "grade":
        return tree.grades[place.part].entries[place.index]
    if place.kind == "route":
        return tree.routes[place.part].entries[place.index]
    return tree.scores[place.part].rules[place.index]


def reach_diagnostic(tree: ast.Policy, file: str, reach: Reach) -> Diagnostic:
    node = tree_node(tree, reach.place)
    if reach.status == "never-true":
        condition = getattr(node, "condition", None) or node
        what = "rule never fires" if reach.place.kind == "rule" else "entry is never chosen"
        return Diagnostic("never-true", f"this condition can never be true for any lead (proved), so the {what}",
                          file, condition.span, hint=NEVER_TRUE_HINT)
    because = ("no lead of the stages it routes matches it before an earlier entry" if reach.place.kind == "route"
               else "every lead matching it matches an earlier entry first")
    return Diagnostic("unreachable", f"{reach.place.name} can never be chosen: {because} (proved)", file, node.span,
                      hint="reorder the entries so the narrower condition comes first, or remove it")


def gap_diagnostic(tree: ast.Policy, policy: ir.Policy, file: str, gap: RouteGap) -> Diagnostic:
    """The gap with its lead (events as JSON), why no entry matched it, and the explain command that shows it."""
    import shlex

    from leadpolicy.proofs.unknowns import unknown_parts

    route = tree.routes[gap.route]
    case = gap.witness.as_json()
    lead = f"now {case['now']}, lead {json.dumps(case['lead'], sort_keys=True)}, events {json.dumps(case['events'])}"
    parts = unknown_parts(policy, [e.condition for e in policy.routes[gap.route].entries], gap.witness.lead)
    why = ("; ".join(parts) + ", and an unknown condition does not hold") if parts else \
        "no entry's condition is true for it"
    explain = f"leadpolicy explain {shlex.quote(file)} --lead {shlex.quote(json.dumps(case))}"
    return Diagnostic("route-gap", f"route for {', '.join(route.stages)}: a lead of stage {gap.stage} matches no "
                                   f"entry, so it gets no route; for example {lead}: {why}",
                      file, route.span, hint=f'end the route with an entry like: "queue-name" otherwise; see why: '
                                             f"{explain}")


def per_rule(policy: ir.Policy, place: Place) -> bool:
    """A `per` rule: it has a witness line in `prove --witnesses`; check says nothing of it (it has no condition
    to be never true)."""
    return place.kind == "rule" and isinstance(policy.scores[place.part].rules[place.index], ir.PerRule)


def said_by_analysis(tree: ast.Policy, place: Place) -> bool:
    """Whether the checker's own analysis (`semantics.analysis`, sound but inexact) says this place is
    unreachable or never true: check has reported it then, and it is not said twice."""
    from leadpolicy.language.symbols import symbol_table
    from leadpolicy.semantics import analysis

    symbols = symbol_table(tree)
    node = tree_node(tree, place)
    if place.kind == "rule":
        return analysis.satisfiability(node.condition, symbols, tree.timezone) == "never"  # type: ignore[attr-defined]
    entries: Sequence[ast.StageEntry | ast.LabelEntry] = (
        tree.stages if place.kind == "stage" else
        tree.grades[place.part].entries if place.kind == "grade" else tree.routes[place.part].entries)
    return place.index in analysis.unreachable([e.condition for e in entries], symbols, tree.timezone)


def exhaustive_diagnostics(file: str, tree: ast.Policy, policy: Policy, timeout: float = BUDGET,
                           seen: Iterable[Mapping[str, Any]] = ()) -> list[Diagnostic]:
    """check's `route-gap` warnings and the `unreachable` / `never-true` the solver proves where the analysis
    did not say so (never one twice), for a policy without errors; within `timeout` seconds at most (BUDGET).
    `seen`: the decided values of the policy's sample cases, which spare the searches for what they reach."""
    budget = Budget(min(timeout * 2, BUDGET), min(timeout, ENTRY_TIMEOUT))
    with resource_limit(RESOURCES):
        out = [gap_diagnostic(tree, policy.ir, file, gap) for gap in route_gaps(policy, budget=budget)]
        reaches = reachability(policy, budget=budget, seen=seen)
    for reach in reaches:
        if reach.status in ("unreachable", "never-true") and not reach.place.otherwise and \
                not per_rule(policy.ir, reach.place) and not said_by_analysis(tree, reach.place):
            out.append(reach_diagnostic(tree, file, reach))
    return out


@contextlib.contextmanager
def resource_limit(resources: int) -> Iterator[None]:
    """Every solver made meanwhile stops at `resources` (z3's global `rlimit`; 0 is no limit, restored after)."""
    import z3  # the one setting the searches share; the encoding stays in semantics.symbolic

    z3.set_param("rlimit", resources)
    try:
        yield
    finally:
        z3.set_param("rlimit", 0)


def witnesses_json(results: Sequence[Reach]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in results]


def witnesses_text(results: Sequence[Reach]) -> list[str]:
    """One line per place: its witness, or why it has none."""
    lines = []
    for r in results:
        if r.witness is not None:
            lines.append(f"{r.place.name}: reached by {witness_text(r.witness)}")
        elif r.status == "unknown":
            lines.append(f"{r.place.name}: undecided ({r.reason})")
        else:
            lines.append(f"{r.place.name}: no lead reaches it (proved {r.status})")
    return lines
