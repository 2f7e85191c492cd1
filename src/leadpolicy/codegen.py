"""Generate a Python evaluation function from the IR, and compile it once.

Safety: nothing from a policy or a lead becomes code. Identifiers in the generated
source are our own (`v3`, `t1`, `K7`); field names, texts and numbers enter only as
`repr()` of values the IR schema has validated (str, int, or Decimal built from an
exact decimal string), and dates as integer arguments.

Conditions compile to two plain-boolean expressions, T(c) ("c is true") and F(c)
("c is false"), which is exactly SQL's three-valued logic: T(a and b) = T(a) and T(b),
F(a and b) = F(a) or F(b), T(not a) = F(a), and an atom over a missing value is neither.
A rule fires when T(condition) holds.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

from .logic import NEGATED, decay_power, fold
from .schema import BLANK, DATE_PATTERN, MAX_NUMBER, TIMESTAMP_PATTERN, in_range, local_date, read_instant

INVALID = object()  # returned by a generated function for a lead the schema validator must explain
PY_OP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}



def folded(var: str) -> str:
    """`logic.fold` of a text variable, with ASCII text (nearly all of it) lowered inline."""
    return f"({var}.lower() if {var}.isascii() else fold({var}))"

class CodeWriter:
    """Lines at an indentation level, and fresh names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0
        self.counter = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self.level + text) if text else "")

    def indent(self) -> None:
        self.level += 1

    def outdent(self) -> None:
        self.level -= 1

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


class _Generator:
    def __init__(self, ir: dict):
        self.ir = ir
        self.w = CodeWriter()
        self.constants: list[Any] = []  # values bound to K0, K1, ... in the namespace
        self.const_index: dict[tuple, str] = {}
        self.fields = {f["name"]: f for f in ir["fields"]}
        self.value_var: dict[str, str] = {}  # field / score / grade name -> local variable
        self.derived: dict[tuple, str] = {}  # (kind, field name) -> local variable, computed before decisions
        self.grade_lower: dict[str, str] = {}  # grade name -> its lowered label, computed right after it

    # ------------------------------------------------------------ constants
    def const(self, value: Any) -> str:
        """A safe Python expression for a validated constant."""
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, int):
            return repr(value)
        if isinstance(value, str):
            return repr(value)
        key = (type(value).__name__, str(value))
        if key not in self.const_index:
            self.const_index[key] = f"K{len(self.constants)}"
            self.constants.append(value)
        return self.const_index[key]

    def number(self, text: str) -> str:
        value = Decimal(text)
        if value == value.to_integral_value():
            return repr(int(value))
        return self.const(value)

    # ------------------------------------------------------------ operands
    def operand(self, op: dict, purpose: str = "") -> tuple[str, bool]:
        """(expression, nullable). purpose: 'text' for case-insensitive text, 'date' for a local date."""
        if "lit" in op:
            kind, value = op["type"], op["lit"]
            if kind == "number":
                return self.number(value), False
            if kind == "text":
                return repr(fold(value) if purpose == "text" else value), False
            if kind == "yes/no":
                return repr(bool(value)), False
            return self.const(dt.date.fromisoformat(value)), False
        if "days_since" in op:
            return self.derived_var(("days", op["days_since"])), op["nullable"]
        name = op["ref"]
        var = self.value_var[name]
        nullable = op["nullable"]
        if purpose == "text" and op.get("kind") == "grade":
            return self.grade_lower[name], nullable
        if purpose == "text" and op["type"] in ("text", "one of"):
            return self.derived_var(("lower", name)), nullable
        if purpose == "date" and op["type"] == "timestamp":
            return self.derived_var(("localdate", name)), nullable
        return var, nullable

    def derived_var(self, key: tuple) -> str:
        if key not in self.derived:
            self.derived[key] = self.w.fresh("d")
        return self.derived[key]

    def _purpose(self, *ops: dict) -> str:
        types = {o["type"] for o in ops}
        if types & {"text", "one of"}:
            return "text"
        if "date" in types and "timestamp" in types:
            return "date"
        return ""

    # ------------------------------------------------------------ conditions
    def truth(self, cond: dict, want: bool) -> str:
        """A Python bool expression: the condition is true (want=True) or false (want=False)."""
        op = cond["op"]
        if op == "and" or op == "or":
            parts = [self.truth(i, want) for i in cond["items"]]
            joiner = " and " if (op == "and") == want else " or "
            return "(" + joiner.join(parts) + ")"
        if op == "not":
            return self.truth(cond["item"], not want)
        if op == "cmp":
            purpose = self._purpose(cond["left"], cond["right"])
            (a, an), (b, bn) = self.operand(cond["left"], purpose), self.operand(cond["right"], purpose)
            symbol = cond["cmp"] if want else NEGATED[cond["cmp"]]
            return self._guard([(a, an), (b, bn)], f"{a} {PY_OP[symbol]} {b}")
        if op == "between":
            low = {"op": "cmp", "cmp": ">=", "left": cond["value"], "right": cond["low"]}
            high = {"op": "cmp", "cmp": "<=", "left": cond["value"], "right": cond["high"]}
            return self.truth({"op": "and", "items": [low, high]}, want)
        if op == "in":
            purpose = self._purpose(cond["value"], *cond["options"])
            value, nullable = self.operand(cond["value"], purpose)
            options = [self.operand(o, purpose)[0] for o in cond["options"]]
            inside = want != cond["negated"]
            test = f"{value} {'in' if inside else 'not in'} ({', '.join(options)},)"
            return self._guard([(value, nullable)], test)
        if op == "text":
            value, nullable = self.operand(cond["value"], "text")
            needles = [repr(fold(n)) for n in cond["needles"]]
            how = cond["how"]
            if how in ("contains", "contains_any"):
                parts = [f"{n} in {value}" for n in needles]
            elif how == "starts":
                parts = [f"{value}.startswith({n})" for n in needles]
            else:
                parts = [f"{value}.endswith({n})" for n in needles]
            test = " or ".join(parts)
            return self._guard([(value, nullable)], f"({test})" if want else f"not ({test})")
        if op == "missing":
            value, nullable = self.operand(cond["value"])
            is_missing = want != cond["negated"]
            if not nullable:
                return "False" if is_missing else "True"
            return f"{value} is None" if is_missing else f"{value} is not None"
        if op == "truthy":
            value, _ = self.operand(cond["value"])
            return f"{value} is {want}"
        raise ValueError(f"unknown condition op {op!r}")

    @staticmethod
    def _guard(operands: list[tuple[str, bool]], test: str) -> str:
        checks = [f"{expr} is not None" for expr, nullable in operands if nullable]
        return "(" + " and ".join(checks + [test]) + ")"

    # ------------------------------------------------------------ lead reading
    def read_field(self, index: int, f: dict) -> None:
        w, var, name = self.w, f"v{index}", f["name"]
        self.value_var[name] = var
        kind, required = f["type"], f["required"]
        default = f["default"]
        w.line(f"{var} = lead.get({name!r})")
        w.line(f"if {var} is None or ({var}.__class__ is str and not {var}.strip(BLANK)):")
        w.indent()
        if required:
            w.line("return INVALID")
        else:
            w.line(f"{var} = {self.typed_default(kind, default)}")
        w.outdent()
        if kind == "text":
            w.line(f"elif {var}.__class__ is not str:")
            w.indent(); w.line("return INVALID"); w.outdent()
        elif kind == "one of":
            w.line(f"elif {var}.__class__ is not str or {var} not in {self.const(frozenset(f['choices']))}:")
            w.indent(); w.line("return INVALID"); w.outdent()
        elif kind == "number":
            w.line(f"elif {var}.__class__ is int:")
            w.indent(); w.line(f"if not -MAX_NUMBER <= {var} <= MAX_NUMBER:  # ints compare and multiply exactly")
            w.indent(); w.line("return INVALID"); w.outdent(); w.outdent()
            w.line(f"elif {var}.__class__ is float:")
            w.indent()
            w.line(f"if not isfinite({var}):")
            w.indent(); w.line("return INVALID"); w.outdent()
            w.line(f"{var} = Decimal(repr({var}))")
            w.outdent()
            w.line("else:")
            w.indent(); w.line(f"{var} = read_number({var})")
            w.line(f"if {var} is INVALID:")
            w.indent(); w.line("return INVALID"); w.outdent(); w.outdent()
        elif kind == "yes/no":
            w.line(f"elif {var}.__class__ is not bool:")
            w.indent(); w.line("return INVALID"); w.outdent()
        elif kind == "date":
            w.line("else:")
            w.indent(); w.line(f"{var} = read_date({var})")
            w.line(f"if {var} is INVALID:")
            w.indent(); w.line("return INVALID"); w.outdent(); w.outdent()
        elif kind == "timestamp":
            w.line("else:")
            w.indent(); w.line(f"{var} = read_timestamp({var}, TZ)")
            w.line(f"if {var} is INVALID:")
            w.indent(); w.line("return INVALID"); w.outdent(); w.outdent()

    def typed_default(self, kind: str, default: Any) -> str:
        if default is None:
            return "None"
        if kind == "number":
            return self.number(str(default)) if isinstance(default, int) else self.const(Decimal(repr(default)))
        if kind == "yes/no":
            return repr(bool(default))
        if kind == "date":
            return self.const(dt.date.fromisoformat(default))
        if kind == "timestamp":
            return "read_timestamp(" + repr(default) + ", TZ)"
        return repr(default)

    def derive(self) -> None:
        """Values the conditions need besides the raw fields, computed once per lead."""
        w = self.w
        for (kind, name), var in list(self.derived.items()):
            source = self.value_var[name]
            if kind == "lower":
                w.line(f"{var} = None if {source} is None else {folded(source)}")
            elif kind == "localdate":
                w.line(f"{var} = None if {source} is None else local_date({source}, TZ)")
            elif kind == "days":
                field_type = self.fields[name]["type"]
                expr = f"(now - {source}) // DAY" if field_type == "timestamp" else f"(today - {source}).days"
                w.line(f"{var} = None if {source} is None else {expr}")

    # ------------------------------------------------------------ the function
    def generate(self) -> str:
        ir, w = self.ir, self.w
        w.line(f"# Generated by leadpolicy from policy {ir['id']!r} version {ir['version']!r}.")
        w.line(f"# Fingerprint {ir['fingerprint']!r}. Do not edit: recompile the policy.")
        w.line("")
        w.line("def evaluate(lead, now):")
        w.indent()
        w.line('"""(scores, rule points, grades, stage index, route label, route entry) or INVALID."""')
        for i, f in enumerate(ir["fields"]):
            self.read_field(i, f)
        body = CodeWriter()
        body.counter = w.counter
        outer, self.w = w, body
        self.decide()
        w.counter = body.counter
        self.w = outer
        if any(kind == "days" and self.fields[name]["type"] == "date" for kind, name in self.derived):
            w.line("today = local_date(now, TZ)")
        self.derive()
        w.lines.extend("    " + line if line else "" for line in body.lines)
        w.outdent()
        return w.source()

    def decide(self) -> None:
        w, ir = self.w, self.ir
        scores = {s["name"]: s for s in ir["scores"]}
        grades = {g["name"]: g for g in ir["grades"]}
        score_vars, point_vars, grade_vars = [], [], []
        for kind, name in ir["order"]:
            if kind == "score":
                var, points = self.score(scores[name])
                score_vars.append(var)
                point_vars += points
            else:
                var = self.w.fresh("g")
                self.value_var[name] = var
                grade_vars.append(var)
                self.ladder(grades[name]["entries"], var, lambda e: repr(e["label"]))
                lowered = self.w.fresh("gl")
                self.grade_lower[name] = lowered
                w.line(f"{lowered} = None if {var} is None else {folded(var)}")
        stage = self.w.fresh("stage")
        self.ladder(ir["stages"], stage, lambda e: repr(ir["stages"].index(e)))
        route, entry = self.w.fresh("route"), self.w.fresh("entry")
        w.line(f"{route} = {entry} = None")
        for ri, r in enumerate(ir["routes"]):
            indices = tuple(ir["stages"].index(s) for s in (st for st in ir["stages"] if st["name"] in r["stages"]))
            w.line(f"if {stage} in {indices!r}:")
            w.indent()
            self.ladder(r["entries"], route, lambda e, r=r: repr(e["label"]),
                        extra=lambda e, r=r, ri=ri: f"{entry} = {(ri, r['entries'].index(e))!r}")
            w.outdent()
        w.line(f"return {_tuple(score_vars)}, {_tuple(point_vars)}, {_tuple(grade_vars)}, {stage}, {route}, {entry}")

    def ladder(self, entries: list[dict], target: str, value: Callable[[dict], str],
               extra: Callable[[dict], str] | None = None) -> None:
        """First-match assignment of `target`."""
        w = self.w
        first = True
        closed = False
        for e in entries:
            if e["condition"] is None:
                if first:
                    w.line("if True:")
                else:
                    w.line("else:")
                closed = True
            else:
                w.line(f"{'if' if first else 'elif'} {self.truth(e['condition'], True)}:")
            w.indent()
            w.line(f"{target} = {value(e)}")
            if extra:
                w.line(extra(e))
            w.outdent()
            first = False
            if closed:
                break
        if not closed:
            if first:
                w.line(f"{target} = None")
            else:
                w.line("else:")
                w.indent()
                w.line(f"{target} = None")
                w.outdent()

    def score(self, s: dict) -> tuple[str, list[str]]:
        w = self.w
        total = w.fresh("total")
        integral = all(Decimal(r["points"]) == Decimal(r["points"]).to_integral_value() for r in s["rules"]) and all(
            Decimal(r["cap"]) == Decimal(r["cap"]).to_integral_value() for r in s["rules"] if r["kind"] == "per")
        w.line(f"{total} = {'0' if integral else self.const(Decimal(0))}")
        points = []
        for rule in s["rules"]:
            p = w.fresh("p")
            points.append(p)
            amount = self.number(rule["points"]) if integral else self.const(Decimal(rule["points"]))
            if rule["kind"] == "when":
                w.line(f"{p} = {amount} if {self.truth(rule['condition'], True)} else 0")
            else:
                var = self.value_var[rule["field"]]
                units = w.fresh("u")
                cap = self.number(rule["cap"]) if integral else self.const(abs(Decimal(rule["cap"])))
                w.line(f"{units} = 0 if {var} is None or {var} <= 0 else floor_units({var})")
                w.line(f"{p} = {amount} * {units}")
                w.line(f"if {p} > {cap}:")
                w.indent(); w.line(f"{p} = {cap}"); w.outdent()
                w.line(f"elif {p} < -{cap}:")
                w.indent(); w.line(f"{p} = -{cap}"); w.outdent()
            w.line(f"{total} += {p}")
        value = w.fresh("s")
        decay = s["decay"]
        if decay is not None:
            days = self.derived_var(("days", decay["field"]))
            powers = self.const(DecayPowers(Decimal(decay["percent"]), scaled=integral))
            every = self.number(decay["every_days"])
            periods = f"{days} // {every}" if every.lstrip("-").isdigit() else f"int(floor_div({days}, {every}))"
            w.line(f"if {days} is not None and {days} >= {every}:")
            w.indent()
            if integral:  # whole points: the factor in billionths, so the product is an exact int
                w.line(f"{value} = round_billionths({total} * {powers}[{periods}])")
            else:
                w.line(f"{value} = round_half_away({total} * {powers}[{periods}])")
            w.outdent()
            w.line("else:")
            w.indent(); w.line(f"{value} = round_half_away({total})"); w.outdent()
        else:
            w.line(f"{value} = round_half_away({total})")
        clamp = s["clamp"]
        if clamp is not None:
            low, high = self.number(clamp["low"]), self.number(clamp["high"])
            w.line(f"{value} = int(max(min({value}, {high}), {low}))")
        self.value_var[s["name"]] = value
        return value, points


class DecayPowers(dict):
    """The decay factor for n periods (logic.decay_power), computed once for each n."""

    def __init__(self, percent: Decimal, scaled: bool = False):
        super().__init__()
        self.percent = percent
        self.scaled = scaled  # as whole billionths (the factor has 9 places), for exact int arithmetic

    def __missing__(self, n: int):
        factor = decay_power(self.percent, n)
        value = self[n] = int(factor.scaleb(9)) if self.scaled else factor
        return value

    def __str__(self) -> str:  # the constant's identity, for sharing one table per factor
        return f"DecayPowers({self.percent}, {self.scaled})"


def _tuple(names: list[str]) -> str:
    return "(" + "".join(f"{n}, " for n in names).rstrip() + ")"


def floor_units(value) -> int:
    if value.__class__ is int:
        return value
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def floor_div(days: int, every) -> Decimal:
    return (Decimal(days) / Decimal(every)).to_integral_value(rounding=ROUND_FLOOR)


BILLION = 1_000_000_000


def round_billionths(value: int) -> int:
    """`value / 10**9` rounded to a whole number, halves away from zero, in exact int arithmetic."""
    whole, rest = divmod(abs(value), BILLION)
    if 2 * rest >= BILLION:
        whole += 1
    return whole if value >= 0 else -whole


def round_half_away(value) -> int:
    if value.__class__ is int:
        return value
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


_DATE = re.compile(DATE_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


MAX_NUMBER_INT = int(MAX_NUMBER)

def read_number(value: Any) -> Any:
    """A Decimal read as the schema reader reads it (through int or float); anything else is INVALID."""
    if value.__class__ is not Decimal or not in_range(value):
        return INVALID
    return Decimal(value) if value == value.to_integral_value() else Decimal(repr(float(value)))


def read_date(value: Any) -> Any:
    if value.__class__ is dt.date:
        return value
    if value.__class__ is not str or not _DATE.match(value):
        return INVALID
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return INVALID


def read_timestamp(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, dt.date):  # dates and datetimes, read as the schema reader does: via ISO text
        value = value.isoformat()
    if value.__class__ is not str or not _TIMESTAMP.match(value):
        return INVALID
    try:
        return read_instant(value, tz)
    except ValueError:
        return INVALID


def generate_source(ir: dict) -> tuple[str, list[Any]]:
    """The Python source of `evaluate(lead, now)` for a policy's IR, and its constants."""
    gen = _Generator(ir)
    return gen.generate(), gen.constants


def compile_evaluator(ir: dict) -> tuple[Callable, str]:
    """Generate, compile once, and return (evaluate, source)."""
    import math

    source, constants = generate_source(ir)
    namespace: dict[str, Any] = {
        "__builtins__": {"max": max, "min": min, "int": int, "repr": repr, "str": str, "bool": bool, "float": float},
        "INVALID": INVALID, "Decimal": Decimal, "BLANK": BLANK, "isfinite": math.isfinite, "DAY": dt.timedelta(days=1),
        "TZ": ZoneInfo(ir["timezone"]), "fold": fold, "local_date": local_date, "MAX_NUMBER": MAX_NUMBER_INT,
        "floor_units": floor_units, "floor_div": floor_div, "round_half_away": round_half_away,
        "round_billionths": round_billionths, "read_date": read_date, "read_timestamp": read_timestamp,
        "read_number": read_number,
    }
    namespace.update({f"K{i}": value for i, value in enumerate(constants)})
    code = compile(source, f"<leadpolicy {ir['id']} {ir['version']}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source, see the module docstring
    return namespace["evaluate"], source
