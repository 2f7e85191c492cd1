"""Soundness of the proofs over generated policies and generated guarantees (issue 27, "Soundness and speed"):

- never "proved" when a lead breaks the claim: for each proved guarantee, many sampled leads, histories and
  `now`s (and, for a monotone claim, each grown along its field or by one more event) keep it when decided;
- every counter-example breaks the claim when decided by the compiled policy: `prove` raises `Disagreement`
  (an internal error) for one that does not, so a generated example that raises fails here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from leadpolicy import api
from leadpolicy.proofs import prove
from leadpolicy.proofs.claims import holds_for
from leadpolicy.semantics import ir
from leadpolicy.semantics.loading import load_policy_text

from .strategies import NOWS, event_logs, valid_leads
from .test_random_policies import conditions, policies

TIMEOUT = 10.0
FIELDS_THAT_GROW = {"n": "number", "m": "number", "d": "date", "seen": "timestamp"}  # test_random_policies.FIELDS
DECIDED = ["stage = hot implies route is present", "handoff implies total >= 0", 'g = "A" implies total >= 20',
           "stage = warm implies owner = b", 'route = "one" implies stage = hot', "not handoff implies stage = rest",
           "handoff", "stage != rest", "route is missing"]


@st.composite
def claims(draw, activity: bool) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(conditions(1, activity))
    if kind == 1:
        return f"{draw(conditions(1, activity))} implies {draw(conditions(1, activity))}"
    if kind == 2:
        return draw(st.sampled_from(DECIDED))
    along = draw(st.sampled_from([*FIELDS_THAT_GROW, *(["x", "y"] if activity else [])]))
    if kind == 3:
        return f"handoff never lost with {along}"
    return f"{draw(st.sampled_from(['s', 'total']))} never {draw(st.sampled_from(['decreases', 'increases']))} " \
           f"with {along}"


@st.composite
def guaranteed_policies(draw) -> api.Policy:
    activity = draw(st.booleans())
    text = draw(policies(activity=activity))
    block = "".join(f'    "G{i}": {draw(claims(activity))}\n' for i in range(draw(st.integers(1, 3))))
    end = text.rindex("}")
    loaded = load_policy_text(text[:end] + "  guarantees {\n" + block + "  }\n" + text[end:])
    assume(not loaded.has_errors)  # e.g. a condition the checker proves never true
    assert loaded.policy is not None
    return api.from_tree(loaded.policy)


def grown_lead(data: Any, lead: dict[str, Any], field: str) -> dict[str, Any] | None:
    """The lead with `field` larger, or None when the lead has no value there (the claim is about leads that
    have one in both)."""
    value = lead.get(field)
    if value is None or value == "":
        return None
    kind = FIELDS_THAT_GROW[field]
    if kind == "number":
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return None
        step = data.draw(st.sampled_from(["0.5", "1", "7", "150", "1000"]), label="step")
        return {**lead, field: str(number + Decimal(step))}
    days = data.draw(st.integers(1, 400), label="days")
    if kind == "date":
        try:
            return {**lead, field: (dt.date.fromisoformat(str(value)[:10]) + dt.timedelta(days=days)).isoformat()}
        except ValueError:
            return None
    return None  # a timestamp written in many ways: grown by the solver's own pairs, not sampled here


def grown_events(data: Any, events: list[dict[str, Any]], event: str, now: dt.datetime) -> list[dict[str, Any]]:
    """The events with one more `event`, at or before `now`, at an instant none of that event has yet."""
    taken = {(e["event"], str(e["at"])) for e in events}
    for _ in range(20):
        age = data.draw(st.sampled_from([0, 1, 3_600, 86_400, 7 * 86_400, 30 * 86_400 + 1, 61 * 86_400,
                                          90 * 86_400]), label="age")
        at = (now - dt.timedelta(seconds=age)).isoformat()
        if (event, at) not in taken:
            return [*events, {"event": event, "at": at}]
    return events + [{"event": event, "at": (now - dt.timedelta(seconds=17)).isoformat()}]


def sampled_decisions(data: Any, policy: api.Policy, guarantee: ir.Guarantee) -> list[api.Decision] | None:
    """One lead (and, for a monotone claim, its grown pair) decided, or None when the sample does not fit."""
    now = data.draw(NOWS, label="now")
    lead = data.draw(valid_leads(policy), label="lead")
    events = data.draw(event_logs(policy, now), label="events") if policy.ir.events else []
    try:
        first = policy.evaluate(lead, now=now, events=events)
        if guarantee.kind in (ir.ClaimKind.HOLDS, ir.ClaimKind.IMPLIES):
            return [first]
        assert guarantee.along is not None
        if guarantee.along_event:
            return [first, policy.evaluate(lead, now=now, events=grown_events(data, events, guarantee.along, now))]
        grown = grown_lead(data, lead, guarantee.along)
        return None if grown is None else [first, policy.evaluate(grown, now=now, events=events)]
    except api.LeadError:
        return None  # a generated history with a repeated row: a reader's reject, not a lead


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_proved_guarantees_hold_for_sampled_leads_and_every_counterexample_breaks_its_claim(data):
    policy = data.draw(guaranteed_policies(), label="policy")
    results = prove(policy, TIMEOUT)  # raises Disagreement for a counter-example that keeps its claim
    claims_by_name = {g.name: g for g in policy.ir.guarantees}
    for result in results:
        guarantee = claims_by_name[result.name]
        if result.status == "violated":
            decisions = [d for d in (result.before, result.after) if d is not None]
            assert not holds_for(policy, guarantee, decisions), result
        if result.status != "proved":
            continue
        for _ in range(25):
            decisions = sampled_decisions(data, policy, guarantee)
            if decisions is not None:
                assert holds_for(policy, guarantee, decisions), (guarantee.text, [d.as_dict() for d in decisions])
