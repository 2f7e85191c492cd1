"""Reasoning over conditions: which can never be true, always true, or never reached.

The checker (language) asks these questions through `language.checks.context.Reasoning`; this module is
its answer, passed in by `semantics.loading` (language imports nothing of semantics).

Each variable a condition reads (a field, score, grade, `days since`, an event count or
`days since last EVENT`) gets a
finite set of representative values: every constant it is compared with, a value
between each pair, one below and one above, and `missing` where it can be
missing. Atoms that this cannot decide exactly (text matches, field-to-field
comparisons) become free three-valued variables of their own. The set of worlds
so built contains every real lead's situation, so "no world makes it true" is a
sound reason for a never-true warning or an unreachable error.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any, Iterator, Sequence
from zoneinfo import ZoneInfo

from leadpolicy.language import ast
from leadpolicy.language.symbols import CHOICE, DATE, NUMBER, TEXT, TIMESTAMP, YESNO, Symbol
from leadpolicy.language.visitor import Visitor
from leadpolicy.runtime import fold
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.interpreter import Truth, Truths
from leadpolicy.semantics.lowering import Lowering

MAX_WORLDS = 200_000
OTHER = "\x00other"
ORDERED = (NUMBER, DATE, TIMESTAMP)
ACTIVITY = ("count", "last")  # variables of what a lead did: ("count", EVENT, DAYS) and ("last", EVENT)
Var = tuple[str | int, ...]  # ("ref", NAME), ("days", FIELD), ("count", EVENT, DAYS) or ("last", EVENT)
World = dict[Var, Any]  # a value for every variable
Opaque = dict[ast.Node, Truth]  # a truth value for every atom the worlds cannot decide


def _var_of(node: ast.Node, symbols: dict[str, Symbol]) -> Var | None:
    if isinstance(node, ast.NameRef) and node.name in symbols:
        return ("ref", node.name)
    if isinstance(node, ast.DaysSince) and node.field_name in symbols:
        return ("days", node.field_name)
    if isinstance(node, ast.EventCount):
        return ("count", node.event, int(node.days))
    if isinstance(node, ast.DaysSinceEvent):
        return ("last", node.event)
    return None


def _literal_value(lit: ast.Literal) -> Any:
    if lit.kind == "date":
        return dt.date.fromisoformat(str(lit.value))
    if lit.kind == "text":
        return fold(str(lit.value))
    return lit.value


class _Atoms(Visitor):
    """The atoms of a condition (what and / or / not combine), in order."""

    def visit_And(self, node: ast.And, out: list[ast.Node]) -> None:
        for item in node.items:
            self.visit(item, out)

    visit_Or = visit_And

    def visit_Not(self, node: ast.Not, out: list[ast.Node]) -> None:
        self.visit(node.operand, out)

    def generic_visit(self, node: ast.Node, out: list[ast.Node]) -> None:
        out.append(node)


def _atoms(node: ast.Node) -> list[ast.Node]:
    out: list[ast.Node] = []
    _Atoms().visit(node, out)
    return out


class _Space:
    """The variables of a set of conditions and their representative values."""

    def __init__(self, conditions: Sequence[ast.Node], symbols: dict[str, Symbol]):
        self.symbols = symbols
        self.constants: dict[Var, list[Any]] = {}
        self.opaque: list[ast.Node] = []
        self.decidable: dict[int, ir.Condition] = {}  # id of a decidable atom -> the atom lowered
        self.lowering = Lowering(symbols, texts=False)
        for cond in conditions:
            for atom in _atoms(cond):
                self._collect(atom)

    def _collect(self, atom: ast.Node) -> None:
        operands: list[ast.Node] = []
        if isinstance(atom, ast.Compare):
            operands = [atom.left, atom.right]
        elif isinstance(atom, ast.Between):
            operands = [atom.operand, atom.low, atom.high]
        elif isinstance(atom, ast.InList):
            operands = [atom.operand, *atom.values]
        elif isinstance(atom, (ast.IsMissing, ast.Truthy)):
            operands = [atom.operand]
        elif isinstance(atom, ast.Happened):  # at least one: the count compared with 1
            self.decidable[id(atom)] = self.lowering.condition(atom)
            self.constants.setdefault(("count", atom.event, int(atom.days)), []).append(Decimal(1))
            return
        variables = [_var_of(o, self.symbols) for o in operands]
        named = [v for v in variables if v is not None]
        literals_only = all(v is not None or isinstance(o, ast.Literal) for o, v in zip(operands, variables))
        if isinstance(atom, ast.TextMatch) or len(named) > 1 or not literals_only or not operands:
            if atom not in self.opaque:
                self.opaque.append(atom)
            for v in named:
                self.constants.setdefault(v, [])
            return
        self.decidable[id(atom)] = self.lowering.condition(atom)
        for v in named:
            consts = self.constants.setdefault(v, [])
            consts.extend(_literal_value(o) for o in operands if isinstance(o, ast.Literal))

    def _type(self, var: Var) -> tuple[str, bool, Symbol | None]:
        if var[0] in ACTIVITY:
            return NUMBER, var[0] == "last", None
        sym = self.symbols[str(var[1])]
        if var[0] == "days":
            return NUMBER, sym.nullable, sym
        return sym.type, sym.nullable, sym

    def domain(self, var: Var) -> list[Any]:
        kind, nullable, sym = self._type(var)
        consts = self.constants.get(var, [])
        if var[0] in ACTIVITY:  # a count, or whole days since the last event: never below 0
            values: list[Any] = [v for v in self._ordered(NUMBER, [*consts, 0], None) if v >= 0]
        elif kind == YESNO:
            values = [True, False]
        elif kind in (TEXT, CHOICE):
            assert sym is not None
            values = sorted({c for c in consts if isinstance(c, str)} | ({fold(c) for c in sym.choices}
                                                                           if sym.choices else {OTHER}))
        elif kind in ORDERED:
            values = self._ordered(kind, consts, sym if var[0] == "ref" else None)
        else:
            values = [None]
        return values + ([None] if nullable else [])

    @staticmethod
    def _ordered(kind: str, consts: list[Any], sym: Symbol | None) -> list[Any]:
        """Each constant, a value between each pair, one below and one above (within a score's clamp)."""
        if kind == NUMBER:
            numbers = sorted({Decimal(c) for c in consts if logic.is_number(c)})
            clamp = None
            low, high = (sym.low, sym.high) if sym is not None and sym.kind == "score" else (None, None)
            if isinstance(low, Decimal) and isinstance(high, Decimal):
                clamp = (low, high)
                numbers = sorted(set(numbers) | set(clamp))
            if not numbers:
                return [Decimal(0)]
            values: list[Any] = [numbers[0] - 1]
            for a, b in zip(numbers, numbers[1:]):
                values += [a, (a + b) / 2]
            values += [numbers[-1], numbers[-1] + 1]
            return [v for v in values if clamp is None or clamp[0] <= v <= clamp[1]]
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

    def worlds(self) -> Iterator[tuple[World, Opaque]] | None:
        variables = list(self.constants)
        domains = [self.domain(v) for v in variables]
        size = 1
        for d in domains:
            size *= len(d)
        size *= 3 ** len(self.opaque)
        if size > MAX_WORLDS:
            return None

        def generate() -> Iterator[tuple[World, Opaque]]:
            for values in itertools.product(*domains):
                world = dict(zip(variables, values))
                for truths in itertools.product((True, False, None), repeat=len(self.opaque)):
                    yield world, dict(zip(self.opaque, truths))
        return generate()


class _WorldTruths(Truths):
    """Truth of lowered atoms in one world at a time (`world` is set before each use)."""

    def __init__(self, tz: ZoneInfo):
        super().__init__(self.value, tz)
        self.world: World = {}

    def value(self, op: ir.Operand) -> Any:
        if isinstance(op, ir.Const):
            return op.value
        if isinstance(op, ir.DaysSince):
            return self.world[("days", op.field)]
        if isinstance(op, ir.Ref):
            return self.world[("ref", op.name)]
        if isinstance(op, ir.EventCount):
            return self.world[("count", op.event, int(op.days))]
        return self.world[("last", op.event)]


class _InWorld(Visitor):
    """A condition's truth in one world: and / or / not as the language defines them, decidable atoms
    (lowered once) by the interpreter's own rules, the others as the world's free truth values."""

    def __init__(self, space: _Space, truths: _WorldTruths):
        self.space, self.truths = space, truths
        self.opaque: Opaque = {}

    def truth(self, node: ast.Node, world: World, opaque: Opaque) -> Truth:
        self.truths.world, self.opaque = world, opaque
        truth: Truth = self.visit(node)
        return truth

    def visit_And(self, node: ast.And) -> Truth:
        return logic.and3(self.visit(i) for i in node.items)

    def visit_Or(self, node: ast.Or) -> Truth:
        return logic.or3(self.visit(i) for i in node.items)

    def visit_Not(self, node: ast.Not) -> Truth:
        return logic.not3(self.visit(node.operand))

    def generic_visit(self, node: ast.Node) -> Truth:
        lowered = self.space.decidable.get(id(node))
        return self.opaque[node] if lowered is None else self.truths.visit(lowered)


def satisfiability(condition: ast.Node, symbols: dict[str, Symbol], timezone: str) -> str:
    """'never', 'always' or 'sometimes' (also when the space is too large to decide)."""
    space = _Space([condition], symbols)
    worlds = space.worlds()
    if worlds is None:
        return "sometimes"
    in_world = _InWorld(space, _WorldTruths(logic.zone(timezone)))
    seen = set()
    for world, opaque in worlds:
        seen.add(in_world.truth(condition, world, opaque) is True)
        if len(seen) == 2:
            return "sometimes"
    return "always" if seen == {True} else "never"


def unreachable(conditions: Sequence[ast.Node | None], symbols: dict[str, Symbol], timezone: str) -> list[int]:
    """Indices of first-match entries that no lead can ever reach (`otherwise` entries are None)."""
    present = [c for c in conditions if c is not None]
    if not present:
        return []
    space = _Space(present, symbols)
    worlds = space.worlds()
    if worlds is None:
        return []
    in_world = _InWorld(space, _WorldTruths(logic.zone(timezone)))
    reached: set[int] = set()
    candidates = {i for i, c in enumerate(conditions) if c is not None}
    for world, opaque in worlds:
        for i, cond in enumerate(conditions):
            if cond is None:
                break
            if in_world.truth(cond, world, opaque) is True:
                reached.add(i)
                break
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
