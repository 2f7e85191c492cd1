"""Proving a policy's guarantees: each is proved (no admitted lead, history and `now` breaks it), violated (a
counter-example, re-decided by the compiled evaluator before it is shown) or unknown (the reason).

The search is the symbolic lead's (`semantics.symbolic.find`); its `confirm` callback decides each witness
with `api.Policy.evaluate` and evaluates the claim on those decisions. A witness the readers refuse is not a
lead the claim is about (an over-approximation of what they admit): it is excluded and the search repeated.
A witness that is a lead but keeps the claim when decided is a disagreement between the solver's encoding
and the evaluator: an internal error (`Disagreement`), never a message; but only when the witness shows exactly
the model's values: a number the solver chose between two constants is shown as the nearest float, which the
readers read as that float, and a claim true of every readable lead may keep it (the witness is then excluded,
and the search ends unknown when no other is found).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from leadpolicy import api, runtime
from leadpolicy.language.types import Type
from leadpolicy.proofs.claims import decide, holds_for, is_pair, violation
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives import smt
from leadpolicy.semantics.symbolic import Found, Impossible, SymbolicLead, Unknown, Witness, find

DEFAULT_TIMEOUT = 10.0  # seconds per guarantee
BUDGET_SPENT = "check's time budget ran out before this guarantee: run leadpolicy prove"
Status = Literal["proved", "violated", "unknown"]


class Disagreement(AssertionError):
    """The solver's counter-example keeps the claim when the compiled evaluator decides it: a bug in the
    encoding (or the evaluator), which a test drives to zero."""


@dataclass(frozen=True)
class GuaranteeResult:
    """One guarantee's proof: its status, how long it took, and why it is unknown or how it is broken."""

    name: str
    claim: str  # the claim in canonical form
    status: Status
    seconds: float
    reason: str | None = None  # unknown: what stopped the solver
    counterexample: dict[str, Any] | None = None  # violated: the JSON shape
    before: api.Decision | None = None  # violated: the counter-example's decision (the first lead of a pair)
    after: api.Decision | None = None  # violated, a pair: the grown lead's decision

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "claim": self.claim, "status": self.status,
                               "seconds": round(self.seconds, 3)}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample
        return out


def counterexample_json(witnesses: Sequence[Witness]) -> dict[str, Any]:
    """`{now, lead, events}` for one lead; `{now, before: {lead, events}, after: {lead, events}}` for a pair."""
    shown = [w.as_json() for w in witnesses]
    if len(shown) == 1:
        return shown[0]
    before, after = ({"lead": s["lead"], "events": s["events"]} for s in shown)
    return {"now": shown[0]["now"], "before": before, "after": after}


class Confirmation:
    """`find`'s confirm callback for one guarantee: decides the witnesses, keeps the decisions of the one
    confirmed."""

    def __init__(self, policy: api.Policy, guarantee: ir.Guarantee):
        self.policy = policy
        self.guarantee = guarantee
        self.decisions: list[api.Decision] = []

    def __call__(self, witnesses: tuple[Witness, ...]) -> bool:
        try:
            decisions = [decide(self.policy, w) for w in witnesses]
        except api.LeadError:
            return False  # not a lead the readers accept: the search excludes it and looks again
        if holds_for(self.policy, self.guarantee, decisions):
            if not all(shown_exactly(self.policy.ir, w) for w in witnesses):
                return False  # the lead as shown is not the model's: not a counter-example, not a disagreement
            raise Disagreement(f"guarantee {self.guarantee.name!r} of {self.policy.id}: the solver's "
                               f"counter-example keeps the claim when decided: {counterexample_json(witnesses)}")
        self.decisions = decisions
        return True


def shown_exactly(policy: ir.Policy, witness: Witness) -> bool:
    """Whether the witness shows the model's values: the search's own word when it gives one (`exact`), else
    no number written as a float (the search writes a whole number as an int, any other as the nearest float,
    which may not be the model's) and every text in the folded form the solver reasons about."""
    exact = getattr(witness, "exact", None)
    if exact is not None:
        return bool(exact)
    types = {f.name: f.type for f in policy.fields}
    for name, value in witness.lead.items():
        if isinstance(value, float):
            return False
        if types.get(name) is Type.TEXT and isinstance(value, str) and runtime.fold(value) != value:
            return False
    return True


def symbolic_leads(policy: ir.Policy, guarantee: ir.Guarantee) -> list[SymbolicLead]:
    """One symbolic lead, or a lead and the same lead grown along the claim's field or event."""
    first = SymbolicLead(policy)
    if not is_pair(guarantee):
        return [first]
    assert guarantee.along is not None, "a monotone claim names what grows"
    return [first, first.grown(guarantee.along, guarantee.along_event)]


def prove_one(policy: api.Policy, guarantee: ir.Guarantee, timeout: float) -> GuaranteeResult:
    """Search for a counter-example to one guarantee within `timeout` seconds."""
    confirm = Confirmation(policy, guarantee)
    try:
        leads = symbolic_leads(policy.ir, guarantee)
    except smt.Unsupported as exc:
        return GuaranteeResult(guarantee.name, guarantee.text, "unknown", 0.0, reason=str(exc))
    found = find(lambda *each: violation(guarantee, each), leads, timeout, confirm)
    if isinstance(found, Impossible):
        return GuaranteeResult(guarantee.name, guarantee.text, "proved", found.seconds)
    if isinstance(found, Unknown):
        return GuaranteeResult(guarantee.name, guarantee.text, "unknown", found.seconds, reason=found.reason)
    assert isinstance(found, Found)
    decisions = confirm.decisions
    return GuaranteeResult(guarantee.name, guarantee.text, "violated", found.seconds,
                           counterexample=counterexample_json(found.witnesses), before=decisions[0],
                           after=decisions[1] if len(decisions) > 1 else None)


def prove(policy: api.Policy, timeout: float = DEFAULT_TIMEOUT, budget: float = math.inf) -> list[GuaranteeResult]:
    """Each of the policy's guarantees, in order, proved, violated or unknown (`timeout` seconds each, and
    `budget` seconds for all: those not reached within it are unknown, BUDGET_SPENT)."""
    end = time.perf_counter() + budget
    results = []
    for guarantee in policy.ir.guarantees:
        left = end - time.perf_counter()
        results.append(prove_one(policy, guarantee, min(timeout, left)) if left > 0 else
                       GuaranteeResult(guarantee.name, guarantee.text, "unknown", 0.0, reason=BUDGET_SPENT))
    return results


def results_json(policy: api.Policy, results: Sequence[GuaranteeResult]) -> dict[str, Any]:
    """`{"policy": ID, "guarantees": [...]}`, the shape other tools read (issue 27)."""
    return {"policy": policy.id, "guarantees": [r.as_json() for r in results]}
