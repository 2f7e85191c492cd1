"""Reasoning over conditions: which can never be true, always true, or never reached.

The checker (language) asks these questions through `language.checks.context.Reasoning`; this module is
its answer, passed in by `semantics.loading` (language imports nothing of semantics).

Each condition is lowered once to the IR, and the analysis reads only the IR and the table of primitives,
never a kind of node: a new operand or condition needs nothing here.

- A variable is an operand that is not a constant (IR nodes are frozen dataclasses: the same field,
  `days since` or window read in two places is one variable). It gets a finite set of representative
  values from its facts in the table (`primitives.facts`: type, whole, can be missing, least value) and,
  for a score, its clamp: every constant it is compared with, a value between each pair, one below and
  one above (for a whole number, the whole numbers among those), within its least value and clamp, and
  `missing` where it can be missing. A count is whole and never below 0, so "at least one" (`happened`)
  is "above 0" and the worlds decide it exactly. A new condition that compares its operand with a value
  that is not one of its operands, other than that least value, needs that value among the worlds: list
  it in `OPAQUE` until it has one (tests/test_analysis_ir.py checks every verdict against concrete leads).
- An atom is a condition whose children are operands. The worlds decide it when it reads at most one
  variable and is not in `OPAQUE`; any other atom (a text match, a field compared with a field) is a free
  three-valued variable of its own (the same atom twice is one).
- A condition's truth in a world is the interpreter's own (`interpreter.Truths`, the rows' `interpret`
  column), with operands read from the world; and / or / not by their rows too.

The worlds so built contain every real lead's situation, so "no world makes it true" is a sound reason for
a never-true warning or an unreachable error. More than `MAX_WORLDS` worlds are not searched: the answer is
then "sometimes" and no entry is unreachable.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Iterable, Iterator, Sequence, cast
from zoneinfo import ZoneInfo

from leadpolicy.language import ast
from leadpolicy.language.symbols import Symbol
from leadpolicy.language.types import Type
from leadpolicy.runtime import fold
from leadpolicy.semantics import ir, logic, primitives
from leadpolicy.semantics.interpreter import Truth, Truths
from leadpolicy.semantics.lowering import Lowering

MAX_WORLDS = 200_000
OTHER = "\x00other"  # a text unlike every constant and choice
# Atoms the worlds cannot decide from their operand's representative values: a text takes only its
# constants and choices (and OTHER), which cannot stand for every text a match looks into.
OPAQUE: frozenset[type[ir.Node]] = frozenset({ir.TextMatch})
UNKNOWNS: tuple[Truth, ...] = (True, False, None)  # the values of an opaque atom
World = tuple[Any, ...]  # a value for every variable, then a truth for every opaque atom


def _operands(node: ir.Node) -> list[ir.Operand]:
    return [child for child in node.children() if type(child) in primitives.OPERANDS]


def _atoms(condition: ir.Condition) -> list[ir.Condition]:
    """The atoms of a condition (what and / or / not combine): the conditions holding operands."""
    return [node for node in condition.walk() if type(node) in primitives.CONDITIONS and _operands(node)]


def _constant(op: ir.Const) -> Any:
    """A constant as a variable's value: text folded, as every comparison of text sees it."""
    return fold(op.value) if isinstance(op.value, str) else op.value


def _lowered(conditions: Iterable[ast.Node], symbols: dict[str, Symbol]) -> list[ir.Condition] | None:
    """The conditions lowered, or None when one names what the policy does not define (the checker has
    reported it; nothing is concluded from it)."""
    lowering = Lowering(symbols, texts=False)
    try:
        return [lowering.condition(c) for c in conditions]
    except KeyError:
        return None


def _whole_points(numbers: list[Decimal]) -> list[Decimal]:
    """Each whole constant, a whole number between each pair where there is one, one below and one above."""
    def above(n: Decimal) -> Decimal:
        return n.to_integral_value(rounding=ROUND_FLOOR) + 1

    points = [-above(-numbers[0])]  # the greatest whole number below the least constant
    for a, b in zip(numbers, numbers[1:]):
        points += [a] if a == a.to_integral_value() else []
        points += [above(a)] if above(a) < b else []
    last = numbers[-1]
    return points + ([last] if last == last.to_integral_value() else []) + [above(last)]


def _numbers(consts: list[Any], whole: bool, bounds: tuple[Decimal | None, Decimal | None]) -> list[Decimal]:
    """Each constant, a value between each pair, one below and one above, within `bounds` (least, most)."""
    numbers = sorted({Decimal(c) for c in consts if logic.is_number(c)} | {b for b in bounds if b is not None})
    if not numbers:
        return [Decimal(0)]
    if whole:
        values = _whole_points(numbers)
    else:
        values = [numbers[0] - 1]
        for a, b in zip(numbers, numbers[1:]):
            values += [a, (a + b) / 2]
        values += [numbers[-1], numbers[-1] + 1]
    low, high = bounds
    return [v for v in values if (low is None or v >= low) and (high is None or v <= high)]


def _dates(consts: list[Any]) -> list[dt.date]:
    """Each date constant, a day between each pair that has days between, the day before and the day after."""
    dates = sorted({c for c in consts if isinstance(c, dt.date)})
    if not dates:
        return [dt.date(2000, 1, 1)]
    day = dt.timedelta(days=1)
    values = [dates[0] - day]
    for first, second in zip(dates, dates[1:]):
        values.append(first)
        if (second - first).days > 1:
            values.append(dt.date.fromordinal(first.toordinal() + (second - first).days // 2))
    return values + [dates[-1], dates[-1] + day]


def _bounds(facts: primitives.Facts, declared: Symbol | None) -> tuple[Decimal | None, Decimal | None]:
    """The least and the greatest value a number can take: its least value in the facts, a score's clamp."""
    clamp = (declared.low, declared.high) if declared is not None and declared.kind == "score" else (None, None)
    lows = [b for b in (facts.minimum, clamp[0]) if isinstance(b, Decimal)]
    return (max(lows) if lows else None), (clamp[1] if isinstance(clamp[1], Decimal) else None)


class _Space:
    """The variables and opaque atoms of a set of lowered conditions, and their representative values."""

    def __init__(self, conditions: Sequence[ir.Condition], symbols: dict[str, Symbol]):
        self.symbols = symbols
        self.constants: dict[ir.Operand, list[Any]] = {}  # each variable: the constants it is compared with
        self.opaque: dict[ir.Condition, None] = {}  # the atoms the worlds do not decide, in order
        places: list[tuple[int, ir.Node]] = []  # (id of a node in the conditions, the variable or atom it is)
        for condition in conditions:
            for atom in _atoms(condition):
                places += self._collect(atom)
        keys: Iterable[ir.Node] = itertools.chain(self.constants, self.opaque)
        slots = {key: i for i, key in enumerate(keys)}
        self.slot_of = {place: slots[key] for place, key in places}  # where a node reads its value in a World

    def _collect(self, atom: ir.Condition) -> list[tuple[int, ir.Node]]:
        operands = _operands(atom)
        variables = [op for op in operands if not isinstance(op, ir.Const)]
        if type(atom) in OPAQUE or len(variables) > 1:
            self.opaque.setdefault(atom)  # its variables need no values of their own: it reads none of them
            return [(id(atom), atom)]
        for var in variables:
            self.constants.setdefault(var, []).extend(_constant(op) for op in operands if isinstance(op, ir.Const))
        return [(id(var), var) for var in variables]

    def _declared(self, var: ir.Operand) -> Symbol | None:
        """What the policy declares of a reference: a choice's values, a score's clamp."""
        return self.symbols.get(var.name) if isinstance(var, ir.Ref) else None

    def domain(self, var: ir.Operand) -> list[Any]:
        facts = primitives.facts(var)
        consts = self.constants[var]
        declared = self._declared(var)
        values: list[Any]
        if facts.type is Type.YESNO:
            values = [True, False]
        elif facts.type.textual:
            choices = {fold(c) for c in declared.choices} if declared is not None and declared.choices else {OTHER}
            values = sorted({c for c in consts if isinstance(c, str)} | choices)
        elif facts.type is Type.NUMBER:
            values = _numbers(consts, facts.whole, _bounds(facts, declared))
        elif facts.type in (Type.DATE, Type.TIMESTAMP):
            values = _dates(consts)
        else:
            values = [None]
        return values + ([None] if facts.nullable else [])

    def worlds(self) -> Iterator[World] | None:
        """Every combination of representative values and opaque truths; None when there are more than
        MAX_WORLDS (or a variable has no value at all)."""
        domains: list[Sequence[Any]] = [self.domain(v) for v in self.constants]
        domains += [UNKNOWNS] * len(self.opaque)
        size = math.prod(len(d) for d in domains)
        if size > MAX_WORLDS or size == 0:
            return None
        return itertools.product(*domains)


class _WorldTruths(Truths):
    """The interpreter's truth of lowered conditions in one world at a time: a variable reads the world,
    an opaque atom is the world's free truth value, everything else is its row's `interpret`."""

    def __init__(self, space: _Space, tz: ZoneInfo):
        super().__init__(self.value, tz)
        self.slot_of = space.slot_of
        self.world: World = ()

    def truth(self, condition: ir.Condition, world: World) -> Truth:
        self.world = world
        return self.visit(condition)

    def value(self, op: ir.Operand) -> Any:
        slot = self.slot_of.get(id(op))
        return cast(ir.Const, op).value if slot is None else self.world[slot]

    def visit(self, node: ir.Condition) -> Truth:
        slot = self.slot_of.get(id(node))
        return super().visit(node) if slot is None else cast(Truth, self.world[slot])


class _Verdicts:
    """`satisfiability`'s answers, kept while the symbols they were found with read the same (the language
    server checks the text again after each edit, and most of its conditions are the last text's). A condition
    is keyed by its nodes, whose equality leaves spans out: an answer holds no span."""

    LIMIT = 100_000  # answers kept at most

    def __init__(self) -> None:
        self.symbols: dict[str, Symbol] | None = None
        self.facts: tuple[tuple[Any, ...], ...] = ()
        self.answers: dict[tuple[ast.Node, str, int], str] = {}  # (condition, time zone, MAX_WORLDS): answer
        self.lock = threading.Lock()

    def answer(self, condition: ast.Node, symbols: dict[str, Symbol], timezone: str) -> str:
        with self.lock:
            self._follow(symbols)
            key = (condition, timezone, MAX_WORLDS)
            known = self.answers.get(key)
        if known is not None:
            return known
        found = _satisfiability(condition, symbols, timezone)
        with self.lock:
            if self.symbols is symbols and len(self.answers) < self.LIMIT:
                self.answers[key] = found
        return found

    def _follow(self, symbols: dict[str, Symbol]) -> None:
        """Forget the answers when the symbols read otherwise than those they were found with."""
        if symbols is self.symbols:
            return
        facts = tuple((n, s.kind, s.type, s.choices, s.nullable, s.low, s.high) for n, s in symbols.items())
        if facts != self.facts:
            self.answers = {}
        self.symbols, self.facts = symbols, facts


_VERDICTS = _Verdicts()


def satisfiability(condition: ast.Node, symbols: dict[str, Symbol], timezone: str) -> str:
    """'never', 'always' or 'sometimes' (also when the space is too large to decide)."""
    return _VERDICTS.answer(condition, symbols, timezone)


def _satisfiability(condition: ast.Node, symbols: dict[str, Symbol], timezone: str) -> str:
    lowered = _lowered([condition], symbols)
    if lowered is None:
        return "sometimes"
    space = _Space(lowered, symbols)
    worlds = space.worlds()
    if worlds is None:
        return "sometimes"
    truths = _WorldTruths(space, logic.zone(timezone))
    seen = set()
    for world in worlds:
        seen.add(truths.truth(lowered[0], world) is True)
        if len(seen) == 2:
            return "sometimes"
    return "always" if seen == {True} else "never"


def unreachable(conditions: Sequence[ast.Node | None], symbols: dict[str, Symbol], timezone: str) -> list[int]:
    """Indices of first-match entries that no lead can ever reach (`otherwise` entries are None; an entry
    after one is never reached)."""
    present = [c for c in conditions if c is not None]
    lowered = _lowered(present, symbols) if present else None
    if not lowered:
        return []
    space = _Space(lowered, symbols)
    worlds = space.worlds()
    if worlds is None:
        return []
    truths = _WorldTruths(space, logic.zone(timezone))
    ladder = iter(lowered)
    entries = [None if c is None else next(ladder) for c in conditions]
    tried = list(enumerate(itertools.takewhile(lambda c: c is not None, entries)))
    candidates = {i for i, c in enumerate(entries) if c is not None}
    reached: set[int] = set()
    for world in worlds:
        first = next((i for i, c in tried if truths.truth(cast(ir.Condition, c), world) is True), None)
        if first is not None:
            reached.add(first)
        if reached == candidates:
            return []
    return sorted(candidates - reached)


def decay_problem(percent: Decimal, bound: Decimal) -> str | None:
    """Why generated SQL cannot carry this decay (its exact factor table would be too long), or None."""
    try:
        logic.decay_factor_table(percent, bound)
    except ValueError as exc:
        return str(exc)
    return None
