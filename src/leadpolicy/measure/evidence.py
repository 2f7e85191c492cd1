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
from leadpolicy.measure.feedback import TABLE, Measured, count_where, group_label, is_won, won_share
from leadpolicy.measure.render import percent
from leadpolicy.measure.rule_columns import per_unit, value
from leadpolicy.measure.thresholds import sites
from leadpolicy.semantics import ir

PER = {"points": "when it fires", "per": "per unit", "decay": "per point it took"}  # what a coefficient is per
SEPARATED = 1e-6  # a fitted chance of winning this close to 0 or 1: the estimates run off to infinity
GROUPS_SHOWN = 20  # per --by field, the largest groups reported; the rest are counted in one line


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


@dataclass(frozen=True)
class Direction:
    """Which way a score is read: its thresholds in stages and grades say whether more points (>=, >) or fewer
    (<=, <) make a better lead; without thresholds, or with both, more. `said` goes into a verdict's why when
    the reading is not the plain one."""

    sign: int  # 1: more points, more wins; -1: fewer points, more wins
    said: str


Grouped = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]  # features, leads, won


def rule_evidence(measured: Measured, columns: list[RuleColumn], where: exp.Expr | None = None) -> list[RuleEvidence]:
    """The evidence of every rule column, over the leads of table `feedback` (those `where` holds, if given)."""
    counts = _counts(measured, columns, where)
    directions = score_directions(measured)
    fits: dict[str, Fit] = {}
    for rules in _by_score(columns):
        fits |= _fit_score(rules, _grouped(measured, rules, where))
    return [_evidence(c, counts[c.column], fits[c.column], directions[c.score]) for c in columns]


def group_evidence(measured: Measured, columns: list[RuleColumn],
                   by_columns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The evidence of every rule within each value of each `by` column (a column of table `feedback`): the
    GROUPS_SHOWN largest groups of each column (in the column's order), and per column the groups left out
    ({"by", "groups", "leads", "won"}; none when every group is shown). Each column costs one query for every
    group's counts and one per score for the regression rows of the shown groups large enough to have evidence
    (2 x MIN_LEADS leads: a smaller group has too few leads where each rule fired or where it did not)."""
    directions = score_directions(measured)
    groups: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    for by in by_columns:
        found = _group_counts(measured, columns, by)
        largest = set(sorted(range(len(found)), key=lambda i: -found[i][1])[:GROUPS_SHOWN])
        shown = [g for i, g in enumerate(found) if i in largest]
        fits = _group_fits(measured, columns, by, [g[0] for g in shown if g[1] >= 2 * MIN_LEADS])
        groups += [_group(by, group, fits, columns, directions) for group in shown]
        rest = [g for i, g in enumerate(found) if i not in largest]
        if rest:
            left_out.append({"by": group_label(by), "groups": len(rest), "leads": sum(g[1] for g in rest),
                             "won": sum(g[2] for g in rest)})
    return groups, left_out


def _group(by: str, group: tuple[Any, int, int, dict[str, Counts]], fits: dict[tuple[bool, str], dict[str, Fit]],
           columns: list[RuleColumn], directions: dict[str, Direction]) -> dict[str, Any]:
    """One group's evidence; a group without fits (too few leads) has none to give."""
    found, leads, won, counts = group
    fitted = fits.get(_key(found), {})
    too_few = Fit(None, None, None, f"fewer than {2 * MIN_LEADS} leads in the group")
    return {"by": group_label(by), "value": found, "leads": leads, "won": won,
            "rules": [_evidence(c, counts[c.column], fitted.get(c.column, too_few), directions[c.score])
                      for c in columns]}


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
            f"{old['handed_off']:,}) at {percent(new['precision'])} won (was {percent(old['precision'])}) and "
            f"{captured(old, new)}.")


def captured(old: dict[str, Any], new: dict[str, Any]) -> str:
    """'captures 107 won leads (was 203: 96 fewer), recall 18.9% (was 35.8%)': fewer leads at a higher won rate
    can still lose won leads."""
    now, before = new["won_captured"], old["won_captured"]
    moved = f": {abs(now - before):,} {'fewer' if now < before else 'more'}" if now != before else ""
    return (f"captures {now:,} won leads (was {before:,}{moved}), recall {percent(new['recall'])} "
            f"(was {percent(old['recall'])})")


# ---------------------------------------------------------------- counts and lift

def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _fired(column: RuleColumn) -> exp.Expr:
    """Where the rule fired (a decay: where it changed the score)."""
    return exp.NEQ(this=value(column), expression=exp.Literal.number(0))


def _where(query: exp.Select, where: exp.Expr | None) -> exp.Select:
    return query if where is None else query.where(where.copy())


def _by_score(columns: list[RuleColumn]) -> list[list[RuleColumn]]:
    return [[c for c in columns if c.score == score] for score in dict.fromkeys(c.score for c in columns)]


def _count_measures(columns: list[RuleColumn]) -> list[exp.Expr]:
    measures: list[exp.Expr] = [exp.Count(this=exp.Star()), count_where(is_won())]
    for c in columns:
        measures += [count_where(_fired(c)), count_where(exp.and_(_fired(c), is_won()))]
    return measures


def _counts_of(row: tuple[Any, ...], columns: list[RuleColumn]) -> dict[str, Counts]:
    """(leads, won, fired and won_fired per rule) as each rule's counts."""
    leads, won, *per_rule = row
    return {c.column: Counts(per_rule[2 * i], per_rule[2 * i + 1], leads - per_rule[2 * i], won - per_rule[2 * i + 1])
            for i, c in enumerate(columns)}


def _counts(measured: Measured, columns: list[RuleColumn], where: exp.Expr | None) -> dict[str, Counts]:
    """Every rule's counts in one pass over the table."""
    query = _where(exp.select(*_count_measures(columns)).from_(TABLE), where)
    row = measured.con.execute(query.sql("duckdb")).fetchone()
    return _counts_of(tuple(row) if row else (0, 0, *[0] * (2 * len(columns))), columns)


def _group_counts(measured: Measured, columns: list[RuleColumn],
                  by: str) -> list[tuple[Any, int, int, dict[str, Counts]]]:
    """(value, leads, won, each rule's counts) of every value of `by`, in one grouped pass, in the column's order
    (no value last)."""
    query = (exp.select(_col(by), *_count_measures(columns)).from_(TABLE).group_by(_col(by))
             .order_by(exp.Ordered(this=_col(by), nulls_first=False)))
    return [(row[0], int(row[1]), int(row[2]), _counts_of(tuple(row[1:]), columns))
            for row in measured.con.execute(query.sql("duckdb")).fetchall()]


def _key(value: Any) -> tuple[bool, str]:
    """A group's value as a key that tells no value (NULL) from the text 'None'."""
    return (value is None, "" if value is None else str(value))


def _is_one_of(by: str, values: list[Any]) -> exp.Expr:
    """`by` holds one of `values` (None: no value), compared as text as a group's value always was."""
    column = _col(by)
    present = [exp.Literal.string(str(v)) for v in values if v is not None]
    conditions: list[exp.Expr] = [exp.In(this=column, expressions=present)] if present else []
    if any(v is None for v in values):
        conditions.append(exp.Is(this=column.copy(), expression=exp.Null()))
    return exp.or_(*conditions)


def _group_fits(measured: Measured, columns: list[RuleColumn], by: str,
                values: list[Any]) -> dict[tuple[bool, str], dict[str, Fit]]:
    """Each score's regression within each of `values` of `by`: one query per score for all of them."""
    if not values:
        return {}
    fits: dict[tuple[bool, str], dict[str, Fit]] = {}
    where = _is_one_of(by, values)
    for rules in _by_score(columns):
        rows: dict[tuple[bool, str], list[tuple[Any, ...]]] = {}
        for row in measured.con.execute(_feature_query(rules, where, by).sql("duckdb")).fetchall():
            rows.setdefault(_key(row[0]), []).append(row[1:])
        for key, part in rows.items():
            fits.setdefault(key, {}).update(_fit_score(rules, _arrays(part, len(rules))))
    return fits


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


def _feature_query(rules: list[RuleColumn], where: exp.Expr | None, by: str | None = None) -> exp.Select:
    """The distinct feature vectors of the leads (within each value of `by`, first, if given), with how many
    leads have each and how many of them won, in order (the fit's sums then run in one order, so the same
    leads give the same digits on every engine)."""
    keys: list[exp.Expr] = [_col(by)] if by is not None else []
    features = [exp.alias_(_feature(c), f"f{i}") for i, c in enumerate(rules)]
    query = _where(exp.select(*keys, *features, exp.alias_(exp.Count(this=exp.Star()), "n"),
                              exp.alias_(count_where(is_won()), "won")).from_(TABLE), where)
    names = [*(k.copy() for k in keys), *(exp.column(f"f{i}") for i in range(len(rules)))]
    return query.group_by(*names).order_by(*(name.copy() for name in names))


def _arrays(rows: list[tuple[Any, ...]], width: int) -> Grouped:
    table = np.array(rows, dtype=float).reshape(-1, width + 2)
    return table[:, :width], table[:, -2], table[:, -1]


def _grouped(measured: Measured, rules: list[RuleColumn], where: exp.Expr | None) -> Grouped:
    return _arrays(measured.con.execute(_feature_query(rules, where).sql("duckdb")).fetchall(), len(rules))


def _fit_score(rules: list[RuleColumn], grouped: Grouped) -> dict[str, Fit]:
    """Each rule's coefficient in one logistic regression (with an intercept) over the score's rules. A rule the
    fit cannot take is left out of it, with why (`_left_out`), and the others fitted; a fit that fails still
    gives every rule in it the reason."""
    x, n, won = grouped
    if x.shape[0] and (won.sum() == 0 or won.sum() == n.sum()):
        none = "no won lead" if won.sum() == 0 else "no lead that was not won"
        return {c.column: Fit(None, None, None, f"the regression of {rules[0].score} has {none}") for c in rules}
    out: dict[str, Fit] = {}
    kept: list[int] = []
    for i, c in enumerate(rules):
        left_out = _left_out(rules, grouped, i, kept)
        if left_out is None:
            kept.append(i)
        else:
            out[c.column] = Fit(None, None, None, left_out)
    if not kept:
        return out
    fitted = _glm(np.column_stack([np.ones(x.shape[0]), x[:, kept]]), n, won, rules[0].score)
    if isinstance(fitted, str):
        return out | {rules[i].column: Fit(None, None, None, fitted) for i in kept}
    params, ci, p_values = fitted
    for k, i in enumerate(kept, start=1):
        out[rules[i].column] = Fit(float(params[k]), (float(ci[k][0]), float(ci[k][1])), float(p_values[k]), "")
    return out


def _left_out(rules: list[RuleColumn], grouped: Grouped, i: int, kept: list[int]) -> str | None:
    """Why rule `i` cannot be in its score's regression, or None: its value is the same for every lead; the
    leads it fired for (or those it did not) all won or none did, which alone makes the fit fail (separation);
    or it adds nothing to the rules already in (`kept`): the same leads as one, the others of one, or a
    combination of several."""
    x, n, won = grouped
    if not x.shape[0] or np.ptp(x[:, i]) == 0:
        return "its value is the same for every lead"
    fired = x[:, i] != 0
    for side, said in ((fired, "its {}"), (~fired, "the {} it did not fire for")):
        leads, wins = int(n[side].sum()), int(won[side].sum())
        if wins in (0, leads):
            return f"{said.format(quantity(leads, 'leads'))} {'never won' if wins == 0 else 'all won'}"
    design = np.column_stack([np.ones(x.shape[0]), x[:, kept], x[:, i]])
    if np.linalg.matrix_rank(design) == design.shape[1]:
        return None
    for j in kept:
        if np.array_equal(fired, x[:, j] != 0):
            return f'it fires for the same leads as "{rules[j].label}"'
        if np.array_equal(fired, x[:, j] == 0):
            return f'it fires for exactly the leads "{rules[j].label}" does not'
    named = ", ".join(f'"{rules[j].label}"' for j in kept)
    return f"the regression cannot tell it from {named} together"


def _glm(design: np.ndarray[Any, Any], n: np.ndarray[Any, Any], won: np.ndarray[Any, Any],
         score: str) -> str | tuple[Any, Any, Any]:
    """statsmodels' GLM Binomial on grouped rows: (params, intervals, p-values), or why the fit fails."""
    import statsmodels.api as sm
    from statsmodels.tools import sm_exceptions

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

def score_directions(measured: Measured) -> dict[str, Direction]:
    """Each score's reading, from its thresholds in the stages and grades of the measured policy."""
    found = sites(measured.policy.tree, measured.handoff.stages)
    return {s.name: _direction(s.name, {site.op[0] for site in found if site.score == s.name})
            for s in measured.policy.tree.scores}


def _direction(score: str, ops: set[str]) -> Direction:
    """`ops`: the first character of each of the score's thresholds' operators ('>' or '<')."""
    if ops == {"<"}:
        return Direction(-1, f"{score} hands over and grades its lowest values (its thresholds are <= or <), so "
                             "fewer points read as more wins")
    if ops == {">"}:
        return Direction(1, "")
    if not ops:
        return Direction(1, f"{score} has no threshold in stages or grades to say which way it reads, so more "
                            "points read as more wins")
    return Direction(1, f"{score}'s thresholds read both ways (>= and <=), so more points read as more wins")


def _evidence(rule: RuleColumn, counts: Counts, fit: Fit, direction: Direction) -> RuleEvidence:
    lift, ci = _lift(counts)
    verdict, why = _verdict(rule, counts, fit, direction)
    return RuleEvidence(rule, counts.fired, counts.won_fired, counts.not_fired, counts.won_not,
                        won_share(counts.won_fired, counts.fired), won_share(counts.won_not, counts.not_fired),
                        lift, ci, fit.coefficient, fit.ci, fit.p_value, verdict, why)


def _too_few(rule: RuleColumn, counts: Counts) -> str | None:
    """Why the rule's leads are too few to judge it, or None."""
    if counts.fired == 0:
        return "it took points from no lead" if rule.kind == "decay" else "it fired for no lead"
    if counts.not_fired == 0:
        return ("it took points from every lead" if rule.kind == "decay" else "it fired for every lead"
                ) + " (none to compare with)"
    if counts.fired < MIN_LEADS:
        return f"only {quantity(counts.fired, 'leads')} fired (at least {MIN_LEADS} needed)"
    if counts.not_fired < MIN_LEADS:
        return f"only {quantity(counts.not_fired, 'leads')} did not fire (at least {MIN_LEADS} needed)"
    return None


def _verdict(rule: RuleColumn, counts: Counts, fit: Fit, direction: Direction) -> tuple[Verdict, str]:
    """The coefficient's interval against the sign the rule's points give it where its score is read (points x
    the score's direction: -30 points on a score whose lowest values are its best expect more wins)."""
    too_few = _too_few(rule, counts)
    if too_few is not None:
        return "no evidence", too_few
    if fit.coefficient is None or fit.ci is None:
        return "no evidence", fit.why
    low, high = fit.ci
    stated = (f"coefficient {fit.coefficient:.2f} ({LEVEL:.0%} interval {low:.2f} to {high:.2f}) "
              f"{PER[rule.kind]}")
    points = "the decay (a point taken, a point less)" if rule.kind == "decay" else f"{_points(rule.points)} points"
    if low <= 0 <= high:
        return "no evidence", f"{stated} includes 0"
    if rule.points == 0:
        return "contradicted", f"{stated} excludes 0, but the rule earns 0 points"
    reading = f"; {direction.said}" if direction.said else ""
    expected = (1 if rule.points > 0 else -1) * direction.sign
    if (low > 0) == (expected > 0):
        return "supported", f"{stated} agrees with {points}{reading}"
    return "contradicted", f"{stated} goes against {points}{reading}"


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
