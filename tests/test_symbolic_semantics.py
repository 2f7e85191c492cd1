"""The semantic table (tests/semantics/cases.yaml, activity.yaml) with the solver as one more engine: for each
case lead, the symbolic lead pinned to exactly that lead (its values, its events' counts and ages, `now`) must
make the case's expected stage and values possible, each with a witness that decides so, and every other stage
and value impossible."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.events import EventReader
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.semantics.symbolic import Found, Impossible, SymbolicLead, Witness, find

from .engines import policy_from_text
from .symbolic_pins import expected, pins
from .test_semantics import ACTIVITY, CASES, DEFAULT_NOW, policy_text

# Case name -> why the solver cannot take its leads (none so far: every case of the table is pinned).
UNSUPPORTED: dict[str, str] = {}
TIMEOUT = 20.0


def table() -> list[tuple[str, dict[str, Any], int]]:
    rows = []
    for source, cases in (("cases", CASES), ("activity", ACTIVITY)):
        for case in cases:
            rows += [(source, case, i) for i, item in enumerate(case["leads"]) if "rejected" not in item["expect"]]
    return rows


ROWS = table()


def decides(policy: Any, expect: dict[str, Any], events: list[Any]) -> Any:
    """A `confirm`: the witness, re-decided by the compiled evaluator, is decided as the case expects."""
    def confirm(found: tuple[Witness, ...]) -> bool:
        w = found[0]
        decision = policy.evaluate(w.lead, w.now, [{"event": e, "at": at} for e, at in w.events])
        got = {"stage": decision.stage, "owner": decision.owner, "route": decision.route,
               **decision.scores, **decision.grades}
        return all(got[k] == v for k, v in expect.items())
    return confirm


@pytest.mark.parametrize(("source", "case", "index"), ROWS,
                         ids=[f"{s}:{c['name'][:50]}:{i}" for s, c, i in ROWS])
def test_the_solver_decides_each_case_lead_as_the_table_says(source, case, index):
    if case["name"] in UNSUPPORTED:
        pytest.skip(UNSUPPORTED[case["name"]])
    policy = policy_from_text(policy_text(case))
    item = case["leads"][index]
    now = policy.instant(case.get("now", DEFAULT_NOW))
    values, errors = LeadReader(policy.ir).read(item["lead"])
    assert not errors
    events, problems = EventReader(policy.ir).read(item.get("events", []), now)
    assert not problems
    activity = Activity(events)

    def pinned(goal):
        return lambda lead: z3.And(goal(lead), *pins(lead, values, activity, now))

    for key, value in item["expect"].items():
        found = find(pinned(lambda lead, k=key, v=value: expected(lead, k, v)), [SymbolicLead(policy.ir)],
                     TIMEOUT, confirm=decides(policy, {key: value}, events))
        assert isinstance(found, Found), (key, value, found)
        other = find(pinned(lambda lead, k=key, v=value: z3.Not(expected(lead, k, v))), [SymbolicLead(policy.ir)],
                     TIMEOUT)
        assert isinstance(other, Impossible), (key, value, other)
    decided = policy.evaluate(item["lead"], now, item.get("events"))
    for stage in policy.ir.stages:
        if stage.name != decided.stage:
            other = find(pinned(lambda lead, s=stage.name: expected(lead, "stage", s)), [SymbolicLead(policy.ir)],
                         TIMEOUT)
            assert isinstance(other, Impossible), (stage.name, other)


def test_the_table_has_leads_for_the_solver():
    assert len(ROWS) >= 90 and {s for s, _, _ in ROWS} == {"cases", "activity"}
