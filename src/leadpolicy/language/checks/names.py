"""Lead fields, names used twice or reserved, and the limits on numbers."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal

from leadpolicy.language import ast
from leadpolicy.language.checks.conditions import literal_fits
from leadpolicy.language.checks.context import (
    MAX_DURATION_DAYS,
    MAX_PLACES,
    MAX_WHOLE_DIGITS,
    OUTPUT_NAMES,
    RESERVED,
    UNIT_DAYS,
    Context,
)
from leadpolicy.language.checks.warnings import short_number, within_limits
from leadpolicy.language.symbols import CHOICE, TIMESTAMP, Symbol
from leadpolicy.runtime import BLANK, fold


def lead_fields(ctx: Context) -> None:
    for f in ctx.policy.fields:
        if f.name in RESERVED:
            ctx.report("reserved-name", f'"{f.name}" is a reserved word in conditions', f,
                       hint=f'rename it, for example "{f.name}_value"')
        if f.type.name == CHOICE:
            choices(ctx, f)
        if f.default is not None:
            literal_fits(ctx, f.default, Symbol(f.name, "field", f.type.name, f.type.choices))
            if isinstance(f.default.value, str) and f.default.value.strip(BLANK) == "":
                ctx.report("bad-value", f'the default of "{f.name}" is blank, and a blank text counts as missing',
                           f.default, hint="remove the default, or give it a value with text in it")
        if f.type.name == TIMESTAMP and f.default is not None:
            ctx.report("no-sql-form", f'a default for timestamp field "{f.name}" has no SQL form yet', f.default,
                       hint="compile --target sql refuses this policy and `leadpolicy score` needs "
                             "--engine python")
        if f.required and f.default is not None:
            ctx.report("bad-value", f'"{f.name}" is required, so its default never applies', f.default)


def choices(ctx: Context, f: ast.LeadField) -> None:
    """Two choices that fold alike name one value (a value is read as text is compared): which one a lead
    holds would depend on their order, so both the same text twice and two spellings are refused."""
    spans = f.type.choice_spans if len(f.type.choice_spans) == len(f.type.choices) else ()
    seen: dict[str, int] = {}
    for i, choice in enumerate(f.type.choices):
        if choice.strip(BLANK) == "":
            ctx.report("bad-value", f"{f.name} lists a blank choice {json.dumps(choice)}, and a blank text counts as "
                       "missing: no lead holds it", spans[i] if spans else f.type,
                       hint="remove it: a field with no value is missing (test it with `is missing`)")
            continue
        first = seen.setdefault(fold(choice), i)
        if first == i:
            continue
        here = spans[i] if spans else f.type
        where = _place(spans, first)
        if f.type.choices[first] == choice:
            ctx.report("duplicate-choice", f'{f.name} lists the choice "{choice}" twice', here,
                       hint=f"first at {where}: remove one")
        else:
            earlier = f.type.choices[first]
            ctx.report("duplicate-choice", f'{f.name} lists "{earlier}" and "{choice}", which differ only in case',
                       here, hint=f'"{earlier}" ({where}) and "{choice}" ({_place(spans, i)}) name one value, since '
                                  "a value is read ignoring case: keep one spelling")


def _place(spans: tuple[ast.Span, ...], index: int) -> str:
    """LINE:COLUMN of a choice, or its number in the list when the tree was built without places."""
    return f"{spans[index].line}:{spans[index].column}" if spans else f"choice {index + 1}"


def duplicates(ctx: Context) -> None:
    """Names defined twice (ignoring case), a name both a field and a score, reserved names, a stage routed twice."""
    _names_defined_twice(ctx)
    fields = {f.name.casefold(): f.name for f in ctx.policy.fields}
    for item in ctx.policy.items:
        if isinstance(item, (ast.Score, ast.Grade)) and item.name.casefold() in fields:
            ctx.report("duplicate-name", f'"{item.name}" is both a lead field and a {type(item).__name__.lower()}',
                       item)
    _reserved_names(ctx)
    _stages_routed_twice(ctx)


def _names_defined_twice(ctx: Context) -> None:
    groups: dict[str, list[tuple[str, ast.Node]]] = {
        "lead field": [(f.name, f) for f in ctx.policy.fields],
        "score or grade": [(i.name, i) for i in ctx.policy.items if isinstance(i, (ast.Score, ast.Grade))],
        "stage": [(s.name, s) for s in ctx.policy.stages],
        "calendar": [(c.name, c) for c in ctx.policy.calendars],
        "SLA": [(s.name, s) for s in ctx.policy.slas],
        "owner": [(f"{o.team} {o.person}", o) for o in ctx.policy.owners],  # a team may list several people
    }
    for kind, named in groups.items():
        seen: dict[str, tuple[str, ast.Node]] = {}
        for name, node in named:
            # Names are compared ignoring case: SQL engines and CRM exports do not tell Email from email.
            first = seen.get(name.casefold())
            if first is None:
                seen[name.casefold()] = (name, node)
            elif first[0] == name:
                ctx.report("duplicate-name", f'{kind} "{name}" is defined twice', node,
                           hint=f"first defined on line {first[1].span.line}")
            else:
                ctx.report("duplicate-name", f'{kind} "{name}" differs from "{first[0]}" only in case', node,
                           hint="SQL engines and lead files do not tell them apart: rename one")


def _reserved_names(ctx: Context) -> None:
    """A field, score or grade named as a computed column."""
    named_outputs = [(f.name, f, "lead field") for f in ctx.policy.fields] + [
        (i.name, i, type(i).__name__.lower()) for i in ctx.policy.items if isinstance(i, (ast.Score, ast.Grade))]
    for name, node, kind in named_outputs:
        if name.casefold() in OUTPUT_NAMES and name != "owner":  # a field named owner is reported as reserved
            ctx.report("reserved-name", f'"{name}" is the name of a computed column, so it cannot name a {kind}',
                       node, hint=f'every scored lead gets {", ".join(OUTPUT_NAMES)}; rename it, for example '
                                   f'"{name}_value"')


def _stages_routed_twice(ctx: Context) -> None:
    routed: dict[str, ast.Route] = {}
    for route in ctx.policy.routes:
        for stage in route.stages:
            if stage in routed:
                ctx.report("duplicate-name", f'stage "{stage}" has two routes', route,
                           hint=f"the first is on line {routed[stage].span.line}")
            routed.setdefault(stage, route)


LARGEST = "9" * MAX_WHOLE_DIGITS + "." + "9" * MAX_PLACES


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """A kind of node's fields, found once (read for each node of a policy on every check: the language server's,
    after each edit)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def number_limits(ctx: Context) -> None:
    """Every number within MAX_WHOLE_DIGITS/MAX_PLACES, every SLA duration within ten years."""
    for node in ctx.policy.walk():
        for name in _field_names(type(node)):
            value = getattr(node, name)
            if isinstance(value, Decimal) and not within_limits(value):
                ctx.report("bad-value", f"{short_number(value)} is out of range: numbers in a policy have at most "
                           f"{MAX_WHOLE_DIGITS} digits before the point and {MAX_PLACES} after", node,
                           hint=f"a policy's numbers are at most {LARGEST} (and as small as -{LARGEST})")
        if isinstance(node, ast.ClockLimit) and within_limits(node.amount) and node.unit in UNIT_DAYS \
                and node.amount * UNIT_DAYS[node.unit] > MAX_DURATION_DAYS:
            ctx.report("bad-value", f"{short_number(node.amount)} {node.unit} is longer than an SLA can promise "
                       f"({MAX_DURATION_DAYS} days at most)", node)
        if isinstance(node, ast.CountRule) and within_limits(node.window) and node.window_unit in UNIT_DAYS \
                and node.window * UNIT_DAYS[node.window_unit] > MAX_DURATION_DAYS:
            ctx.report("bad-value", f"a window of {short_number(node.window)} {node.window_unit} is longer than "
                       f"{MAX_DURATION_DAYS} days", node)
