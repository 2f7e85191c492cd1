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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from leadpolicy import runtime, zones
from leadpolicy.language.types import Type
from leadpolicy.runtime import INVALID as INVALID
from leadpolicy.runtime import DecayPowers, choice_spellings
from leadpolicy.semantics import ir, linemap, primitives
from leadpolicy.semantics.primitives import scores
from leadpolicy.semantics.primitives.operands import FOLD_TEMPLATE


def folded(var: str) -> str:
    """`logic.fold` of a text variable (the Ref row's template)."""
    return FOLD_TEMPLATE.format(value=var)

Origin = tuple[int, str]  # (line in the policy file or 0 when unknown, the part of the policy)


class CodeWriter:
    """Lines at an indentation level, each with the part of the policy it decides, and fresh names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.origins: list[Origin | None] = []  # by line, as `lines`
        self.origin: Origin | None = None  # of the lines written next
        self.level = 0
        self.counter = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self.level + text) if text else "")
        self.origins.append(self.origin)

    def extend(self, other: CodeWriter, level: int) -> None:
        """Another writer's lines, indented `level` more, with their origins."""
        self.lines.extend("    " * level + text if text else "" for text in other.lines)
        self.origins.extend(other.origins)

    def line_map(self, first: int = 1) -> dict[int, Origin]:
        """Line number (the first line being `first`) -> its origin, for the lines that have one."""
        return {number: origin for number, origin in enumerate(self.origins, first) if origin is not None}

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
    def __init__(self, policy: ir.Policy, places: dict[linemap.Part, int] | None = None):
        self.policy = policy
        self.places = places or {}
        self.w = CodeWriter()
        self.constants: list[Any] = []  # values bound to K0, K1, ... in the namespace
        self.const_index: dict[tuple[str, str], str] = {}
        self.fields = {f.name: f for f in policy.fields}
        self.value_var: dict[str, str] = {}  # field / score / grade name -> local variable
        self.derived: dict[tuple[Any, ...], str] = {}  # a row's key -> local variable, computed before decisions
        self.derived_from: dict[tuple[Any, ...], tuple[str, str]] = {}  # a row's key -> (field, its template)
        self.reads_today = False  # some derived value reads `today`, the evaluation time's local date
        self.grade_folded: dict[str, str] = {}  # grade name -> its folded label, computed right after it
        self.read_folded = _grades_read_folded(policy)  # the grades some condition compares ignoring case

    def at(self, part: linemap.Part, what: str) -> None:
        """The lines written next decide `part` of the policy, described as `what`."""
        self.w.origin = (self.places.get(part, 0), what)

    # ------------------------------------------------------------ constants
    def literal(self, value: Any) -> str:
        """A safe Python expression for a validated constant."""
        if isinstance(value, (bool, int, str)) or value is None:
            return repr(value)
        key = (type(value).__name__, str(value))
        if key not in self.const_index:
            self.const_index[key] = f"K{len(self.constants)}"
            self.constants.append(value)
        return self.const_index[key]

    def number(self, value: Decimal) -> str:
        if value == value.to_integral_value():
            return repr(int(value))
        return self.literal(value)

    # ------------------------------------------------------------ operands
    def operand(self, op: ir.Operand, how: ir.Fold = ir.Fold.NONE) -> tuple[str, bool]:
        """(expression, nullable) of an operand as a comparison folding `how` sees it (its row's template)."""
        return primitives.OPERANDS[type(op)].python(self, op, how)

    def variable(self, name: str, folded: bool = False) -> str:
        """The local variable of a field, score or grade, or of a grade's label folded (computed right after it)."""
        return self.grade_folded[name] if folded else self.value_var[name]

    def derived_var(self, key: tuple[Any, ...], field: str | None = None, template: str | None = None,
                    today: bool = False) -> str:
        """The variable a row's value is kept in, computed once per lead before the decisions: from `field` by
        `template` (over `{value}`, the field present; missing stays None), or by the windows row's loop."""
        if key not in self.derived:
            self.derived[key] = self.w.fresh("d")
            if field is not None and template is not None:
                self.derived_from[key] = (field, template)
                self.reads_today = self.reads_today or today
        return self.derived[key]

    # ------------------------------------------------------------ conditions: T(c) (want=True) or F(c)
    def truth(self, cond: ir.Condition, want: bool) -> str:
        """A Python bool expression: the condition is true (want=True) or false (want=False); its row's template."""
        try:
            row = primitives.CONDITIONS[type(cond)]
        except KeyError:
            raise TypeError(f"not a condition: {cond!r}") from None
        return row.python(self, cond, want)

    # ------------------------------------------------------------ lead reading
    def read_field(self, index: int, f: ir.Field) -> None:
        """Read, validate and type one field. The first branch is the common case (a well-typed
        value) and costs one or two checks; the rest is exactly the schema reader's rules."""
        w, var, name = self.w, f"v{index}", f.name
        self.value_var[name] = var
        self.at(("field", name), f"lead field {name}")
        kind = f.type
        missing = f"{var} is None or ({var}.__class__ is str and not {var}.strip(BLANK))"

        def branch(head: str, *body: str) -> None:
            w.line(head)
            w.indent()
            for text in body or ("pass",):
                w.line(text)
            w.outdent()

        on_missing = "return INVALID" if f.required else f"{var} = {self.typed_default(kind, f.default)}"
        w.line(f"{var} = lead.get({name!r})")
        if kind == "text":
            branch(f"if {var}.__class__ is str and {var}[:1] not in BLANK:")  # not empty, not blank
            branch(f"elif {missing}:", on_missing)
            branch(f"elif {var}.__class__ is not str:", "return INVALID")
        elif kind == "one of":
            # a choice as written, else read as text is compared and held as the declared spelling
            choices, spellings = self.literal(frozenset(f.choices)), self.literal(choice_spellings(f.choices))
            branch(f"if {var}.__class__ is str and {var} in {choices} and {var}[:1] not in BLANK:")
            branch(f"elif {missing}:", on_missing)
            branch(f"elif {var}.__class__ is not str:", "return INVALID")
            branch("else:", f"{var} = {spellings}.get({folded(var)})", f"if {var} is None:", "    return INVALID")
        elif kind == "number":
            branch(f"if {var}.__class__ is int:",
                   f"if not -MAX_NUMBER_INT <= {var} <= MAX_NUMBER_INT:  # ints compare and multiply exactly",
                   "    return INVALID")
            branch(f"elif {missing}:", on_missing)
            branch(f"elif {var}.__class__ is float:", f"if not isfinite({var}):", "    return INVALID",
                   f"{var} = Decimal(repr({var}))")
            branch("else:", f"{var} = read_number({var})", f"if {var} is INVALID:", "    return INVALID")
        elif kind == "yes/no":
            branch(f"if {var}.__class__ is bool:")
            branch(f"elif {missing}:", on_missing)
            branch("else:", "return INVALID")
        elif kind == "date":
            branch(f"if {var}.__class__ is str and DATE_SHAPE({var}):", "try:",
                   f"    {var} = DATE_FROM_ISO({var})", "except ValueError:", "    return INVALID",
                   f"if not FIRST_YEAR <= {var}.year <= LAST_YEAR:", "    return INVALID")
            branch(f"elif {missing}:", on_missing)
            branch("else:", f"{var} = read_date({var})", f"if {var} is INVALID:", "    return INVALID")
        elif kind == "timestamp":
            branch(f"if {var}.__class__ is str and (USUAL_TIMESTAMP({var}) or TIMESTAMP_SHAPE({var})):", "try:",
                   f"    {var} = FROM_ISO({var})",
                   f"    if not FIRST_YEAR <= {var}.year <= LAST_YEAR:",
                   "        return INVALID",
                   f"    if {var}.tzinfo is None:",
                   f"        {var} = as_instant(local_time({var}, TZ))",
                   f"    elif {var}.tzinfo.__class__ is not FIXED_OFFSET:",
                   f"        {var} = as_instant({var})",
                   "except ValueError:", "    return INVALID")
            branch(f"elif {missing}:", on_missing)
            branch("else:", f"{var} = read_timestamp({var}, TZ)", f"if {var} is INVALID:", "    return INVALID")

    def typed_default(self, kind: Type, default: Any) -> str:
        if default is None:
            return "None"
        if kind == "number":
            return self.number(Decimal(default)) if isinstance(default, int) else self.literal(Decimal(repr(default)))
        if kind == "yes/no":
            return repr(bool(default))
        if kind == "date":
            return self.literal(dt.date.fromisoformat(default))
        if kind == "timestamp":
            return "read_timestamp(" + repr(default) + ", TZ)"
        return repr(default)

    def derive(self) -> None:
        """Values the conditions need besides the raw fields, computed once per lead."""
        w = self.w
        self.derive_activity()
        for key, var in list(self.derived.items()):
            if key not in self.derived_from:
                continue  # a window: computed by derive_activity
            name, template = self.derived_from[key]
            source = self.value_var[name]
            self.at(("field", name), f"lead field {name}")
            w.line(f"{var} = None if {source} is None else {template.format(value=source)}")

    def derive_activity(self) -> None:
        """Every event window and `days since last` the decisions read: the windows row's one-pass loop."""
        wanted = [(key, var) for key, var in self.derived.items() if key[0] in ("count", "lastdays")]
        if wanted:
            self.w.origin = (0, "the lead's events")
            primitives.WINDOWS.python(self, wanted)

    # ------------------------------------------------------------ the function
    def generate(self) -> str:
        policy, w = self.policy, self.w
        w.line(f"# Generated by leadpolicy from policy {policy.id!r} version {policy.version!r}.")
        w.line(f"# Fingerprint {policy.fingerprint!r}. Do not edit: recompile the policy.")
        w.line("")
        w.line("def evaluate(lead, now, events=()):")
        w.indent()
        w.line('"""({score: value}, {grade: label}, stage index, route label) or INVALID; `events` are the lead\'s '
               '(name, instant) pairs, already read."""')
        w.line("try:")
        w.indent()
        for i, f in enumerate(policy.fields):
            self.read_field(i, f)
        body = CodeWriter()
        body.counter = w.counter
        outer, self.w = w, body
        self.decide()
        w.counter = body.counter
        self.w = outer
        w.origin = None
        if self.reads_today:
            w.line("today = local_date(now, TZ)")
        self.derive()
        w.extend(body, w.level)
        w.origin = None
        w.outdent()
        # On its way out, an exception is given a note naming the policy line it escaped from.
        w.line("except Exception as error:")
        w.line("    policy_note(error, LINE_MAP, POLICY_FILE)")
        w.line("    raise")
        return w.source()

    def decide(self) -> None:
        w, policy = self.w, self.policy
        score_vars: list[str] = []
        grade_vars: list[str] = []
        for step in policy.steps:
            if isinstance(step, ir.Score):
                score_vars.append(self.score(step))
            else:
                var = self.w.fresh("g")
                self.value_var[step.name] = var
                grade_vars.append(var)
                self.ladder([(e.condition, repr(e.label)) for e in step.entries], var,
                            [(("grade", step.name, i), f"grade {step.name}, entry {e.label}")
                             for i, e in enumerate(step.entries)])
                folded_var = self.w.fresh("gl")
                if step.name in self.read_folded:
                    self.grade_folded[step.name] = folded_var
                    w.line(f"{folded_var} = None if {var} is None else {folded(var)}")
        stage = self.w.fresh("stage")
        self.ladder([(s.condition, repr(i)) for i, s in enumerate(policy.stages)], stage,
                    [(("stage", i), f"stage {s.name}") for i, s in enumerate(policy.stages)])
        route = self.w.fresh("route")
        w.line(f"{route} = None")
        for r_index, r in enumerate(policy.routes):
            self.at(("route", r_index, 0), f"route of {', '.join(r.stages)}")
            w.line(f"if {stage} in {r.stage_indices!r}:")
            w.indent()
            self.ladder([(e.condition, repr(e.label)) for e in r.entries], route,
                        [(("route", r_index, i), f"route of {', '.join(r.stages)}, entry {e.label}")
                         for i, e in enumerate(r.entries)])
            w.outdent()
        w.origin = None
        scores = {s.name: v for s, v in zip(policy.scores, score_vars)}
        grades = {g.name: v for g, v in zip(policy.grades, grade_vars)}
        w.line(f"return {_dict(scores)}, {_dict(grades)}, {stage}, {route}")

    def ladder(self, entries: list[tuple[ir.Condition | None, str]], target: str,
               parts: list[tuple[linemap.Part, str]]) -> None:
        """First-match assignment of `target`: (condition, value) pairs, None meaning `otherwise`; `parts`
        are the entries' parts of the policy (`at`)."""
        w = self.w
        first = True
        closed = False
        for (condition, value), (part, what) in zip(entries, parts):
            self.at(part, what)
            if condition is None:
                w.line("if True:" if first else "else:")
                closed = True
            else:
                w.line(f"{'if' if first else 'elif'} {self.truth(condition, True)}:")
            w.indent()
            w.line(f"{target} = {value}")
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

    def score(self, s: ir.Score) -> str:
        """A score's value variable: its rules' rows add to a total, then decay, rounding and the clamp."""
        w = self.w
        total = w.fresh("total")
        self.at(("score", s.name), f"score {s.name}")
        w.line(f"{total} = {'0' if s.whole else self.literal(Decimal(0))}")
        for i, rule in enumerate(s.rules):
            self.at(("rule", s.name, i), f"score {s.name}, rule {rule.label}")
            primitives.RULES[type(rule)].python(self, rule, total, s.whole)
        value = w.fresh("s")
        rounded = total if s.whole else f"round_half_away({total})"  # whole points sum to an int already
        if s.decay is not None:
            self.at(("decay", s.name), f"score {s.name}, decay")
            scores.DECAY.python(self, s, s.decay, total, value, rounded)
        else:
            self.at(("score", s.name), f"score {s.name}")
            w.line(f"{value} = {rounded}")
        if s.clamp is not None:
            self.at(("clamp", s.name), f"score {s.name}, clamp")
            scores.CLAMP.python(self, s.clamp, value)
        self.value_var[s.name] = value
        return value


def _grades_read_folded(policy: ir.Policy) -> set[str]:
    """The grades whose label some condition compares ignoring case (its row's `fold`)."""
    names = set()
    for node in (n for part in (*policy.steps, *policy.stages, *policy.routes) for n in part.walk()):
        row = primitives.CONDITIONS.get(type(node))
        if row is not None and row.fold(node) is ir.Fold.CASE:
            names |= {op.name for op in node.children() if isinstance(op, ir.Ref) and op.kind is ir.RefKind.GRADE}
    return names


def _dict(variables: dict[str, str]) -> str:
    """A dict display of names (validated identifiers, written with repr) to local variables."""
    return "{" + ", ".join(f"{name!r}: {var}" for name, var in variables.items()) + "}"


@dataclass(frozen=True)
class Generated:
    """The Python source of `evaluate(lead, now, events)`, the constants it reads (K0, K1, ...), and the map
    from its lines (the first being 1) to the parts of the policy they decide."""

    source: str
    constants: list[Any]
    line_map: dict[int, Origin]


def generate(policy: ir.Policy, places: dict[linemap.Part, int] | None = None) -> Generated:
    """Generated code of a policy's IR; `places` (`linemap.places` of its syntax tree) give the policy lines."""
    gen = _Generator(policy, places)
    source = gen.generate()
    return Generated(source, gen.constants, gen.w.line_map())


def generate_source(policy: ir.Policy) -> tuple[str, list[Any]]:
    """The Python source of `evaluate(lead, now)` for a policy's IR, and its constants."""
    generated = generate(policy)
    return generated.source, generated.constants


def policy_file_name(policy: ir.Policy, policy_file: str | None) -> str:
    """How generated code names its policy: the file it was read from, else the policy's id."""
    return policy_file if policy_file else f"<policy {policy.id}>"


# The names generated code reads besides its own variables and constants (all from `runtime`).
RUNTIME_NAMES = ("INVALID", "Decimal", "BLANK", "isfinite", "DAY", "fold", "local_date", "MAX_NUMBER_INT",
                 "floor_units", "floor_div", "round_half_away", "round_billionths", "decayed", "read_date",
                 "read_timestamp", "read_number", "as_instant", "local_time", "FIXED_OFFSET", "FROM_ISO",
                 "DATE_FROM_ISO", "TIMESTAMP_SHAPE", "DATE_SHAPE", "USUAL_TIMESTAMP", "FIRST_YEAR", "LAST_YEAR",
                 "policy_note")


def compile_evaluator(policy: ir.Policy, places: dict[linemap.Part, int] | None = None,
                      policy_file: str | None = None) -> tuple[Callable[..., Any], str]:
    """Generate, compile once, and return (evaluate, source). The code is compiled under a name that says which
    policy file it came from (its lines are in `linecache`), and an exception leaving it is given a note naming
    the policy line (`places`, from `linemap.places`) and part it came through."""
    generated = generate(policy, places)
    file = policy_file_name(policy, policy_file)
    namespace: dict[str, Any] = {
        "__builtins__": {"max": max, "min": min, "int": int, "repr": repr, "str": str, "bool": bool, "float": float,
                         "ValueError": ValueError, "Exception": Exception},
        **{name: getattr(runtime, name) for name in RUNTIME_NAMES}, "TZ": zones.zone(policy.timezone),
        "LINE_MAP": generated.line_map, "POLICY_FILE": file,
    }
    namespace.update({f"K{i}": value for i, value in enumerate(generated.constants)})
    name = linemap.filename(file, policy.id, policy.version, policy.fingerprint)
    linemap.register(name, generated.source)
    code = compile(generated.source, name, "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source, see the module docstring
    return namespace["evaluate"], generated.source


# ---------------------------------------------------------------- a module other systems load

MODULE_DOC = '''"""A lead policy compiled by leadpolicy into a module that needs Python 3.11 or later and nothing else.

    decide(lead, now, events=()) -> {"scores", "grades", "stage", "owner", "route"}, or INVALID
    evaluate(lead, now, events=()) -> (scores, grades, stage index, route), or INVALID

`lead` is a dict of JSON values (as `leadpolicy explain --lead` takes), `now` an aware datetime, `events`
(name, when) pairs (when: an aware datetime or ISO 8601 text). INVALID (test with `is`) means the lead does
not fit the policy's lead block: `leadpolicy explain` says why. See "A standalone Python module" in
leadpolicy's docs/api.md.
"""
'''

DECIDE = '''

def decide(lead, now, events=()):
    """The policy's decision of one lead at `now` (an aware datetime); `events` are (name, when) pairs, when
    an aware datetime or ISO 8601 text (read in the policy's timezone when it has no offset). Times are read as
    leadpolicy's API reads them (`read_time`): years 1900 to 9899 as written. INVALID when the lead does not fit
    the lead block; ValueError for a naive `now`, an unreadable time, an undeclared event or an event repeating
    an earlier one at or before `now` (`repeated_events`: "event 3: duplicate of row 2", the first such row)."""
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValueError("now must be an aware datetime (with an offset or a zone)")
    read = []
    for name, when in events:
        if DECLARED_EVENTS is not None and name not in DECLARED_EVENTS:
            raise ValueError(f"{name!r} is not an event of this policy")
        if not isinstance(when, str) and (not isinstance(when, dt.datetime) or when.tzinfo is None):
            raise ValueError(f"the time of event {name!r} must be an aware datetime or ISO 8601 text")
        read.append((name, read_time(when, TZ)))
    now = read_time(now, TZ)
    repeats = repeated_events(read, now)
    if repeats:
        row, first = repeats[0]
        raise ValueError(f"event {row}: {DUPLICATE_OF.format(first=first)}")
    out = evaluate(lead, now, read)
    if out is INVALID:
        return INVALID
    scores, grades, stage, route = out
    name, owner = STAGES[stage] if stage is not None else (None, None)
    return {"scores": scores, "grades": grades, "stage": name, "owner": owner, "route": route}
'''


def literal(value: Any) -> str:
    """Python source for a constant of generated code: texts only through repr, numbers and dates from
    validated values. Raises TypeError for any other kind of value."""
    if isinstance(value, (str, bool, int)) or value is None:
        return repr(value)
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"dt.date({value.year}, {value.month}, {value.day})"
    if isinstance(value, DecayPowers):
        return f"DecayPowers({literal(value.percent)}, {value.scaled!r})"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(sorted(literal(v) for v in value)) + "})" if value else "frozenset()"
    if isinstance(value, tuple):
        return "(" + "".join(f"{literal(v)}, " for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for a {type(value).__name__}")


def module_source(policy: ir.Policy, places: dict[linemap.Part, int] | None = None,
                  policy_file: str | None = None) -> str:
    """`compile --target python`: the runtime's text, the policy's constants and `evaluate`, and `decide`,
    as one module that imports only the standard library. LINE_MAP, data like the constants, maps the lines
    of `evaluate` to the policy's (`places`, from `linemap.places`), for the notes its exceptions get."""
    import inspect

    generated = generate(policy, places)
    runtime_text = inspect.getsource(runtime)
    body = runtime_text[runtime_text.index('"""\n\n') + 4:]  # without the runtime's own docstring
    declared = frozenset(e.name for e in policy.events) if policy.declares_events else None
    head = [f"# Generated by leadpolicy from policy {policy.id!r} version {policy.version!r}.",
            f"# Fingerprint {policy.fingerprint!r}. Do not edit: recompile the policy.",
            f"# Times are read in zone {policy.timezone!r} from this machine's time-zone database (zoneinfo);",
            f"# leadpolicy read the IANA release {zones.database_version()!r}.",
            MODULE_DOC, body.rstrip("\n"), "", "",
            "# ---------------------------------------------------------------- the policy",
            f"TZ = ZoneInfo({policy.timezone!r})",
            *(f"K{i} = {literal(value)}" for i, value in enumerate(generated.constants)),
            f"STAGES = {literal(tuple((s.name, s.owner) for s in policy.stages))}  # (name, owner) by stage index",
            f"DECLARED_EVENTS = {literal(declared)}  # None: any event name is accepted",
            f"POLICY_FILE = {literal(policy_file_name(policy, policy_file))}"]
    first = "\n".join(head).count("\n") + 5  # `evaluate` starts after the head, LINE_MAP and two blank lines
    line_map = {line + first - 1: origin for line, origin in generated.line_map.items()}
    return "\n".join([*head, f"LINE_MAP = {literal(line_map)}  # a line of `evaluate` -> (policy line or 0, part)",
                      "", "", generated.source.rstrip("\n"), DECIDE.rstrip("\n")]) + "\n"
