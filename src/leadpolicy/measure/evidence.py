"""Rule by rule, what the outcomes say: where each rule fired, the won rates there and elsewhere, the lift with
its interval, and each rule's coefficient in one logistic regression per score over that score's rules.

Everything per lead stays in DuckDB: the counts are one query, and each score's regression is fitted on its
leads grouped by their distinct rule values (a few rows per combination of rules, whatever the number of leads),
which gives the same maximum-likelihood estimates and standard errors as a fit over every lead. The statistics
are statsmodels' (Table2x2 for the lift's interval, GLM Binomial for the regression).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlglot import exp

from leadpolicy.language.formatter import number as number_text
from leadpolicy.language.words import quantity
from leadpolicy.measure.calibration import LEVEL, MIN_LEADS, Proposal, RuleColumn, RuleEvidence, Verdict
from leadpolicy.measure.feedback import TABLE, Measured, count_where, group_label, tally, won_share
from leadpolicy.measure.rule_columns import per_unit, value
from leadpolicy.semantics import ir

PER = {"points": "when it fires", "per": "per unit", "decay": "per point it took"}  # what a coefficient is per
SEPARATED = 1e-6  # a fitted chance of winning this close to 0 or 1: the estimates run off to infinity


@dataclass(frozen=True)
class Counts:
    """One rule's leads: where it fired (its column is not 0) and where it did not, and how many of each won."""

    fired: int
    won_fired: int
    not_fired: int
    won_not: int


@dataclass(frozen=True)
class Fit:
    """One rule's coefficient in its score's regression, or why there is none."""

    coefficient: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    why: str


def rule_evidence(measured: Measured, columns: list[RuleColumn], where: exp.Expr | None = None) -> list[RuleEvidence]:
    """The evidence of every rule column, over the leads of table `feedback` (those `where` holds, if given)."""
    counts = _counts(measured, columns, where)
    fits: dict[str, Fit] = {}
    for score in dict.fromkeys(c.score for c in columns):
        fits |= _fit_score(measured, [c for c in columns if c.score == score], where)
    return [_evidence(c, counts[c.column], fits[c.column]) for c in columns]


def group_evidence(measured: Measured, columns: list[RuleColumn], by_columns: list[str]) -> list[dict[str, Any]]:
    """The evidence of every rule within each value of each `by` column (a column of table `feedback`)."""
    groups = []
    for by in by_columns:
        for row in tally(measured, [by]):
            value = row[by]
            is_value = (exp.Is(this=_col(by), expression=exp.Null()) if value is None
                        else exp.EQ(this=_col(by), expression=exp.Literal.string(str(value))))
            groups.append({"by": group_label(by), "value": value, "leads": row["leads"], "won": row["won"],
                           "rules": rule_evidence(measured, columns, is_value)})
    return groups


def verdict_line(rules: list[RuleEvidence], proposal: Proposal | None) -> str:
    """One line for a pull request: how many rules each verdict has, the contradicted ones by name, and what the
    proposed version would hand off (from its backtest)."""
    if not rules:
        return "The policy has no rules to measure."
    line = _verdicts(rules)
    if proposal is None:
        return line + "."
    if not proposal.changes:
        return f"{line}; the evidence proposes no change to {proposal.version}."
    if proposal.backtest is None:
        return f"{line}; the proposed {proposal.version} was not written: it does not check."
    old, new = proposal.backtest["old"], proposal.backtest["new"]
    return (f"{line}; the proposed {proposal.version} hands off {new['handed_off']:,} leads (was "
            f"{old['handed_off']:,}) at {_pct(new['precision'])} won (was {_pct(old['precision'])}) and "
            f"{_captured(old, new)}.")


def _captured(old: dict[str, Any], new: dict[str, Any]) -> str:
    """'captures 107 won leads (was 203: 96 fewer), recall 18.9% (was 35.8%)': fewer leads at a higher won rate
    can still lose won leads."""
    now, before = new["won_captured"], old["won_captured"]
    moved = f": {abs(now - before):,} {'fewer' if now < before else 'more'}" if now != before else ""
    return (f"captures {now:,} won leads (was {before:,}{moved}), recall {_pct(new['recall'])} "
            f"(was {_pct(old['recall'])})")


# ---------------------------------------------------------------- counts and lift

def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _won() -> exp.Expr:
    return exp.EQ(this=_col("#outcome"), expression=exp.Literal.string("won"))


def _fired(column: RuleColumn) -> exp.Expr:
    """Where the rule fired (a decay: where it changed the score)."""
    return exp.NEQ(this=value(column), expression=exp.Literal.number(0))


def _where(query: exp.Select, where: exp.Expr | None) -> exp.Select:
    return query if where is None else query.where(where.copy())


def _counts(measured: Measured, columns: list[RuleColumn], where: exp.Expr | None) -> dict[str, Counts]:
    """Every rule's counts in one pass over the table."""
    measures: list[exp.Expr] = [exp.Count(this=exp.Star()), count_where(_won())]
    for c in columns:
        measures += [count_where(_fired(c)), count_where(exp.and_(_fired(c), _won()))]
    row = measured.con.execute(_where(exp.select(*measures).from_(TABLE), where).sql("duckdb")).fetchone()
    leads, won, *per_rule = row or (0, 0)
    out = {}
    for i, c in enumerate(columns):
        fired, won_fired = per_rule[2 * i], per_rule[2 * i + 1]
        out[c.column] = Counts(fired, won_fired, leads - fired, won - won_fired)
    return out


def _lift(counts: Counts) -> tuple[float | None, tuple[float, float] | None]:
    """won_rate_fired / won_rate_not and its LEVEL interval (log risk ratio, normal): None where a zero makes
    it undefined (no won lead where the rule did not fire; for the interval, none where it did either)."""
    from statsmodels.stats.contingency_tables import Table2x2

    a, c = counts.won_fired, counts.won_not
    if counts.fired == 0 or counts.not_fired == 0 or c == 0:
        return None, None
    table = Table2x2(np.array([[a, counts.fired - a], [c, counts.not_fired - c]], dtype=float), shift_zeros=False)
    lift = float(table.riskratio)
    if a == 0:
        return lift, None
    low, high = table.riskratio_confint(alpha=1 - LEVEL)
    return lift, (float(low), float(high))


# ---------------------------------------------------------------- the regression of one score

def _feature(c: RuleColumn) -> exp.Expr:
    """A points rule's 0/1 column; a per rule's units (its column over what it holds per unit); a decay's points
    taken."""
    column = exp.cast(value(c), "DOUBLE")
    if c.kind == "per" and c.points != 0:
        return exp.Div(this=column, expression=exp.Literal.number(ir.dec(per_unit(c))))
    return column


def _grouped(measured: Measured, rules: list[RuleColumn],
             where: exp.Expr | None) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The distinct feature vectors of the leads, with how many leads have each and how many of them won, in
    order (the fit's sums then run in one order, so the same leads give the same digits on every engine)."""
    features = [exp.alias_(_feature(c), f"f{i}") for i, c in enumerate(rules)]
    query = _where(exp.select(*features, exp.alias_(exp.Count(this=exp.Star()), "n"),
                              exp.alias_(count_where(_won()), "won")).from_(TABLE), where)
    names = [exp.column(f"f{i}") for i in range(len(rules))]
    query = query.group_by(*names).order_by(*(name.copy() for name in names))
    rows = np.array(measured.con.execute(query.sql("duckdb")).fetchall(), dtype=float).reshape(-1, len(rules) + 2)
    return rows[:, :len(rules)], rows[:, -2], rows[:, -1]


def _fit_score(measured: Measured, rules: list[RuleColumn], where: exp.Expr | None) -> dict[str, Fit]:
    """Each rule's coefficient in one logistic regression (with an intercept) over the score's rules. A rule
    whose value is the same for every lead is left out of it; a fit that fails gives every rule the reason."""
    x, n, won = _grouped(measured, rules, where)
    varying = [i for i in range(len(rules)) if x.shape[0] and np.ptp(x[:, i]) > 0]
    out = {c.column: Fit(None, None, None, "its value is the same for every lead") for c in rules}
    if not varying:
        return out
    design = np.column_stack([np.ones(x.shape[0]), x[:, varying]])
    score = rules[0].score
    fitted = _glm(design, n, won, score)
    if isinstance(fitted, str):
        out.update({rules[i].column: Fit(None, None, None, fitted) for i in varying})
        return out
    params, ci, p_values = fitted
    for k, i in enumerate(varying, start=1):
        out[rules[i].column] = Fit(float(params[k]), (float(ci[k][0]), float(ci[k][1])), float(p_values[k]), "")
    return out


def _glm(design: np.ndarray[Any, Any], n: np.ndarray[Any, Any], won: np.ndarray[Any, Any],
                 score: str) -> str | tuple[Any, Any, Any]:
    """statsmodels' GLM Binomial on grouped rows: (params, intervals, p-values), or why the fit fails."""
    import statsmodels.api as sm
    from statsmodels.tools import sm_exceptions

    if np.linalg.matrix_rank(design) < design.shape[1]:
        return (f"the regression of {score} cannot tell its rules apart (some always fire together, or "
                "together make up every lead)")
    if won.sum() == 0 or won.sum() == n.sum():
        return f"the regression of {score} has {'no won lead' if won.sum() == 0 else 'no lead that was not won'}"
    with warnings.catch_warnings():
        # statsmodels' own separation warning also fires for a saturated fit of grouped rows (the fitted shares
        # equal the observed ones): separation is told below by fitted chances of 0 or 1 instead.
        warnings.simplefilter("ignore", sm_exceptions.PerfectSeparationWarning)
        warnings.simplefilter("error", sm_exceptions.ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # a saturated fit's scale is 0/0 (unused: Binomial's is 1)
        try:
            result = sm.GLM(np.column_stack([won, n - won]), design, family=sm.families.Binomial()).fit()
        except (sm_exceptions.ConvergenceWarning, np.linalg.LinAlgError, ValueError):
            return f"the regression of {score} did not converge"
    fitted = np.asarray(result.fittedvalues)
    if np.any((fitted < SEPARATED) | (fitted > 1 - SEPARATED)):
        return (f"the regression of {score} separates won from not won perfectly (the leads of some combination "
                "of its rules all won or none did)")
    ci = np.asarray(result.conf_int(alpha=1 - LEVEL))
    if not (np.all(np.isfinite(result.params)) and np.all(np.isfinite(ci))):
        return f"the regression of {score} did not converge"
    return np.asarray(result.params), ci, np.asarray(result.pvalues)


# ---------------------------------------------------------------- the verdict

def _evidence(rule: RuleColumn, counts: Counts, fit: Fit) -> RuleEvidence:
    lift, ci = _lift(counts)
    verdict, why = _verdict(rule, counts, fit)
    return RuleEvidence(rule, counts.fired, counts.won_fired, counts.not_fired, counts.won_not,
                        won_share(counts.won_fired, counts.fired), won_share(counts.won_not, counts.not_fired),
                        lift, ci, fit.coefficient, fit.ci, fit.p_value, verdict, why)


def _verdict(rule: RuleColumn, counts: Counts, fit: Fit) -> tuple[Verdict, str]:
    if counts.fired == 0:
        return "no evidence", "it took points from no lead" if rule.kind == "decay" else "it fired for no lead"
    if counts.not_fired == 0:
        return "no evidence", ("it took points from every lead" if rule.kind == "decay" else "it fired for every lead"
                               ) + " (none to compare with)"
    if counts.fired < MIN_LEADS:
        return "no evidence", f"only {quantity(counts.fired, 'leads')} fired (at least {MIN_LEADS} needed)"
    if counts.not_fired < MIN_LEADS:
        return "no evidence", (f"only {quantity(counts.not_fired, 'leads')} did not fire (at least {MIN_LEADS} "
                               "needed)")
    if fit.coefficient is None or fit.ci is None:
        return "no evidence", fit.why
    low, high = fit.ci
    stated = (f"coefficient {fit.coefficient:.2f} ({LEVEL:.0%} interval {low:.2f} to {high:.2f}) "
              f"{PER[rule.kind]}")
    points = "the decay (a point taken, a point less)" if rule.kind == "decay" else f"{_points(rule.points)} points"
    if low <= 0 <= high:
        return "no evidence", f"{stated} includes 0"
    sign = 1 if low > 0 else -1
    if rule.points == 0:
        return "contradicted", f"{stated} excludes 0, but the rule earns 0 points"
    if (rule.points > 0) == (sign > 0):
        return "supported", f"{stated} agrees with {points}"
    return "contradicted", f"{stated} goes against {points}"


def _points(points: Decimal) -> str:
    return number_text(points, signed=True)


def _verdicts(rules: list[RuleEvidence]) -> str:
    """'Of 9 rules, 6 are supported, 1 is contradicted (fit "Free email domain") and 2 have no evidence'."""
    supported = sum(r.verdict == "supported" for r in rules)
    contradicted = [r for r in rules if r.verdict == "contradicted"]
    none = sum(r.verdict == "no evidence" for r in rules)
    parts = [f"{supported} {'is' if supported == 1 else 'are'} supported"]
    if contradicted:
        named = ", ".join(f'{r.rule.score} "{r.rule.label}"' for r in contradicted)
        parts.append(f"{len(contradicted)} {'is' if len(contradicted) == 1 else 'are'} contradicted ({named})")
    if none:
        parts.append(f"{none} {'has' if none == 1 else 'have'} no evidence")
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Of {quantity(len(rules), 'rules')}, {said}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"
