"""Calibration: rule by rule, whether what happened to leads supports what the teams agreed, and a proposed
next version of the policy.

Every lead is decided as of `as_of` by the policy with one more column per points rule and per rule of each
score (`rule_columns`: the rule's contribution, by the same engines as every decision), and its outcome is read
as `feedback` reads it. `evidence` measures each rule (fired or not, won rates, lift with its interval, a
logistic regression per score from statsmodels, a verdict); `thresholds` each comparison of a score with a number
in a stage or a grade; `proposal` re-fits the points the evidence contradicts or places outside their interval,
moves the thresholds so that the handoffs do not grow, and backtests the proposed version against the current one
on the same leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from leadpolicy.api import Policy
from leadpolicy.measure.feedback import FeedbackInput

Verdict = Literal["supported", "contradicted", "no evidence"]
LEVEL = 0.95  # the confidence of every interval the report gives
MIN_LEADS = 30  # fewer leads where a rule fired (or where it did not) than this: no evidence


@dataclass(frozen=True)
class RuleColumn:
    """One rule of one score, as a column of the calibration's per-lead table: its contribution in points (0
    when it did not fire; a points rule's column holds 1 when it fired, whatever its points; a per rule of
    decimal points holds them in its smallest decimal: `rule_columns.per_unit`). A score's decay is one too
    (kind "decay", after its rules): its value is the points it took off the score (`rule_columns.value`), read
    as a per rule of -1 point per point taken."""

    score: str
    index: int  # the rule's position among its score's rules, from 0 (a decay: the number of its score's rules)
    column: str  # the column's name in table `feedback` (a decay's value is `rule_columns.value`, of two columns)
    kind: Literal["points", "per", "decay"]
    points: Decimal  # as written (a decay: -1, per point it took)
    cap: Decimal | None  # a per rule's cap, as written
    label: str  # the reason, or the condition as written
    reason: str | None
    line: int  # where the rule is written (1-based; 0 when unknown)


@dataclass(frozen=True)
class RuleEvidence:
    """What the outcomes say of one rule. Rates are won / leads (open leads count as not won, as in feedback);
    `lift` is won_rate_fired / won_rate_not with its LEVEL interval; `coefficient` is the rule's log-odds of
    winning in a logistic regression over its score's rules (per firing for a points rule, per unit of its value
    for a per rule), with its interval; the verdict compares the coefficient's interval with the sign of the
    points."""

    rule: RuleColumn
    fired: int
    won_fired: int
    not_fired: int
    won_not: int
    won_rate_fired: float | None
    won_rate_not: float | None
    lift: float | None
    ci: tuple[float, float] | None
    coefficient: float | None
    coefficient_ci: tuple[float, float] | None
    p_value: float | None
    verdict: Verdict
    why: str  # one line a reviewer reads: what decided the verdict


@dataclass(frozen=True)
class ThresholdEvidence:
    """A comparison of a score with a number, in a stage's condition or a grade entry's."""

    place: str  # as check names it: 'stage sql', 'grade tier "A"'
    kind: Literal["stage", "grade"]
    score: str
    op: str  # >=, >, <=, <
    value: Decimal
    line: int
    handoff: bool  # in a stage that hands leads over (feedback's handoff stages)
    band: Decimal  # "just above" is [value, value + band), "just below" [value - band, value)
    leads_past: int  # leads on the threshold's side (score op value)
    won_rate_past: float | None
    leads_above: int
    won_rate_above: float | None
    leads_below: int
    won_rate_below: float | None
    # on the re-fitted points: the threshold keeping no more leads on its side than now, and their won rate
    same_count: dict[str, Any] | None = None
    # the LEVEL (Wilson) interval of each won rate: past it, just above, just below (None without a lead)
    ci_past: tuple[float, float] | None = None
    ci_above: tuple[float, float] | None = None
    ci_below: tuple[float, float] | None = None


@dataclass(frozen=True)
class Proposal:
    """The proposed next version: where it was written, its version, what changed (each change a dict with
    `what`, `where`, `from`, `to`, `why`, `line`) and its backtest against the current version (the shape of
    `measure.backtest.backtest`)."""

    file: Path
    version: str
    text: str
    changes: list[dict[str, Any]]
    backtest: dict[str, Any] | None
    diff: list[str] = field(default_factory=list)  # `leadpolicy diff`'s lines, in domain words
    notes: list[str] = field(default_factory=list)  # what could not be done as asked (handoffs kept, ...)
    # each expectation of a sample case (the samples file beside the policy) the proposed version decides
    # otherwise: {"case", "line", "field", "expected", "proposed"}; a reviewer updates them, never calibrate
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether the proposed version was written: it changes something and it checks (then it is backtested;
        one that does not check has its changes listed, no backtest, and notes saying why)."""
        return bool(self.changes) and self.backtest is not None


@dataclass(frozen=True)
class CalibrateOptions:
    band: Decimal | None = None  # None: each score's own step (see `thresholds.default_band`)
    handoffs: int | Literal["same"] = "same"  # the most leads the proposal may hand off
    propose: Path | None = None  # where the proposed version goes (None: no proposal written)
    by: tuple[str, ...] = ()  # lead fields whose values each get their own rules' evidence (the largest groups)
    policy_file: Path | None = None  # where the policy was read: its samples file is beside it (as `test` finds it)


@dataclass
class Calibration:
    policy: Policy
    as_of: str
    now: str
    leads: int
    won: int
    rows: dict[str, int]
    rules: list[RuleEvidence]
    thresholds: list[ThresholdEvidence]
    groups: list[dict[str, Any]]  # {"by", "value", "leads", "won", "rules": [RuleEvidence]}
    proposal: Proposal | None
    verdict: str  # the one line for a pull request
    # per --by field whose smaller groups were left out of `groups`: {"by", "groups", "leads", "won"}
    groups_left_out: list[dict[str, Any]] = field(default_factory=list)


def calibrate(policy: Policy, text: str, data: FeedbackInput, folder: Path, options: CalibrateOptions) -> Calibration:
    """Measure every rule and threshold of `policy` (whose source is `text`) on `data`, and with
    `options.propose` write the proposed next version there and backtest it. Working files go to `folder`."""
    from leadpolicy.measure import evidence, proposal, rule_columns
    from leadpolicy.measure.feedback import local_time, measure, reading_rows, tally
    from leadpolicy.measure.reuse import KeptInputs

    derived, columns = rule_columns.with_rule_columns(policy)
    inputs = KeptInputs(folder / "inputs")  # read and checked once: every later decision reads what was kept
    measured = measure(derived, inputs.first(data), folder / "current")
    later = inputs.later(data, measured)
    overall = tally(measured, [])[0]
    rules = evidence.rule_evidence(measured, columns)
    groups, left_out = evidence.group_evidence(measured, columns, measured.by) if options.by else ([], [])
    found = proposal.threshold_evidence(policy, measured, options.band)
    refit = proposal.refit(policy, text, rules, found, measured, later, folder)
    proposed = (proposal.propose(policy, refit, measured, later, folder, options.propose, options.handoffs,
                                 options.policy_file) if options.propose is not None else None)
    return Calibration(policy, local_time(data.as_of, policy.ir), local_time(data.now, policy.ir),
                       overall["leads"], overall["won"], reading_rows(measured.scored), rules, refit.thresholds,
                       groups, proposed, evidence.verdict_line(rules, proposed), left_out)
