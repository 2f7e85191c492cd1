"""Names, types and reachability in conditions, scores, grades, stages and routes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Sequence

from leadpolicy.language import ast
from leadpolicy.language.checks import events
from leadpolicy.language.checks.context import ORDERED_TYPES, TYPE_WORDS, Context
from leadpolicy.language.checks.header import date_value
from leadpolicy.language.checks.slas import unknown_team
from leadpolicy.language.checks.warnings import within_limits
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.symbols import CHOICE, DATE, NUMBER, TEXT, TIMESTAMP, YESNO, Symbol
from leadpolicy.language.types import Type
from leadpolicy.runtime import fold

MATCH_WORDS = {"contains": "contains", "contains_any": "contains any", "starts": "starts with",
               "starts_any": "starts with any", "ends": "ends with", "ends_any": "ends with any"}


def lookup(ctx: Context, ref: ast.NameRef, index: int) -> Symbol | None:
    sym = ctx.symbols.get(ref.name)
    if sym is None:
        ctx.report("unknown-name", f'unknown name "{ref.name}"', ref, hint=unknown_name_hint(ctx, ref.name, index))
        return None
    if sym.kind != "field" and sym.order == index:
        reads_itself(ctx, sym.kind, ref.name, ref)
        return None
    if sym.kind != "field" and sym.order > index:
        ctx.report("used-before-defined", f'{sym.kind} "{ref.name}" is used before it is defined', ref,
                   hint=f"move the {sym.kind} {ref.name} (line {sym.node.span.line if sym.node else 0}) above "
                         "this use")
        return None
    return sym


def reads_itself(ctx: Context, kind: str, name: str, node: ast.Node | ast.Span) -> None:
    """A score or grade used inside itself: no moving makes that defined, so the hint says what it can read."""
    parts, whole = ("rules", "the score they add up to") if kind == "score" else ("entries", "the grade they choose")
    ctx.report("used-before-defined", f'{kind} "{name}" reads itself: a {kind}\'s {parts} cannot use {whole}', node,
               hint=f"read lead fields, events, or a score defined above {name}; to build on {name}, write a new "
                    f"{kind} below {name} that reads it")


def unknown_name_hint(ctx: Context, name: str, index: int) -> str | None:
    """true/false are yes/no values spelt otherwise; an event's name alone is not a condition; else a near name."""
    if name.lower() in ("true", "false"):
        return ("a yes/no value is written yes or no, not true or false; a yes/no is a condition by itself (as "
                "handoff, or not handoff)")
    if name in events.known_events(ctx.policy):
        return f"{name} is an event: write {name} in last N days (as {name} in last 30 days)"
    return did_you_mean(name, visible(ctx, index))


def visible(ctx: Context, index: int) -> list[str]:
    return [s.name for s in ctx.symbols.values() if s.kind == "field" or s.order < index]


def field_of(ctx: Context, name: str, node: ast.Node, wanted: tuple[Type, ...], what: str) -> Symbol | None:
    """A lead field used by `per`, `decay` or `days since`, with its type checked."""
    sym = ctx.symbols.get(name)
    if sym is None or sym.kind != "field":
        fields = [f.name for f in ctx.policy.fields]
        since = "days since" if what == "days since" else "since"
        hint = (f"{name} is an event: write {since} last {name}" if name in events.known_events(ctx.policy)
                else did_you_mean(name, fields))
        ctx.report("unknown-name", f'unknown lead field "{name}"', node, hint=hint)
        return None
    if sym.type not in wanted:
        ctx.report("type-mismatch", f'{what} needs {" or ".join(TYPE_WORDS[w] for w in wanted)} field, '
                   f'but "{name}" is {TYPE_WORDS[sym.type]}', node)
        return None
    return sym


def operand_type(ctx: Context, node: ast.Node, index: int) -> Symbol | None:
    """The type of an operand as a Symbol (None when it is already reported as wrong)."""
    if isinstance(node, ast.NameRef):
        return lookup(ctx, node, index)
    if isinstance(node, ast.DaysSince):
        if field_of(ctx, node.field_name, node, (DATE, TIMESTAMP), "days since") is None:
            return None
        return Symbol("days since " + node.field_name, "expr", NUMBER)
    if isinstance(node, ast.EventCount):
        events.event(ctx, node.event, ast.place(node.event_span, node))
        events.window(ctx, node.days, node)
        return Symbol(f"count {node.event}", "expr", NUMBER, nullable=False)
    if isinstance(node, ast.DaysSinceEvent):
        events.event(ctx, node.event, ast.place(node.event_span, node))
        return Symbol(f"days since last {node.event}", "expr", NUMBER)
    if isinstance(node, ast.BareName):  # a stage or team beside the decided value (checks/guarantees.py)
        return Symbol(node.name, "literal", TEXT)
    if isinstance(node, ast.Literal):
        kind = node.kind
        if node.kind == "date":
            date_value(ctx, str(node.value), node)
        return Symbol("literal", "literal", kind)
    raise TypeError(node)


def literal_fits(ctx: Context, lit: ast.Node, sym: Symbol) -> None:
    """A literal compared with (or defaulted into) `sym` must have a compatible type and choice."""
    if not isinstance(lit, ast.Literal):
        return
    kind = lit.kind
    if not compatible(sym.type, kind):
        ctx.report("type-mismatch", f"{describe(sym)} compared with {TYPE_WORDS[kind]} {_lit(lit)}", lit,
                   hint=mismatch_hint(sym))
    elif sym.type == CHOICE and lit.kind == "text":
        folded = {fold(c) for c in sym.choices}
        if fold(str(lit.value)) not in folded:
            ctx.report("not-a-choice", f'"{lit.value}" is not one of {sym.name}\'s choices', lit,
                       hint=did_you_mean(str(lit.value), sym.choices)
                       or "choices: " + ", ".join(sym.choices))


def condition(ctx: Context, node: ast.Node, index: int) -> None:
    """Name and type checks for every atom of a condition."""
    for atom in node.walk():
        check = next((check for kind, check in _ATOM_CHECKS if isinstance(atom, kind)), None)
        if check is not None:
            check(ctx, atom, index)


def _compare(ctx: Context, atom: ast.Compare, index: int) -> None:
    left, right = operand_type(ctx, atom.left, index), operand_type(ctx, atom.right, index)
    if left is None or right is None:
        return
    if atom.op in ("<", "<=", ">", ">=") and left.type not in ORDERED_TYPES:
        ctx.report("type-mismatch", f"{atom.op} compares order, but {describe(left)} has none", atom,
                   hint="use = or != for text and yes/no")
    elif not compatible(left.type, right.type):
        ctx.report("type-mismatch", f"{describe(left)} compared with {describe(right)}", atom,
                   hint=mismatch_hint(left if left.kind != "literal" else right))
    else:
        literal_fits(ctx, atom.right, left)
        literal_fits(ctx, atom.left, right)
        sql_form(ctx, atom, {left.type, right.type})


def _between(ctx: Context, atom: ast.Between, index: int) -> None:
    subject = operand_type(ctx, atom.operand, index)
    bounds = [operand_type(ctx, b, index) for b in (atom.low, atom.high)]
    if subject is None or None in bounds:
        return
    if subject.type not in ORDERED_TYPES:
        ctx.report("type-mismatch", f"between needs a number, date or timestamp, not {describe(subject)}", atom)
        return
    for bound, sym in zip((atom.low, atom.high), bounds):
        if sym is not None and not compatible(subject.type, sym.type):
            ctx.report("type-mismatch", f"{describe(subject)} compared with {describe(sym)}", bound,
                       hint=mismatch_hint(subject))
    sql_form(ctx, atom, {subject.type} | {b.type for b in bounds if b is not None})
    if (isinstance(atom.low, ast.Literal) and isinstance(atom.high, ast.Literal)
            and atom.low.kind == atom.high.kind and atom.low.value > atom.high.value):  # type: ignore[operator]
        ctx.report("bad-value", "the low end of between is above the high end", atom,
                   hint=f"write between {_lit(atom.high)} and {_lit(atom.low)}")


def _in_list(ctx: Context, atom: ast.InList, index: int) -> None:
    subject = operand_type(ctx, atom.operand, index)
    if subject is None:
        return
    for value in atom.values:
        literal_fits(ctx, value, subject)
    if subject.type == TIMESTAMP and any(isinstance(v, ast.Literal) and v.kind == "date" for v in atom.values):
        sql_form(ctx, atom, {TIMESTAMP, DATE})


def _text_match(ctx: Context, atom: ast.TextMatch, index: int) -> None:
    subject = operand_type(ctx, atom.operand, index)
    if subject is not None and subject.type not in (TEXT, CHOICE):
        ctx.report("type-mismatch", f"{MATCH_WORDS[atom.how]} works on text, not {describe(subject)}", atom)


def _happened(ctx: Context, atom: ast.Happened, index: int) -> None:
    events.event(ctx, atom.event, ast.place(atom.event_span, atom))
    events.window(ctx, atom.days, atom)


def _is_missing(ctx: Context, atom: ast.IsMissing, index: int) -> None:
    operand_type(ctx, atom.operand, index)


def _truthy(ctx: Context, atom: ast.Truthy, index: int) -> None:
    subject = operand_type(ctx, atom.operand, index)
    if subject is not None and subject.type != YESNO:
        ctx.report("type-mismatch", f"a bare condition must be a yes/no field, but {describe(subject)} is not",
                   atom, hint=_bare_hint(subject))


# the check of each kind of atom of a condition (the first whose kind the atom is)
_ATOM_CHECKS: tuple[tuple[type[Any], Callable[[Context, Any, int], None]], ...] = (
    (ast.Compare, _compare), (ast.Between, _between), (ast.InList, _in_list), (ast.TextMatch, _text_match),
    (ast.Happened, _happened), (ast.IsMissing, _is_missing), (ast.Truthy, _truthy))


def sql_form(ctx: Context, atom: ast.Node, types: set[Type]) -> None:
    """Warn where a policy has no SQL form (the Python evaluators still run it)."""
    if {TIMESTAMP, DATE} <= types:
        ctx.report("no-sql-form", "a timestamp compared with a date has no SQL form yet", atom,
                   hint="compile --target sql refuses this policy and `leadpolicy score` needs --engine python; "
                         "compare with a timestamp, or use days since")


def score(ctx: Context, score: ast.Score, index: int) -> None:
    clamps, decays = [i for i in score.items if isinstance(i, ast.Clamp)], [i for i in score.items
                                                                          if isinstance(i, ast.Decay)]
    for extra in clamps[1:] + decays[1:]:
        ctx.report("duplicate-block", f"score {score.name} has a second {type(extra).__name__.lower()}", extra)
    for clamp in clamps[:1]:
        _clamp(ctx, clamp)
    for decay in decays[:1]:
        _decay(ctx, decay, score)
    for rule in score.rules:
        if isinstance(rule, ast.PerRule):
            _per_rule(ctx, rule, index)
        else:
            condition(ctx, rule.condition, index)
    if not score.rules:
        ctx.report("bad-value", f"score {score.name} has no rules", score)


def _clamp(ctx: Context, clamp: ast.Clamp) -> None:
    if clamp.low != clamp.low.to_integral_value() or clamp.high != clamp.high.to_integral_value():
        ctx.report("bad-value", "clamp bounds are whole numbers", clamp, hint="scores are whole numbers")
    elif clamp.low > clamp.high:
        ctx.report("bad-value", f"clamp {clamp.low} to {clamp.high}: the low end is above the high end", clamp)


def score_bound(rules: Sequence[ast.PointsRule | ast.PerRule]) -> Decimal:
    """The most a score's total can be away from 0: each `+N when` rule's points and each `per` rule's cap."""
    return sum((abs(r.cap) if isinstance(r, ast.PerRule) else abs(r.points) for r in rules), Decimal(0))


def _decay(ctx: Context, decay: ast.Decay, score: ast.Score) -> None:
    """A decay's percent and period, whether SQL can compute it over the score's largest value, and what
    it decays since (an event, or a date or timestamp field)."""
    if not Decimal(0) < decay.percent <= Decimal(100):
        ctx.report("bad-value", f"decay of {decay.percent}% is outside 0-100%", decay)
    if decay.every_days <= 0:
        ctx.report("bad-value", "decay needs a period of at least one day", decay)
    elif Decimal(0) < decay.percent <= Decimal(100) and all(within_limits(r.points) for r in score.rules):
        problem = ctx.reasoning.decay_problem(decay.percent, score_bound(score.rules))
        if problem is not None:
            ctx.report("no-sql-form", problem, decay,
                       hint="compile --target sql refuses it and `leadpolicy score` needs --engine python; "
                             "a faster decay or a longer period fits")
    if decay.since_event:
        events.event(ctx, decay.field_name, ast.place(decay.name_span, decay))
    else:
        field_of(ctx, decay.field_name, decay, (DATE, TIMESTAMP), "decay")


def _per_rule(ctx: Context, rule: ast.PerRule, index: int) -> None:
    if rule.window is not None:
        events.event(ctx, rule.field_name, ast.place(rule.name_span, rule))
        events.window(ctx, rule.window, rule)
    else:
        per_source(ctx, rule, index)
    if rule.cap <= 0:
        ctx.report("bad-value", "the cap of a per rule is a positive number of points", rule)


def per_source(ctx: Context, rule: ast.PerRule, index: int) -> None:
    """`per NAME`: a number field, or a score defined above."""
    sym = ctx.symbols.get(rule.field_name)
    if sym is not None and sym.kind == "score":
        if sym.order == index:
            reads_itself(ctx, "score", rule.field_name, ast.place(rule.name_span, rule))
        elif sym.order > index:
            ctx.report("used-before-defined", f'score "{rule.field_name}" is used before it is defined', rule,
                       hint=f"move the score {rule.field_name} above this one")
        return
    if sym is None or sym.kind != "field":
        names = [f.name for f in ctx.policy.fields] + [s.name for s in ctx.policy.scores]
        ctx.report("unknown-name", f'"{rule.field_name}" is neither a lead field nor a score',
                   ast.place(rule.name_span, rule),
                   hint=did_you_mean(rule.field_name, names)
                   or "per takes a number field, a score, or EVENT in last N days")
        return
    field_of(ctx, rule.field_name, rule, (NUMBER,), "per")


def grade(ctx: Context, grade: ast.Grade, index: int) -> None:
    source = ctx.symbols.get(grade.source)
    if source is None or source.kind != "score":
        scores = [s.name for s in ctx.policy.scores]
        ctx.report("unknown-name", f'grade {grade.name} is from "{grade.source}", which is not a score', grade,
                   hint=did_you_mean(grade.source, scores))
    elif source.order >= index:
        ctx.report("used-before-defined", f'score "{grade.source}" is defined after grade {grade.name}', grade)
    ladder(ctx, grade.entries, index, "grade")
    if grade.entries and all(e.condition is not None for e in grade.entries):
        ctx.report("grade-no-otherwise", f"grade {grade.name} has no otherwise", grade,
                   hint='end with: "D" otherwise')


def stages(ctx: Context, stages: ast.Stages, index: int) -> None:
    for entry in stages.entries:
        if entry.owner not in ctx.teams:
            unknown_team(ctx, entry.owner, ast.place(entry.owner_span, entry))
    ladder(ctx, stages.entries, len(ctx.policy.items), "stage")
    if stages.entries and stages.entries[-1].condition is not None and not any(
            e.condition is None for e in stages.entries):
        ctx.report("missing-otherwise", "the stages have no otherwise: a lead could have no stage", stages,
                   hint="end with a stage like: nurture otherwise owner marketing")


def route(ctx: Context, route: ast.Route, index: int) -> None:
    for stage, where in ast.places(route.stages, route.stage_spans, route):
        if stage not in ctx.stage_names:
            ctx.report("unknown-stage", f'route for unknown stage "{stage}"', where,
                       hint=did_you_mean(stage, ctx.stage_names))
    ladder(ctx, route.entries, len(ctx.policy.items), "route")
    if route.entries and all(e.condition is not None for e in route.entries):
        ctx.report("no-route-otherwise", f"route for {', '.join(route.stages)} has no otherwise", route,
                   hint='end with an entry like: "inbound-sdr" otherwise (a lead no entry matches gets no queue)')


def ladder(ctx: Context, entries: Sequence[ast.LabelEntry | ast.StageEntry], index: int, what: str) -> None:
    """First-match entries: names and types, otherwise last, and what can never be reached."""
    errors_before = sum(d.is_error for d in ctx.diags)
    for i, entry in enumerate(entries):
        if entry.condition is None:
            if i != len(entries) - 1:
                ctx.report("otherwise-not-last",
                           f"otherwise is not the last {what}: the entries after it can never match",
                           entry, hint="move otherwise to the end")
        else:
            condition(ctx, entry.condition, index)
    if sum(d.is_error for d in ctx.diags) > errors_before:
        return  # reasoning over ill-typed conditions would only add noise
    conditions = [e.condition for e in entries]
    for i in ctx.reasoning.unreachable(conditions, ctx.symbols, ctx.policy.timezone):
        entry = entries[i]
        name = getattr(entry, "label", None) or getattr(entry, "name", "")
        if entry.condition is not None and \
                ctx.reasoning.satisfiability(entry.condition, ctx.symbols, ctx.policy.timezone) == "never":
            ctx.report("never-true", f'the condition of {what} "{name}" can never be true', entry.condition,
                       hint="check the numbers and the and/or")
        else:
            ctx.report("unreachable", f'{what} "{name}" can never be chosen: earlier entries always match first',
                       entry, hint="reorder the entries so the narrower condition comes first")


def compatible(a: str, b: str) -> bool:
    """Whether values of types a and b may be compared."""
    texts = (TEXT, CHOICE)
    times = (DATE, TIMESTAMP)
    return a == b or (a in texts and b in texts) or (a in times and b in times)


LIKE = {NUMBER: "a number, as in 200", TEXT: 'a quoted text, as in "software"', CHOICE: 'one of its choices, quoted',
        DATE: "a date, as in 2026-01-31", TIMESTAMP: "a date or a timestamp, as in 2026-01-31T09:00:00Z"}


def mismatch_hint(sym: Symbol) -> str:
    """What `sym` compares with: a yes/no is a condition by itself."""
    if sym.type == YESNO:
        name = sym.name if sym.kind != "literal" else "the yes/no field"
        return f"a yes/no is a condition by itself: write {name}, or not {name}"
    return f"compare it with {LIKE.get(sym.type, TYPE_WORDS[sym.type])}"


def describe(sym: Symbol) -> str:
    if sym.kind == "literal":
        return TYPE_WORDS[sym.type]
    if sym.kind == "decided":
        return f"the decided {sym.name} ({TYPE_WORDS[sym.type]})"
    return f'{sym.kind} "{sym.name}" ({TYPE_WORDS[sym.type]})' if sym.kind != "expr" else f"{sym.name} (a number)"


def _lit(lit: ast.Literal) -> str:
    from leadpolicy.language.formatter import literal

    return literal(lit)


def _bare_hint(sym: Symbol) -> str:
    if sym.type == NUMBER:
        return f"compare it, for example {sym.name} > 0"
    if sym.type in (TEXT, CHOICE):
        return f"use {sym.name} is present, or compare it with ="
    return f"use {sym.name} is present"
