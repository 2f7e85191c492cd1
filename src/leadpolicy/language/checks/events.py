"""Activity events: the events block, every event name a policy uses, outcomes and activity windows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from leadpolicy.language import ast
from leadpolicy.language.checks.context import MAX_DURATION_DAYS, RESERVED_EVENT_NAMES, Context
from leadpolicy.language.diagnostics import did_you_mean

OUTCOME_KINDS = ("won", "lost")


def event(ctx: Context, name: str, node: ast.Node | ast.Span) -> None:
    """An event name used anywhere: when the policy declares its events, it must be one of them.
    `node` is where the name stands (its span), or the node that names it."""
    declared = ctx.policy.events
    if declared is not None and name not in {e.name for e in declared}:
        hint = _became_hint(ctx, name)
        if hint is not None:
            hint += f" {name} is a stage; the event of entering it is became_{name}"
        ctx.report("unknown-event", f'unknown event "{name}"', node,
                   hint=hint or did_you_mean(name, [e.name for e in declared]) or "declare it in the events block")
    elif declared is None:
        spellings = ctx.event_spellings.setdefault(name.casefold(), [])
        if name not in spellings:  # said once per spelling, where it first appears
            if spellings:
                _differs_in_case(ctx, name, spellings[0], node)
            spellings.append(name)
            _named_like_stage(ctx, name, node)


def _became_hint(ctx: Context, name: str) -> str | None:
    return f'did you mean "became_{name}"?' if name in ctx.stage_names else None


def _named_like_stage(ctx: Context, name: str, node: ast.Node | ast.Span) -> None:
    # Entering a stage is logged as became_STAGE; an event named like the stage itself never occurs
    # in such a log, so its SLA would only fail later with "no data".
    hint = _became_hint(ctx, name)
    if hint is not None:
        ctx.report("event-named-like-stage", f'event "{name}" is named like the stage {name}; '
                   f"entering a stage is the event became_{name}", node, hint=hint)


def _differs_in_case(ctx: Context, name: str, first: str, node: ast.Node | ast.Span) -> None:
    # DuckDB's identifiers ignore case, so its event ENUM and columns would merge the two.
    ctx.report("duplicate-name", f'event "{name}" differs from "{first}" only in case', node,
               hint="SQL engines do not tell them apart: use one spelling")


def window(ctx: Context, days: Decimal, node: ast.Node) -> None:
    """An activity window: a whole number of days above zero, at most ten years."""
    if days <= 0 or days != days.to_integral_value():
        ctx.report("bad-value", f"an activity window is a whole number of days above zero, not {days}", node,
                   hint="for example: in last 30 days")
    elif days > MAX_DURATION_DAYS:
        ctx.report("bad-value", f"an activity window of {days} days is longer than ten years", node,
                   hint=f"an activity window is at most {MAX_DURATION_DAYS} days")


def events(ctx: Context) -> None:
    """The events and outcomes blocks, and the event names of SLAs, recycling and outcomes."""
    declarations(ctx)
    for sla in ctx.policy.slas:
        for item in sla.items:
            for name, where in sla_event_places(item):
                event(ctx, name, where)
    for rule in ctx.policy.recycle_rules:
        event(ctx, rule.event, ast.place(rule.event_span, rule))
    outcomes(ctx)


def declarations(ctx: Context) -> None:
    """One events block; each event declared once, under a name conditions do not reserve."""
    for extra in ctx.policy.of(ast.Events)[1:]:
        ctx.report("duplicate-block", "a second events block", extra, hint="declare every event in one block")
    seen: dict[str, ast.EventDecl] = {}
    for decl in ctx.policy.events or ():
        if decl.name in RESERVED_EVENT_NAMES:
            ctx.report("reserved-name", f'"{decl.name}" is a word conditions reserve, so no rule could name this event',
                       decl, hint=f'rename it, for example "{decl.name}_event"')
        first = seen.setdefault(decl.name.casefold(), decl)
        if first is not decl and first.name == decl.name:
            ctx.report("duplicate-name", f'event "{decl.name}" is declared twice', decl,
                       hint=f"first declared on line {first.span.line}")
        elif first is not decl:
            _differs_in_case(ctx, decl.name, first.name, decl)


def outcomes(ctx: Context) -> None:
    """One outcomes block; won and lost given once each, by declared events, no event both."""
    for extra_outcomes in ctx.policy.of(ast.Outcomes)[1:]:
        ctx.report("duplicate-block", "a second outcomes block", extra_outcomes)
    kinds: dict[str, ast.Outcome] = {}
    for outcome in ctx.policy.outcomes:
        if outcome.kind not in OUTCOME_KINDS:
            ctx.report("bad-value", f'"{outcome.kind}" is not an outcome', outcome,
                       hint=did_you_mean(outcome.kind, OUTCOME_KINDS) or "won or lost")
        elif outcome.kind in kinds:
            ctx.report("duplicate-name", f"outcome {outcome.kind} is given twice", outcome,
                       hint=f"first given on line {kinds[outcome.kind].span.line}; join the events with or")
        kinds.setdefault(outcome.kind, outcome)
        for name, where in ast.places(outcome.events, outcome.event_spans, outcome):
            event(ctx, name, where)
    won = {e for o in ctx.policy.outcomes if o.kind == "won" for e in o.events}
    for outcome in ctx.policy.outcomes:
        if outcome.kind == "lost":
            for name, where in sorted(ast.places(outcome.events, outcome.event_spans, outcome)):
                if name in won:
                    ctx.report("bad-value", f'event "{name}" is both won and lost', where)


def _event_read(node: ast.EventCount | ast.DaysSinceEvent | ast.Happened) -> tuple[str, ...]:
    return (node.event,)


def _per_event_read(rule: ast.PerRule) -> tuple[str, ...]:
    return (rule.field_name,) if rule.window is not None else ()


def _decay_event_read(decay: ast.Decay) -> tuple[str, ...]:
    return (decay.field_name,) if decay.since_event else ()


# The checker's word on which events a construct of the decisions reads, over the syntax tree it checks (the
# checker cannot lower a policy it has not passed): the twin of the table of primitives' `reads` column
# (`primitives.events_read` over the IR), which tests/test_events_read.py holds it equal to.
EVENT_READS: dict[type[ast.Node], Callable[[Any], tuple[str, ...]]] = {
    ast.EventCount: _event_read, ast.DaysSinceEvent: _event_read, ast.Happened: _event_read,
    ast.PerRule: _per_event_read, ast.Decay: _decay_event_read}


def construct_events(node: ast.Node) -> tuple[str, ...]:
    """The events a construct of the decisions reads itself (a count, days since last, a per-EVENT rule...)."""
    read = EVENT_READS.get(type(node))
    return read(node) if read is not None else ()


def known_events(policy: ast.Policy) -> set[str]:
    """The policy's events: those it declares, or without an events block every name it uses as one."""
    if policy.events is not None:
        return {e.name for e in policy.events}
    names: set[str] = set()
    for item in policy.items:
        for node in item.walk():
            names.update(construct_events(node))
            if isinstance(node, ast.RecycleRule):
                names.add(node.event)
            elif isinstance(node, ast.Outcome):
                names.update(node.events)
            else:
                names.update(_sla_events(node))
    return names


def _sla_events(item: ast.Node) -> tuple[str, ...]:
    return tuple(name for name, _ in sla_event_places(item))


def sla_event_places(item: ast.Node) -> tuple[tuple[str, ast.Span], ...]:
    """The event names an SLA item uses, each with where it stands."""
    if isinstance(item, ast.ClockSpan):
        return ast.places((*item.starts, *item.stops), (*item.start_spans, *item.stop_spans), item)
    if isinstance(item, ast.Pause):
        return ast.places((item.start, item.end), (item.start_span, item.end_span), item)
    if isinstance(item, ast.CountRule):
        return ast.places((item.event, item.after), (item.event_span, item.after_span), item)
    if isinstance(item, (ast.VolumeRule, ast.NeedsReason)):
        return ((item.event, ast.place(item.event_span, item)),)
    return ()
