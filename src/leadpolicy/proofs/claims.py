"""A guarantee's claim two ways: as the solver's goal (the formula of a violation over symbolic leads) and
concretely (whether the claim holds for the decisions the compiled evaluator gives for witness leads).

A condition claim (HOLDS, IMPLIES) is about one lead; a monotone claim (NEVER_DECREASES, NEVER_INCREASES,
HANDOFF_KEPT) about a pair: a lead and the same lead grown along a field or with one more event. Conditions
are three-valued as everywhere: a claim whose condition is unknown (a value missing) does not hold.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Sequence

import z3

from leadpolicy import api
from leadpolicy.semantics import ir
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.interpreter import Evaluator
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.semantics.symbolic import SymbolicLead, Witness

PAIR_KINDS = (ir.ClaimKind.NEVER_DECREASES, ir.ClaimKind.NEVER_INCREASES, ir.ClaimKind.HANDOFF_KEPT)


def is_pair(guarantee: ir.Guarantee) -> bool:
    """A claim about two leads (a lead and the same lead grown along `along`)."""
    return guarantee.kind in PAIR_KINDS


def condition_of(guarantee: ir.Guarantee, part: ir.Condition | None) -> ir.Condition:
    assert part is not None, f"a {guarantee.kind} claim without its condition"
    return part


# ---------------------------------------------------------------- the solver's goal


def violation(guarantee: ir.Guarantee, leads: Sequence[SymbolicLead]) -> Any:
    """The formula true exactly when `leads` (one lead, or a lead and its grown pair) break the claim."""
    first = leads[0]
    kind = guarantee.kind
    if kind is ir.ClaimKind.HOLDS:
        return z3.Not(first.condition(condition_of(guarantee, guarantee.condition)).true)
    if kind is ir.ClaimKind.IMPLIES:
        premise = first.condition(condition_of(guarantee, guarantee.condition)).true
        return z3.And(premise, z3.Not(first.condition(condition_of(guarantee, guarantee.then)).true))
    second = leads[1]
    if kind is ir.ClaimKind.HANDOFF_KEPT:
        return z3.And(first.decided("handoff").value, z3.Not(second.decided("handoff").value))
    assert guarantee.score is not None, "a monotone claim names its score"
    before, after = first.score(guarantee.score).value, second.score(guarantee.score).value
    return after < before if kind is ir.ClaimKind.NEVER_DECREASES else after > before


# ---------------------------------------------------------------- concretely


def decide(policy: api.Policy, witness: Witness) -> api.Decision:
    """The witness decided by the compiled evaluator, from its JSON as shown (raises api.LeadError when a
    reader refuses it)."""
    shown = json.loads(json.dumps(witness.as_json()))
    return policy.evaluate(shown["lead"], now=shown["now"], events=shown["events"])


def handed_off(policy: api.Policy, decision: api.Decision) -> bool:
    """The decided stage's owner differs from the catch-all (last) stage's owner (docs/language.md)."""
    stages = policy.ir.stages
    return bool(stages) and decision.owner != stages[-1].owner


def decided_env(policy: api.Policy, decision: api.Decision) -> dict[str, Any]:
    """What a guarantee's conditions read: the lead's typed values, each score and grade, and the decided
    `stage`, `route`, `owner` and `handoff` (the interpreter reads a Ref's value from its env)."""
    values, errors = LeadReader(policy.ir).read(decision.values or {})
    if errors:
        raise api.LeadError(errors)
    env: dict[str, Any] = dict(values)
    env.update({name: Decimal(value) for name, value in decision.scores.items()})
    env.update(decision.grades)
    env.update({"stage": decision.stage, "owner": decision.owner, "route": decision.route,
                "handoff": handed_off(policy, decision)})
    return env


def truth(policy: api.Policy, decision: api.Decision, condition: ir.Condition) -> bool | None:
    """A guarantee's condition, three-valued, for one decided lead."""
    evaluator = Evaluator(policy.ir, decided_env(policy, decision), decision.now, Activity(decision.events))
    return evaluator.test(condition)


def holds_for(policy: api.Policy, guarantee: ir.Guarantee, decisions: Sequence[api.Decision]) -> bool:
    """Whether the claim holds for these decisions (one, or a pair: before and after)."""
    kind = guarantee.kind
    if kind is ir.ClaimKind.HOLDS:
        return truth(policy, decisions[0], condition_of(guarantee, guarantee.condition)) is True
    if kind is ir.ClaimKind.IMPLIES:
        if truth(policy, decisions[0], condition_of(guarantee, guarantee.condition)) is not True:
            return True
        return truth(policy, decisions[0], condition_of(guarantee, guarantee.then)) is True
    before, after = decisions[0], decisions[1]
    if kind is ir.ClaimKind.HANDOFF_KEPT:
        return not handed_off(policy, before) or handed_off(policy, after)
    assert guarantee.score is not None, "a monotone claim names its score"
    old, new = before.scores[guarantee.score], after.scores[guarantee.score]
    return new >= old if kind is ir.ClaimKind.NEVER_DECREASES else new <= old


def claim_holds(policy: api.Policy, guarantee: ir.Guarantee, witnesses: Sequence[Witness]) -> bool:
    """Whether the claim holds for these witness leads, each decided by the compiled evaluator (one witness for
    a condition claim, two for a monotone one: before and after). Raises api.LeadError when a reader refuses
    one."""
    return holds_for(policy, guarantee, [decide(policy, w) for w in witnesses])
