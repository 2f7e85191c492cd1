"""The sample chart of a policy page: the sample leads on the first two scores, with every threshold that
decides a stage or a grade drawn as a line, also those of a score made of the two (`priority = fit +
engagement`: the line fit + engagement = 90), and labels laid out so that no two overlap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable
from xml.sax.saxutils import escape, quoteattr

from leadpolicy.language import ast
from leadpolicy.semantics import ir

PALETTE = ["#2f6f9f", "#c0622f", "#4f8f4f", "#8f4f8f", "#8f7f2f"]
FONT = 'font-family="Helvetica, Arial, sans-serif"'
SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "=", "!=": "≠"}
LABEL_SIZE = 11  # px: the smallest text of a picture, readable where the page is 800 px wide
STAGE_LINE = 'stroke="#c33" stroke-dasharray="5 4"'
GRADE_LINE = 'stroke="#888" stroke-dasharray="2 3"'


def _width(text: str, size: int) -> float:
    # A generous guess of the text's width (the page's sans-serif font is not known here): never narrower.
    return len(text) * size * 0.64 + 2


@dataclass
class _Label:
    x: float
    y: float  # the baseline
    text: str
    size: int
    anchor: str = "start"
    weight: str = "normal"
    fill: str = "#222"

    def box(self) -> tuple[float, float, float, float]:
        width = _width(self.text, self.size)
        left = self.x - {"start": 0, "middle": width / 2, "end": width}[self.anchor]
        return left, self.y - self.size, left + width, self.y + self.size * 0.3

    def svg(self) -> str:
        return (f'<text class="label" x="{self.x:.1f}" y="{self.y:.1f}" font-size="{self.size}" '
                f'text-anchor="{self.anchor}" font-weight="{self.weight}" fill="{self.fill}" {FONT}>'
                f"{escape(self.text)}</text>")


@dataclass
class _Layout:
    """Labels placed one by one: a label that would overlap one placed before moves by a step until free."""

    labels: list[_Label] = field(default_factory=list)

    def place(self, label: _Label, dx: float = 0, dy: float = 0, tries: int = 12) -> _Label:
        for _ in range(tries):
            if not any(_overlap(label.box(), other.box()) for other in self.labels):
                break
            label.x, label.y = label.x + dx, label.y + dy
        self.labels.append(label)
        return label

    def bounds(self) -> tuple[float, float, float, float]:
        boxes = [label.box() for label in self.labels]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass(frozen=True)
class _Line:
    """A threshold: where `score` compares with `value`, as a polyline of score values (x, y)."""

    kind: str  # "threshold" (a stage) or "grade-threshold"
    score: str
    value: float
    text: str
    points: tuple[tuple[float, float], ...]


def _comparisons(condition: ast.Node | None, score: str) -> list[tuple[str, float]]:
    """(operator, number) for each comparison of the score with a number in a condition."""
    if condition is None:
        return []
    return [(atom.op, float(atom.right.value))  # type: ignore[arg-type]
            for atom in condition.walk()
            if isinstance(atom, ast.Compare) and isinstance(atom.left, ast.NameRef) and atom.left.name == score
            and isinstance(atom.right, ast.Literal) and atom.right.kind == "number"]


def _stage_thresholds(policy: ast.Policy, score: str) -> list[tuple[float, str]]:
    """(number, `score 40: mql, sql`) for each number a stage condition compares the score with."""
    stages: dict[float, list[str]] = {}
    for stage in policy.stages:
        for _, value in _comparisons(stage.condition, score):
            stages.setdefault(value, []).append(stage.name)
    return [(value, f"{score} {value:g}: {', '.join(dict.fromkeys(names))}") for value, names in sorted(stages.items())]


def _grade_thresholds(policy: ast.Policy, score: str) -> list[tuple[float, str]]:
    """(number, `tier A: priority ≥ 120`) for each grade entry that compares the score with a number."""
    return sorted({(value, f"{grade.name} {entry.label}: {score} {SIGNS.get(op, op)} {value:g}")
                   for grade in policy.grades if grade.source == score
                   for entry in grade.entries for op, value in _comparisons(entry.condition, score)})


@dataclass(frozen=True)
class _Part:
    """`points per unit of an axis score, up to ±cap`: one rule of a score made of the axes."""

    points: float
    cap: float

    def of(self, value: float) -> float:
        return max(-self.cap, min(self.cap, self.points * max(value, 0.0)))

    def inverse(self, total: float) -> float | None:
        """The axis value that gives `total`, or None when no value does (beyond the cap)."""
        if not 0 <= total <= self.cap:
            return None
        return total / self.points


def _made_of(score: ir.Score, axes: tuple[str, ...]) -> dict[str, _Part] | None:
    """A score whose every rule is `+N per AXIS up to M` (N > 0, no decay): its part of each axis."""
    parts: dict[str, _Part] = {}
    for rule in score.rules:
        if not (isinstance(rule, ir.PerRule) and isinstance(rule.per, ir.Ref) and rule.per.kind is ir.RefKind.SCORE
                and rule.per.name in axes and rule.points > 0 and rule.per.name not in parts):
            return None
        parts[rule.per.name] = _Part(float(rule.points), float(abs(rule.cap)))
    return parts if parts and score.decay is None else None


def _solutions(part: _Part | None, rest: float, y_range: tuple[float, float]) -> tuple[float, float] | None:
    """The values (low, high) of the axis in range whose part is `rest`: one value, or a span where the
    part is flat (at 0 from the axis' 0 down, at its cap from where it reaches it up); None when none."""
    lo, hi = y_range
    if part is None:
        return (lo, hi) if abs(rest) < 1e-9 else None
    if abs(rest) < 1e-9:
        return lo, min(0.0, hi)
    if abs(rest - part.cap) < 1e-9:
        start = part.cap / part.points
        return (start, hi) if start <= hi + 1e-9 else None
    y = part.inverse(rest)
    return (y, y) if y is not None and lo - 1e-9 <= y <= hi + 1e-9 else None


def _level(parts: dict[str, _Part], axes: tuple[str, str], total: float, xs: Iterable[float],
           x_range: tuple[float, float], y_range: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """The boundary of the region where the parts add up to at least `total` (fit + engagement ≥ 90),
    within the plot, from its top left: where a part stops at its cap the boundary goes straight up
    (`+1 per activity up to 80`: fit + activity ≥ 110 is bounded by fit = 30 from activity 80 up)."""
    x_part, y_part = parts.get(axes[0]), parts.get(axes[1])
    found: list[tuple[float, float]] = []
    for x in sorted(set(xs)):
        span = _solutions(y_part, total - (x_part.of(x) if x_part else 0.0), y_range)
        if span is None:
            continue
        low, high = span
        if found:
            high = min(high, found[-1][1])
        elif x <= x_range[0] + 1e-9:
            high = low  # along the plot's left edge: not a boundary inside the plot
        if high > low + 1e-9:
            found.append((x, high))
        found.append((x, low))
    return _inside(found, y_range)


def _inside(points: list[tuple[float, float]], y_range: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """The points without runs along the plot's top or bottom edge (the region's edge there is the plot's)."""
    lo, hi = y_range
    kept = [p for i, p in enumerate(points)
            if not (abs(p[1] - hi) < 1e-9 and i + 1 < len(points) and abs(points[i + 1][1] - hi) < 1e-9)]
    return tuple(p for i, p in enumerate(kept)
                 if not (abs(p[1] - lo) < 1e-9 and i > 0 and abs(kept[i - 1][1] - lo) < 1e-9))


def _combined_lines(policy: ast.Policy, axes: tuple[str, str], x_range: tuple[float, float],
                    y_range: tuple[float, float]) -> list[_Line]:
    """The thresholds of each score made of the two axis scores, as lines on the chart."""
    from leadpolicy.semantics.lowering import lower

    lines = []
    for score in lower(policy).scores:
        parts = _made_of(score, axes) if score.name not in axes else None
        if parts is None:
            continue
        for kind, value, text in _thresholds(policy, score.name):
            if score.clamp is not None and not float(score.clamp.low) < value <= float(score.clamp.high):
                continue
            xs = [x for x in _line_xs(parts, axes, value, x_range, y_range) if x_range[0] <= x <= x_range[1]]
            points = _level(parts, axes, value, xs, x_range, y_range)
            if len(points) >= 2:
                lines.append(_Line(kind, score.name, value, text, points))
    return lines


def _line_xs(parts: dict[str, _Part], axes: tuple[str, str], value: float, x_range: tuple[float, float],
             y_range: tuple[float, float]) -> list[float]:
    """Where to trace a line of the combined score at `value`: evenly along the x axis, and where the line
    meets the edges and the corners of its parts."""
    xs = [x_range[0] + (x_range[1] - x_range[0]) * i / 200 for i in range(201)]
    x_part = parts.get(axes[0])
    if x_part is None:
        return xs
    y_part = parts.get(axes[1])
    ends = [value - (y_part.of(y) if y_part else 0.0) for y in y_range]
    xs += [x for x in (x_part.inverse(t) for t in [*ends, value]) if x is not None]
    xs += [x_part.cap / x_part.points]
    if y_part is not None:
        xs += [x for x in [x_part.inverse(value - y_part.cap)] if x is not None]
    return xs


def _thresholds(policy: ast.Policy, name: str) -> list[tuple[str, float, str]]:
    """A score's stage thresholds, then its grade thresholds: (kind of line, value, text)."""
    return [*(("threshold", value, text) for value, text in _stage_thresholds(policy, name)),
            *(("grade-threshold", value, text) for value, text in _grade_thresholds(policy, name))]


def _axis_lines(policy: ast.Policy, name: str, vertical: bool, other: tuple[float, float]) -> list[_Line]:
    lines = []
    for kind, value, text in _thresholds(policy, name):
        points = ((value, other[1]), (value, other[0])) if vertical else ((other[0], value), (other[1], value))
        lines.append(_Line(kind, name, value, text, points))
    return lines


def score_chart(policy: ast.Policy, points: list[tuple[str, dict[str, Any], Any]]) -> str:
    """The sample leads on the first two scores (one score: a strip), the thresholds of stages (red,
    dashed) and grades (grey, dotted) drawn in, those of a score made of the two as well.

    points: (label, scores by name, stage) for each sample lead.
    """
    scores = [s.name for s in policy.scores][:2]
    if not scores or not points:
        return ""
    return _Chart(policy, scores[0], scores[1] if len(scores) > 1 else None, points).svg()


class _Chart:
    SIZE = 360

    def __init__(self, policy: ast.Policy, x_name: str, y_name: str | None,
                 points: list[tuple[str, dict[str, Any], Any]]):
        self.policy, self.x_name, self.y_name, self.points = policy, x_name, y_name, points
        x_lines = _axis_lines(policy, x_name, True, (0, 0))
        y_lines = _axis_lines(policy, y_name, False, (0, 0)) if y_name else []
        xs = [float(p[1][x_name] or 0) for p in points] + [line.value for line in x_lines]
        ys = ([float(p[1][y_name] or 0) for p in points] + [line.value for line in y_lines]) if y_name else [0.0]
        self.x_range = (min(0.0, *xs), max(100.0, *xs))
        self.y_range = (min(0.0, *ys), max(100.0, *ys))
        self.lines = _axis_lines(policy, x_name, True, self.y_range)
        if y_name:
            self.lines += _axis_lines(policy, y_name, False, self.x_range)
            self.lines += _combined_lines(policy, (x_name, y_name), self.x_range, self.y_range)
        self.left, self.top = 60.0, 80.0

    def px(self, v: float) -> float:
        lo, hi = self.x_range
        return self.left + (v - lo) / ((hi - lo) or 1) * self.SIZE

    def py(self, v: float) -> float:
        if not self.y_name:
            return self.top + self.SIZE / 2
        lo, hi = self.y_range
        return self.top + self.SIZE - (v - lo) / ((hi - lo) or 1) * self.SIZE

    def _line_svg(self, line: _Line) -> str:
        style = STAGE_LINE if line.kind == "threshold" else GRADE_LINE
        drawn = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in line.points)
        return (f'<polyline class="{line.kind}" data-score={quoteattr(line.score)} data-value="{line.value:g}" '
                f'points="{drawn}" fill="none" {style}><title>{escape(line.text)}</title></polyline>')

    def _line_label(self, layout: _Layout, line: _Line) -> None:
        """Next to its own line: above the plot where the line leaves it at the top, right of it where it
        leaves at the right, else beside a point of the line; the first such place no label holds yet."""
        color = "#c33" if line.kind == "threshold" else "#666"
        places = [_Label(x, y, line.text, LABEL_SIZE, anchor, fill=color) for x, y, anchor in self._places(line)]
        free = [label for label in places if label.box()[0] >= 0
                and not any(_overlap(label.box(), other.box()) for other in layout.labels)]
        layout.place(free[0] if free else places[0], dy=-12)

    def _places(self, line: _Line) -> list[tuple[float, float, str]]:
        """(x, baseline, anchor) of the places beside the line, the clearest first."""
        places = []
        x, y = max(line.points, key=lambda p: (p[1], -p[0]))
        right_end = max(line.points, key=lambda p: (p[0], p[1]))
        if not self.y_name or y >= self.y_range[1] - 1e-9:
            places += [(self.px(x) + 3, self.top - 6, "start"), (self.px(x) - 3, self.top - 6, "end")]
        if self.y_name and right_end[0] >= self.x_range[1] - 1e-9:
            right = self.left + self.SIZE + 6
            places += [(right, self.py(right_end[1]) + 4, "start"), (right, self.py(right_end[1]) - 8, "start"),
                       (right, self.py(right_end[1]) + 16, "start")]
        for px, py in self._along(line):
            places += [(px + 5, py - 6, "start"), (px - 5, py - 6, "end"), (px + 5, py + 14, "start"),
                       (px - 5, py + 14, "end")]
        return places

    def _along(self, line: _Line) -> list[tuple[float, float]]:
        """Points of the line, in pixels, from its upper end on."""
        drawn = [(self.px(x), self.py(y)) for x, y in line.points]
        found = []
        for share in (0.0, 0.15, 0.3, 0.5, 0.7, 0.85, 1.0):
            at = share * (len(drawn) - 1)
            i = min(int(at), len(drawn) - 2) if len(drawn) > 1 else 0
            if len(drawn) == 1:
                found.append(drawn[0])
                continue
            (x0, y0), (x1, y1) = drawn[i], drawn[i + 1]
            t = at - i
            found.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
        return sorted(found, key=lambda p: p[1])

    def _axes(self, layout: _Layout) -> None:
        bottom = self.top + self.SIZE
        for value in self.x_range:
            layout.place(_Label(self.px(value), bottom + 16, f"{value:g}", LABEL_SIZE, "middle"), dy=12)
        if self.y_name:
            for value in self.y_range:
                layout.place(_Label(self.left - 8, self.py(value) + 4, f"{value:g}", LABEL_SIZE, "end"), dy=-12)

    def svg(self) -> str:
        layout = _Layout()
        self._axes(layout)
        for line in sorted(self.lines, key=lambda line: (line.kind != "threshold", line.value)):
            self._line_label(layout, line)
        _, _, right, bottom = layout.bounds()
        bottom = max(bottom, self.top + self.SIZE + 20)
        x_axis = layout.place(_Label(self.left + self.SIZE / 2, bottom + 18, self.x_name, 13, "middle", "bold"),
                              dy=14)
        legend_x = max(right, self.left + self.SIZE) + 24
        stages = [s.name for s in self.policy.stages]
        colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(stages)}
        for i, stage in enumerate(stages):
            layout.place(_Label(legend_x + 12, self.top + 4 + i * 20, stage, 12))
        _, top, right, _ = layout.bounds()
        y0 = min(top, self.top) - 10
        width, height = right + 16, x_axis.y + 10 - y0
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="leadpolicy-chart" width="{width:.0f}" '
               f'height="{height:.0f}" viewBox="0 {y0:.0f} {width:.0f} {height:.0f}" role="img" '
               'aria-label="sample scores">',
               f"<title>{escape(self.policy.id)}: sample leads by score</title>",
               f'<rect class="plot" x="{self.left}" y="{self.top}" width="{self.SIZE}" height="{self.SIZE}" '
               'fill="#fafafa" stroke="#ccc"/>']
        out += [self._line_svg(line) for line in self.lines]
        if self.y_name:
            middle = self.top + self.SIZE / 2
            out.append(f'<text class="label" x="18" y="{middle}" font-size="13" font-weight="bold" {FONT} '
                       f'transform="rotate(-90 18 {middle})" text-anchor="middle">{escape(self.y_name)}</text>')
        for i, (label, values, stage) in enumerate(self.points):
            x = float(values[self.x_name] or 0)
            cx, cy = self.px(x), self.py(float(values[self.y_name] or 0) if self.y_name else 0)
            out.append(f'<circle class="lead" cx="{cx:.1f}" cy="{cy:.1f}" r="9" fill="{colors.get(stage, "#555")}" '
                       f'fill-opacity="0.85"><title>{escape(label)}: {escape(str(stage))}</title></circle>')
            out.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" font-size="{LABEL_SIZE}" text-anchor="middle" '
                       f'font-weight="bold" fill="#fff" {FONT}>{i + 1}</text>')
        for i, stage in enumerate(stages):
            out.append(f'<circle cx="{legend_x + 4}" cy="{self.top + i * 20}" r="6" fill="{colors[stage]}"/>')
        out += [label.svg() for label in layout.labels]
        out.append("</svg>")
        return "\n".join(out)

