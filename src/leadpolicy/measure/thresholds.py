"""Thresholds: each comparison of a score with a number in a stage or a grade entry, the won rates around it,
and the value that keeps as many leads on its side once the points change.

A threshold is found in the syntax tree (so the proposal can rewrite the number where it is written): in a
stage's condition or a grade entry's, a `SCORE OP NUMBER` (or `NUMBER OP SCORE`, read the other way round) with
OP one of >=, >, <=, <, and each side of `SCORE between LOW and HIGH` (>= LOW, <= HIGH).

A score's step is the greatest common divisor of its points' magnitudes (at least its smallest decimal: 2.5 and
1.5 make 0.5): a policy's points and thresholds are written on that grid, and the proposal keeps them there. The
default band ("just above" is [value, value + band), "just below" [value - band, value)) is the score's step,
or a tenth of its largest total (in magnitude, within its clamp) rounded up to the step when that is wider.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, Callable, Iterator, Literal

from sqlglot import exp

from leadpolicy.language import ast
from leadpolicy.measure.calibration import LEVEL, ThresholdEvidence
from leadpolicy.measure.feedback import TABLE, Measured, count_where, is_won, won_share
from leadpolicy.semantics import ir

OPS = (">=", ">", "<=", "<")
COMPARISONS: dict[str, Callable[..., exp.Expr]] = {">=": exp.GTE, ">": exp.GT, "<=": exp.LTE, "<": exp.LT}
FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}  # `50 <= fit` is `fit >= 50`
Part = tuple[Any, ...]  # ("stage", index) or ("grade", grade index, entry index)


@dataclass(frozen=True)
class Site:
    """Where a threshold is written: the part whose condition holds it and its position among that condition's
    thresholds (in the order `_walk` meets them; a between's two sides are two)."""

    part: Part
    position: int
    place: str
    kind: Literal["stage", "grade"]
    score: str
    op: str
    value: Decimal
    line: int
    handoff: bool


# ---------------------------------------------------------------- the grid

def step(points: list[Decimal]) -> Decimal:
    """The grid a score's points are written on: the gcd of their magnitudes (0 points left out), at least the
    smallest decimal they are written with; 1 (or that decimal) when every point is 0."""
    exponents = [p.as_tuple().exponent for p in points]
    places = max([0, *(-e for e in exponents if isinstance(e, int))])
    unit = Decimal(1).scaleb(-places)
    whole = [int(abs(p) / unit) for p in points if p != 0]
    return Decimal(math.gcd(*whole)) * unit if whole else unit


def score_step(score: ir.Score) -> Decimal:
    return step([r.points for r in score.rules])


def on_grid(value: Decimal, grid: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """`value` rounded to a multiple of `grid` (half to even, or as `rounding` says), written as a policy writes
    it (`tidy`)."""
    return tidy((value / grid).quantize(Decimal(1), rounding=rounding) * grid) if grid else value


def tidy(value: Decimal) -> Decimal:
    """A number as a policy writes it: whole without decimals (30, not 30.0), else without trailing zeros."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def grid(points_step: Decimal, written: list[Decimal]) -> Decimal:
    """The grid a score's thresholds move on: the coarser of its step and the granularity its thresholds are
    written with (the largest power of ten dividing them all, at most a tenth of the largest): 120 and 70 move
    in tens on a score of step 1, never to 121."""
    values = [abs(v) for v in written if v != 0]
    if not values:
        return points_step
    unit = Decimal(1).scaleb(math.floor(math.log10(max(values) / 10))) if max(values) >= 10 else Decimal(0)
    while unit and any(v % unit for v in values):
        unit /= 10
    return max(points_step, tidy(unit)) if unit else points_step


def holding_band(dist: "Distribution", value: Decimal, band: Decimal) -> Decimal:
    """`band`, widened when [value - band, value) or [value, value + band) holds no lead: to the next value
    the score takes below `value`, and just past the first it takes at or above it."""
    below = [v for v in dist.values if v < value]
    above = [v for v in dist.values if v >= value]
    wanted = [band]
    if below and below[-1] < value - band:
        wanted.append(value - below[-1])
    if above and above[0] >= value + band:
        higher = [v for v in dist.values if v > above[0]]
        wanted.append((higher[0] if higher else above[0] + band) - value)
    return tidy(max(wanted))


def default_band(score: ir.Score) -> Decimal:
    """The score's step, or a tenth of its largest total (in magnitude, within its clamp) rounded up to the step
    when that is wider."""
    points_step, largest = score_step(score), score.bound
    if score.clamp is not None:
        largest = min(largest, max(abs(score.clamp.low), abs(score.clamp.high)))
    return max(points_step, on_grid(largest / 10, points_step, ROUND_CEILING))


# ---------------------------------------------------------------- finding thresholds

def sites(tree: ast.Policy, handoff_stages: tuple[str, ...]) -> list[Site]:
    """Every threshold of the policy, stages first then grades, each in the order written."""
    scores = {s.name for s in tree.scores}
    found: list[Site] = []
    for i, stage in enumerate(tree.stages):
        for position, (score, op, value, line) in enumerate(_thresholds(stage.condition, scores)):
            found.append(Site(("stage", i), position, f"stage {stage.name}", "stage", score, op, value,
                              line or stage.span.line, stage.name in handoff_stages))
    for g, grade in enumerate(tree.grades):
        for e, entry in enumerate(grade.entries):
            for position, (score, op, value, line) in enumerate(_thresholds(entry.condition, scores)):
                found.append(Site(("grade", g, e), position, f'grade {grade.name} "{entry.label}"', "grade", score,
                                  op, value, line or entry.span.line, False))
    return found


def _number(node: ast.Node) -> Decimal | None:
    return node.value if isinstance(node, ast.Literal) and isinstance(node.value, Decimal) else None


def _score_name(node: ast.Node, scores: set[str]) -> str | None:
    return node.name if isinstance(node, ast.NameRef) and node.name in scores else None


def _walk(node: ast.Node | None) -> Iterator[ast.Node]:
    """The comparisons and betweens of a condition, in the order written."""
    if isinstance(node, (ast.And, ast.Or)):
        for item in node.items:
            yield from _walk(item)
    elif isinstance(node, ast.Not):
        yield from _walk(node.operand)
    elif isinstance(node, (ast.Compare, ast.Between)):
        yield node


def _sides(node: ast.Node, scores: set[str]) -> list[tuple[str, str, Decimal, ast.Literal]]:
    """(score, op, value, the literal written) of each threshold in one comparison or between."""
    if isinstance(node, ast.Compare) and node.op in OPS:
        left, right = _score_name(node.left, scores), _score_name(node.right, scores)
        if left is not None and _number(node.right) is not None:
            return [(left, node.op, _number(node.right), node.right)]  # type: ignore[list-item]
        if right is not None and _number(node.left) is not None:
            return [(right, FLIPPED[node.op], _number(node.left), node.left)]  # type: ignore[list-item]
    if isinstance(node, ast.Between) and (name := _score_name(node.operand, scores)) is not None:
        return [(name, op, _number(bound), bound) for op, bound in ((">=", node.low), ("<=", node.high))  # type: ignore[misc]
                if _number(bound) is not None]
    return []


def _thresholds(condition: ast.Node | None, scores: set[str]) -> list[tuple[str, str, Decimal, int]]:
    return [(score, op, value, literal.span.line) for node in _walk(condition)
            for score, op, value, literal in _sides(node, scores)]


def rewritten(condition: ast.Node, values: dict[int, Decimal], scores: set[str]) -> ast.Node:
    """`condition` with the number of its threshold at each position in `values` replaced (positions as
    `sites` counts them)."""
    literals = [literal for node in _walk(condition) for _, _, _, literal in _sides(node, scores)]
    new = {id(literals[p]): v for p, v in values.items()}
    return _replaced(condition, new)


def _replaced(node: ast.Node, new: dict[int, Decimal]) -> ast.Node:
    if isinstance(node, ast.Literal) and id(node) in new:
        return dataclasses.replace(node, value=new[id(node)])
    if isinstance(node, (ast.And, ast.Or)):
        return dataclasses.replace(node, items=tuple(_replaced(i, new) for i in node.items))
    if isinstance(node, ast.Not):
        return dataclasses.replace(node, operand=_replaced(node.operand, new))
    if isinstance(node, ast.Compare):
        return dataclasses.replace(node, left=_replaced(node.left, new), right=_replaced(node.right, new))
    if isinstance(node, ast.Between):
        return dataclasses.replace(node, low=_replaced(node.low, new), high=_replaced(node.high, new))
    return node


# ---------------------------------------------------------------- won rates around a threshold

def _side(score: str, op: str, value: Decimal) -> exp.Expr:
    return COMPARISONS[op](this=exp.column(score, quoted=True), expression=exp.Literal.number(str(value)))


def _band(score: str, low: Decimal, high: Decimal) -> exp.Expr:
    return exp.and_(_side(score, ">=", low), _side(score, "<", high))


def evidence(measured: Measured, site: Site, band: Decimal) -> ThresholdEvidence:
    """The won rates past the threshold, just above and just below it."""
    wheres = [_side(site.score, site.op, site.value), _band(site.score, site.value, site.value + band),
              _band(site.score, site.value - band, site.value)]
    measures = [m for where in wheres for m in (count_where(where), count_where(exp.and_(where.copy(), is_won())))]
    row = measured.con.execute(exp.select(*measures).from_(TABLE).sql("duckdb")).fetchone() or (0,) * 6
    past, won_past, above, won_above, below, won_below = (int(n) for n in row)
    return ThresholdEvidence(site.place, site.kind, site.score, site.op,
                             site.value, site.line, site.handoff, band, past, won_share(won_past, past), above,
                             won_share(won_above, above), below, won_share(won_below, below),
                             ci_past=wilson(won_past, past), ci_above=wilson(won_above, above),
                             ci_below=wilson(won_below, below))


def wilson(won: int, leads: int) -> tuple[float, float] | None:
    """The LEVEL interval of won / leads (Wilson's, from statsmodels); None without a lead."""
    from statsmodels.stats.proportion import proportion_confint

    if not leads:
        return None
    low, high = proportion_confint(won, leads, alpha=1 - LEVEL, method="wilson")
    return float(low), float(high)


# ---------------------------------------------------------------- the same count on new scores

@dataclass
class Distribution:
    """A score's distinct values over the decided leads, ascending, with how many leads (and won leads) hold
    each."""

    values: list[Decimal]
    leads: list[int]
    won: list[int]

    def __post_init__(self) -> None:
        self.leads_before = [0, *itertools.accumulate(self.leads)]  # leads below each value, then all
        self.won_before = [0, *itertools.accumulate(self.won)]

    @classmethod
    def of(cls, measured: Measured, score: str) -> "Distribution":
        column = exp.column(score, quoted=True)
        query = (exp.select(column, exp.Count(this=exp.Star()), count_where(is_won())).from_(TABLE)
                 .where(exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())))
                 .group_by(column.copy()).order_by(column.copy()))
        rows = measured.con.execute(query.sql("duckdb")).fetchall()
        return cls([Decimal(str(v)) for v, _, _ in rows], [int(n) for _, n, _ in rows], [int(w) for _, _, w in rows])

    def past(self, op: str, value: Decimal) -> tuple[int, int]:
        """(leads, won) on the side `score OP value`."""
        if op in (">=", ">"):
            start = (bisect.bisect_left if op == ">=" else bisect.bisect_right)(self.values, value)
            return self.leads_before[-1] - self.leads_before[start], self.won_before[-1] - self.won_before[start]
        end = (bisect.bisect_right if op == "<=" else bisect.bisect_left)(self.values, value)
        return self.leads_before[end], self.won_before[end]


def same_count(dist: Distribution, op: str, value: Decimal, target: int, grid: Decimal) -> dict[str, Any]:
    """On `grid` (and the value as written), the threshold keeping the most leads on its side without more than
    `target`; of those keeping the same leads, the nearest the value as written. {"value", "leads",
    "won_rate"}."""
    candidates = {value}
    for v in dist.values:
        low = on_grid(v, grid, ROUND_FLOOR)
        candidates.update((low - grid, low, low + grid, low + 2 * grid))
    scored = [(t, *dist.past(op, t)) for t in candidates]
    fitting = [s for s in scored if s[1] <= target] or [min(scored, key=lambda s: s[1])]
    best = max(s[1] for s in fitting)
    value_kept, leads, won = min((s for s in fitting if s[1] == best), key=lambda s: (abs(s[0] - value), s[0]))
    return {"value": value_kept, "leads": leads, "won_rate": won_share(won, leads)}


# ---------------------------------------------------------------- raising a handoff floor

@dataclass(frozen=True)
class Floor:
    """A handoff stage's floor (`SCORE >= N` or `SCORE > N` in a stage that hands leads over) at its value now."""

    index: int  # in the sites
    stage: str
    score: str
    op: str
    value: Decimal
    grid: Decimal


@dataclass(frozen=True)
class Raise:
    """A floor's next value on its grid, and the leads of its stage it would no longer take (and how many won)."""

    floor: Floor
    value: Decimal
    leads: int
    won: int

    @property
    def cost(self) -> float:
        """Won leads lost per handoff removed."""
        return self.won / self.leads


def next_raise(con: Any, floor: Floor) -> Raise | None:
    """The floor's next value on its grid past the lowest score its stage's handed-off leads hold (table
    `feedback` of `con`), with those leads; None when no lead of the stage is past it."""
    column = exp.column(floor.score, quoted=True)
    stage = exp.EQ(this=exp.column("stage", quoted=True), expression=exp.Literal.string(floor.stage))
    where = exp.and_(stage, exp.column("#handed", quoted=True), _side(floor.score, floor.op, floor.value))
    query = (exp.select(column, exp.Count(this=exp.Star()), count_where(is_won())).from_(TABLE).where(where)
             .group_by(column.copy()).order_by(column.copy()))
    rows = [(Decimal(str(v)), int(n), int(w)) for v, n, w in con.execute(query.sql("duckdb")).fetchall()]
    if not rows:
        return None
    lowest = rows[0][0]
    # past `value`: >= leaves out every score below it, > every score up to it
    value = (on_grid(lowest, floor.grid, ROUND_FLOOR) + floor.grid if floor.op == ">="
             else on_grid(lowest, floor.grid, ROUND_CEILING))
    dropped = [(n, w) for v, n, w in rows if (v < value if floor.op == ">=" else v <= value)]
    return Raise(floor, value, sum(n for n, _ in dropped), sum(w for _, w in dropped))


def cheapest_raise(con: Any, floors: list[Floor]) -> Raise | None:
    """Of the floors' next raises, the one whose leads win least per handoff removed (then the one removing
    more, then the first written)."""
    found = [r for r in (next_raise(con, f) for f in floors) if r is not None]
    return min(found, key=lambda r: (r.cost, -r.leads, r.floor.index)) if found else None
