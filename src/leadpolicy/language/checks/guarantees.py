"""The `guarantees` block: names, what each claim reads, and the decided values it compares (LANGUAGE-v3,
"Guarantees"). Whether a claim holds is for the proofs; this checks that it means something."""

from __future__ import annotations

from typing import Iterable, TypeGuard

from leadpolicy.language import ast
from leadpolicy.language.checks import conditions, events
from leadpolicy.language.checks.context import ORDERED_TYPES, TYPE_WORDS, Context
from leadpolicy.language.checks.slas import unknown_team
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.symbols import TEXT, decided_symbols
from leadpolicy.runtime import BLANK, fold

# The decided values a guarantee compares with a name the policy gives (a stage, a team, a route label).
COMPARED = ("stage", "owner", "route")
NEEDS_STAGES = ("stage", "owner", "handoff")  # read of the decided stage: a policy without stages has none


def guarantees(ctx: Context) -> None:
    """Every guarantee of the policy: its name, its claim; and no lead field, score or grade named `handoff`."""
    claims = ctx.policy.guarantees
    if not claims:
        return
    _names(ctx, claims)
    _handoff_named(ctx)
    for claim in claims:
        if claim.kind in ast.MONOTONE_CLAIMS:
            _monotone(ctx, claim)
        else:
            _conditions(ctx, claim)


def _names(ctx: Context, claims: tuple[ast.Guarantee, ...]) -> None:
    """A guarantee's results are reported by its name: each is given, and only once (ignoring case)."""
    seen: dict[str, ast.Guarantee] = {}
    for claim in claims:
        where = ast.place(claim.name_span, claim)
        if claim.name.strip(BLANK) == "":
            ctx.report("bad-value", "a guarantee needs a name", where,
                       hint='say what both teams rely on, as in "Nurture leads wait in no queue": ...')
            continue
        first = seen.setdefault(fold(claim.name), claim)
        if first is claim:
            continue
        what = "is given twice" if first.name == claim.name else f'differs from "{first.name}" only in case'
        ctx.report("duplicate-name", f'guarantee "{claim.name}" {what}', where,
                   hint=f"the first is on line {first.span.line}; its results are reported by name: rename one")


def _handoff_named(ctx: Context) -> None:
    """Inside guarantees `handoff` is the decided value, so nothing else may take the name (`stage`, `route` and
    `owner` are refused in every policy, as scored rows' columns)."""
    named = [(f.name, f, "lead field") for f in ctx.policy.fields] + [
        (i.name, i, type(i).__name__.lower()) for i in ctx.policy.items if isinstance(i, (ast.Score, ast.Grade))]
    for name, node, kind in named:
        if name.casefold() == "handoff":
            ctx.report("reserved-name", f'"{name}" names whether a lead is handed off in a policy with guarantees, '
                       f"so it cannot name a {kind}", node, hint=f'rename it, for example "{name}_value"')


def _conditions(ctx: Context, claim: ast.Guarantee) -> None:
    """A claim's conditions, checked as every condition is, with the decided values visible (after every score
    and grade), then the stage, team or route label each compares with the decided value."""
    for node in claim.conditions:
        with ctx.reading(decided_symbols()):
            conditions.condition(ctx, node, len(ctx.policy.items))
        _decided_values(ctx, node)
    read = {n.name for c in claim.conditions for n in c.walk() if isinstance(n, ast.NameRef)}
    _needs_stages(ctx, claim, [name for name in NEEDS_STAGES if name in read])


def _needs_stages(ctx: Context, claim: ast.Guarantee, read: list[str]) -> None:
    if read and not ctx.policy.stages:
        ctx.report("unknown-name", f'the claim reads the decided {read[0]}, but the policy has no stages', claim,
                   hint="add a stages block, ending with: nurture otherwise owner marketing")


def _decided_values(ctx: Context, node: ast.Node) -> None:
    """`stage = NAME` names a stage, `owner = TEAM` a team, `route = "LABEL"` a route's label (also in `in`)."""
    for atom in node.walk():
        if isinstance(atom, ast.Compare):
            for subject, value in ((atom.left, atom.right), (atom.right, atom.left)):
                if _decided(subject) and not _decided(value):
                    _value(ctx, subject.name, value)
        elif isinstance(atom, ast.InList) and _decided(atom.operand):
            for value in atom.values:
                _value(ctx, atom.operand.name, value)


def _decided(node: ast.Node) -> TypeGuard[ast.NameRef]:
    return isinstance(node, ast.NameRef) and node.name in COMPARED


def _value(ctx: Context, subject: str, value: ast.Node) -> None:
    """One value compared with the decided stage, owner or route."""
    if isinstance(value, ast.BareName) and subject == "route":
        ctx.report("type-mismatch", f'a route label is a quoted text, not the name {value.name}', value,
                   hint=f'write route = "{value.name}"')
        return
    if isinstance(value, ast.BareName):
        name = value.name
    elif isinstance(value, ast.Literal) and value.kind == TEXT:
        name = str(value.value)
    else:
        return  # a name or a value of another type: the type checks said so
    if subject == "stage":
        stages = [s.name for s in ctx.policy.stages]
        if not _one_of(name, stages):
            ctx.report("unknown-stage", f'"{name}" is not a stage of this policy', value,
                       hint=_closest(name, stages, "stages"))
    elif subject == "route":
        labels = list(dict.fromkeys(e.label for r in ctx.policy.routes for e in r.entries))
        if not _one_of(name, labels):
            ctx.report("unknown-label", f'"{name}" is not a route label of this policy', value,
                       hint=_closest(name, labels, "route labels"))
    elif not _one_of(name, ctx.teams):
        unknown_team(ctx, name, value)


def _one_of(name: str, known: Iterable[str]) -> bool:
    """Values compare ignoring case, so a name is known when it folds as one of `known` does."""
    return fold(name) in {fold(k) for k in known}


def _closest(name: str, known: list[str], listed: str) -> str:
    return did_you_mean(name, known) or (f"{listed}: {', '.join(known)}" if known else f"the policy has no {listed}")


def _monotone(ctx: Context, claim: ast.Guarantee) -> None:
    """`SCORE never decreases/increases with X`, `handoff never lost with X`: a score (or the handoff), and X a
    lead field with an order or an event."""
    if claim.score is not None:
        _score(ctx, claim, claim.score)
    else:
        _needs_stages(ctx, claim, ["handoff"])
    if claim.along is not None:
        _along(ctx, claim, claim.along)


def _score(ctx: Context, claim: ast.Guarantee, name: str) -> None:
    where = ast.place(claim.score_span, claim)
    scores = [s.name for s in ctx.policy.scores]
    sym = ctx.symbols.get(name)
    hint = did_you_mean(name, scores) or (f"scores: {', '.join(scores)}" if scores else "the policy has no scores")
    if sym is None:
        ctx.report("unknown-name", f'unknown score "{name}"', where, hint=hint)
    elif sym.kind != "score":
        ctx.report("type-mismatch", f'"{name}" is a {sym.kind}, not a score: "{claim.kind}" compares a score', where,
                   hint=hint)


def _along(ctx: Context, claim: ast.Guarantee, name: str) -> None:
    """What grows between the two leads compared: a number, date or timestamp field (larger in the second), or
    a declared event (one more of it)."""
    where = ast.place(claim.along_span, claim)
    sym = ctx.symbols.get(name)
    if sym is not None and sym.kind == "field":
        if sym.type not in ORDERED_TYPES:
            ctx.report("type-mismatch", f'"{claim.kind} with {name}" needs a number, date or timestamp field, but '
                       f'"{name}" is {TYPE_WORDS[sym.type]}, which has no larger value', where,
                       hint="name a number, date or timestamp field, or an event (the second lead has one more)")
        return
    if name in events.known_events(ctx.policy):
        return
    if sym is not None:
        ctx.report("type-mismatch", f'"{name}" is a {sym.kind}: a guarantee compares leads that differ in a lead '
                   "field or an event", where, hint="name the field or event it grows with")
        return
    ordered = [f.name for f in ctx.policy.fields if f.type.name in ORDERED_TYPES]
    ctx.report("unknown-name", f'"{name}" is neither a lead field nor an event', where,
               hint=did_you_mean(name, [*ordered, *sorted(events.known_events(ctx.policy))])
               or "name a number, date or timestamp field, or an event")

