"""Evaluation semantics: missing values, three-valued logic, rounding, decay, text, explanations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leadpolicy import runtime
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir
from leadpolicy.semantics.interpreter import evaluate
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.semantics.loading import load_policy, load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.semantics.primitives import scores

from .conftest import POLICIES, now

POLICY = '''
policy "semantics" version 1.0.0 {
  title "Semantics"
  owner marketing "M"
  owner sales "S"
  timezone "America/New_York"
  lead {
    email text
    employees number
    revenue number
    vip yes/no
    plan one of ("free", "pro")
    born date
    seen timestamp
  }
  score s {
    +1 when employees > 10 "big"
    +2 when not (employees > 10) "not big"
    +4 when employees > 10 or vip "big or vip"
    +8 when employees > 10 and vip "big and vip"
    +16 when employees between 5 and 10 "between"
    +32 when email contains "ACME" "acme"
    +64 when plan not in ("pro") "not pro"
    +128 when employees is missing "no count"
    +256 when born < 2000-01-01 "old"
    +512 when seen >= 2026-11-20 "seen today"
  }
  score rounding {
    +5 per revenue up to 100 "per revenue"
    decay 50% every 10 days since seen
  }
  stages {
    top when s >= 1000 owner sales
    rest otherwise owner marketing
  }
}
'''


@pytest.fixture(scope="module")
def policy():
    loaded = load_policy_text(POLICY, "semantics.policy")
    assert not loaded.has_errors, loaded.diagnostics
    return lower(loaded.policy)


def run(policy, lead, at="2026-11-20T12:00:00-05:00"):
    values, errors = LeadReader(policy).read(lead)
    assert not errors, errors
    return evaluate(policy, values, now(at))


def fired(decision, score="s"):
    return sorted(decision.fired(score))


# Each row: lead, the rules of score s that fire. Missing values make comparisons
# unknown; `not unknown` is unknown; `unknown or true` is true; `unknown and x` is never true.
CASES = [
    ({}, ["no count"]),
    ({"employees": 20}, ["big", "big or vip"]),
    ({"employees": 3}, ["not big"]),
    ({"vip": True}, ["big or vip", "no count"]),
    ({"vip": False}, ["no count"]),
    ({"employees": 20, "vip": True}, ["big", "big and vip", "big or vip"]),
    ({"employees": 5}, ["between", "not big"]),
    ({"employees": 10}, ["between", "not big"]),
    ({"employees": 10.5}, ["big", "big or vip"]),
    ({"email": "ceo@acme.io", "employees": 1}, ["acme", "not big"]),
    ({"email": "", "employees": 1}, ["not big"]),
    ({"plan": "free", "employees": 1}, ["not big", "not pro"]),
    ({"plan": "pro", "employees": 1}, ["not big"]),
    ({"born": "1999-12-31", "employees": 1}, ["not big", "old"]),
    ({"born": "2000-01-01", "employees": 1}, ["not big"]),
    # 00:30 on Nov 20 in New York is Nov 20 there (05:30 UTC): compared by local date.
    ({"seen": "2026-11-20T05:30:00Z", "employees": 1}, ["not big", "seen today"]),
    ({"seen": "2026-11-20T04:30:00Z", "employees": 1}, ["not big"]),
    ({"seen": "2026-11-20T00:30:00", "employees": 1}, ["not big", "seen today"]),
]


@pytest.mark.parametrize("lead,expected", CASES, ids=[str(c[0]) for c in CASES])
def test_three_valued_rules(policy, lead, expected):
    assert fired(run(policy, lead)) == expected


@pytest.mark.parametrize("value,expected", [
    ("22.5", 23), ("-22.5", -23), ("22.4999", 22), ("0.5", 1), ("-0.5", -1), ("2.5", 3), ("3.5", 4),
])
def test_round_half_away_from_zero(value, expected):
    assert runtime.round_half_away(Decimal(value)) == expected


@pytest.mark.parametrize("days,periods,factor", [
    (0, 0, "1"), (9, 0, "1"), (10, 1, "0.5"), (29, 2, "0.25"), (-15, 0, "1"),
])
def test_decay_periods(days, periods, factor):
    decay = ir.Decay(Decimal(50), Decimal(10), ir.DaysSince("seen", Type.TIMESTAMP, True, "days since seen"))
    total = Decimal(100)
    assert scores.DECAY.interpret(DaysSince(days), decay, total) == (total * Decimal(factor), Decimal(factor), periods)


class DaysSince:
    """The interpreter as the decay row sees it: its operand, the days since, has this value."""

    def __init__(self, days: int):
        self.days = days

    def operand(self, node: ir.Operand) -> int:
        return self.days


@pytest.mark.parametrize("lead,value", [
    ({"revenue": 7}, 35),
    ({"revenue": 7.9}, 35),  # whole units only
    ({"revenue": 500}, 100),  # capped
    ({"revenue": -3}, 0),  # negative counts as none
    ({"revenue": 7, "seen": "2026-11-10T12:00:00-05:00"}, 18),  # 35 * 0.5 = 17.5 -> 18
    ({"revenue": 7, "seen": "2026-11-10T12:00:01-05:00"}, 35),  # 9 days 23:59:59 -> no period yet
    ({"revenue": 7, "seen": "2026-12-10T12:00:00-05:00"}, 35),  # seen in the future: no growth
])
def test_per_rules_and_decay(policy, lead, value):
    assert run(policy, lead).scores["rounding"].value == value


def test_decay_counts_real_days_across_dst(policy):
    # Nov 1 2026 is the US clock change: 10 calendar days before now are 10 x 24 h + 1 h.
    decision = run(policy, {"revenue": 7, "seen": "2026-11-10T13:00:00-05:00"})
    assert decision.scores["rounding"].decay_periods == 0
    decision = run(policy, {"revenue": 7, "seen": "2026-11-10T12:00:00-05:00"})
    assert decision.scores["rounding"].decay_periods == 1


def test_scores_clamp_and_record_what_clamp_changed():
    loaded = load_policy(POLICIES / "inbound-b2b.policy")
    policy_ir = lower(loaded.policy)
    values, _ = LeadReader(policy_ir).read({"email": "kim@gmail.com", "industry": "software"})
    decision = evaluate(policy_ir, values, now())
    assert decision.scores["fit"].value == 0
    assert decision.scores["fit"].clamped_from == -20


def test_explanation_says_why_the_next_stage_was_not_reached():
    loaded = load_policy(POLICIES / "inbound-b2b.policy")
    policy_ir = lower(loaded.policy)
    lead = {"email": "omar@ledgerly.com", "employees": 300, "industry": "fintech", "job_title": "VP Finance",
            "email_clicks": 4, "pricing_page_views": 2, "last_activity": "2026-09-01T09:00:00-04:00"}
    values, _ = LeadReader(policy_ir).read(lead)
    decision = evaluate(policy_ir, values, now())
    assert "not mql: engagement 23 < 30" in decision.explanation
    assert "not sql: demo_requested is no" in decision.explanation
    assert decision.explanation[-1] == "route: none (nurture has no route)"
    assert any(line.startswith("engagement 23: +20 Email clicks") and "x0.5625" in line
               for line in decision.explanation)


def test_explanation_names_missing_values():
    loaded = load_policy(POLICIES / "inbound-b2b.policy")
    policy_ir = lower(loaded.policy)
    values, _ = LeadReader(policy_ir).read({"email": "a@b.io", "demo_requested": True})
    decision = evaluate(policy_ir, values, now())
    assert decision.stage == "nurture"
    assert "not sql: fit 0 < 50" in decision.explanation


def test_decision_as_dict_is_json_ready():
    import json

    loaded = load_policy(POLICIES / "inbound-b2b.policy")
    policy_ir = lower(loaded.policy)
    values, _ = LeadReader(policy_ir).read({"email": "a@b.io", "employees": 5000, "demo_requested": True,
                                                "industry": "software", "job_title": "CTO"})
    data = json.loads(json.dumps(evaluate(policy_ir, values, now()).as_dict()))
    assert (data["stage"], data["owner"], data["route"]) == ("sql", "sales", "enterprise-ae")
    assert data["scores"] == {"fit": 50, "engagement": 40}
    assert data["grades"] == {"fit_grade": "B"}
    assert data["breakdown"]["fit"]["rules"][0] == {"rule": "Mid-market or larger", "points": 30, "fired": True,
                                                    "capped": False}


def test_now_must_carry_a_timezone(policy):
    with pytest.raises(ValueError):
        evaluate(policy, {}, dt.datetime(2026, 11, 20))


EXPLAINED = '''
policy "explained" version 1.0.0 {
  title "Explained"
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    seen timestamp
  }
  events { demo }
  score a {
    +2 per demo in last 30 days up to 5 "demos"
    decay 50% every 10 days since seen
  }
  score b {
    +1 per a up to 100
    decay 50% every 10 days since last demo
  }
  stages {
    cold otherwise owner marketing
  }
}
'''


@pytest.mark.parametrize("seen_days_ago, says", [
    (9, ["a 5: +5 demos: 3 in the last 30 days (Nov 7, Nov 8, Nov 9) (capped at 5)",
         "b 3: +5 per a: a 5; decayed x0.5 (1 periods since last demo) 5 -> 2.5"]),
    (21, ["a 1: +5 demos: 3 in the last 30 days (Nov 7, Nov 8, Nov 9) (capped at 5); "
          "decayed x0.25 (2 periods since seen) 5 -> 1.25",
          "b 1: +1 per a: a 1; decayed x0.5 (1 periods since last demo) 1 -> 0.5"]),
])
def test_a_scores_explanation_says_what_its_per_rules_counted_and_its_decay(seen_days_ago, says):
    from leadpolicy.semantics.activity import Activity

    at = now("2026-11-20T12:00:00+00:00")
    day = dt.timedelta(days=1)
    policy = lower(load_policy_text(EXPLAINED, "explained.policy").policy)
    decision = evaluate(policy, {"seen": at - seen_days_ago * day}, at,
                        Activity([("demo", at - n * day) for n in (11, 12, 13)]))
    assert decision.explanation[:2] == says
