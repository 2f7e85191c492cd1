"""Calibration's thresholds, re-fit and proposal: a small case's every number worked by hand, and planted data
whose proposal checks, is fmt-clean, keeps its comments and hands off no more leads at a higher won rate."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist

import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.language.parser import parse_text
from leadpolicy.measure import proposal, thresholds
from leadpolicy.measure.calibration import CalibrateOptions, RuleColumn, RuleEvidence, calibrate
from leadpolicy.measure.feedback import FeedbackInput, measure
from leadpolicy.measure.thresholds import Distribution

from .calibration_data import POLICY, generate
from .files import write_csv
from .markdown_read import read_markdown

Z = NormalDist().inv_cdf(0.975)
AS_OF = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc)

# fit is the employees up to 100: each lead's fit is what it is given.
SMALL = '''# Thresholds on every side.
policy "small-thresholds" version 2.1.0 {
  owner marketing "Dana <dana@example.com>"
  owner sales     "Raj <raj@example.com>"
  timezone "UTC"

  lead {
    email      text required
    employees  number
  }

  events {
    won_deal
    lost_deal
  }

  score fit {
    +1 per employees up to 100
  }

  grade band from fit {
    "low"   when fit < 20
    "mid"   when 60 > fit
    "high"  otherwise
  }

  stages {
    junk     when fit <= 5                owner marketing
    sql      when fit between 40 and 80  owner sales
    nurture  otherwise                   owner marketing
  }

  outcomes {
    won   when won_deal
    lost  when lost_deal
  }
}
'''
# (fit, outcome): won, lost or open
SMALL_LEADS = [(0, "lost"), (5, "won"), (10, ""), (20, "won"), (35, "lost"), (40, "won"), (45, "won"), (60, "lost"),
               (79, "won"), (80, "lost"), (81, "won"), (100, "")]


def small_data(folder: Path) -> tuple[leadpolicy.Policy, FeedbackInput]:
    (folder / "small.policy").write_text(SMALL)
    write_csv(folder / "leads.csv", ["id", "email", "employees"],
              [(f"L{i}", f"l{i}@example.com", fit) for i, (fit, _) in enumerate(SMALL_LEADS)])
    write_csv(folder / "events.csv", ["lead", "event", "at"],
              [(f"L{i}", f"{outcome}_deal", "2026-11-02T10:00:00+00:00") for i, (_, outcome) in enumerate(SMALL_LEADS)
               if outcome])
    return (leadpolicy.load(folder / "small.policy"),
            FeedbackInput(folder / "leads.csv", folder / "events.csv", AS_OF, NOW, rejects_folder=folder))


def test_every_threshold_of_a_small_case_by_hand(tmp_path):
    policy, data = small_data(tmp_path)
    measured = measure(policy, data, tmp_path / "work")
    found = proposal.threshold_evidence(policy, measured, Decimal(10))
    got = [(t.place, t.kind, t.score, t.op, t.value, t.handoff, t.leads_past, t.won_rate_past, t.leads_above,
            t.won_rate_above, t.leads_below, t.won_rate_below) for t in found]
    assert got == [
        # fit <= 5: {0, 5} past (won 5); [5, 15): {5, 10}; [-5, 5): {0}
        ("stage junk", "stage", "fit", "<=", 5, False, 2, 0.5, 2, 0.5, 1, 0.0),
        # between 40 and 80, its low side: 7 leads from 40 (won 40, 45, 79, 81); [40, 50): {40, 45}; [30, 40): {35}
        ("stage sql", "stage", "fit", ">=", 40, True, 7, 0.5714, 2, 1.0, 1, 0.0),
        # its high side: 10 leads up to 80 (won 5, 20, 40, 45, 79); [80, 90): {80, 81}; [70, 80): {79}
        ("stage sql", "stage", "fit", "<=", 80, True, 10, 0.5, 2, 0.5, 1, 1.0),
        # fit < 20: {0, 5, 10} (won 5); [20, 30): {20}; [10, 20): {10}
        ('grade band "low"', "grade", "fit", "<", 20, False, 3, 0.3333, 1, 1.0, 1, 0.0),
        # `60 > fit` is fit < 60: 7 leads (won 5, 20, 40, 45); [60, 70): {60}; [50, 60): none
        ('grade band "mid"', "grade", "fit", "<", 60, False, 7, 0.5714, 1, 0.0, 0, None),
    ]
    assert [t.line for t in found] == [28, 29, 29, 22, 23]
    assert {t.band for t in found} == {Decimal(10)}


def wilson(won: int, leads: int) -> tuple[float, float]:
    """The Wilson score interval, by its formula (what statsmodels' proportion_confint 'wilson' gives)."""
    p = won / leads
    centre = (p + Z * Z / (2 * leads)) / (1 + Z * Z / leads)
    half = Z / (1 + Z * Z / leads) * (p * (1 - p) / leads + Z * Z / (4 * leads * leads)) ** 0.5
    return centre - half, centre + half


def test_each_threshold_won_rate_has_its_wilson_interval(tmp_path):
    policy, data = small_data(tmp_path)
    found = proposal.threshold_evidence(policy, measure(policy, data, tmp_path / "work"), Decimal(10))
    mid = found[4]  # fit < 60: 4 of 7 won; [60, 70): 0 of 1; [50, 60): no lead
    assert mid.ci_past == pytest.approx(wilson(4, 7)) and mid.ci_above == pytest.approx(wilson(0, 1))
    assert mid.ci_below is None
    assert mid.ci_past[0] < 4 / 7 < mid.ci_past[1]  # type: ignore[index]
    sql = found[1]  # fit >= 40: 4 of 7; [40, 50): 2 of 2; [30, 40): 0 of 1
    assert (sql.ci_past, sql.ci_above, sql.ci_below) == (
        pytest.approx(wilson(4, 7)), pytest.approx(wilson(2, 2)), pytest.approx(wilson(0, 1)))
    from leadpolicy.measure.calibration_render import threshold_json

    shown = threshold_json(sql)
    assert shown["ci_past"] == [round(v, 4) for v in wilson(4, 7)]
    assert threshold_json(mid)["ci_below"] is None


def test_the_default_band_is_the_step_or_a_tenth_of_the_largest_total():
    fit = _loaded(POLICY).ir.scores[0]
    assert thresholds.score_step(fit) == 5  # gcd of 30, 20, 15, 10, 25, 5
    # its largest total is 125 (30 + 20 + 15 + 10 + 25 + the cap 25), 100 within its clamp: a tenth, 10
    assert (fit.bound, thresholds.default_band(fit)) == (125, 10)
    unclamped = dataclasses.replace(fit, clamp=None)
    assert thresholds.default_band(unclamped) == 15  # 12.5 rounded up to the grid of 5
    small = _loaded(SMALL).ir.scores[0]
    assert thresholds.score_step(small) == 1 and thresholds.default_band(small) == 10


@pytest.mark.parametrize(("step", "written", "grid"), [
    (1, [120, 70], 10),  # a 0-200 score of step 1 whose thresholds are written in tens moves in tens, never to 121
    (10, [40, 40], 10),  # its step when coarser than the thresholds' tens (a tenth of 40 is under 10)
    (5, [60, 30, 50], 5),
    (1, [5, 40, 80, 20, 60], 1),  # 5 is written: ones
    (1, [100], 10),  # at most a tenth of the largest threshold: 100 moves by tens, not hundreds
    (1, [150, 100], 10),
    (Decimal("0.5"), [Decimal("2.5")], Decimal("0.5")),
    (1, [0], 1),
    (1, [], 1),
])
def test_thresholds_move_on_the_grid_a_person_writes(step, written, grid):
    assert thresholds.grid(Decimal(step), [Decimal(w) for w in written]) == grid


def test_the_default_band_widens_to_the_next_values_the_score_takes(tmp_path):
    policy, data = small_data(tmp_path)
    found = proposal.threshold_evidence(policy, measure(policy, data, tmp_path / "work"), None)
    # fit < 60 with the default band 10: [50, 60) holds no lead; the next value below is 45: [45, 60), [60, 75)
    mid = found[4]
    assert (mid.value, mid.band, mid.leads_below, mid.won_rate_below, mid.leads_above) == (60, 15, 1, 1.0, 1)
    # fit >= 40: [30, 40) holds 35 and [40, 50) holds 40 and 45: the default band as it is
    assert (found[1].band, found[1].leads_below, found[1].leads_above) == (10, 1, 2)
    assert all(t.leads_above and t.leads_below for t in found)


def _loaded(text: str) -> leadpolicy.Policy:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.policy"
        path.write_text(text)
        return leadpolicy.load(path)


def test_steps_keep_the_policy_style():
    assert thresholds.step([Decimal(40), Decimal(20), Decimal(-50)]) == 10
    assert str(thresholds.step([Decimal("2.5"), Decimal("1.5"), Decimal("-0.5")])) == "0.5"
    assert thresholds.step([Decimal(0), Decimal(7)]) == 7
    assert thresholds.step([Decimal(0)]) == 1
    assert str(thresholds.on_grid(Decimal("-1.4"), Decimal("0.5"))) == "-1.5"


SMALL_DIST = Distribution([Decimal(f) for f, _ in SMALL_LEADS], [1] * len(SMALL_LEADS),
                          [int(o == "won") for _, o in SMALL_LEADS])


@pytest.mark.parametrize(("op", "value", "target", "grid", "expect"), [
    # fit >= t keeps 5 leads for t in (45, 60]: on a grid of 10, 50 and 60; 50 is nearer 40. Won 79, 81.
    (">=", 40, 5, "10", {"value": 50, "leads": 5, "won_rate": 0.4}),
    # fit <= t keeps 8 leads for t in [60, 79): 60 and 70; 70 is nearer 80. Won 5, 20, 40, 45.
    ("<=", 80, 8, "10", {"value": 70, "leads": 8, "won_rate": 0.5}),
    # fit < t keeps 3 for t in (10, 20]: 20, as written, is among them.
    ("<", 20, 3, "5", {"value": 20, "leads": 3, "won_rate": 0.3333}),
    # fit > t keeps 6 for t in [40, 45): on a grid of 0.5 the nearest 35 is 40. Won 45, 79, 81.
    (">", 35, 6, "0.5", {"value": 40, "leads": 6, "won_rate": 0.5}),
    # no more than 0: past the largest value.
    (">=", 40, 0, "10", {"value": 110, "leads": 0, "won_rate": None}),
])
def test_the_same_count_by_hand(op, value, target, grid, expect):
    assert thresholds.same_count(SMALL_DIST, op, Decimal(value), target, Decimal(grid)) == expect


# ---------------------------------------------------------------- the re-fit, by hand

RULES = '''policy "refit-by-hand" version 0.4.2 {
  owner marketing "Dana <dana@example.com>"
  owner sales     "Raj <raj@example.com>"
  timezone "UTC"

  lead {
    email      text required
    employees  number
    industry   one of ("software", "retail")
    visits     number
  }

  score fit {
    +30 when employees >= 200             "A"
    +10 when industry = "software"        "B"
    +20 when email ends with "@big.io"    "C"
    +15 when email ends with "@mid.io"    "D"
    +5  per visits up to 25               "E"
    +25 when email ends with "@gov.io"    "F"
  }

  score intent {
    decay 10% every 30 days since last visit_seen
    clamp 0 to 10
    +2.5 when visits >= 3                 "G"
    +1.5 when industry = "retail"         "H"
    -0.5 when email ends with "@free.io"  "I"
  }

  stages {
    sql      when fit >= 40 and intent > 2  owner sales
    nurture  otherwise                      owner marketing
  }
}
'''


def hand(policy: leadpolicy.Policy, score: str, label: str, verdict: str, b: float | None = None,
         ci: tuple[float, float] | None = None, p: float | None = None) -> RuleEvidence:
    """A rule's evidence as calibration would give it (the counts do not take part in the re-fit)."""
    s = next(s for s in policy.ir.scores if s.name == score)
    index = next(i for i, r in enumerate(s.rules) if r.label == label)
    rule = s.rules[index]
    column = RuleColumn(score, index, f"#rule:{score}:{index}", "per" if hasattr(rule, "cap") else "points",
                        rule.points, getattr(rule, "cap", None), label, label, 10 + index)
    return RuleEvidence(column, 100, 30, 100, 20, 0.3, 0.2, 1.5, (1.1, 2.0), b, ci, p, verdict, "by hand")  # type: ignore[arg-type]


def test_the_refit_of_points_by_hand(tmp_path):
    text = RULES.replace("    decay", "    # decays with the last visit\n    decay")
    (tmp_path / "p.policy").write_text(text)
    policy = leadpolicy.load(tmp_path / "p.policy")
    se = 0.2 / Z  # every interval below is b ± 0.2 wide at 95%: equal weights
    rules = [hand(policy, "fit", "A", "supported", 0.9, (0.7, 1.1), 1e-9),
             hand(policy, "fit", "B", "supported", 0.5, (0.3, 0.7), 1e-4),
             hand(policy, "fit", "C", "contradicted", -0.6, (-0.8, -0.4), 1e-6),
             hand(policy, "fit", "D", "contradicted", -0.2, (-0.4, -0.0001), 0.01),
             hand(policy, "fit", "E", "supported", 0.9, (0.7, 1.1), 1e-9),
             hand(policy, "fit", "F", "no evidence", 0.1, (-0.1, 0.3), 0.4),
             hand(policy, "intent", "G", "supported", 0.5, (0.4, 0.6), 1e-9),
             hand(policy, "intent", "H", "contradicted", -0.3, (-0.4, -0.2), 1e-5),
             hand(policy, "intent", "I", "contradicted", 0.04, (0.02, 0.06), 1e-5)]
    assert abs(proposal._se(rules[0]) - se) < 1e-12  # type: ignore[operator]
    # fit: k = (30×0.9 + 10×0.5 + 5×0.9) / (0.9² + 0.5² + 0.9²) = 36.5 / 1.87 = 19.5187 (equal weights cancel)
    k = proposal.scale(rules[:6])
    assert k == pytest.approx(36.5 / 1.87)
    assert proposal.scale(rules[6:]) == pytest.approx(5.0)  # intent: 2.5 / 0.5
    points, changes = proposal.refitted_points(policy, rules)
    # A: 30 outside k × (0.7, 1.1) = 13.7 to 21.5: k × 0.9 = 17.6, on fit's grid of 5: 20.
    # B: 10 inside k × (0.3, 0.7) = 5.9 to 13.7: stays. C: strong, flipped: k × -0.6 = -11.7: -10.
    # D: not strong: 0. E (a per rule): 5 outside 13.7 to 21.5: 20, and its cap keeps 5 units: 100.
    # F: no evidence: stays. G: 2.5 inside 5 × (0.4, 0.6): stays. H: flipped to 5 × -0.3 = -1.5 on intent's 0.5.
    # I: strong, but 5 × 0.04 = 0.2 rounds to 0 on intent's 0.5.
    assert points == {("fit", 0): (20, None), ("fit", 2): (-10, None), ("fit", 3): (0, None),
                      ("fit", 4): (20, 100), ("intent", 1): (Decimal("-1.5"), None), ("intent", 2): (0, None)}
    assert [(c["where"], c["from"], c["to"]) for c in changes] == [
        ("fit, A", 30, 20), ("fit, C", 20, -10), ("fit, D", 15, 0), ("fit, E", 5, 20),
        ("intent, H", Decimal("1.5"), Decimal("-1.5")), ("intent, I", Decimal("-0.5"), 0)]
    assert changes[-1]["why"].startswith("contradicted strongly (p < 0.001): the evidence's points round to 0; won")
    assert changes[1]["why"].startswith("contradicted strongly (p < 0.001)")
    assert changes[2]["why"] == ("contradicted (p 0.010): set to 0 until the evidence is strong; won 30.0% of 100 "
                                 "where it fired, 20.0% of 100 where not; log-odds -0.20, 95% interval -0.40 to -0.00")
    assert "its cap 25 → 100" in changes[3]["why"] and changes[0]["line"] == 10
    parsed = parse_text(text)
    assert parsed.policy is not None
    sites = thresholds.sites(parsed.policy, ("sql",))
    assert [(s.place, s.score, s.op, s.value, s.handoff) for s in sites] == [
        ("stage sql", "fit", ">=", 40, True), ("stage sql", "intent", ">", 2, True)]
    tree = proposal.with_numbers(parsed.policy, points, {1: Decimal("2.5")}, sites, "0.5.0")
    new_text = proposal.format_policy(tree, parsed.comments)
    body = [line.strip() for line in new_text.splitlines()]
    for line in ['+20 when employees >= 200           "A"', '+10 when industry = "software"      "B"',
                 '-10 when email ends with "@big.io"  "C"', '+0  when email ends with "@mid.io"  "D"',
                 '+20 per visits up to 100            "E"', '+25 when email ends with "@gov.io"  "F"',
                 "# decays with the last visit", "decay 10% every 30 days since last visit_seen", "clamp 0 to 10",
                 '+2.5 when visits >= 3                 "G"', '-1.5 when industry = "retail"         "H"',
                 '+0   when email ends with "@free.io"  "I"',
                 "sql      when fit >= 40 and intent > 2.5  owner sales"]:
        assert line in body
    assert 'policy "refit-by-hand" version 0.5.0 {' in body
    loaded, _, _ = proposal.checked_policy(new_text)  # checks and is fmt-clean, or raises
    assert [str(r.points) for r in loaded.ir.scores[1].rules] == ["2.5", "-1.5", "0"]


def test_a_decay_is_measured_never_re_fitted(tmp_path):
    (tmp_path / "p.policy").write_text(RULES)
    policy = leadpolicy.load(tmp_path / "p.policy")
    rules = [hand(policy, "intent", "G", "supported", 0.5, (0.4, 0.6), 1e-9)]
    column = dataclasses.replace(rules[0].rule, index=3, column="#decay:intent", kind="decay", points=Decimal(-1),
                                 label="decay 10% every 30 days since last visit_seen", reason=None)
    # a decay whose evidence is far from its -1 point per point taken, contradicted or supported: left as written,
    # and no part of the score's scale (5 = 2.5 / 0.5, from G alone)
    for verdict, b, ci in (("contradicted", 0.9, (0.8, 1.0)), ("supported", -0.9, (-1.0, -0.8))):
        decay = dataclasses.replace(rules[0], rule=column, verdict=verdict, coefficient=b, coefficient_ci=ci,
                                    p_value=1e-9)
        assert proposal.refitted_points(policy, [*rules, decay]) == ({}, [])


def test_nothing_moves_without_a_supported_rule_and_a_weak_contradiction(tmp_path):
    (tmp_path / "p.policy").write_text(RULES)
    policy = leadpolicy.load(tmp_path / "p.policy")
    rules = [hand(policy, "fit", "A", "no evidence", 0.1, (-0.1, 0.3), 0.3),
             hand(policy, "fit", "C", "contradicted", -0.6, (-0.8, -0.4), 1e-6)]
    assert proposal.scale(rules) is None
    # without a scale, even a strong contradiction can only be zeroed
    assert proposal.refitted_points(policy, rules)[0] == {("fit", 2): (0, None)}


def test_the_floors_of_the_handoff_stages_are_the_ones_raised(tmp_path):
    parsed = parse_text(RULES)
    assert parsed.policy is not None
    sites = thresholds.sites(parsed.policy, ("sql",))
    refit = proposal.Refit([], [], {}, sites, parsed.policy, grids={"fit": Decimal(10), "intent": Decimal("0.5")})
    assert proposal.floors(refit, {1: Decimal("2.5")}, set()) == [
        thresholds.Floor(0, "sql", "fit", ">=", Decimal(40), Decimal(10)),
        thresholds.Floor(1, "sql", "intent", ">", Decimal("2.5"), Decimal("0.5"))]
    assert [f.index for f in proposal.floors(refit, {}, {0})] == [1]  # one whose raise would not check
    # a ceiling (fit <= 40) is never raised: that would drop the best leads, not hand off fewer
    ceiling = [dataclasses.replace(sites[0], op="<="), sites[1]]
    assert [f.index for f in proposal.floors(dataclasses.replace(refit, sites=ceiling), {}, set())] == [1]
    assert proposal.floors(proposal.Refit([], [], {}, thresholds.sites(parsed.policy, ()), parsed.policy), {},
                           set()) == []


def _handed(con, rows: list[tuple[str, int, int, str]]) -> None:
    """Table `feedback` of handed-off leads: (stage, fit, engagement, outcome)."""
    con.execute('CREATE TABLE feedback (stage VARCHAR, fit DECIMAL(18, 3), engagement DECIMAL(18, 3), '
                '"#handed" BOOLEAN, "#outcome" VARCHAR)')
    con.executemany("INSERT INTO feedback VALUES (?, ?, ?, true, ?)", rows)


def test_the_floor_raised_is_the_one_whose_leads_win_least_per_handoff_removed():
    import duckdb

    con = duckdb.connect()
    # sql (fit >= 40): fit 40 and 45 are just past it, 6 of 10 won; mql (engagement >= 30): [30, 40) 1 of 10 won
    rows = ([("sql", 40, 80, "won")] * 4 + [("sql", 45, 80, "won")] * 2 + [("sql", 45, 80, "lost")] * 4
            + [("sql", 70, 80, "won")] * 5 + [("mql", 50, 30, "won")] + [("mql", 50, 35, "")] * 9
            + [("mql", 50, 60, "won")] * 3 + [("nurture", 0, 0, "")] * 3)
    _handed(con, rows)
    sql = thresholds.Floor(0, "sql", "fit", ">=", Decimal(40), Decimal(10))
    mql = thresholds.Floor(2, "mql", "engagement", ">=", Decimal(30), Decimal(5))
    assert thresholds.next_raise(con, sql) == thresholds.Raise(sql, Decimal(50), 10, 6)
    assert thresholds.next_raise(con, mql) == thresholds.Raise(mql, Decimal(35), 1, 1)  # 30 alone: 1 won of 1
    # mql's first step costs 1 won per handoff: sql's (0.6) is cheaper
    assert thresholds.cheapest_raise(con, [sql, mql]) == thresholds.Raise(sql, Decimal(50), 10, 6)
    mql_tens = dataclasses.replace(mql, grid=Decimal(10))  # [30, 40): 1 won of 10
    assert thresholds.cheapest_raise(con, [sql, mql_tens]) == thresholds.Raise(mql_tens, Decimal(40), 10, 1)
    # `fit > 40`: its lowest, 45, is left out at 50 (> 50 no longer holds 45)
    above = thresholds.Floor(0, "sql", "fit", ">", Decimal(40), Decimal(10))
    assert thresholds.next_raise(con, above) == thresholds.Raise(above, Decimal(50), 6, 2)
    # no lead of its stage past it: nothing to raise
    assert thresholds.next_raise(con, dataclasses.replace(sql, value=Decimal(80))) is None
    assert thresholds.cheapest_raise(con, [dataclasses.replace(sql, value=Decimal(80))]) is None


def test_the_verdict_line_says_the_won_leads_a_proposal_captures_and_loses(tmp_path):
    from leadpolicy.measure import evidence
    from leadpolicy.measure.calibration import Proposal

    policy = _loaded(RULES)
    rules = [hand(policy, "fit", "A", "supported", 0.9, (0.7, 1.1), 1e-9)]
    # U1's figures: fewer leads at a higher won rate, yet half the won leads lost
    backtest = {"old": {"handed_off": 426, "precision": 0.4765, "won_captured": 203, "recall": 0.358},
                "new": {"handed_off": 204, "precision": 0.5245, "won_captured": 107, "recall": 0.1887}}
    line = evidence.verdict_line(rules, Proposal(tmp_path / "p.policy", "3.1.0", "", [{"what": "points"}], backtest))
    assert line.endswith("; the proposed 3.1.0 hands off 204 leads (was 426) at 52.4% won (was 47.6%) and captures "
                         "107 won leads (was 203: 96 fewer), recall 18.9% (was 35.8%).")
    backtest["new"] = {**backtest["new"], "won_captured": 210, "recall": 0.37}
    line = evidence.verdict_line(rules, Proposal(tmp_path / "p.policy", "3.1.0", "", [{"what": "points"}], backtest))
    assert "captures 210 won leads (was 203: 7 more), recall 37.0% (was 35.8%)." in line


def test_next_version_is_the_next_minor():
    assert proposal.next_version("1.2.3") == "1.3.0"
    assert proposal.next_version("0.9.0-rc.1") == "0.10.0"


def test_the_small_case_without_a_change_keeps_every_threshold_and_writes_nothing(tmp_path):
    policy, data = small_data(tmp_path)
    derived_text = SMALL
    from leadpolicy.measure.rule_columns import with_rule_columns

    derived, columns = with_rule_columns(policy)
    measured = measure(derived, data, tmp_path / "work")
    found = proposal.threshold_evidence(policy, measured, None)
    rules = [RuleEvidence(columns[0], 11, 5, 1, 0, 0.4545, 0.0, None, None, 0.02, (0.01, 0.03), 0.001,
                          "supported", "by hand")]
    refit = proposal.refit(policy, derived_text, rules, found, measured, data, tmp_path / "work")
    assert refit.changes == [] and refit.points == {}
    assert [t.same_count for t in refit.thresholds] == [
        {"value": t.value, "leads": t.leads_past, "won_rate": t.won_rate_past} for t in found]
    out = tmp_path / "next.policy"
    made = proposal.propose(policy, refit, measured, data, tmp_path / "work", out, "same")
    assert (made.changes, made.version, made.backtest, made.notes) == ([], "2.1.0", None, [])
    assert not out.exists()


def zeroed_small(tmp_path):
    """The small case with its only rule contradicted, strongly, in a score with no supported rule: zeroed, so
    every lead's fit is 0."""
    policy, data = small_data(tmp_path)
    from leadpolicy.measure.rule_columns import with_rule_columns

    derived, columns = with_rule_columns(policy)
    measured = measure(derived, data, tmp_path / "work")
    found = proposal.threshold_evidence(policy, measured, None)
    rules = [RuleEvidence(columns[0], 11, 5, 1, 0, 0.4545, 0.0, None, None, -0.02, (-0.03, -0.01), 1e-6,
                          "contradicted", "by hand")]
    refit = proposal.refit(policy, SMALL, rules, found, measured, data, tmp_path / "work")
    return policy, data, measured, refit


def test_a_proposal_that_would_not_check_is_not_written_and_said(tmp_path):
    policy, data, measured, refit = zeroed_small(tmp_path)
    # at fit 0 for every lead, "low" (fit < 20) always matches first: "mid" could never be chosen, whatever
    # its threshold
    assert [t.same_count["value"] for t in refit.thresholds[3:]] == [0, 0]  # type: ignore[index]
    out = tmp_path / "next.policy"
    made = proposal.propose(policy, refit, measured, data, tmp_path / "work", out, "same")
    assert not out.exists() and made.backtest is None and made.version == "2.2.0"
    assert [(c["what"], c["from"], c["to"]) for c in made.changes if c["what"] == "points"] == [("points", 1, 0)]
    assert made.notes[-1] == ('the re-fitted points do not check (band "mid" can never be chosen: every lead '
                              "matching it matches an earlier entry first (proved)): nothing is written")


def test_thresholds_whose_moves_would_not_check_are_left_as_written_and_said(tmp_path, capsys):
    policy, data, measured, refit = zeroed_small(tmp_path)
    refit.points = {("fit", 0): (Decimal(2), Decimal(200))}  # fit doubled: every entry stays reachable
    moved = {0: 10, 3: 30, 4: 30}  # junk: fit <= 10; "low" and "mid" both fit < 30: "mid" never chosen
    refit.thresholds = [dataclasses.replace(t, same_count={"value": Decimal(moved.get(i, t.value)), "leads": 1,
                                                           "won_rate": 1.0}) for i, t in enumerate(refit.thresholds)]
    out = tmp_path / "next.policy"
    made = proposal.propose(policy, refit, measured, data, tmp_path / "work", out, "same")
    assert [(c["where"], c["from"], c["to"]) for c in made.changes if c["what"] == "threshold"] == [
        ("stage junk, fit <=", 5, 10)]
    assert made.notes == ['the thresholds of grade band "low", grade band "mid" are left as written: moved to keep '
                          'their counts, they would not check (grade "mid" can never be chosen: earlier entries '
                          "always match first)"]
    assert f"# Note: {made.notes[0]}." in comments(made.text)
    assert out.read_text() == made.text
    assert main(["check", "--allow-untested", str(out)]) == 0 and main(["fmt", "--check", str(out)]) == 0
    capsys.readouterr()
    written = [line.strip() for line in made.text.splitlines()]
    assert '"low"   when fit < 20' in written and '"mid"   when 60 > fit' in written
    assert "junk     when fit <= 10              owner marketing" in written
    assert "+2 per employees up to 200" in written


# ---------------------------------------------------------------- planted data, end to end

def calibrated(folder: Path, planted, text: str | None = None, handoffs: int | str = "same", name: str = "p"):
    """Calibrate `text` (the planted policy when None) on the planted leads, proposing to FOLDER/NAME.policy."""
    path = planted.policy if text is None else folder / f"{name}.current.policy"
    if text is not None:
        path.write_text(text)
    policy = leadpolicy.load(path)
    data = FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now, rejects_folder=folder)
    out = folder / f"{name}.policy"
    options = CalibrateOptions(propose=out, handoffs=handoffs, policy_file=path)  # type: ignore[arg-type]
    return calibrate(policy, path.read_text(), data, folder / f"{name}.work", options), out


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("planted"), leads=5000)


@pytest.fixture(scope="module")
def planted_proposal(planted, tmp_path_factory):
    return calibrated(tmp_path_factory.mktemp("proposal"), planted)


def comments(text: str) -> list[str]:
    return [str(c).strip() for c in parse_text(text).comments]


def test_the_planted_proposal_checks_is_fmt_clean_and_keeps_every_comment(planted_proposal, capsys):
    cal, out = planted_proposal
    p = cal.proposal
    assert p is not None and p.file == out and out.read_text() == p.text
    assert main(["check", "--allow-untested", str(out)]) == 0
    assert main(["fmt", "--check", str(out)]) == 0
    capsys.readouterr()
    written = comments(p.text)
    for comment in comments(POLICY):
        assert comment in written
    new = leadpolicy.load(out)
    assert (new.id, new.version, p.version) == ("planted-calibration", "1.3.0", "1.3.0")


def test_the_planted_proposal_flips_the_contradicted_rule_only(planted_proposal):
    cal, out = planted_proposal
    verdicts = {r.rule.label: r.verdict for r in cal.rules}
    assert verdicts["Core industry"] == "contradicted"
    new = {r.label: r.points for r in leadpolicy.load(out).ir.scores[0].rules}
    # the planted effect (-0.8 log-odds) is strong: flipped, not only zeroed
    assert new["Core industry"] < 0
    points = {"Mid-market or larger": 30, "Decision maker": 15, "Asked for a demo": 10, "Free email domain": -25,
              "Email clicks": 5}
    assert {label: new[label] for label in points} == points  # supported (inside their intervals) or no evidence
    assert [c["where"] for c in cal.proposal.changes if c["what"] == "points"] == ["fit, Core industry"]  # type: ignore[union-attr]
    assert "fit, Core industry: +20 → " in cal.proposal.diff[1]  # type: ignore[union-attr]


def test_the_planted_proposal_says_what_changed_and_why_with_the_figures(planted_proposal):
    cal, _ = planted_proposal
    p = cal.proposal
    assert p is not None
    header = comments(p.text)[1:]  # after the policy's own first comment
    core = next(r for r in cal.rules if r.rule.label == "Core industry")
    assert header[0] == (f"# Calibrated on 5,000 leads decided as of {cal.as_of}, outcomes up to {cal.now}: "
                         "1.2.0 → 1.3.0.")
    line = next(h for h in header if h.startswith("# fit, Core industry: +20 → -"))
    assert f"won {core.won_rate_fired * 100:.1f}% of {core.fired:,} where it fired" in line  # type: ignore[operator]
    assert f"log-odds {core.coefficient:+.2f}" in line
    sql = next(h for h in header if h.startswith("# stage sql: fit >= 50 → fit >= "))
    kept = cal.thresholds[0].same_count
    assert kept is not None and f"keeps {kept['leads']:,} leads on its side" in sql
    backtest = next(i for i, h in enumerate(header) if h.startswith("# Backtest: hands "))
    assert header[backtest + 1:] == [f"# Note: {n}." for n in p.notes] + [header[-1]]


def test_the_planted_proposal_hands_off_no_more_leads_at_a_higher_won_rate(planted_proposal):
    cal, _ = planted_proposal
    backtest = cal.proposal.backtest  # type: ignore[union-attr]
    old, new = backtest["old"], backtest["new"]
    assert old["leads"] == new["leads"] == 5000
    assert new["handed_off"] <= old["handed_off"]
    assert new["precision"] > old["precision"]
    assert old["version"] == "1.2.0" and new["version"] == "1.3.0"
    sql = cal.thresholds[0]
    assert (sql.place, sql.handoff) == ("stage sql", True)
    assert sql.same_count is not None and sql.same_count["leads"] <= sql.leads_past


def test_no_change_and_no_file_when_the_evidence_supports_every_rule(tmp_path):
    planted = generate(tmp_path / "data", leads=6000, mode="proportional")
    cal, out = calibrated(tmp_path, planted)
    assert {r.verdict for r in cal.rules} == {"supported"}
    p = cal.proposal
    assert p is not None and (p.changes, p.version, p.backtest, p.diff) == ([], "1.2.0", None, [])
    assert not out.exists()
    assert all(t.same_count == {"value": t.value, "leads": t.leads_past, "won_rate": t.won_rate_past}
               for t in cal.thresholds)


def test_handoffs_n_is_respected(planted, tmp_path):
    cal, out = calibrated(tmp_path, planted, handoffs=1000)
    p = cal.proposal
    assert p is not None and [n for n in p.notes if "comment" not in n] == []
    assert p.backtest is not None and p.backtest["new"]["handed_off"] <= 1000 < p.backtest["old"]["handed_off"]
    sql = next(c for c in p.changes if c["where"] == "stage sql, fit >=")
    # moved to keep its count, then raised (the only floor) until the backtest hands off at most 1,000
    kept = cal.thresholds[0].same_count
    assert kept is not None and sql["to"] > kept["value"]
    assert f"raised from {kept['value']} (the same count) to hand off at most 1,000" in sql["why"]
    # its figures are the proposal's (U1: they were of the threshold before it was raised)
    new = measure(leadpolicy.load(out), FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now,
                                                        rejects_folder=tmp_path), tmp_path / "again")
    (past,) = new.con.execute(f'SELECT count(*) FROM feedback WHERE fit >= {sql["to"]}').fetchone()
    assert sql["why"].startswith(f"keeps {past:,} leads on its side on the proposed points (was "
                                 f"{cal.thresholds[0].leads_past:,} on the current ones)")
    assert main(["check", "--allow-untested", str(out)]) == 0


TWO_FLOORS = POLICY.replace(
    "    sql      when fit >= 50  owner sales\n",
    "    sql      when fit >= 50 and demo  owner sales\n    mql      when fit >= 30  owner sales\n")


@pytest.fixture(scope="module")
def two_floors(planted, tmp_path_factory):
    """The planted leads with two handoff stages (sql: fit >= 50 with a demo; mql: fit >= 30), proposed with
    --handoffs same and each of several limits."""
    folder = tmp_path_factory.mktemp("two-floors")
    return {limit: calibrated(folder, planted, TWO_FLOORS, limit, f"p{limit}")[0]
            for limit in ("same", 1800, 1200, 600)}


def test_handoffs_n_ends_at_or_under_n_and_never_above_a_higher_limit(two_floors):
    handed = {limit: cal.proposal.backtest["new"]["handed_off"] for limit, cal in two_floors.items()}
    now = two_floors["same"].proposal.backtest["old"]["handed_off"]
    assert now > 1800, "a limit under the handoffs now is what this test is about"
    assert handed["same"] <= now and all(handed[n] <= n for n in (1800, 1200, 600))
    assert handed["same"] >= handed[1800] >= handed[1200] >= handed[600]
    assert all(cal.proposal.notes == [] or "comment" in " ".join(cal.proposal.notes) for cal in two_floors.values())


# Core industry's flip lifts the other industries' fit: each threshold keeping its count, sql hands off more
# than now, and raising sql alone is enough (U1: every floor was raised, losing won leads for nothing).
ONE_FLOOR_ENOUGH = POLICY.replace(
    "    sql      when fit >= 50  owner sales\n",
    '    sql      when fit >= 50 and industry in ("retail", "other")  owner sales\n'
    "    mql      when fit >= 40 and demo  owner sales\n")


def test_one_floor_is_raised_when_one_is_enough(planted, tmp_path):
    cal, out = calibrated(tmp_path, planted, ONE_FLOOR_ENOUGH)
    p = cal.proposal
    assert p is not None and p.backtest is not None
    old, new = p.backtest["old"], p.backtest["new"]
    assert new["handed_off"] <= old["handed_off"] and new["won_captured"] >= old["won_captured"]
    moved = {c["where"]: c for c in p.changes if c["what"] == "threshold"}
    assert "stage mql, fit >=" not in moved  # mql ends as written: only sql is raised past its count
    assert "raised from" in moved["stage sql, fit >="]["why"]
    assert _assert_each_raise_needed({"same": cal}, planted, tmp_path) == 1


def test_lower_limits_go_further_along_the_same_raises_and_raise_nothing_needlessly(planted, tmp_path):
    cals = {limit: calibrated(tmp_path, planted, ONE_FLOOR_ENOUGH, limit, f"p{limit}")[0] for limit in (900, 150)}
    handed = {limit: cal.proposal.backtest["new"]["handed_off"] for limit, cal in cals.items()}
    assert handed[900] <= 900 and handed[150] <= 150 and handed[150] <= handed[900]
    # each floor's share of 150 moved every floor at once and ended at 36 handoffs; one raise at a time ends
    # near the limit, every raise needed
    assert _assert_each_raise_needed(cals, planted, tmp_path) >= 2


def test_no_floor_is_raised_that_the_limit_does_not_need(two_floors, planted, tmp_path):
    assert _assert_each_raise_needed(two_floors, planted, tmp_path) >= 1


def _assert_each_raise_needed(calibrations, planted, tmp_path) -> int:
    """Each floor the proposal raises past the value keeping its count must be needed: back at that value, the
    proposal hands off more than the limit. How many raised floors were put back."""
    checked = 0
    for limit, cal in calibrations.items():
        p = cal.proposal
        allowed = p.backtest["old"]["handed_off"] if limit == "same" else limit
        changed = {c["where"]: c for c in p.changes if c["what"] == "threshold"}
        for t in cal.thresholds:
            change = changed.get(f"{t.place}, {t.score} {t.op}")
            assert t.same_count is not None
            if change is None or not (t.handoff and change["to"] > t.same_count["value"]):
                continue
            assert f"raised from {t.same_count['value']} (the same count)" in change["why"]
            line = p.text.split("\n")[next(i for i, text in enumerate(p.text.split("\n"))
                                             if f"when fit >= {change['to']}" in text and t.place[6:] in text)]
            back = p.text.replace(line, line.replace(f"fit >= {change['to']}", f"fit >= {t.same_count['value']}"))
            path = tmp_path / f"back-{limit}-{t.place[6:]}.policy"
            path.write_text(back)
            data = FeedbackInput(planted.leads, planted.events, planted.as_of, planted.now, rejects_folder=tmp_path)
            handed = measure(leadpolicy.load(path), data, tmp_path / f"w-{limit}-{t.place[6:]}").con.execute(
                'SELECT count(*) FROM feedback WHERE "#handed"').fetchone()[0]
            assert handed > allowed, (limit, t.place)
            checked += 1
    return checked


def test_a_comment_naming_a_changed_number_is_noted_never_edited(planted_proposal):
    cal, out = planted_proposal
    p = cal.proposal
    sql = next(c for c in p.changes if c["where"] == "stage sql, fit >=")
    line = next(i for i, text in enumerate(POLICY.split("\n"), 1) if "Sales takes a lead from 50 points" in text)
    assert f"the comment on line {line} of 1.2.0 says 50: check it (stage sql, fit >= is now {sql['to']})" in p.notes
    assert "# Sales takes a lead from 50 points of fit." in comments(p.text)
    # a comment naming no number of a change is not noted
    assert not any("Thresholds on every side" in n or "purpose-built" in n for n in p.notes)


def test_handoffs_n_that_cannot_be_kept_is_said(planted, tmp_path):
    # Sales takes leads by size here: no handoff stage has a floor of a score, so nothing can keep 1,000.
    text = POLICY.replace("sql      when fit >= 50  owner sales", "sql      when employees >= 200  owner sales")
    cal, out = calibrated(tmp_path, planted, text, handoffs=1000)
    p = cal.proposal
    assert p is not None and p.backtest is not None and p.backtest["new"]["handed_off"] > 1000
    assert p.notes == [f"hands off {p.backtest['new']['handed_off']:,} leads, more than the 1,000 allowed: no handoff "
                       "stage asks for a score at or above a number"]
    assert f"# Note: {p.notes[0]}." in comments(p.text)
    assert out.exists()


def test_a_policy_with_decay_a_clamp_and_thresholds_on_every_side(planted, tmp_path):
    decay = "decay 10% every 30 days since last email_click"
    text = (POLICY.replace("    clamp 0 to 100", f"    clamp 0 to 100\n    {decay}")
            .replace('"B"  when fit >= 30', '"B"  when 30 <= fit')
            .replace('"Core industry"', '"Core industry"  # agreed in March')
            .replace("sql      when fit >= 50  owner sales",
                     "junk     when fit < 5                   owner marketing\n"
                     "    sql      when fit between 50 and 95  owner sales"))
    cal, out = calibrated(tmp_path, planted, text)
    assert [(t.place, t.op, t.value) for t in cal.thresholds] == [
        ("stage junk", "<", 5), ("stage sql", ">=", 50), ("stage sql", "<=", 95), ('grade fit_grade "A"', ">=", 60),
        ('grade fit_grade "B"', ">=", 30)]
    assert all(t.same_count is not None and t.same_count["leads"] <= t.leads_past for t in cal.thresholds)
    p = cal.proposal
    assert p is not None and p.changes
    assert main(["check", "--allow-untested", str(out)]) == 0 and main(["fmt", "--check", str(out)]) == 0
    written = p.text
    assert decay in written and "clamp 0 to 100" in written
    # a comment at the end of a changed line stays on it
    core = next(line for line in written.splitlines() if '"Core industry"' in line)
    assert core.split()[0].startswith("-") and core.endswith('"Core industry"  # agreed in March')
    assert p.backtest is not None and p.backtest["new"]["handed_off"] <= p.backtest["old"]["handed_off"]
    # each moved threshold is written where it was, on fit's grid of 5
    new = leadpolicy.load(out)
    assert all(Decimal(c["to"]) % 5 == 0 for c in p.changes if c["what"] == "threshold")
    assert dataclasses.asdict(new.ir.scores[0].clamp) == {"low": 0, "high": 100}  # type: ignore[arg-type]


def test_a_threshold_a_guarantee_holds_to_stays_and_the_proposal_keeps_the_guarantee(planted, tmp_path, capsys):
    guarantee = '"Sales only receives leads with a fit of 50 or more": handoff implies fit >= 50'
    text = POLICY.replace("  outcomes {", f"  guarantees {{\n    {guarantee}\n  }}\n\n  outcomes {{")
    cal, out = calibrated(tmp_path, planted, text)
    p = cal.proposal
    assert p is not None and cal.thresholds[0].same_count["value"] != 50  # type: ignore[index]
    # moved to keep its count, the sql threshold would break the guarantee: it stays as written, the grades move
    assert [(c["what"], c["where"]) for c in p.changes] == [
        ("points", "fit, Core industry"), ("threshold", 'grade fit_grade "A", fit >='),
        ("threshold", 'grade fit_grade "B", fit >=')]
    assert len(p.notes) == 1 and p.notes[0].startswith("the thresholds of stage sql are left as written")
    assert "Sales only receives leads with a fit of 50 or more" in p.notes[0]
    assert main(["check", "--allow-untested", str(out)]) == 0
    capsys.readouterr()
    assert guarantee.split() in [line.split() for line in out.read_text().splitlines()]
    assert p.backtest is not None and p.backtest["new"]["handed_off"] <= p.backtest["old"]["handed_off"]


# ---------------------------------------------------------------- the sample cases a proposal decides otherwise

HOSTILE_CASE = 'A | <b>software</b> lead *of* `500` [people](https://example.com) at 50'
SAMPLES = f'''# The cases Marketing and Sales agreed on.
policy: p.current.policy
now: 2026-10-01T00:00:00Z

leads:
  - name: "{HOSTILE_CASE}"
    lead: {{email: ana@acme.io, employees: 500, industry: software, job_title: Engineer, demo: false}}
    expect: {{fit: 50, fit_grade: B, stage: sql}}

  - name: A mid-market VP who asked for a demo is handed off
    lead: {{email: raj@shop.io, employees: 500, industry: retail, job_title: VP Sales, demo: true}}
    events:
      - {{event: email_click, at: 2026-09-20T10:00:00Z}}
    expect: {{fit: 60, stage: sql}}

  - name: A small shop on a free email domain stays with Marketing
    lead: {{email: li@gmail.com, employees: 10, industry: retail, demo: false}}
    expect: {{fit: 0, fit_grade: C, stage: nurture}}
'''


def case_line(text: str, name_start: str) -> int:
    """The line (1-based) of the case whose name starts so."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(f"  - name: {name_start}"))


@pytest.fixture(scope="module")
def sampled(planted, tmp_path_factory):
    """The planted policy with a samples file beside it: its first case's stage the re-fit moves (Core industry
    flipped from +20 to -25, fit 50 becomes 5), the others it keeps."""
    folder = tmp_path_factory.mktemp("sampled")
    (folder / "p.current.samples.yaml").write_text(SAMPLES)
    cal, out = calibrated(folder, planted, POLICY)
    return folder, cal, out


def test_the_sample_cases_the_proposal_decides_otherwise_are_listed_with_their_lines(sampled, capsys):
    folder, cal, out = sampled
    assert main(["test", str(folder / "p.current.samples.yaml")]) == 0  # the current policy passes every case
    capsys.readouterr()
    p = cal.proposal
    assert p is not None and out.exists()
    new = {r.label: r.points for r in leadpolicy.load(out).ir.scores[0].rules}
    assert new["Core industry"] == -25
    line = case_line(SAMPLES, '"A |')
    assert p.samples == [
        {"case": HOSTILE_CASE, "line": line, "field": "fit", "expected": 50, "proposed": 5},
        {"case": HOSTILE_CASE, "line": line, "field": "fit_grade", "expected": "B", "proposed": "C"},
        {"case": HOSTILE_CASE, "line": line, "field": "stage", "expected": "sql", "proposed": "nurture"}]
    # the agreed cases are never rewritten: a reviewer updates them
    assert (folder / "p.current.samples.yaml").read_text() == SAMPLES


def test_the_listed_cases_are_the_ones_test_fails_once_the_proposal_is_copied_over(sampled, tmp_path, capsys):
    folder, cal, out = sampled
    (tmp_path / "p.current.policy").write_text(out.read_text())
    (tmp_path / "p.current.samples.yaml").write_text(SAMPLES)
    from leadpolicy.testing.harness import run_samples

    run = run_samples(tmp_path / "p.current.samples.yaml")
    assert not run.diagnostics
    failing = [(c.name, c.line, [what for what, _, _ in c.mismatches]) for c in run.cases if not c.passed]
    listed = cal.proposal.samples  # type: ignore[union-attr]
    assert failing == [(listed[0]["case"], listed[0]["line"], [s["field"] for s in listed])]
    assert main(["check", str(tmp_path / "p.current.policy")]) == 1
    capsys.readouterr()


def test_the_proposals_header_says_how_many_cases_need_an_update(sampled):
    _, cal, _ = sampled
    line = case_line(SAMPLES, '"A |')
    said = [c for c in comments(cal.proposal.text) if "sample case" in c.lower()]  # type: ignore[union-attr]
    assert said == [f"# Sample cases: 1 of 3 in p.current.samples.yaml decides otherwise (line {line}): a "
                    "reviewer updates its expectations."]


def test_the_json_lists_the_cases_and_the_text_report_their_lines(sampled):
    from leadpolicy.measure.calibration_render import calibration_json, render_calibration

    _, cal, _ = sampled
    samples = calibration_json(cal)["proposal"]["samples"]
    assert [(s["case"], s["field"], s["expected"], s["proposed"]) for s in samples] == [
        (HOSTILE_CASE, "fit", 50, 5), (HOSTILE_CASE, "fit_grade", "B", "C"), (HOSTILE_CASE, "stage", "sql", "nurture")]
    assert all(isinstance(s["proposed"], int) for s in samples if s["field"] == "fit")
    text = render_calibration(cal, "text").splitlines()
    at = text.index("Sample cases to update")
    rows = [row.split() for row in text[at + 2:at + 6]]
    assert rows[0] == ["case", "line", "field", "expected", "proposed"]
    line = str(case_line(SAMPLES, '"A |'))
    assert [row[-4:] for row in rows[1:]] == [[line, "fit", "50", "5"], [line, "fit_grade", "B", "C"],
                                              [line, "stage", "sql", "nurture"]]
    assert all(" ".join(row).startswith(HOSTILE_CASE) for row in rows[1:])


def test_the_markdown_lists_a_hostile_case_name_in_its_cell_without_markup(sampled):
    from leadpolicy.measure.calibration_render import render_calibration

    _, cal, _ = sampled
    page = render_calibration(cal, "markdown")
    assert "\n### Sample cases to update\n" in page
    cells = read_markdown(page)
    assert not cells.tags & {"b", "a", "code", "em", "strong"}, cells.tags
    table = next(t for t in cells.tables if t[0][:2] == ["case", "line"])
    line = str(case_line(SAMPLES, '"A |'))
    assert table == [["case", "line", "field", "expected", "proposed"], [HOSTILE_CASE, line, "fit", "50", "5"],
                     [HOSTILE_CASE, line, "fit_grade", "B", "C"], [HOSTILE_CASE, line, "stage", "sql", "nurture"]]


def test_no_samples_file_is_an_empty_list_and_nothing_said(planted_proposal):
    cal, _ = planted_proposal
    from leadpolicy.measure.calibration_render import calibration_json, render_calibration

    p = cal.proposal
    assert p is not None and p.changes and p.samples == []
    assert calibration_json(cal)["proposal"]["samples"] == []
    assert not [c for c in comments(p.text) if "sample case" in c.lower()]
    for fmt in ("text", "markdown"):
        assert "Sample cases" not in render_calibration(cal, fmt)


def test_calibrate_reads_the_samples_file_beside_the_policy_as_test_does(sampled, planted, tmp_path, capsys):
    import json

    folder, cal, _ = sampled
    report, out = tmp_path / "report.json", tmp_path / "next.policy"
    code = main(["calibrate", str(folder / "p.current.policy"), *planted.args(), "--propose", str(out), "--format",
                 "json", "-o", str(report)])
    capsys.readouterr()
    assert code == 0 and out.exists()
    samples = json.loads(report.read_text())["proposal"]["samples"]
    assert [(s["case"], s["line"], s["field"]) for s in samples] == [
        (s["case"], s["line"], s["field"]) for s in cal.proposal.samples]  # type: ignore[union-attr]
    assert len(samples) == 3


def _kept_cases_only() -> str:
    """SAMPLES without its first case (the one the re-fit moves)."""
    start, end = SAMPLES.index("  - name: \"A |"), SAMPLES.index("  - name: A mid-market")
    return SAMPLES[:start] + SAMPLES[end:]


@pytest.mark.parametrize(("samples", "said", "note"), [
    (_kept_cases_only(), "# Sample cases: none of the 2 in p.current.samples.yaml needs an update.", None),
    # a samples file that names another policy: `check` says so; the proposal cannot decide its cases
    (SAMPLES.replace("policy: p.current.policy", "policy: other.policy"), None,
     "the cases of p.current.samples.yaml were not decided (its policy: 'other.policy' is not "),
])
def test_sample_cases_that_all_hold_or_cannot_be_decided_are_said(planted, tmp_path, samples, said, note):
    (tmp_path / "p.current.samples.yaml").write_text(samples)
    cal, out = calibrated(tmp_path, planted, POLICY)
    p = cal.proposal
    assert p is not None and out.exists() and p.samples == []
    assert [c for c in comments(p.text) if c.startswith("# Sample cases")] == ([said] if said else [])
    notes = [n for n in p.notes if "were not decided" in n]
    assert [n.startswith(note) for n in notes] == ([True] if note else [])
    assert (tmp_path / "p.current.samples.yaml").read_text() == samples


def test_a_supported_rule_of_a_score_read_the_other_way_keeps_the_sign_of_its_points():
    """A score whose thresholds take its lowest values has a negative scale k; a supported rule whose k x b rounds
    to 0 moves one step, on the side of its points (its sign is what the evidence supports)."""
    column = RuleColumn("risk", 0, "#rule:risk:0", "points", Decimal(40), None, "Spam trap", None, 12)
    supported = RuleEvidence(column, 100, 30, 100, 20, 0.3, 0.2, 1.5, (1.1, 2.0), -0.01, (-0.02, -0.001), 1e-3,
                             "supported", "by hand")
    new, why = proposal.moved(supported, -30.0, Decimal(5)) or (None, "")
    assert new == Decimal(5) and "outside the re-fitted interval" in why
