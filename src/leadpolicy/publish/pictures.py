"""Pictures for the published docs, drawn as SVG here (nothing is fetched to draw or view them).
The sample chart is in publish.chart."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from leadpolicy.language import ast
from leadpolicy.language.formatter import number
from leadpolicy.publish.chart import FONT, PALETTE, score_chart
from leadpolicy.publish.english import condition
from leadpolicy.semantics import ir

__all__ = ["bars", "escalation_ladder", "score_chart", "stage_ladder", "team_picture"]


def _text(x: float, y: float, text: str, size: int = 13, anchor: str = "start", weight: str = "normal",
          fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}" {FONT}>{escape(text)}</text>')


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _wrapped(text: str, width: int, rows: int) -> list[str]:
    """The text on at most `rows` lines of `width` characters, the last one clipped when it does not fit."""
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > rows:
        lines = lines[: rows - 1] + [_clip(" ".join(lines[rows - 1:]), width)]
    return lines


def stage_ladder(policy: ir.Policy) -> str:
    """Stages in the order they are tried, in one lane per owning team: a stage in a Sales lane is a handoff."""
    teams = list(dict.fromkeys(o.team for o in policy.owners))
    colors = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(teams)}
    lane_w, box_h, gap, top = 300, 68, 18, 60
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
        parts.append(f"<title>{escape(stage.name)}: {escape(rule)}</title>")
        for row, line in enumerate(_wrapped(rule, 40, 2)):
            parts.append(_text(x + 10, y + 40 + row * 15, line, 11))
        parts.append("</g>")
        if previous is not None and previous[0] != lane:
            px, py = previous[1]
            parts.append(f'<line x1="{px}" y1="{py}" x2="{x + (lane_w - 34) / 2}" y2="{y}" stroke="#999" '
                         f'stroke-dasharray="4 3"/>')
        if stage.owner != home:
            parts.append(_text(x + lane_w - 44, y + 21, f"handoff to {stage.owner}", 11, "end", "bold", color))
        previous = (lane, (x + (lane_w - 34) / 2, y + box_h))
    parts.append("</svg>")
    return "\n".join(parts)


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

    def at(percent: Decimal | int) -> float:
        """The x of a share of the limit on the bar."""
        return left + (width - left - right) * float(percent) / span

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


def member_shares(team: ir.Team) -> list[Decimal]:
    """Each member's share of the team's leads in percent, whenever all are available: by weight, its weight's
    share of all weights; in turn or to the least loaded, an equal share; a member at weight 0 (paused) none."""
    working = [m for m in team.members if m.weight > 0]
    total = sum(m.weight for m in working) if team.assign is ir.AssignHow.BY_WEIGHT else len(working)
    if not total:
        return [Decimal(0)] * len(team.members)
    return [(Decimal(100 * (m.weight if team.assign is ir.AssignHow.BY_WEIGHT else 1)) / total
             if m.weight > 0 else Decimal(0)).quantize(Decimal("0.1")).normalize() for m in team.members]


def _member_hours(member: ir.Member, team: ir.Team, calendars: dict[str, str]) -> str:
    """`Mon-Fri 09:00-17:00 America/New_York (calendar ny)`: the member's calendar, else the team's."""
    name = member.calendar or team.calendar
    if name is None:
        return "any time"
    hours = calendars.get(name, name).split(";")[0]
    return f"{hours} (calendar {name}{'' if member.calendar else ', the team’s'})"


def _member_row(member: ir.Member, share: Decimal, y: int, hours: str) -> list[str]:
    """One member: name, a bar as long as its share, the share in words, its cap and its hours."""
    label_w, bar_w = 210, 260
    length = bar_w * float(share) / 100
    cap = f"cap {member.cap} per {member.cap_per}" if member.cap is not None else "no cap"
    said = "paused (weight 0)" if member.weight == 0 else f"{number(share)}% of the leads"
    return [f'<g class="member" data-person={quoteattr(member.person)} data-share="{number(share)}" '
            f'data-weight="{member.weight}">',
            f"<title>{escape(member.person)}: {escape(said)}; {escape(cap)}; {escape(hours)}</title>",
            _text(label_w - 8, y + 14, _clip(member.name or member.person, 28), 12, "end", "bold"),
            f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="16" rx="2" fill="#eee"/>',
            f'<rect class="share" x="{label_w}" y="{y + 2}" width="{length:.1f}" height="16" rx="2" '
            f'fill="{PALETTE[0]}"/>',
            _text(label_w + bar_w + 8, y + 14, said, 11, fill="#888" if member.weight == 0 else "#222"),
            _text(label_w, y + 33, _clip(f"{cap}; {hours}", 80), 11, fill="#555"),
            "</g>"]


def team_picture(team: ir.Team, calendars: dict[str, str]) -> str:
    """A team's rotation: each member as a bar of its share of the team's leads (see `member_shares`), with its
    cap and working hours (`calendars`: each calendar's hours in words, by name), and what happens when nobody
    is available (the fallback team, or the lead held)."""
    top, row_h = 50, 44
    width, height = 700, top + row_h * len(team.members) + 34
    title = f"{team.label or team.name}: {team.assign} ({len(team.members)} members)"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="leadpolicy-team" data-team={quoteattr(team.name)} '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="team rotation">',
             f"<title>{escape(title)}</title>", _text(10, 22, _clip(title, 80), 14, weight="bold")]
    for n, (member, share) in enumerate(zip(team.members, member_shares(team))):
        parts.extend(_member_row(member, share, top + n * row_h, _member_hours(member, team, calendars)))
    nobody = (f"nobody available: to the team {team.fallback}" if team.fallback is not None
              else "nobody available: the lead is held until someone is")
    parts.append(f'<g class="nobody">{_text(10, height - 12, _clip(nobody, 90), 12, fill=PALETTE[1])}</g>')
    parts.append("</svg>")
    return "\n".join(parts)
