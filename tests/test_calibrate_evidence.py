"""Calibration's evidence: the rule columns decide as the policy does, planted effects are recovered, and a
small case's every number is worked by hand."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist

import pytest
import yaml

import leadpolicy
from leadpolicy.measure import evidence
from leadpolicy.measure.calibration import MIN_LEADS, Proposal
from leadpolicy.measure.feedback import INPUT, FeedbackInput, measure
from leadpolicy.measure.rule_columns import decay_columns, with_rule_columns
from leadpolicy.runtime import decayed, round_half_away

from .calibration_data import AS_OF, DECAY, DECAY_EFFECT, NOW, generate
from .conftest import POLICIES
from .engines import decide, decision_names
from .files import write_csv

Z = NormalDist().inv_cdf(0.975)  # the 95% interval's half-width in standard errors


# ---------------------------------------------------------------- the rule columns

def sample_cases(samples: Path) -> list[tuple[str, dict, dt.datetime, list[dict], dict]]:
    """(name, lead, now, events, expect) of each lead case a samples file gives a decision for."""
    doc = yaml.safe_load(samples.read_text("utf-8"))
    cases = []
    for case in doc["leads"]:
        if "invalid" in case["expect"]:
            continue
        now = case.get("now", doc["now"])
        cases.append((case["name"], case["lead"], now, case.get("events", []), case["expect"]))
    return cases


REFERENCE = sorted(p.name.removesuffix(".policy") for p in POLICIES.glob("*.policy"))


def test_every_reference_policy_has_samples():
    assert len(REFERENCE) >= 3 and all((POLICIES / f"{name}.samples.yaml").exists() for name in REFERENCE)


@pytest.mark.parametrize("name", REFERENCE)
def test_the_derived_policy_decides_every_sample_case_as_the_policy_on_both_engines(name, tmp_path):
    policy = leadpolicy.load(POLICIES / f"{name}.policy")
    derived, columns = with_rule_columns(policy)
    cases = sample_cases(POLICIES / f"{name}.samples.yaml")
    assert len(cases) >= 8 and columns
    assert [c.column for c in columns] == [
        name for s in policy.ir.scores
        for name in [f"#rule:{s.name}:{i}" for i in range(len(s.rules))] + ([f"#decay:{s.name}"] if s.decay else [])]
    decided_names = decision_names(policy)
    for now in {case[2] for case in cases}:
        mine = [c for c in cases if c[2] == now]
        leads, events = [c[1] for c in mine], [c[3] for c in mine]
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        batch = decide("duckdb-batch", derived, leads, now, folder=folder, events=events)
        python = decide("python", derived, leads, now, events=events)
        assert batch == python
        for (case, lead, _, lead_events, expect), row in zip(mine, batch):
            decision = policy.evaluate(lead, now, events=lead_events)
            assert {n: row[n] for n in decided_names} == {**decision.scores, **decision.grades, "stage": decision.stage,
                                                          "owner": decision.owner, "route": decision.route}, case
            assert {k: row[k] for k in expect if k in row} == {k: v for k, v in expect.items() if k in row}, case
            breakdown = decision.breakdown
            for c in columns:
                if c.kind == "decay":  # the score's value without clamp, with its decay and without
                    kept, full = decay_columns(c.score)
                    total, factor = Decimal(str(breakdown[c.score]["total"])), breakdown[c.score]["decay_factor"]
                    after = total if factor is None else decayed(total, Decimal(str(factor)))  # None: no date
                    assert (row[kept], row[full]) == (round_half_away(after), round_half_away(total)), (case, c.score)
                    continue
                rule = breakdown[c.score]["rules"][c.index]
                assert rule["rule"] == c.label
                want = (1 if rule["fired"] else 0) if c.kind == "points" else rule["points"]
                assert row[c.column] == want, (case, c.column)
                assert (row[c.column] != 0) == rule["fired"], (case, c.column)


def test_each_rule_column_says_what_the_rule_is():
    policy = leadpolicy.load(POLICIES / "inbound-b2b.policy")
    _, columns = with_rule_columns(policy)
    text = (POLICIES / "inbound-b2b.policy").read_text().splitlines()
    by_label = {c.label: c for c in columns}
    demo, clicks = by_label["Asked for a demo"], by_label["Email clicks"]
    assert (demo.score, demo.kind, demo.points, demo.cap, demo.reason) == ("engagement", "points", 40, None,
                                                                           "Asked for a demo")
    assert (clicks.kind, clicks.points, clicks.cap, clicks.index) == ("per", 5, 25, 0)
    assert all(f'"{c.label}"' in text[c.line - 1] for c in columns if c.kind != "decay")
    decay = by_label["decay 25% every 30 days since last_activity"]  # a decay is labelled as written
    assert (decay.score, decay.kind, decay.points, decay.index, decay.reason) == ("engagement", "decay", -1, 3, None)
    assert text[decay.line - 1].strip() == decay.label and columns[columns.index(decay) - 1] == demo


# ---------------------------------------------------------------- planted effects

def evidence_of(planted, engine: str = "duckdb", tmp: Path | None = None) -> tuple[list, object]:
    policy = leadpolicy.load(planted.policy)
    derived, columns = with_rule_columns(policy)
    data = FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now, engine=engine)
    measured = measure(derived, data, (tmp or planted.folder) / f"work-{engine}")
    return evidence.rule_evidence(measured, columns), (measured, columns)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("planted"), leads=20_000)


@pytest.fixture(scope="module")
def planted_evidence(planted):
    return evidence_of(planted)


def test_planted_effects_are_recovered(planted, planted_evidence):
    rules, _ = planted_evidence
    verdicts = {r.rule.label: r.verdict for r in rules}
    assert verdicts == {"Mid-market or larger": "supported", "Core industry": "contradicted",
                        "Decision maker": "supported", "Asked for a demo": "no evidence",
                        "Free email domain": "supported", "Email clicks": "supported"}
    for r in rules:
        low, high = r.coefficient_ci
        assert low < planted.betas[r.rule.label] < high, (r.rule.label, r.coefficient_ci)
        assert r.fired + r.not_fired == 20_000
    core = next(r for r in rules if r.rule.label == "Core industry")
    assert core.ci[1] < 1 and core.won_rate_fired < core.won_rate_not  # its leads win less, despite +20 points
    assert "goes against +20 points" in core.why
    demo = next(r for r in rules if r.rule.label == "Asked for a demo")
    assert demo.coefficient_ci[0] < 0 < demo.coefficient_ci[1] and "includes 0" in demo.why
    line = evidence.verdict_line(rules, None)
    assert line == ('Of 6 rules, 4 are supported, 1 is contradicted (fit "Core industry") and 1 has no '
                    "evidence.")


def test_the_counts_are_the_leads_as_generated(planted, planted_evidence):
    """Where "Decision maker" fired and won, counted from the generated files themselves."""
    rules, _ = planted_evidence
    with open(planted.leads, newline="") as handle:
        vp = {row["id"] for row in csv.DictReader(handle) if "VP" in row["job_title"]}
    with open(planted.events, newline="") as handle:
        won = {row["lead"] for row in csv.DictReader(handle) if row["event"] == "won_deal"}
    maker = next(r for r in rules if r.rule.label == "Decision maker")
    assert (maker.fired, maker.won_fired, maker.won_not) == (len(vp), len(vp & won), len(won - vp))
    assert maker.won_rate_fired == round(len(vp & won) / len(vp), 4)


def test_every_rule_is_supported_when_every_effect_follows_the_points(tmp_path):
    rules, _ = evidence_of(generate(tmp_path, leads=20_000, mode="proportional"))
    assert {r.rule.label: r.verdict for r in rules} == {
        "Mid-market or larger": "supported", "Core industry": "supported", "Decision maker": "supported",
        "Asked for a demo": "supported", "Free email domain": "supported", "Email clicks": "supported"}
    assert evidence.verdict_line(rules, None) == "Of 6 rules, 6 are supported."


def test_the_python_engine_and_parquet_leads_give_the_same_evidence(tmp_path):
    csv_leads = generate(tmp_path / "csv", leads=3_000, seed=7)
    parquet_leads = generate(tmp_path / "parquet", leads=3_000, seed=7, kind="parquet")
    assert parquet_leads.leads.suffix == ".parquet"
    duckdb_rules, _ = evidence_of(csv_leads)
    python_rules, _ = evidence_of(csv_leads, "python")
    parquet_rules, _ = evidence_of(parquet_leads)
    assert duckdb_rules == python_rules == parquet_rules
    assert {r.verdict for r in duckdb_rules} >= {"supported", "contradicted"}


def test_each_source_gets_its_own_evidence(planted, planted_evidence):
    _, (measured, columns) = planted_evidence
    groups, left_out = evidence.group_evidence(measured, columns, [INPUT + "source"])
    assert left_out == []
    with open(planted.leads, newline="") as handle:
        rows = list(csv.DictReader(handle))
    per_source = Counter(row["source"] for row in rows)
    assert [(g["by"], g["value"], g["leads"]) for g in groups] == [("source", s, per_source[s])
                                                                    for s in sorted(per_source)]
    for g in groups:
        vp = sum(1 for row in rows if row["source"] == g["value"] and "VP" in row["job_title"])
        rules = {r.rule.label: r for r in g["rules"]}
        maker = rules["Decision maker"]
        assert (maker.fired, maker.fired + maker.not_fired) == (vp, g["leads"])
        assert rules["Core industry"].verdict == "contradicted"  # the effect is planted in every source
    first = planted_evidence[0][0]
    assert sum(g["won"] for g in groups) == first.won_fired + first.won_not


# ---------------------------------------------------------------- a small case, by hand

HAND = '''policy "hand" version 1.0.0 {
  title "Worked by hand"
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    email      text required
    employees  number
    country    text
    clicks     number default 0
  }
  events {
    won_deal
    lost_deal
  }
  score fit {
    +10 when employees >= 100         "Large"
    +5  when employees >= 1000000     "Never"
    +3  when email contains "@"       "Always"
  }
  score rare {
    +7 when country = "IS"  "Iceland"
  }
  score pair {
    +4 when employees >= 100  "Large again"
    -4 when employees > 99    "Large, said otherwise"
  }
  score sure {
    +2 when email starts with "w"  "Winner"
  }
  score clicked {
    +2.5 per clicks up to 10  "Clicks"
  }
  stages {
    sql      when fit >= 10  owner sales
    nurture  otherwise       owner marketing
  }
  outcomes {
    won   when won_deal
    lost  when lost_deal
  }
}
'''


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory):
    """100 leads: 40 large (20 won, 10 lost, 10 open), 60 small (15 won, 30 lost, 15 open); 13 in Iceland; the
    emails of the won leads, and only theirs, start with "w"; 10 have no country (5, 15, ..., 95); the large
    leads clicked once."""
    folder = tmp_path_factory.mktemp("hand")
    (folder / "hand.policy").write_text(HAND)
    leads, events = [], []
    for i in range(100):
        large = i < 40
        k = i if large else i - 40
        won, lost = (k < 20, 20 <= k < 30) if large else (k < 15, 15 <= k < 45)
        country = "IS" if i % 8 == 0 else "" if i % 10 == 5 else "NO"
        leads.append((f"H{i}", f"{'w' if won else 'h'}{i}@x.io", 500 if large else 10, country, int(large)))
        if won or lost:
            events.append((f"H{i}", "won_deal" if won else "lost_deal", "2026-11-15T10:00:00Z"))
    write_csv(folder / "leads.csv", ["id", "email", "employees", "country", "clicks"], leads)
    write_csv(folder / "events.csv", ["lead", "event", "at"], events)
    policy = leadpolicy.load(folder / "hand.policy")
    derived, columns = with_rule_columns(policy)
    data = FeedbackInput(folder / "leads.csv", folder / "events.csv", AS_OF, NOW, by=("country",))
    measured = measure(derived, data, folder / "work")
    return {r.rule.label: r for r in evidence.rule_evidence(measured, columns)}, measured, columns


def test_every_number_of_a_small_case(by_hand):
    rules, _, _ = by_hand
    large = rules["Large"]
    a, b, c, d = 20, 20, 15, 45  # won and not won where it fired, then where it did not
    assert (large.fired, large.won_fired, large.not_fired, large.won_not) == (a + b, a, c + d, c)
    assert (large.won_rate_fired, large.won_rate_not) == (0.5, 0.25)
    assert large.lift == pytest.approx(2.0)
    log_rr_se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))  # the textbook log risk ratio's error
    assert large.ci == pytest.approx((math.exp(math.log(2) - Z * log_rr_se), math.exp(math.log(2) + Z * log_rr_se)))
    # The only rule of its score that varies: its coefficient is the 2x2's log odds ratio, with Woolf's error.
    log_or, log_or_se = math.log(a * d / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert large.coefficient == pytest.approx(log_or, rel=1e-6) and log_or == pytest.approx(math.log(3))
    assert large.coefficient_ci == pytest.approx((log_or - Z * log_or_se, log_or + Z * log_or_se), rel=1e-6)
    assert large.p_value == pytest.approx(2 * (1 - NormalDist().cdf(log_or / log_or_se)), rel=1e-4)
    assert large.verdict == "supported" and "agrees with +10 points" in large.why
    clicks = rules["Clicks"]  # +2.5 per click: per click, the same log odds ratio (one click is 2.5 points)
    assert (clicks.fired, clicks.won_fired, clicks.lift) == (40, 20, large.lift)
    assert clicks.coefficient == pytest.approx(log_or, rel=1e-6) and clicks.verdict == "supported"


def test_a_rule_that_fired_for_no_lead_or_for_every_lead_has_no_evidence(by_hand):
    rules, _, _ = by_hand
    never, always = rules["Never"], rules["Always"]
    assert (never.fired, never.not_fired, never.won_rate_fired, never.lift, never.ci) == (0, 100, None, None, None)
    assert (never.verdict, never.why, never.coefficient) == ("no evidence", "it fired for no lead", None)
    assert (always.fired, always.not_fired, always.won_rate_not, always.lift) == (100, 0, None, None)
    assert always.verdict == "no evidence" and always.why == "it fired for every lead (none to compare with)"
    assert always.coefficient is None


def test_too_few_leads_is_no_evidence(by_hand):
    rules, _, _ = by_hand
    iceland = rules["Iceland"]
    assert iceland.fired == 13 < MIN_LEADS  # leads 0, 8, ..., 96
    assert iceland.verdict == "no evidence" and iceland.why == f"only 13 leads fired (at least {MIN_LEADS} needed)"


def test_a_rule_firing_for_the_same_leads_as_an_earlier_one_is_left_out_of_the_fit_and_says_why(by_hand):
    rules, _, _ = by_hand
    first, again = rules["Large again"], rules["Large, said otherwise"]
    assert again.fired == 40 and again.lift == pytest.approx(2.0)  # the counts are there all the same
    assert (again.coefficient, again.coefficient_ci, again.verdict) == (None, None, "no evidence")
    assert again.why == 'it fires for the same leads as "Large again"'
    # the first is fitted alone: the 2x2's log odds ratio, as "Large" in its own score
    assert first.coefficient == pytest.approx(rules["Large"].coefficient) and first.verdict == "supported"


def test_a_points_rule_of_zero_points_is_contradicted_only_by_an_effect(by_hand, tmp_path):
    text = HAND.replace('+10 when employees >= 100         "Large"', '0 when employees >= 100  "Large"')
    (tmp_path / "zero.policy").write_text(text)
    policy = leadpolicy.load(tmp_path / "zero.policy")
    derived, columns = with_rule_columns(policy)
    folder = Path(by_hand[1].table_file).parent.parent
    data = FeedbackInput(folder / "leads.csv", folder / "events.csv", AS_OF, NOW)
    rules = {r.rule.label: r for r in evidence.rule_evidence(measure(derived, data, tmp_path / "w"), columns)}
    assert rules["Large"].rule.points == Decimal(0)
    assert rules["Large"].fired == 40 and rules["Large"].coefficient == pytest.approx(math.log(3), rel=1e-6)
    assert rules["Large"].verdict == "contradicted" and "earns 0 points" in rules["Large"].why


def test_a_rule_whose_leads_all_won_separates_and_has_no_coefficient(by_hand):
    rules, _, _ = by_hand
    winner = rules["Winner"]
    assert (winner.fired, winner.won_fired, winner.won_rate_fired, winner.won_rate_not) == (35, 35, 1.0, 0.0)
    assert (winner.lift, winner.ci) == (None, None)  # no won lead where it did not fire: no ratio
    assert (winner.coefficient, winner.verdict) == (None, "no evidence")
    assert winner.why == "its 35 leads all won"  # left out of its score's fit: it separates won from not won


def test_a_group_of_leads_without_a_value_has_its_own_evidence(by_hand):
    _, measured, columns = by_hand
    groups = {g["value"]: g for g in evidence.group_evidence(measured, columns, [INPUT + "country"])[0]}
    assert {value: (g["leads"], g["won"]) for value, g in groups.items()} == {"IS": (13, 5), "NO": (77, 27),
                                                                            None: (10, 3)}
    blank = {r.rule.label: r for r in groups[None]["rules"]}
    # Iceland's won leads are 0, 8, 16, 40 and 48. Without a country: large 5, 15, 25 and 35 (won: 5 and 15),
    # small 45, 55, ..., 95 (won: 45).
    large = blank["Large"]
    assert (large.fired, large.won_fired, large.not_fired, large.won_not) == (4, 2, 6, 1)
    assert large.verdict == "no evidence" and large.why == f"only 4 leads fired (at least {MIN_LEADS} needed)"


def test_the_verdict_line_names_the_proposal_and_its_handoffs(by_hand, tmp_path):
    rules = list(by_hand[0].values())
    backtest = {"old": {"handed_off": 1203, "precision": 0.279, "won_captured": 336, "recall": 0.4},
                "new": {"handed_off": 1180, "precision": 0.312, "won_captured": 368, "recall": 0.4381}}
    proposal = Proposal(tmp_path / "p.policy", "1.1.0", "", [{"what": "points"}], backtest)
    assert evidence.verdict_line(rules, proposal) == (
        "Of 8 rules, 3 are supported and 5 have no evidence; the proposed 1.1.0 hands off 1,180 leads (was 1,203) "
        "at 31.2% won (was 27.9%) and captures 368 won leads (was 336: 32 more), recall 43.8% (was 40.0%).")
    unchanged = Proposal(tmp_path / "p.policy", "1.0.0", "", [], None)
    assert evidence.verdict_line(rules, unchanged).endswith("; the evidence proposes no change to 1.0.0.")
    # changes that would not check: listed, not written, not backtested; the line must not say "no change"
    unwritten = Proposal(tmp_path / "p.policy", "1.1.0", "", [{"what": "points"}], None,
                         notes=["the re-fitted points do not check"])
    line = evidence.verdict_line(rules, unwritten)
    assert "no change" not in line and line.endswith("; the proposed 1.1.0 was not written: it does not check.")
    assert not unwritten.written and proposal.written and not unchanged.written


def test_a_policy_without_rules_says_so():
    assert evidence.verdict_line([], None) == "The policy has no rules to measure."


DECIMAL_PER = '''policy "decimal-per" version 1.0.0 {
  title "A per rule of decimal points"
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    email   text required
    clicks  number default 0
  }
  score engagement {
    +2.5 per clicks up to 10  "Clicks"
    -0.25 per clicks up to 1  "Click fatigue"
  }
  stages {
    mql      when engagement >= 5  owner sales
    nurture  otherwise             owner marketing
  }
}
'''


def test_a_per_rule_of_decimal_points_keeps_its_units_exact(tmp_path):
    """A score's value is a whole number: a per rule's column holds its contribution in the rule's smallest
    decimal (1 click of +2.5 would be 3 points, 1.2 clicks)."""
    from leadpolicy.measure.rule_columns import per_unit

    from .engines import policy_from_text

    policy = policy_from_text(DECIMAL_PER)
    derived, columns = with_rule_columns(policy)
    now = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    leads = [{"email": f"c{n}@x.io", "clicks": n} for n in range(7)]
    batch = decide("duckdb-batch", derived, leads, now, folder=tmp_path)
    assert batch == decide("python", derived, leads, now)
    for lead, row in zip(leads, batch):
        breakdown = policy.evaluate(lead, now).breakdown["engagement"]["rules"]
        for c in columns:
            assert Decimal(row[c.column]) / per_unit(c) == Decimal(str(breakdown[c.index]["points"])) / c.points
    assert [Decimal(r["#rule:engagement:0"]) / per_unit(columns[0]) for r in batch] == [0, 1, 2, 3, 4, 4, 4]


# ---------------------------------------------------------------- decay

DECAY_HAND = '''policy "decay-by-hand" version 1.0.0 {
  title "Decay worked by hand"
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    email      text required
    employees  number
    last_seen  date
  }
  score fit {
    clamp 0 to 10
    +20 when employees >= 100         "Large"
    +15 when employees between 50 and 99  "Mid"
    -5  when email ends with "@free.io"   "Free"
    decay 50% every 30 days since last_seen
  }
  stages {
    sql      when fit >= 10  owner sales
    nurture  otherwise       owner marketing
  }
}
'''

# (lead, days since last seen as of NOW, the points the decay took off fit: full - kept, both unclamped)
DECAY_LEADS = [
    ({"email": "a@x.io", "employees": 500}, 40, 10),  # 20 -> 10 (one period)
    ({"email": "b@x.io", "employees": 500}, 10, 0),  # 20, fresh: the clamp's 10 is not the decay's
    ({"email": "c@free.io", "employees": 5}, 31, -2),  # -5 -> -2.5 -> -3 (halves away from 0): 2 points given
    ({"email": "d@x.io", "employees": 60}, 65, 11),  # 15 -> 3.75 -> 4 (two periods)
    ({"email": "e@x.io", "employees": 500}, None, 0),  # never seen: no decay
    ({"email": "f@x.io", "employees": 60}, 59, 7),  # 15 -> 7.5 -> 8 (one period, a day short of two)
    ({"email": "g@free.io", "employees": 500}, 95, 13),  # 15 -> 1.875 -> 2 (three periods)
]


def test_a_decay_is_a_column_of_the_points_it_took_worked_by_hand_on_both_engines(tmp_path):
    from .engines import policy_from_text

    policy = policy_from_text(DECAY_HAND)
    derived, columns = with_rule_columns(policy)
    decay = columns[-1]
    assert [c.kind for c in columns] == ["points", "points", "points", "decay"]
    assert (decay.score, decay.index, decay.column, decay.points, decay.cap, decay.reason) == (
        "fit", 3, "#decay:fit", -1, None, None)
    assert decay.label == "decay 50% every 30 days since last_seen"
    assert DECAY_HAND.splitlines()[decay.line - 1].strip() == decay.label
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
    leads = [{**lead, "last_seen": None if days is None else (now.date() - dt.timedelta(days=days)).isoformat()}
             for lead, days, _ in DECAY_LEADS]
    batch = decide("duckdb-batch", derived, leads, now, folder=tmp_path)
    assert batch == decide("python", derived, leads, now)
    kept, full = decay_columns("fit")
    assert [row[full] - row[kept] for row in batch] == [lost for _, _, lost in DECAY_LEADS]
    assert [row["fit"] for row in batch] == [10, 10, 0, 4, 10, 8, 2]  # the policy's own score, clamped
    assert [row["fit"] for row in batch] == [policy.evaluate(lead, now).scores["fit"] for lead in leads]


def test_a_score_without_decay_gets_no_decay_column():
    from .engines import policy_from_text

    _, columns = with_rule_columns(policy_from_text(DECAY_HAND.replace(
        "    decay 50% every 30 days since last_seen\n", "")))
    assert [c.kind for c in columns] == ["points", "points", "points"]


def within_three_errors(rule, planted: float) -> bool:
    """The planted effect lies within 3 standard errors of the estimate (a 99.7% interval: one seed's 95%
    interval misses a planted effect one time in 20)."""
    low, high = rule.coefficient_ci
    return abs(rule.coefficient - planted) < 3 * (high - low) / (2 * Z)


def decay_evidence(tmp_path: Path, decay: str, leads: int = 10_000, engine: str = "duckdb"):
    planted = generate(tmp_path / decay, leads=leads, decay=decay)  # type: ignore[arg-type]
    rules, _ = evidence_of(planted, engine)
    return planted, {r.rule.label: r for r in rules}


def test_a_real_decay_is_supported_and_its_effect_recovered(tmp_path):
    """Stale leads win less than their rules say, by SCALE per point the decay took: the loss's coefficient
    is negative, its interval covers the planted effect, and the rules keep their verdicts."""
    planted, rules = decay_evidence(tmp_path, "real")
    decay = rules[DECAY]
    assert planted.points_lost is not None
    assert (decay.fired, decay.fired + decay.not_fired) == (int((planted.points_lost != 0).sum()), 10_000)
    assert decay.rule.kind == "decay" and decay.verdict == "supported"
    assert decay.coefficient_ci[1] < 0 and within_three_errors(decay, DECAY_EFFECT["real"])
    assert "per point it took" in decay.why and "agrees with the decay" in decay.why
    assert decay.won_rate_fired < decay.won_rate_not and decay.ci[1] < 1
    assert rules["Core industry"].verdict == "contradicted" and rules["Decision maker"].verdict == "supported"
    assert evidence.verdict_line(list(rules.values()), None).startswith("Of 7 rules, 5 are supported")


def test_a_decay_stale_leads_do_not_feel_is_no_evidence(tmp_path):
    """Stale leads win as fresh ones with the same rules: the loss's interval covers 0."""
    _, rules = decay_evidence(tmp_path, "none")
    decay = rules[DECAY]
    assert decay.verdict == "no evidence" and "includes 0" in decay.why
    assert decay.coefficient_ci[0] < 0 < decay.coefficient_ci[1]


def test_a_decay_whose_stale_leads_win_more_is_contradicted(tmp_path):
    _, rules = decay_evidence(tmp_path, "reversed")
    decay = rules[DECAY]
    assert decay.verdict == "contradicted" and "goes against the decay" in decay.why
    assert decay.coefficient_ci[0] > 0 and within_three_errors(decay, DECAY_EFFECT["reversed"])


def test_both_engines_give_a_decay_the_same_evidence(tmp_path):
    _, duckdb_rules = decay_evidence(tmp_path / "duckdb", "real", leads=3_000)
    _, python_rules = decay_evidence(tmp_path / "python", "real", leads=3_000, engine="python")
    assert duckdb_rules == python_rules
    assert duckdb_rules[DECAY].fired > MIN_LEADS and duckdb_rules[DECAY].coefficient is not None


def test_a_decay_that_took_points_from_no_lead_has_no_evidence_and_says_so(planted, tmp_path):
    """POLICY's clicks are all within 30 days of as-of: decaying since the last click takes nothing."""
    decay = "decay 10% every 30 days since last email_click"
    text = planted.policy.read_text().replace("    clamp 0 to 100\n", f"    clamp 0 to 100\n    {decay}\n")
    (tmp_path / "p.policy").write_text(text)
    policy = leadpolicy.load(tmp_path / "p.policy")
    derived, columns = with_rule_columns(policy)
    data = FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now)
    rules = evidence.rule_evidence(measure(derived, data, tmp_path / "w"), columns)
    found = rules[-1]
    assert (found.rule.label, found.fired, found.verdict) == (decay, 0, "no evidence")
    assert found.why == "it took points from no lead" and found.coefficient is None
