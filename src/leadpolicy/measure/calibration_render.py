"""A calibration as JSON (other tools read it), text or Markdown (the pull-request description: the verdict line,
the evidence rule by rule, the thresholds, the proposed change in domain words and its backtest)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from leadpolicy.api import Policy
from leadpolicy.language.formatter import condition as condition_text
from leadpolicy.language.formatter import number as policy_number
from leadpolicy.measure.calibration import LEVEL, Calibration, RuleEvidence, ThresholdEvidence
from leadpolicy.measure.evidence import GROUPS_SHOWN
from leadpolicy.measure.feedback import won_share
from leadpolicy.measure.proposal import refit_reasons, refitted_points, scale
from leadpolicy.measure.render import finished, leads, percent, render_backtest, table
from leadpolicy.outputs import md
from leadpolicy.publish.calibration import UNITS

RULE_HEADER = ["score", "rule", "line", "points", "fired", "won rate fired", "won rate not",
               f"lift ({LEVEL:.0%} interval)", f"coefficient (log-odds, {LEVEL:.0%} interval)", "verdict", "why"]
REFITTED = f"re-fitted points (× scale, {LEVEL:.0%} interval)"
READING = ("The verdict is the regression's, within each score: a rule's coefficient (log-odds of winning) with "
           "the score's other rules held as they are; the lift is the raw comparison of the won rates where it "
           "fired and where it did not, so a rule whose leads win more for another rule's sake can have a lift "
           "yet no evidence. A score's scale (k, points per unit of log-odds) is fitted to its supported rules' "
           "points, weighted by each coefficient's precision; a supported rule whose points lie outside its "
           "re-fitted interval (k × the coefficient's interval) is moved by a proposal.")
SALES_WORK = ("Outcomes include Sales' own work on what was handed off: a handed-off lead's win is partly the "
              "handoff's doing, so the rules that hand leads to Sales may look stronger than they are.")
NO_REFIT = "no re-fit"


def number(value: Any) -> Any:
    """A policy's number as JSON says it: an int when whole, else a float (Decimals from the policy)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _four(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _interval(pair: tuple[float, float] | None) -> list[float | None] | None:
    return None if pair is None else [_four(pair[0]), _four(pair[1])]


def _p_value(value: float | None) -> float | None:
    """Four significant digits: a tiny p-value stays tiny (it decides whether a flip is strong evidence)."""
    return None if value is None else float(f"{value:.4g}")


def rule_json(e: RuleEvidence) -> dict[str, Any]:
    r = e.rule
    return {"score": r.score, "rule": r.label, "reason": r.reason, "line": r.line, "kind": r.kind,
            "points": number(r.points), "fired": e.fired, "won_fired": e.won_fired, "not_fired": e.not_fired,
            "won_not": e.won_not, "won_rate_fired": _four(e.won_rate_fired), "won_rate_not": _four(e.won_rate_not),
            "lift": _four(e.lift), "ci": _interval(e.ci), "coefficient": _four(e.coefficient),
            "coefficient_ci": _interval(e.coefficient_ci), "p_value": _p_value(e.p_value), "verdict": e.verdict,
            "why": e.why}


def threshold_json(t: ThresholdEvidence, condition: str | None = None, refit: str | None = None) -> dict[str, Any]:
    same = None if t.same_count is None else {k: _plain(v) for k, v in t.same_count.items()}
    if same is not None and "won_rate" in same:
        same["won_rate"] = _four(same["won_rate"])
    return {"place": t.place, "kind": t.kind, "score": t.score, "op": t.op, "value": number(t.value),
            "line": t.line, "handoff": t.handoff, "band": number(t.band), "leads_past": t.leads_past,
            "won_rate_past": _four(t.won_rate_past), "leads_above": t.leads_above,
            "won_rate_above": _four(t.won_rate_above), "leads_below": t.leads_below,
            "won_rate_below": _four(t.won_rate_below), "ci_past": _interval(t.ci_past),
            "ci_above": _interval(t.ci_above), "ci_below": _interval(t.ci_below), "same_count": same,
            "condition": condition, "refit": refit}


def _plain(value: Any) -> Any:
    """Decimals as numbers, paths as text, through lists and dicts (a change's from and to, a backtest)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return number(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def calibration_json(cal: Calibration) -> dict[str, Any]:
    p = cal.proposal
    proposal = None if p is None else {"file": str(p.file), "version": p.version, "changes": _plain(p.changes),
                                       "backtest": _plain(p.backtest), "diff": list(p.diff),
                                       "samples": _plain(p.samples), "written": p.written,
                                       "notes": list(p.notes)}
    groups = [{"by": g["by"], "value": _plain(g["value"]), "leads": g["leads"], "won": g["won"],
               "rules": [rule_json(e) for e in g["rules"]]} for g in cal.groups]
    whole = conditions(cal.policy)
    reasons = refit_reasons(cal.policy, refitted_points(cal.policy, cal.rules)[0]) if cal.thresholds else {}
    return {"policy": cal.policy.id, "version": cal.policy.version, "fingerprint": cal.policy.fingerprint,
            "as_of": cal.as_of, "now": cal.now, "leads": cal.leads, "won": cal.won, "rows": dict(cal.rows),
            "rules": [rule_json(e) for e in cal.rules],
            "thresholds": [threshold_json(t, whole.get(t.place), reasons.get(t.score)) for t in cal.thresholds],
            "groups": groups, "groups_left_out": _plain(cal.groups_left_out), "proposal": proposal,
            "verdict": cal.verdict}


def render_calibration(cal: Calibration, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(calibration_json(cal), indent=2) + "\n"  # ASCII: no character of lead data raw
    markdown = fmt == "markdown"
    scales = _scales(cal.rules)
    lines = _head(cal, markdown)
    lines += _section("Rules", markdown) + _rules_table(cal.rules, markdown, scales)
    lines += ["", _text(READING, markdown) + (" [^1]" if markdown else " [1]"), "",
              *_scale_lines(cal, scales, markdown)]
    if cal.thresholds:
        moved, changes = refitted_points(cal.policy, cal.rules)
        lines += _section("Thresholds", markdown) + _thresholds_table(cal, refit_reasons(cal.policy, moved), markdown)
        lines += _refitted_line(changes, markdown)
    for g in cal.groups:
        value = "(missing)" if g["value"] is None else g["value"]
        lines += _section(f"Rules where {g['by']} is {value}: {leads(g['leads'])}, won {g['won']:,}", markdown)
        lines += _rules_table(g["rules"], markdown)
    for out in cal.groups_left_out:
        lines += ["", _text(f"{out['groups']:,} smaller groups of {out['by']} left out ({leads(out['leads'])}, "
                            f"won {out['won']:,}): only the largest {GROUPS_SHOWN} are shown.", markdown)]
    lines += _proposal(cal, markdown)
    lines += ["", ("[^1]: " if markdown else "[1] ") + _text(SALES_WORK, markdown)]
    return finished(lines, markdown)


def conditions(policy: Policy) -> dict[str, str]:
    """Each stage's and grade entry's whole condition, by the place a threshold names ('stage sql'): a threshold
    is one part of it (the sql and mql rows of one `fit >= 40` differ by the rest)."""
    found = {f"stage {s.name}": f"{s.name} when {condition_text(s.condition)}"
             for s in policy.tree.stages if s.condition is not None}
    for grade in policy.tree.grades:
        for entry in grade.entries:
            if entry.condition is not None:
                found[f'grade {grade.name} "{entry.label}"'] = f'"{entry.label}" when {condition_text(entry.condition)}'
    return found


def _scales(rules: list[RuleEvidence]) -> dict[str, float | None]:
    """Each score's scale k (points per unit of log-odds), as the proposal fits it; a decay has none."""
    by_score: dict[str, list[RuleEvidence]] = {}
    for e in rules:
        if e.rule.kind in ("points", "per"):
            by_score.setdefault(e.rule.score, []).append(e)
    return {score: scale(found) for score, found in by_score.items()}


def _scale_lines(cal: Calibration, scales: dict[str, float | None], markdown: bool) -> list[str]:
    said = [f"{score}: {k:.1f} points per unit of log-odds" if k is not None else
            f"{score}: no scale (no supported rule)" for score, k in scales.items()]
    return [_text("Scale (k): " + "; ".join(said) + ".", markdown)] if said else []


def _refitted(e: RuleEvidence, scales: dict[str, float | None]) -> str:
    k = scales.get(e.rule.score)
    if k is None or e.coefficient is None or e.coefficient_ci is None:
        return "-"
    low, high = sorted((k * e.coefficient_ci[0], k * e.coefficient_ci[1]))
    return f"{k * e.coefficient:.1f} [{low:.1f}, {high:.1f}]"


def _refitted_line(changes: list[dict[str, Any]], markdown: bool) -> list[str]:
    """The points the thresholds' last column is measured on (the report shows them even without --propose)."""
    if not changes:
        return []
    said = "; ".join(f"{c['where']}: {_signed(c['from'])} → {_signed(c['to'])}" for c in changes)
    return ["", _text(f"Re-fitted points: {said}.", markdown)]


def _text(value: object, markdown: bool) -> str:
    return md(value) if markdown else str(value)


def _section(title: str, markdown: bool, level: int = 2) -> list[str]:
    return ["", ("#" * level + " " if markdown else "") + _text(title, markdown), ""]


def _head(cal: Calibration, markdown: bool) -> list[str]:
    rows = cal.rows
    title = (f"Calibration of {cal.policy.id} {cal.policy.version}: decided as of {cal.as_of}, outcomes up to "
             f"{cal.now}")
    return [("# " if markdown else "") + _text(title, markdown), "", _text(cal.verdict, markdown), "",
            f"{leads(cal.leads)} decided, won {cal.won:,} ({percent(won_share(cal.won, cal.leads))}); lead rows: read "
            f"{rows.get('leads_read', 0):,}, rejected {rows.get('leads_rejected', 0):,}; event rows: read "
            f"{rows.get('events_read', 0):,}, used {rows.get('events_used', 0):,}, rejected "
            f"{rows.get('events_rejected', 0):,}"]


def _signed(value: Decimal) -> str:
    return policy_number(value, signed=True) if value else "0"


def _estimate(value: float | None, pair: tuple[float, float] | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    shown = f"{value:+.2f}" if signed else f"{value:.2f}"
    return shown if pair is None else f"{shown} [{pair[0]:.2f}, {pair[1]:.2f}]"


def _rules_table(rules: list[RuleEvidence], markdown: bool,
                 scales: dict[str, float | None] | None = None) -> list[str]:
    """The rules' evidence; with `scales` (the whole calibration's, not a group's) each rule's re-fitted points."""
    rows = [[e.rule.score, e.rule.label, e.rule.line or "-",
             _signed(e.rule.points) + UNITS.get(e.rule.kind, ""), f"{e.fired:,} of "
             f"{e.fired + e.not_fired:,}", percent(e.won_rate_fired), percent(e.won_rate_not),
             _estimate(e.lift, e.ci), _estimate(e.coefficient, e.coefficient_ci, signed=True),
             *([_refitted(e, scales)] if scales is not None else []), e.verdict, e.why]
            for e in rules]
    header = RULE_HEADER[:-2] + ([REFITTED] if scales is not None else []) + RULE_HEADER[-2:]
    return table(header, rows, markdown) if rows else ["no rules"]


def _thresholds_table(cal: Calibration, reasons: dict[str, str], markdown: bool) -> list[str]:
    """The thresholds' evidence; `reasons`: why each score takes other values on the re-fitted points."""
    whole = conditions(cal.policy)
    rows = [[t.place, whole.get(t.place, "-"), f"{t.score} {t.op} {t.value}", t.line or "-",
             "yes" if t.handoff else "", _at(t.leads_past, t.won_rate_past, t.ci_past),
             f"{_at(t.leads_above, t.won_rate_above, t.ci_above)} in [{t.value}, {t.value + t.band})",
             f"{_at(t.leads_below, t.won_rate_below, t.ci_below)} in [{t.value - t.band}, {t.value})",
             _same_count(t, reasons.get(t.score))] for t in cal.thresholds]
    return table(["place", "in", "threshold", "line", "handoff", "leads past it", "just above", "just below",
                  "for as many leads on the re-fitted points"], rows, markdown)


def _at(leads: int, rate: float | None, interval: tuple[float, float] | None) -> str:
    shown = f"{leads:,} at {percent(rate)}"
    return shown if interval is None else f"{shown} [{percent(interval[0])}, {percent(interval[1])}]"


def _same_count(t: ThresholdEvidence, reason: str | None) -> str:
    """`reason`: why the threshold's score takes other values on the re-fitted points (see `refit_reasons`)."""
    same = t.same_count
    if not same:
        return "-"
    if reason is None and same.get("value") == t.value:
        return NO_REFIT  # the points stay as written: the column would repeat the threshold as it is
    said = f"{t.score} {t.op} {same.get('value')}: {same.get('leads') or 0:,} at {percent(same.get('won_rate'))}"
    return f"{said} (its inputs were re-fitted)" if reason == "inputs" else said


def _proposal(cal: Calibration, markdown: bool) -> list[str]:
    p = cal.proposal
    if p is None:
        return []
    if not p.changes:
        return [*_section("Proposal", markdown), "The evidence asks for no change: no new version is proposed."]
    unwritten = "" if p.written else ", not written"
    lines = _section(f"Proposal: {cal.policy.id} {p.version}{unwritten} ({p.file})", markdown)
    lines += table(["what", "where", "line", "from", "to", "why"],
                   [[c.get("what"), c.get("where"), c.get("line") or "-", _plain(c.get("from")), _plain(c.get("to")),
                     c.get("why")] for c in p.changes], markdown)
    if p.notes:  # what could not be done as asked (more handoffs than allowed, ...)
        lines += ["", *(_text(f"Note: {note}", markdown) for note in p.notes)]
    if p.samples:  # the agreed cases it decides otherwise: a reviewer updates them before it replaces the policy
        lines += _section("Sample cases to update", markdown, 3)
        lines += table(["case", "line", "field", "expected", "proposed"],
                       [[s["case"], s["line"], s["field"], _plain(s["expected"]), _plain(s["proposed"])]
                        for s in p.samples], markdown)
    if p.diff:
        lines += _section(f"What changes, in the words of leadpolicy diff ({cal.policy.version} → {p.version})",
                          markdown, 3)
        lines += [("- " if markdown else "  ") + _text(line, markdown) for line in p.diff]
    if p.backtest is not None:
        lines += ["", *_demoted(render_backtest(p.backtest, "markdown" if markdown else "text"), markdown)]
    return lines




def _demoted(report: str, markdown: bool) -> list[str]:
    """The backtest's report inside this one: its headings two levels down in Markdown."""
    lines = report.rstrip("\n").split("\n")
    return [("##" + line if markdown and line.startswith("#") else line) for line in lines]
