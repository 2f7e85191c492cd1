"""Pictures for the published docs, drawn as SVG here (nothing is fetched to draw or view them)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from leadpolicy.language import ast
from leadpolicy.publish.english import condition

PALETTE = ["#2f6f9f", "#c0622f", "#4f8f4f", "#8f4f8f", "#8f7f2f"]
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _text(x: float, y: float, text: str, size: int = 13, anchor: str = "start", weight: str = "normal",
          fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}" {FONT}>{escape(text)}</text>')


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def stage_ladder(policy: ast.Policy) -> str:
    """Stages in the order they are tried, in one lane per owning team: a stage in a Sales lane is a handoff."""
    teams = list(policy.teams)
    colors = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(teams)}
    lane_w, box_h, gap, top = 300, 54, 18, 60
    width = 40 + lane_w * len(teams)
    height = top + len(policy.stages) * (box_h + gap) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="leadpolicy-stages" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="stage ladder">',
             f'<title>{escape(policy.id)}: stages, first match wins</title>']
    for i, team in enumerate(teams):
        x = 20 + i * lane_w
        parts.append(f'<rect x="{x}" y="10" width="{lane_w - 10}" height="{height - 20}" rx="8" fill="{colors[team]}" '
                     f'fill-opacity="0.07" stroke="{colors[team]}" stroke-opacity="0.4"/>')
        parts.append(_text(x + (lane_w - 10) / 2, 36, f"owned by {team}", 15, "middle", "bold", colors[team]))
    previous = None
    # The team that owns the catch-all stage is where leads start; a stage of another team is a handoff.
    home = policy.stages[-1].owner if policy.stages else ""
    for n, stage in enumerate(policy.stages):
        lane = teams.index(stage.owner) if stage.owner in teams else 0
        x, y = 32 + lane * lane_w, top + n * (box_h + gap)
        color = colors.get(stage.owner, PALETTE[0])
        parts.append(f'<g class="stage" data-stage={quoteattr(stage.name)} data-owner={quoteattr(stage.owner)}>')
        parts.append(f'<rect x="{x}" y="{y}" width="{lane_w - 34}" height="{box_h}" rx="6" fill="#fff" '
                     f'stroke="{color}" stroke-width="2"/>')
        parts.append(_text(x + 10, y + 21, f"{n + 1}. {stage.name}", 14, weight="bold", fill=color))
        rule = condition(stage.condition) if stage.condition is not None else "otherwise (no earlier stage matched)"
        parts.append(_text(x + 10, y + 41, _clip(rule, 40), 11))
        parts.append("</g>")
        if previous is not None and previous[0] != lane:
            px, py = previous[1]
            parts.append(f'<line x1="{px}" y1="{py}" x2="{x + (lane_w - 34) / 2}" y2="{y}" stroke="#999" '
                         f'stroke-dasharray="4 3"/>')
        if stage.owner != home:
            parts.append(_text(x + lane_w - 44, y + 21, f"handoff to {stage.owner}", 10, "end", "bold", color))
        previous = (lane, (x + (lane_w - 34) / 2, y + box_h))
    parts.append("</svg>")
    return "\n".join(parts)


def _comparisons(condition: ast.Node | None, score: str) -> list[tuple[str, float]]:
    """(operator, number) for each comparison of the score with a number in a condition."""
    if condition is None:
        return []
    return [(atom.op, float(atom.right.value))  # type: ignore[arg-type]
            for atom in condition.walk()
            if isinstance(atom, ast.Compare) and isinstance(atom.left, ast.NameRef) and atom.left.name == score
            and isinstance(atom.right, ast.Literal) and atom.right.kind == "number"]


def _thresholds(policy: ast.Policy, score: str) -> list[float]:
    """Numbers a stage condition compares the score with."""
    return sorted({value for stage in policy.stages for _, value in _comparisons(stage.condition, score)})


def _grade_thresholds(policy: ast.Policy, score: str) -> list[tuple[float, str]]:
    """(number, label) for each grade entry of a grade from the score that compares it with a number."""
    return sorted({(value, f"{grade.name} {entry.label}: {score} {op} {value:g}")
                   for grade in policy.grades if grade.source == score
                   for entry in grade.entries for op, value in _comparisons(entry.condition, score)})


def score_chart(policy: ast.Policy, points: list[tuple[str, dict[str, Any], Any]]) -> str:
    """The sample leads on the first two scores (one score: a strip), stage thresholds drawn in
    (red, dashed) and grade thresholds (grey, dotted).

    points: (label, scores by name, stage) for each sample lead.
    """
    scores = [s.name for s in policy.scores][:2]
    if not scores or not points:
        return ""
    size, pad = 360, 50
    x_name = scores[0]
    y_name = scores[1] if len(scores) > 1 else None
    values = [p[1] for p in points]
    x_grades = _grade_thresholds(policy, x_name)
    y_grades = _grade_thresholds(policy, y_name) if y_name else []
    xs = [v[x_name] for v in values] + _thresholds(policy, x_name) + [t for t, _ in x_grades]
    ys = [v[y_name] for v in values] + _thresholds(policy, y_name) + [t for t, _ in y_grades] if y_name else [0]
    x_lo, x_hi = min(0, min(xs)), max(100, max(xs))
    y_lo, y_hi = min(0, min(ys)), max(100, max(ys))

    def px(v):
        return pad + (v - x_lo) / ((x_hi - x_lo) or 1) * size

    def py(v):
        return pad + size - (v - y_lo) / ((y_hi - y_lo) or 1) * size if y_name else pad + size / 2

    stages = [s.name for s in policy.stages]
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(stages)}
    w, h = size + 2 * pad + 160, size + 2 * pad
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="leadpolicy-chart" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" role="img" aria-label="sample scores">',
           f'<title>{escape(policy.id)}: sample leads by score</title>',
           f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="#fafafa" stroke="#ccc"/>']
    for t in _thresholds(policy, x_name):
        out.append(f'<line class="threshold" x1="{px(t):.1f}" y1="{pad}" x2="{px(t):.1f}" y2="{pad + size}" '
                   f'stroke="#c33" stroke-dasharray="5 4"/>')
        out.append(_text(px(t) + 3, pad - 6, f"{x_name} {t:g}", 10, fill="#c33"))
    if y_name:
        for t in _thresholds(policy, y_name):
            out.append(f'<line class="threshold" x1="{pad}" y1="{py(t):.1f}" x2="{pad + size}" y2="{py(t):.1f}" '
                       f'stroke="#c33" stroke-dasharray="5 4"/>')
            out.append(_text(pad + size + 4, py(t) + 4, f"{y_name} {t:g}", 10, fill="#c33"))
    for t, label in x_grades:
        out.append(f'<line class="grade-threshold" x1="{px(t):.1f}" y1="{pad}" x2="{px(t):.1f}" y2="{pad + size}" '
                   f'stroke="#888" stroke-dasharray="2 3"/>')
        out.append(_text(px(t) + 3, pad + size - 6, label, 9, fill="#666"))
    for t, label in y_grades:
        out.append(f'<line class="grade-threshold" x1="{pad}" y1="{py(t):.1f}" x2="{pad + size}" y2="{py(t):.1f}" '
                   f'stroke="#888" stroke-dasharray="2 3"/>')
        out.append(_text(pad + 4, py(t) - 3, label, 9, fill="#666"))
    out.append(_text(pad + size / 2, h - 12, x_name, 13, "middle", "bold"))
    out.append(_text(pad, pad + size + 16, f"{x_lo:g}", 10, "middle"))
    out.append(_text(pad + size, pad + size + 16, f"{x_hi:g}", 10, "middle"))
    if y_name:
        out.append(_text(pad - 6, pad + size + 4, f"{y_lo:g}", 10, "end"))
        out.append(_text(pad - 6, pad + 4, f"{y_hi:g}", 10, "end"))
    if y_name:
        out.append(f'<text x="16" y="{pad + size / 2}" font-size="13" font-weight="bold" {FONT} '
                   f'transform="rotate(-90 16 {pad + size / 2})" text-anchor="middle">{escape(y_name)}</text>')
    for i, (label, vals, stage) in enumerate(points):
        cx, cy = px(vals[x_name]), py(vals[y_name]) if y_name else pad + size / 2
        out.append(f'<circle class="lead" cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{colors.get(stage, "#555")}" '
                   f'fill-opacity="0.85"><title>{escape(label)}: {escape(stage)}</title></circle>')
        out.append(_text(cx, cy + 4, str(i + 1), 9, "middle", "bold", "#fff"))
    for i, stage in enumerate(stages):
        y = pad + 10 + i * 20
        out.append(f'<circle cx="{pad + size + 90}" cy="{y}" r="6" fill="{colors[stage]}"/>')
        out.append(_text(pad + size + 100, y + 4, stage, 12))
    out.append("</svg>")
    return "\n".join(out)


def escalation_ladder(sla: ast.Sla) -> str:
    """An open clock's time line, from its start to the last escalation step: where it is at risk, where
    the limit (the deadline) is, and whom it is escalated to from each step on. Empty without warn or
    escalation."""
    warn = sla.first(ast.Warn)
    steps = sla.all(ast.Escalate)
    if warn is None and not steps:
        return ""
    width, left, right, bar_y = 640, 30, 30, 56
    span = float(max([100, *(float(s.percent) for s in steps)])) * 1.1
    at = lambda percent: left + (width - left - right) * float(percent) / span  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="leadpolicy-escalation" width="{width}" height="120" '
             f'viewBox="0 0 {width} 120" role="img" aria-label="escalation ladder">',
             f"<title>{escape(sla.name)}: share of the limit used by an open clock</title>",
             f'<rect x="{left}" y="{bar_y}" width="{width - left - right}" height="12" rx="3" fill="#eee"/>',
             _text(left, bar_y + 32, "start", 11, "start")]
    if warn is not None:
        x = at(warn.percent)
        parts.append(f'<g class="warn" data-percent="{warn.percent}"><rect x="{x:.1f}" y="{bar_y}" '
                     f'width="{at(100) - x:.1f}" height="12" fill="{PALETTE[4]}" fill-opacity="0.5"/>')
        parts.append(_text(x, bar_y - 8, f"at risk from {warn.percent}%", 11, "start", fill=PALETTE[4]) + "</g>")
    deadline = at(100)
    parts.append(f'<line class="deadline" x1="{deadline:.1f}" y1="{bar_y - 4}" x2="{deadline:.1f}" y2="{bar_y + 16}" '
                 'stroke="#222" stroke-width="2"/>')
    parts.append(_text(deadline, bar_y + 32, "100%: the deadline", 11, "middle"))
    for n, step in enumerate(steps):
        x = at(step.percent)
        color = PALETTE[1 + n % (len(PALETTE) - 1)]
        parts.append(f'<g class="step" data-percent="{step.percent}" data-to={quoteattr(step.to)}>'
                     f'<line x1="{x:.1f}" y1="{bar_y - 4}" x2="{x:.1f}" y2="{bar_y + 16}" stroke="{color}" '
                     'stroke-width="3"/>')
        parts.append(_text(x, 20 + (n % 2) * 14, _clip(f"{step.percent}%: to {step.to}", 28), 11, "middle", "bold",
                           color) + "</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def bars(title: str, rows: list[tuple[str, float, str]], css: str, max_value: float | None = None) -> str:
    """Horizontal bars, one per (label, value, text beside the bar), longest at `max_value` (default: the
    largest value); for feedback pages (calibration, funnels)."""
    top, row_h, label_w, bar_w = 34, 24, 170, 360
    width, height = label_w + bar_w + 150, top + row_h * len(rows) + 12
    most = max_value or max((v for _, v, _ in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class={quoteattr(css)} width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)}>',
             f"<title>{escape(title)}</title>", _text(10, 20, title, 14, weight="bold")]
    for n, (label, value, text) in enumerate(rows):
        y = top + n * row_h
        length = bar_w * max(value, 0) / most
        parts.append(f'<g class="bar" data-label={quoteattr(label)} data-value="{value:g}">')
        parts.append(_text(label_w - 8, y + 15, _clip(label, 24), 12, "end"))
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 8}" rx="2" '
                     f'fill="{PALETTE[n % len(PALETTE)] if css.endswith("funnel") else PALETTE[0]}"/>')
        parts.append(_text(label_w + length + 6, y + 15, text, 11) + "</g>")
    parts.append("</svg>")
    return "\n".join(parts)
