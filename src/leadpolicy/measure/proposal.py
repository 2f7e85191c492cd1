"""The proposed next version: points re-fitted to the evidence, thresholds moved so that the handoffs do not
grow, written as the next minor version (comments kept, fmt-clean) and backtested against the current one.

Per score, the scale from log-odds to points is the weighted least-squares k of points ≈ k × coefficient over
its supported rules (weights 1 / se², se from the coefficient's interval); a score with no supported rule is
not re-fitted. A supported rule moves to k × coefficient, rounded to the score's step, only when its points lie
outside k × its interval; a contradicted rule goes to 0, or is flipped to k × coefficient when the evidence is
strong (p < STRONG) and the score has a scale; a rule with no evidence is left as it is, and so is a decay
(measured, never re-fitted). So when the outcomes support every rule, nothing changes and no file is written. A
per rule keeps the units its cap allows (its cap scales with its points).
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Literal

from lark import Token

from leadpolicy.api import Policy, from_tree
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.formatter import format_policy, number
from leadpolicy.language.parser import parse_text
from leadpolicy.measure import thresholds
from leadpolicy.measure.backtest import backtest
from leadpolicy.measure.calibration import LEVEL, Proposal, RuleEvidence, ThresholdEvidence
from leadpolicy.measure.evidence import captured
from leadpolicy.measure.feedback import FeedbackInput, Measured, local_time, measure, tally, won_share
from leadpolicy.measure.render import leads, percent
from leadpolicy.measure.sample_cases import SampleCheck, check_samples, header_line
from leadpolicy.measure.thresholds import Distribution, Floor, Raise, Site, on_grid, score_step
from leadpolicy.semantics import ir

STRONG = 0.001  # a contradicted rule is flipped (not zeroed) when its coefficient's p-value is below this
MAX_RAISES = 40  # at most this many raises, over every floor, each of one threshold and backtested
Handoffs = int | Literal["same"]
RuleKey = tuple[str, int]  # (score, the rule's index among its score's rules)
Warned = frozenset[tuple[str, int]]  # (code, line) of each warning check gives a version


class ProposalError(ValueError):
    """A proposed version that does not check (moved thresholds can leave an entry unreachable), or is not
    fmt-clean. `lines`: where its errors are, in `tree` (the proposal parsed; None when it did not parse)."""

    def __init__(self, message: str, tree: ast.Policy | None = None, lines: frozenset[int] = frozenset()):
        super().__init__(message)
        self.tree = tree
        self.lines = lines


def threshold_evidence(policy: Policy, measured: Measured, band: Decimal | None) -> list[ThresholdEvidence]:
    """Each threshold of the policy (see `thresholds`) with the won rates past it, just above and just below
    it; `band` None: each score's default band, widened where a side of it would hold no lead."""
    scores = {s.name: s for s in policy.ir.scores}
    found = thresholds.sites(policy.tree, measured.handoff.stages)
    if band is not None:
        return [thresholds.evidence(measured, site, band) for site in found]
    dists = {name: Distribution.of(measured, name) for name in {site.score for site in found}}
    return [thresholds.evidence(measured, site, thresholds.holding_band(
        dists[site.score], site.value, thresholds.default_band(scores[site.score]))) for site in found]


@dataclass
class Refit:
    """The re-fitted points and, on them, the threshold keeping each side's count (`same_count`)."""

    thresholds: list[ThresholdEvidence]
    changes: list[dict[str, Any]]  # the points changed, as the proposal lists them
    points: dict[RuleKey, tuple[Decimal, Decimal | None]]  # the new (points, cap) of each rule changed
    sites: list[Site]  # where each threshold is written, in the order of `thresholds`
    tree: ast.Policy
    comments: list[Token] = field(default_factory=list)
    leads: int = 0  # leads decided
    handed: int = 0  # of them handed off now
    grids: dict[str, Decimal] = field(default_factory=dict)  # each score's threshold grid (`thresholds.grid`)
    # each score's values on the re-fitted points (the proposal's: moving thresholds changes no score)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    text: str = ""  # the policy's source, whose comments the notes check
    # the warnings of the current version laid out as the candidates are: a candidate may add none
    warned: Warned | None = None


# ---------------------------------------------------------------- re-fitting the points

def _se(rule: RuleEvidence) -> float | None:
    """The coefficient's standard error, from its LEVEL interval."""
    if rule.coefficient_ci is None:
        return None
    z = statistics.NormalDist().inv_cdf(0.5 + LEVEL / 2)
    se = (rule.coefficient_ci[1] - rule.coefficient_ci[0]) / (2 * z)
    return se if se > 0 else None


def scale(rules: list[RuleEvidence]) -> float | None:
    """k of points ≈ k × coefficient over the supported rules, weighted by 1 / se²; None without one."""
    pairs = [(float(r.rule.points), r.coefficient, _se(r)) for r in rules
             if r.verdict == "supported" and r.coefficient is not None]
    weighted = [(p, b, 1 / se**2) for p, b, se in pairs if se is not None and b]
    denominator = sum(w * b * b for _, b, w in weighted)
    return sum(w * p * b for p, b, w in weighted) / denominator if denominator else None


def _rounded(value: float, grid: Decimal) -> Decimal:
    return on_grid(Decimal(repr(value)), grid, ROUND_HALF_EVEN)


def moved(rule: RuleEvidence, k: float | None, grid: Decimal) -> tuple[Decimal, str] | None:
    """The rule's new points and why, or None when it stays."""
    points, b = rule.rule.points, rule.coefficient
    if k is None or b is None or rule.coefficient_ci is None:
        zeroed = rule.verdict == "contradicted" and points != 0
        return (Decimal(0), f"{_why_zero(rule)}; {_figures(rule)}") if zeroed else None
    lo, hi = sorted((k * rule.coefficient_ci[0], k * rule.coefficient_ci[1]))
    fitted = _rounded(k * b, grid)
    if rule.verdict == "supported":
        if lo <= float(points) <= hi:
            return None
        fitted = fitted if fitted != 0 else grid.copy_sign(points)  # supported: never zeroed, its sign kept
        why = f"supported, but {number(points)} lies outside the re-fitted interval {lo:.1f} to {hi:.1f}"
    elif rule.verdict == "contradicted":
        strong = rule.p_value is not None and rule.p_value < STRONG
        fitted = fitted if strong else Decimal(0)
        why = (_why_zero(rule) if not strong else f"contradicted strongly (p {_p(rule.p_value)}): "
               + ("flipped to the evidence" if fitted else "the evidence's points round to 0"))
    else:
        return None
    return (fitted, f"{why}; {_figures(rule)}") if fitted != points else None


def _why_zero(rule: RuleEvidence) -> str:
    return f"contradicted (p {_p(rule.p_value)}): set to 0 until the evidence is strong"


def _p(value: float | None) -> str:
    return "-" if value is None else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _figures(rule: RuleEvidence) -> str:
    """The figures a reviewer checks: won rates where it fired and not, the coefficient and its interval."""
    ci = rule.coefficient_ci
    interval = f", {LEVEL:.0%} interval {ci[0]:+.2f} to {ci[1]:+.2f}" if ci is not None else ""
    coefficient = f"log-odds {rule.coefficient:+.2f}{interval}" if rule.coefficient is not None else "no coefficient"
    return (f"won {percent(rule.won_rate_fired)} of {rule.fired:,} where it fired, {percent(rule.won_rate_not)} of "
            f"{rule.not_fired:,} where not; {coefficient}")


def _new_cap(rule: RuleEvidence, points: Decimal, grid: Decimal) -> Decimal | None:
    """A per rule's cap for its new points, keeping the units it allows (its cap unchanged at 0 points)."""
    cap, old = rule.rule.cap, rule.rule.points
    if cap is None or points == 0 or old == 0:
        return cap
    return max(on_grid(abs(cap) * abs(points) / abs(old), grid, ROUND_HALF_EVEN), grid)


def refitted_points(policy: Policy, rules: list[RuleEvidence]) -> tuple[dict[RuleKey, tuple[Decimal, Decimal | None]],
                                                                          list[dict[str, Any]]]:
    """The new (points, cap) of each rule that moves, and the changes as the proposal lists them."""
    points: dict[RuleKey, tuple[Decimal, Decimal | None]] = {}
    changes: list[dict[str, Any]] = []
    for score in policy.ir.scores:
        # A decay is measured, never re-fitted: its points (per point it took) are no number the policy writes.
        evidence = [r for r in rules if r.rule.score == score.name and r.rule.kind in ("points", "per")]
        k, grid = scale(evidence), score_step(score)
        for rule in evidence:
            found = moved(rule, k, grid)
            if found is None:
                continue
            new, why = found
            cap = _new_cap(rule, new, grid)
            points[(score.name, rule.rule.index)] = (new, cap)
            if cap != rule.rule.cap and rule.rule.cap is not None:
                why += f"; its cap {number(rule.rule.cap)} → {number(cap)} (the same units)"  # type: ignore[arg-type]
            changes.append({"what": "points", "where": f"{score.name}, {rule.rule.label}", "from": rule.rule.points,
                            "to": new, "why": why, "line": rule.rule.line})
    return points, changes


def changed_scores(policy: Policy, refitted: set[str]) -> set[str]:
    """The scores whose values change when the points of `refitted` do: those and every score reading one of
    them (a `per fit` rule, a condition on a score or on its grade), however far down."""
    grades = {g.name: g.source for g in policy.ir.grades}
    changed = set(refitted)
    for score in policy.ir.scores:  # a score reads only the scores and grades above it
        read = {grades.get(ref.name, ref.name) for ref in _refs(score.rules)}
        if read & changed:
            changed.add(score.name)
    return changed


def refit_reasons(policy: Policy, points: dict[RuleKey, Any]) -> dict[str, str]:
    """Why each score takes other values when the rules in `points` (refitted_points' first part) move: "points"
    (its own are re-fitted) or "inputs" (a score it reads is); a score missing here keeps its values."""
    refitted = {score for score, _ in points}
    return {**dict.fromkeys(changed_scores(policy, refitted), "inputs"), **dict.fromkeys(refitted, "points")}


def _refs(node: Any) -> list[ir.Ref]:
    """The names a part of the IR reads (its scores and grades among them)."""
    if isinstance(node, ir.Ref):
        return [node]
    if isinstance(node, (tuple, list)):
        return [ref for item in node for ref in _refs(item)]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return [ref for f in dataclasses.fields(node) for ref in _refs(getattr(node, f.name))]
    return []


# ---------------------------------------------------------------- the tree with new numbers

def with_numbers(tree: ast.Policy, points: dict[RuleKey, tuple[Decimal, Decimal | None]],
                 moves: dict[int, Decimal], sites: list[Site], version: str | None = None) -> ast.Policy:
    """The tree with each rule's points (and cap) and each threshold (by its index in `sites`) replaced."""
    by_part: dict[Any, dict[int, Decimal]] = {}
    for index, value in moves.items():
        by_part.setdefault(sites[index].part, {})[sites[index].position] = value
    scores = {s.name for s in tree.scores}
    items: list[ast.Node] = []
    stage_index, grade_index = 0, 0
    for item in tree.items:
        if isinstance(item, ast.Score):
            item = _score_with(item, points)
        elif isinstance(item, ast.Stages):
            entries = []
            for entry in item.entries:
                entries.append(_entry_with(entry, by_part.get(("stage", stage_index), {}), scores))
                stage_index += 1
            item = dataclasses.replace(item, entries=tuple(entries))
        elif isinstance(item, ast.Grade):
            item = dataclasses.replace(item, entries=tuple(
                _entry_with(e, by_part.get(("grade", grade_index, i), {}), scores) for i, e in enumerate(item.entries)))
            grade_index += 1
        items.append(item)
    return dataclasses.replace(tree, items=tuple(items), version=version or tree.version)


def _entry_with(entry: Any, values: dict[int, Decimal], scores: set[str]) -> Any:
    if not values or entry.condition is None:
        return entry
    return dataclasses.replace(entry, condition=thresholds.rewritten(entry.condition, values, scores))


def _score_with(score: ast.Score, points: dict[RuleKey, tuple[Decimal, Decimal | None]]) -> ast.Score:
    items, index = [], 0
    for item in score.items:
        if isinstance(item, (ast.PointsRule, ast.PerRule)):
            new = points.get((score.name, index))
            if new is not None:
                item = dataclasses.replace(item, points=new[0])
                if isinstance(item, ast.PerRule) and new[1] is not None:
                    item = dataclasses.replace(item, cap=new[1])
            index += 1
        items.append(item)
    return dataclasses.replace(score, items=tuple(items))


def checked_policy(text: str, name: str = "<proposal>", prove: bool = True,
                   warned: Warned | None = None) -> tuple[Policy, ast.Policy, list[Token]]:
    """The proposal loaded as `check` loads it, with what the solver proves (guarantees, unreachable entries;
    `prove` False: already proved, as a candidate of the same numbers); one that does not check, is not
    fmt-clean or (given the current version's `warned`, laid out alike) has a warning the current version does
    not have raises ProposalError."""
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(text, name)
    found = list(loaded.diagnostics)
    if prove and not any(d.is_error for d in found) and loaded.policy is not None:  # as `check` goes on
        found += _proved(name, loaded.policy)
    errors = [d for d in found if d.is_error]
    if errors or loaded.policy is None:
        raise ProposalError(errors[0].message if errors else "the proposed version does not parse", loaded.policy,
                            frozenset(d.span.line for d in errors))
    new = [d for d in found if warned is not None and (d.code, d.span.line) not in warned]
    if new:
        raise ProposalError(_new_warning(new[0], text), loaded.policy, frozenset(d.span.line for d in new))
    if format_policy(loaded.policy, loaded.comments) != text:
        raise ProposalError("the proposed version is not fmt-clean", loaded.policy)
    return from_tree(loaded.policy, name), loaded.policy, loaded.comments


def _proved(name: str, tree: ast.Policy) -> list[Diagnostic]:
    from leadpolicy.proofs.diagnostics import proof_diagnostics
    from leadpolicy.proofs.guarantees import DEFAULT_TIMEOUT

    return proof_diagnostics(name, tree, DEFAULT_TIMEOUT)


def _new_warning(found: Diagnostic, text: str) -> str:
    written = " ".join(text.split("\n")[found.span.line - 1].split()) if found.span.line else ""
    return (f"check would warn {found.code}" + (f" on `{written}`" if written else "")
            + f": {found.message}, a warning the current version does not have")


def warnings_of(text: str) -> Warned:
    """(code, line) of each warning check gives the version `text` (one without errors)."""
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(text, "<current>")
    found = list(loaded.diagnostics) + (_proved("<current>", loaded.policy) if loaded.policy is not None else [])
    return frozenset((d.code, d.span.line) for d in found if not d.is_error)


# ---------------------------------------------------------------- the re-fit

def refit(policy: Policy, text: str, rules: list[RuleEvidence], found: list[ThresholdEvidence], measured: Measured,
          data: FeedbackInput, folder: Path) -> Refit:
    """Re-fit the points to the evidence (see the module) and give each threshold its `same_count` on the
    re-fitted scores: on its score's threshold grid, the threshold keeping no more leads on its side than now
    (`propose` then keeps the handoffs). Without a change, each threshold as it is."""
    parsed = parse_text(text)
    tree = parsed.policy if parsed.policy is not None else policy.tree
    sites = thresholds.sites(tree, measured.handoff.stages)
    overall = tally(measured, [])[0]
    points, changes = refitted_points(policy, rules)
    grids = {s.name: thresholds.grid(score_step(s), [site.value for site in sites if site.score == s.name])
             for s in policy.ir.scores}
    result = Refit(found, changes, points, sites, tree, parsed.comments, overall["leads"], overall["handed_off"],
                   grids, text=text)
    if not changes:
        result.thresholds = [dataclasses.replace(t, same_count={"value": t.value, "leads": t.leads_past,
                                                                "won_rate": t.won_rate_past}) for t in found]
        return result
    # Only measured (the same structure, other numbers): whether it checks is the proposal's question.
    refitted = measure(from_tree(with_numbers(tree, points, {}, sites)), data, folder / "refit")
    result.distributions = {name: Distribution.of(refitted, name) for name in {s.score for s in sites}}
    result.thresholds = [
        dataclasses.replace(t, same_count=thresholds.same_count(
            result.distributions[t.score], t.op, t.value, t.leads_past, grids[t.score]))
        for t in found]
    return result


# ---------------------------------------------------------------- the proposal

def next_version(version: str) -> str:
    import semver

    return str(semver.Version.parse(version).bump_minor())


@dataclass(frozen=True)
class Taken:
    """A raise kept, with what it took off the whole proposal against the version just before it."""

    value: Decimal
    fewer_handed: int
    fewer_won: int  # won leads no longer captured


@dataclass
class Raises:
    """The raises kept to hold the handoffs to `allowed`, by threshold, from the version with every threshold at
    its same count (`handed` leads handed off, `won` won leads captured)."""

    allowed: int
    handed: int = 0
    won: int = 0
    taken: dict[int, list[Taken]] = field(default_factory=dict)


def threshold_changes(refit: Refit, moves: dict[int, Decimal], raises: Raises | None = None) -> list[dict[str, Any]]:
    """Each moved threshold, its why with the figures of the proposed version (its leads on the proposed
    points, and for a floor raised to keep the handoffs, each raise with what it took off the whole proposal
    against the version just before it)."""
    changes = []
    for index, value in sorted(moves.items()):
        site, t = refit.sites[index], refit.thresholds[index]
        dist = refit.distributions.get(site.score)
        past, won = dist.past(site.op, value) if dist is not None else (t.leads_past, 0)
        rate = f"; they won {percent(won_share(won, past))} (was {percent(t.won_rate_past)})" if past else ""
        why = (f"keeps {leads(past)} on its side on the proposed points (was {t.leads_past:,} on the "
               f"current ones){rate}")
        steps = raises.taken.get(index, []) if raises is not None else []
        if raises is not None and steps:
            why += f"; {_raised_why(raises, steps, (t.same_count or {}).get('value', site.value))}"
        changes.append({"what": "threshold", "where": f"{site.place}, {site.score} {site.op}", "from": site.value,
                        "to": value, "why": why, "line": site.line})
    return changes


def _raised_why(raises: Raises, steps: list[Taken], kept: Decimal) -> str:
    taken = "; ".join(f"to {number(r.value)}: {r.fewer_handed:,} fewer leads handed off and {r.fewer_won:,} fewer "
                      "won leads captured" for r in steps)
    return (f"raised from {number(kept)} (the same count) to hand off at most {raises.allowed:,}: of the handoff "
            f"thresholds, the leads just past it won least per handoff removed (with every threshold at its same "
            f"count, the proposal handed off {raises.handed:,} leads and captured {raises.won:,} won leads; each "
            f"raise is counted against the version just before it: {taken})")


def _gate(handoff: bool, op: str) -> bool:
    """A floor of a handoff stage (`fit >= 50` in a stage Sales takes): raising it hands off fewer leads (moving
    a ceiling, `fit < 90`, would drop the best leads instead)."""
    return handoff and op in (">=", ">")


def floors(refit: Refit, moves: dict[int, Decimal], frozen: set[int]) -> list[Floor]:
    """The floors of the handoff stages at their values in `moves`, but those whose raise would not check."""
    return [Floor(i, refit.tree.stages[site.part[1]].name, site.score, site.op, moves.get(i, site.value),
                  refit.grids.get(site.score, Decimal(1)))
            for i, site in enumerate(refit.sites) if _gate(site.handoff, site.op) and i not in frozen]


def propose(policy: Policy, refit: Refit, measured: Measured, data: FeedbackInput, folder: Path, out: Path | None,
            handoffs: Handoffs, policy_file: Path | None = None) -> Proposal:
    """Write the proposed next version to `out` and backtest it against `policy` on the same leads; with no
    change, nothing is written (a Proposal with no changes, the current version and no backtest). Thresholds
    whose moves would not check are left as written, and the notes say so; a proposal that still does not
    check is not written (its changes listed, no backtest, the notes saying why). The cases of the samples file
    beside `policy_file` that the proposal decides otherwise are listed (`sample_cases`)."""
    text = format_policy(refit.tree, refit.comments)
    target = out if out is not None else Path(f"{policy.id}.proposed.policy")
    if not refit.changes:
        return Proposal(target, policy.version, text, [], None)
    version = next_version(policy.version)
    refit.warned = warnings_of(text)
    moves = {i: Decimal(str(t.same_count["value"])) for i, t in enumerate(refit.thresholds)
             if t.same_count is not None and Decimal(str(t.same_count["value"])) != t.value}
    notes: list[str] = []
    built = _buildable(refit, moves, version, notes)
    if built is None:
        return Proposal(target, version, text, refit.changes + threshold_changes(refit, moves), None,
                        notes=notes)
    moves, candidate = built
    allowed = refit.handed if handoffs == "same" else handoffs
    moves, report, raises = _kept_handoffs(policy, refit, candidate, moves, version, (measured, data, folder),
                                           allowed, notes)
    moves = {i: v for i, v in moves.items() if v != refit.sites[i].value}  # raised back to the value written
    changes = refit.changes + threshold_changes(refit, moves, raises)
    notes += stale_comments(refit, changes)
    tree = with_numbers(refit.tree, refit.points, moves, refit.sites, version)
    samples = check_samples(policy_file, policy.tree, tree)
    if samples.problem is not None:
        notes.append(samples.problem)
    header = _header(policy, refit, (measured, data), version, (changes, set(moves)), report, samples, notes)
    final = _with_header(tree, refit.comments, header)
    # the last candidate's numbers (its moves were proved as it) under the header comment: the solver's checks,
    # seconds whatever the leads, are not run twice on one version
    _, final_tree, _ = checked_policy(final, prove=False)
    if out is not None:
        out.write_text(final, encoding="utf-8")
    from leadpolicy.governance.diff import changes as diff_changes

    return Proposal(target, version, final, changes, report,
                    [c.text for c in diff_changes(policy.tree, final_tree)], notes, samples.updates)


def _candidate(refit: Refit, moves: dict[int, Decimal], version: str) -> Policy:
    tree = with_numbers(refit.tree, refit.points, moves, refit.sites, version)
    return checked_policy(format_policy(tree, refit.comments), warned=refit.warned)[0]


def _ladder(site: Site) -> tuple[Any, ...]:
    """The first-match list a threshold is in: the stages, or one grade."""
    return ("stage",) if site.part[0] == "stage" else ("grade", site.part[1])


def _ladders_at(tree: ast.Policy | None, lines: frozenset[int]) -> set[tuple[Any, ...]]:
    """The first-match lists with an entry on one of `lines` (where the checker found an error)."""
    if tree is None:
        return set()
    found: set[tuple[Any, ...]] = {("stage",)} if any(e.span.line in lines for e in tree.stages) else set()
    return found | {("grade", g) for g, grade in enumerate(tree.grades) if any(e.span.line in lines
                                                                               for e in grade.entries)}


def _buildable(refit: Refit, moves: dict[int, Decimal], version: str,
               notes: list[str]) -> tuple[dict[int, Decimal], Policy] | None:
    """The moves that check and the proposal they make: the thresholds of a list (the stages, a grade) where
    moving them leaves an error (an entry earlier ones always match first) stay as written, and with an error
    elsewhere (a guarantee broken) those of the first list moved, one list at a time; without any move that
    still fails, None (the notes say why)."""
    while True:
        try:
            return moves, _candidate(refit, moves, version)
        except ProposalError as exc:
            if not moves:
                notes.append(f"the re-fitted points do not check ({exc}): nothing is written")
                return None
            moved = [_ladder(refit.sites[i]) for i in sorted(moves)]
            # the lists where the errors are, else (a guarantee broken) the first list moved, the stages first
            implicated = _ladders_at(exc.tree, exc.lines) & set(moved) or {moved[0]}
            kept = {i: v for i, v in moves.items() if _ladder(refit.sites[i]) not in implicated}
            places = dict.fromkeys(refit.sites[i].place for i in moves if i not in kept)
            notes.append(f"the thresholds of {', '.join(places)} are left as written: moved to keep their counts, "
                         f"they would not check ({exc})")
            moves = kept


@dataclass
class _Backtested:
    """A candidate with its thresholds' moves, measured and backtested against the current version."""

    moves: dict[int, Decimal]
    candidate: Policy
    measured: Measured
    report: dict[str, Any]

    @property
    def handed(self) -> int:
        return int(self.report["new"]["handed_off"])

    @property
    def won(self) -> int:
        """Won leads it hands off."""
        return int(self.report["new"]["won_captured"])


def _backtested(policy: Policy, moves: dict[int, Decimal], candidate: Policy,
                inputs: tuple[Measured, FeedbackInput, Path], attempt: int) -> _Backtested:
    measured, data, folder = inputs
    work = folder / f"backtest-{attempt}"
    new = measure(candidate, data, work / "new")
    return _Backtested(moves, candidate, new, backtest(policy, candidate, data, work, old=measured, new=new))


def _next_raise(refit: Refit, at: _Backtested, broken: set[int], useless: set[int], version: str,
                notes: list[str]) -> tuple[Raise, Policy] | str:
    """The cheapest raise of one floor from `at` that checks, with its candidate; or why there is none. A floor
    whose raise would not check (an error, or a warning the current version does not have) joins `broken`, and
    the notes say why it was not raised."""
    why = ("raised further they would hand off no fewer" if floors(refit, at.moves, set())
           else "no handoff stage asks for a score at or above a number")
    while found := floors(refit, at.moves, broken | useless):
        step = thresholds.cheapest_raise(at.measured.con, found)
        if step is None:
            return ("no lead is left past those that can still be raised; the others would not check (see the "
                    "notes)" if broken else "no lead of theirs is left past them")
        try:
            return step, _candidate(refit, {**at.moves, step.floor.index: step.value}, version)
        except ProposalError as exc:
            broken.add(step.floor.index)
            floor = step.floor
            said = f"stage {floor.stage}'s {floor.score} {floor.op} {number(floor.value)}"
            notes.append(f"{said} is not raised to {number(step.value)}: {exc}")
            why = f"raised further they would not check (see the note on {said})"
    return why


def _kept_handoffs(policy: Policy, refit: Refit, candidate: Policy, moves: dict[int, Decimal], version: str,
                   inputs: tuple[Measured, FeedbackInput, Path], allowed: int,
                   notes: list[str]) -> tuple[dict[int, Decimal], dict[str, Any], Raises]:
    """Backtest the candidate; while it hands off more than `allowed`, raise ONE floor of a handoff stage to its
    next value (the floor whose leads just past it, among those the candidate hands off, win least per handoff
    removed) and backtest again; a raise that hands off no fewer (its leads fall to another handoff stage) is
    undone, and that floor waits until another raise is kept. Every choice is made on the candidate's counts,
    whatever `allowed` is, so a lower limit only goes further along the same raises: it never ends with more
    handoffs than a higher one. The moves backtested last, their backtest and the raises kept."""
    at = _backtested(policy, moves, candidate, inputs, 0)
    raised = Raises(allowed, at.handed, at.won)
    broken: set[int] = set()  # floors whose raise would not check
    useless: set[int] = set()  # floors whose last raise handed off no fewer
    for attempt in range(1, MAX_RAISES + 1):
        if at.handed <= allowed:
            return at.moves, at.report, raised
        found = _next_raise(refit, at, broken, useless, version, notes)
        if isinstance(found, str):
            break
        step, trial = found
        tried = _backtested(policy, {**at.moves, step.floor.index: step.value}, trial, inputs, attempt)
        if tried.handed >= at.handed:
            useless.add(step.floor.index)
            continue
        raised.taken.setdefault(step.floor.index, []).append(
            Taken(step.value, at.handed - tried.handed, at.won - tried.won))
        at, useless = tried, set()
    if at.handed > allowed:
        why = found if isinstance(found, str) else f"they were raised {MAX_RAISES} times"
        new = at.report["new"]
        notes.append(f"hands off {at.handed:,} leads, more than the {allowed:,} allowed: "
                     + (why if why.startswith("no handoff stage") else f"its handoff thresholds cannot be raised "
                        f"further ({why}); they win {percent(new['precision'])} and capture {new['won_captured']:,} "
                        "won leads"))
    return at.moves, at.report, raised


def stale_comments(refit: Refit, changes: list[dict[str, Any]]) -> list[str]:
    """A note for each comment on a changed line, just above it or just above its block, that names the
    number it changes ("the comment on line 76 of 1.2.0 says 50: check it": its line in the current version; the
    proposal's header moves it): comments are kept as written, never edited."""
    lines = refit.text.split("\n")
    said = {c.line: str(c).lstrip("#").strip() for c in refit.comments if c.line is not None}
    notes: list[str] = []
    for change in changes:
        old = number(change["from"]).lstrip("+")
        pattern = re.compile(rf"(?<![\d.]){re.escape(old)}(?!\d|\.\d)")
        for line in _comment_lines(lines, said, change["line"]):
            note = (f"the comment on line {line} of {refit.tree.version} says {old}: check it ({change['where']} "
                    f"is now {number(change['to'])})")
            if pattern.search(said[line]) and note not in notes:
                notes.append(note)
    return notes


def _comment_lines(lines: list[str], said: dict[int, str], at: int) -> list[int]:
    """The comment lines on line `at`, right above it, and right above the line that opens its block."""
    found = [at] if at in said else []
    opener = at - 1
    while opener >= 1 and not lines[opener - 1].rstrip().endswith("{"):
        opener -= 1
    for start in dict.fromkeys((at - 1, opener - 1)):
        line = start
        while line >= 1 and line in said and not lines[line - 1].strip().startswith(("}", "policy")) \
                and lines[line - 1].lstrip().startswith("#"):
            found.append(line)
            line -= 1
    return sorted(set(found))


def _header(policy: Policy, refit: Refit, inputs: tuple[Measured, FeedbackInput], version: str,
            changed: tuple[list[dict[str, Any]], set[int]], report: dict[str, Any], samples: SampleCheck,
            notes: list[str]) -> list[str]:
    """The comment lines the proposal opens with: on what it was calibrated, each change and why (`changed`:
    the changes and the thresholds moved), the thresholds left as written whose counts change, the backtest, the
    sample cases to update."""
    changes, moved = changed
    measured, data = inputs
    as_of, now = local_time(data.as_of, policy.ir), local_time(data.now, policy.ir)
    old, new = report["old"], report["new"]
    team = measured.handoff.team or "the other team"
    lines = [f"Calibrated on {refit.leads:,} leads decided as of {as_of}, outcomes up to {now}: "
             f"{policy.version} → {version}."]
    lines += [_change_line(c) for c in changes] + stayed_counts(policy, refit, moved)
    lines.append(f"Backtest: hands {new['handed_off']:,} leads to {team} (was {old['handed_off']:,}) at "
                 f"{percent(new['precision'])} won (was {percent(old['precision'])}) and {captured(old, new)}.")
    said = header_line(samples)
    lines += [said] if said is not None else []
    lines += [f"Note: {n}." for n in notes]
    return lines


def stayed_counts(policy: Policy, refit: Refit, moved: set[int]) -> list[str]:
    """A line for each threshold left as written whose count changes on the proposed points: its score was
    re-fitted, or a score it reads was (U2: tier A went from 98 leads to 69 without a word)."""
    reasons = refit_reasons(policy, refit.points)
    lines = []
    for index, (site, t) in enumerate(zip(refit.sites, refit.thresholds)):
        dist = refit.distributions.get(site.score)
        if index in moved or site.score not in reasons or dist is None:
            continue
        leads = dist.past(site.op, site.value)[0]
        why = "its score's points were re-fitted" if reasons[site.score] == "points" else "its inputs were re-fitted"
        if leads != t.leads_past:
            lines.append(f"{site.place}: {site.score} {site.op} {number(site.value)} stays: it holds {leads:,} "
                         f"leads on the proposed points (was {t.leads_past:,}), as {why}.")
    return lines


def _change_line(change: dict[str, Any]) -> str:
    """`fit, Core industry: +20 → -25 points: why.` or `stage sql: fit >= 50 → fit >= 30: why.`"""
    if change["what"] == "points":
        return (f"{change['where']}: {number(change['from'], signed=True)} → {number(change['to'], signed=True)} "
                f"points: {change['why']}.")
    place, compared = change["where"].rsplit(", ", 1)
    return f"{place}: {compared} {number(change['from'])} → {compared} {number(change['to'])}: {change['why']}."


def _with_header(tree: ast.Policy, comments: list[Token], header: list[str]) -> str:
    """The formatted text with the header comment right above the `policy` line, formatted once more."""
    lines = format_policy(tree, comments).split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("policy "))
    # A reason may hold a line break or a control character: a comment line holds neither.
    said = [" ".join("".join(c if c.isprintable() else " " for c in h).split()) for h in header]
    text = "\n".join([*lines[:at], *(f"# {h}" for h in said), *lines[at:]])
    parsed = parse_text(text)
    if parsed.policy is None:
        raise ProposalError("the proposed version's header does not parse")
    return format_policy(parsed.policy, parsed.comments)
