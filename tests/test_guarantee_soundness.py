"""The proofs are sound (issue 27, "Soundness and speed"): random policies (tests/test_random_policies.py's
generator) with random guarantees of every claim kind, over fields, scores, grades and the decided values; the
solver proves, refutes or gives up on each. Then many sampled leads, histories and nows (the differential tests'
generators) are decided by the compiled policy: a sample that breaks a claim the solver proved fails the test, and
so does a counter-example that keeps its claim when decided.

The claim is read off the compiled decisions here, not by the proofs' own claim evaluation: conditions by the
interpreter's evaluator (the reference engine) over the lead's typed values, its scores, grades and decided values,
and a pair's claim by comparing the two decisions. LEADPOLICY_SOUNDNESS_EXAMPLES raises the number of generated
policies for a long run (default 150, about 25 s on two cores).
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from leadpolicy import api
from leadpolicy.api import from_tree
from leadpolicy.proofs import GuaranteeResult, prove
from leadpolicy.semantics import ir
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.interpreter import Evaluator
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.semantics.loading import load_policy_text

from .engines import policy_from_text
from .strategies import NOWS, event_logs, valid_leads
from .test_random_policies import atoms, policies

EXAMPLES = int(os.environ.get("LEADPOLICY_SOUNDNESS_EXAMPLES", "150"))
TIMEOUT = 5.0  # seconds per guarantee; an unknown is neither checked nor counted as proved
SAMPLES = 15  # leads (or pairs) decided per generated policy (more overruns the data Hypothesis draws)

# ---------------------------------------------------------------- random guarantees


DECIDED_ATOMS = st.sampled_from([
    "stage = hot", "stage != rest", "stage = warm", "route is missing", "route is present", 'route = "one"',
    'route != "two"', "owner = b", "owner != a", "handoff", "not handoff"])
SCORE_AND_GRADE_ATOMS = st.one_of(
    st.tuples(st.sampled_from(["s", "total"]), st.sampled_from([">=", "<", "=", ">"]),
              st.sampled_from(["-10", "0", "1", "5", "20", "100"])).map(" ".join),
    st.sampled_from(['g = "A"', 'g in ("A", "B")', 'g != "C"', "s between 0 and 20", "total <= s"]))


def claim_atoms(activity: bool) -> st.SearchStrategy[str]:
    return st.one_of(DECIDED_ATOMS, SCORE_AND_GRADE_ATOMS, atoms(activity))


def claim_conditions(activity: bool, depth: int = 1) -> st.SearchStrategy[str]:
    inner = claim_atoms(activity) if depth == 0 else claim_conditions(activity, depth - 1)
    return st.one_of(
        claim_atoms(activity), claim_atoms(activity),
        inner.map(lambda c: f"not ({c})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda p: f"({p[0]}) {p[1]} ({p[2]})"))


def alongs(activity: bool) -> st.SearchStrategy[str]:
    return st.sampled_from(["n", "m", "d", "seen", *(["x", "y"] if activity else [])])


# Claims true of many policies (the random ones above: `rest` is owner a's catch-all, `hot` routed with an
# `otherwise`, `total` within -90..90), so that proved condition claims are sampled too, the three-valued ones
# (`X or not X` is unknown when X is) among them.
LIKELY_TRUE = st.sampled_from([
    "stage = hot implies route is present", "handoff implies owner = b", "stage = rest implies not handoff",
    'route = "one" implies stage = hot', "total between -100 and 100", 'g in ("A", "B", "C")',
    "s >= 0 or s < 0", "not (stage = rest) implies handoff"])


@st.composite
def likely_true(draw, activity: bool) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(LIKELY_TRUE)
    condition = draw(claim_conditions(activity, depth=0))
    return f"{condition} implies {condition}" if kind == 1 else f"({condition}) or not ({condition})"


@st.composite
def claims(draw, activity: bool) -> str:
    kind = draw(st.sampled_from(["holds", "implies", "decreases", "increases", "handoff", "likely true"]))
    if kind == "likely true":
        return draw(likely_true(activity))
    if kind == "holds":
        return draw(claim_conditions(activity))
    if kind == "implies":
        return f"{draw(claim_conditions(activity))} implies {draw(claim_conditions(activity))}"
    if kind == "handoff":
        return f"handoff never lost with {draw(alongs(activity))}"
    direction = "decreases" if kind == "decreases" else "increases"
    return f"{draw(st.sampled_from(['s', 'total']))} never {direction} with {draw(alongs(activity))}"


@st.composite
def policies_with_guarantees(draw, activity: bool) -> str:
    text = draw(policies(activity=activity))
    block = "".join(f'    "claim {i}": {draw(claims(activity))}\n' for i in range(draw(st.integers(1, 3))))
    end = text.rindex("}")
    return text[:end] + "  guarantees {\n" + block + "  }\n" + text[end:]


def loaded(text: str) -> api.Policy:
    result = load_policy_text(text)
    assume(not result.has_errors)  # a condition the checker proves never true, a claim over a never-true one...
    return from_tree(result.policy)


# ---------------------------------------------------------------- the claim, read off compiled decisions


def handed_off(policy: api.Policy, decision: api.Decision) -> bool:
    """The decided stage's owner is not the catch-all (last) stage's owner (docs/language.md's handoff)."""
    return decision.owner != policy.ir.stages[-1].owner


def truth(policy: api.Policy, decision: api.Decision, condition: ir.Condition) -> bool | None:
    """A guarantee's condition for one decided lead: its fields as the reader types them, its scores and
    grades, and the decided stage, route, owner and handoff, evaluated by the interpreter."""
    values, errors = LeadReader(policy.ir).read(decision.values or {})
    assert not errors, errors
    env: dict[str, Any] = {**values, **{k: Decimal(v) for k, v in decision.scores.items()}, **decision.grades,
                           "stage": decision.stage, "route": decision.route, "owner": decision.owner,
                           "handoff": handed_off(policy, decision)}
    return Evaluator(policy.ir, env, decision.now, Activity(decision.events)).test(condition)


def broken(policy: api.Policy, claim: ir.Guarantee, decisions: list[api.Decision]) -> bool:
    """Whether these decisions (one, or before and after) break the claim: three-valued, an unknown condition
    does not hold."""
    if claim.kind is ir.ClaimKind.HOLDS:
        assert claim.condition is not None
        return truth(policy, decisions[0], claim.condition) is not True
    if claim.kind is ir.ClaimKind.IMPLIES:
        assert claim.condition is not None and claim.then is not None
        return (truth(policy, decisions[0], claim.condition) is True
                and truth(policy, decisions[0], claim.then) is not True)
    before, after = decisions
    if claim.kind is ir.ClaimKind.HANDOFF_KEPT:
        return handed_off(policy, before) and not handed_off(policy, after)
    assert claim.score is not None
    old, new = before.scores[claim.score], after.scores[claim.score]
    return new < old if claim.kind is ir.ClaimKind.NEVER_DECREASES else new > old


def decided_counterexample(policy: api.Policy, ce: dict[str, Any]) -> list[api.Decision]:
    parts = [ce] if "lead" in ce else [ce["before"], ce["after"]]
    return [policy.evaluate(part["lead"], now=ce["now"], events=part["events"]) for part in parts]


# ---------------------------------------------------------------- sampled leads and pairs

LARGER_BY = {"number": st.sampled_from([Decimal("0.5"), 1, 10, 200, 1000]),
             "date": st.integers(1, 400).map(lambda days: dt.timedelta(days=days)),
             "timestamp": st.integers(1, 400 * 86_400).map(lambda s: dt.timedelta(seconds=s))}
FIELD_START = {"number": st.integers(-5, 1200), "date": st.dates(dt.date(2025, 6, 1), dt.date(2026, 12, 31)),
               "timestamp": st.datetimes(dt.datetime(2025, 6, 1), dt.datetime(2026, 12, 31),
                                         timezones=st.just(dt.timezone.utc))}


def window_edges(policy: api.Policy) -> list[int]:
    """Seconds before `now` on the edge of each window the policy reads (a second either side), and now itself."""
    days = {int(op.days) for op in policy.ir.activity if isinstance(op, ir.EventCount)} | {61}
    return [0, 1] + [d * 86_400 + nudge for d in sorted(days) for nudge in (-1, 0, 1)]


def grown_pair(data: Any, policy: api.Policy, claim: ir.Guarantee, lead: dict[str, Any],
               events: list[dict[str, Any]], now: dt.datetime) -> tuple[tuple[dict, list], tuple[dict, list]]:
    """A lead and the same lead with `along` larger (present in both) or one more `along` event at or
    before `now`."""
    along = claim.along
    assert along is not None
    if claim.along_event:
        back = data.draw(st.one_of(st.sampled_from(window_edges(policy)), st.integers(0, 120 * 86_400)))
        taken = {dt.datetime.fromisoformat(e["at"]) for e in events if e["event"] == along}
        at = now - dt.timedelta(seconds=back)
        while at in taken:  # the same event at the same instant is a repeated row, a reader's reject
            at -= dt.timedelta(seconds=1)
        return (lead, events), (lead, [*events, {"event": along, "at": at.isoformat()}])
    [kind] = [f.type for f in policy.ir.fields if f.name == along]
    start = data.draw(FIELD_START[kind], label="along from")
    larger = start + data.draw(LARGER_BY[kind], label="larger by")
    return ({**lead, along: start}, events), ({**lead, along: larger}, events)  # as YAML types them


Sample = tuple[dt.datetime, dict[str, Any], list[dict[str, Any]]]  # now, a lead, its events


def samples(data: Any, policy: api.Policy, activity: bool) -> list[Sample]:
    """SAMPLES leads with their histories and nows, drawn once for every claim of a policy."""
    drawn = []
    for _ in range(SAMPLES):
        now = data.draw(NOWS, label="now")
        lead = data.draw(valid_leads(policy), label="lead")
        events = data.draw(event_logs(policy, now, max_size=6), label="events") if activity else []
        drawn.append((now, lead, [{**e, "at": e["at"].isoformat() if isinstance(e["at"], dt.datetime) else e["at"]}
                                  for e in events]))
    return drawn


def decided_sample(data: Any, policy: api.Policy, claim: ir.Guarantee, sample: Sample) -> list[api.Decision]:
    """The sample decided, or for a monotone claim the sample and the same lead grown along the claim's field
    or event."""
    now, lead, events = sample
    if claim.kind in (ir.ClaimKind.HOLDS, ir.ClaimKind.IMPLIES):
        return [policy.evaluate(lead, now=now, events=events)]
    return [policy.evaluate(one, now=now, events=happened)
            for one, happened in grown_pair(data, policy, claim, lead, events, now)]


# ---------------------------------------------------------------- the property


def check_results(policy: api.Policy, results: list[GuaranteeResult]) -> list[ir.Guarantee]:
    """Each counter-example breaks its claim when decided; returns the claims the solver proved."""
    claims_by_name = {g.name: g for g in policy.ir.guarantees}
    proved = []
    for result in results:
        claim = claims_by_name[result.name]
        event(f"{result.status}: {claim.kind.name.lower()}")
        if result.status == "violated":
            assert result.counterexample is not None
            decisions = decided_counterexample(policy, result.counterexample)
            assert broken(policy, claim, decisions), (claim.text, result.counterexample)
        elif result.status == "proved":
            proved.append(claim)
    return proved


def sampled_breaks(data: Any, policy: api.Policy, claim: ir.Guarantee, drawn: list[Sample]) -> list[Any]:
    """Each sampled lead (or pair) that breaks the claim, as the values it was decided on."""
    found = []
    for sample in drawn:
        decisions = decided_sample(data, policy, claim, sample)
        if broken(policy, claim, decisions):
            found.append([(d.values, d.events, d.now, d.scores, d.grades, d.stage, d.route) for d in decisions])
    return found


@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_sampled_lead_breaks_a_proved_guarantee_and_every_counterexample_breaks_its_claim(data):
    activity = data.draw(st.booleans(), label="activity")
    policy = loaded(data.draw(policies_with_guarantees(activity), label="policy"))
    results = prove(policy, TIMEOUT)
    assert [r.name for r in results] == [g.name for g in policy.ir.guarantees]
    proved = check_results(policy, results)
    # Every claim's samples are drawn, proved or not: what is drawn must not hang on the solver's answer (a
    # time-out on a loaded machine would make Hypothesis's replay of an example draw differently).
    drawn = samples(data, policy, activity)
    for claim in policy.ir.guarantees:
        breaks = sampled_breaks(data, policy, claim, drawn)
        assert claim not in proved or breaks == [], f"proved, but broken by a sample: {claim.text}"


FALSE_CLAIMS = """  guarantees {
    "Total is never that low": total < -1000
    "Hot leads have a small n": stage = hot implies n < 3
    "More x never raises s": s never increases with x
    "A later seen never loses a handoff": handoff never lost with seen
  }
"""
SAMPLED_POLICY = """policy "sampled" version 1.0.0 {
  owner a "A"
  owner b "B"
  lead {
    n number
    m number
    t text
    c one of ("DE", "fr", "Üb")
    f yes/no
    d date
    seen timestamp
  }
  events {
    x
    y
  }
  score s {
    +10 per x in last 30 days up to 20
    +1 per n up to 10
  }
  score total {
    +1 per s up to 50
  }
  grade g from total {
    "A" when total >= 20
    "B" when total >= 1
    "C" otherwise
  }
  stages {
    hot when n >= 1 and seen < 2026-11-01 owner b
    warm when g = "A" owner b
    rest otherwise owner a
  }
  route for hot {
    "one" when n > 10
    "two" otherwise
  }
""" + FALSE_CLAIMS + "}\n"


def test_the_sampling_finds_leads_that_break_false_claims_of_every_kind():
    """What the property relies on: had the solver said "proved" of these false claims (a condition, an
    implication, a score along an event, a handoff along a timestamp), the samples of a few examples would break
    each (derandomized: the same examples every run)."""
    policy = policy_from_text(SAMPLED_POLICY)
    assert len(policy.ir.guarantees) == 4
    broken_claims: set[str] = set()

    @settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(data=st.data())
    def sample(data):
        drawn = samples(data, policy, activity=True)
        for claim in policy.ir.guarantees:
            if sampled_breaks(data, policy, claim, drawn):
                broken_claims.add(claim.name)

    sample()
    assert broken_claims == {g.name for g in policy.ir.guarantees}
