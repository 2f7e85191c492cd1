"""Calendars, SLAs and recycling rules."""

from __future__ import annotations

from decimal import Decimal

from leadpolicy.language import ast
from leadpolicy.language.checks.context import PERIODS, Context
from leadpolicy.language.checks.header import date_value, timezone
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.units import (
    CLOCK_UNITS,
    COUNT_UNITS,
    DAY_INDEX,
    DAYS,
    clock_minutes,
    holiday_problem,
    is_business,
    unit_named,
)


def unknown_team(ctx: Context, team: str, node: ast.Node | ast.Span) -> None:
    ctx.report("unknown-team", f'team "{team}" does not own this policy', node,
               hint=did_you_mean(team, ctx.teams) or f"owning teams: {', '.join(sorted(ctx.teams))}")


def calendar(ctx: Context, cal: ast.Calendar) -> None:
    if cal.timezone is None:
        ctx.report("incomplete-sla", f"calendar {cal.name} has no timezone", cal,
                   hint='add: timezone "America/New_York"')
    for item in cal.items:
        if isinstance(item, ast.Timezone):
            timezone(ctx, item)
        elif isinstance(item, ast.OpenHours):
            for first, last in item.days:
                for day in (first, last):
                    if day not in DAY_INDEX:
                        ctx.report("bad-value", f'"{day}" is not a day', item,
                                   hint=did_you_mean(day, DAY_INDEX) or "days are mon tue wed thu fri sat sun")
            for start, end in item.ranges:
                times = [clock_minutes(t) for t in (start, end)]
                if None in times:
                    ctx.report("bad-value", f"{start}-{end} is not a time range (HH:MM-HH:MM, 00:00-24:00)", item)
                elif times[0] >= times[1]:  # type: ignore[operator]
                    ctx.report("bad-value", f"{start}-{end} ends before it starts", item,
                               hint="a range ends on the same day; for a night shift, use two ranges")
        elif isinstance(item, ast.Holidays):
            problem = holiday_problem(item.country, item.subdivision)
            if problem:
                ctx.report("unknown-holidays", problem[0], item, hint=problem[1])
        elif isinstance(item, ast.Closed):
            date_value(ctx, item.date, item)
    if not any(isinstance(i, ast.OpenHours) for i in cal.items):
        ctx.report("incomplete-sla", f"calendar {cal.name} has no open hours", cal,
                   hint="add: open mon-fri 09:00-17:00")


def sla(ctx: Context, sla: ast.Sla) -> None:
    owners(ctx, sla)
    kinds = sla_kinds(ctx, sla)
    calendars = {c.name for c in ctx.policy.calendars}
    clock(ctx, sla, kinds)
    for limit in sla.all(ast.ClockLimit):
        clock_limit(ctx, limit, calendars)
    targets(ctx, sla, kinds)
    for rule in sla.all(ast.CountRule):
        count_rule(ctx, rule, calendars)
    for volume in sla.all(ast.VolumeRule):
        if volume.period not in PERIODS:
            ctx.report("bad-value", f'"{volume.period}" is not a period', volume,
                       hint=did_you_mean(volume.period, PERIODS) or "day, week, month or quarter")
    percents(ctx, sla)
    span = sla.first(ast.ClockSpan)
    if isinstance(span, ast.ClockSpan):
        roles(ctx, sla, span)
    reasons(ctx, sla, span)


def owners(ctx: Context, sla: ast.Sla) -> None:
    """An SLA has an owner team, one of the policy's."""
    found = sla.all(ast.SlaOwner)
    if not found:
        ctx.report("incomplete-sla", f"sla {sla.name} has no owner team", sla, hint="add: owner sales")
    for owner in found:
        if owner.team not in ctx.teams:
            unknown_team(ctx, owner.team, ast.place(owner.team_span, owner))


def sla_kinds(ctx: Context, sla: ast.Sla) -> set[str]:
    """Which of clock, count and volume the SLA is: exactly one."""
    kinds = {k for k, node in (("clock", ast.ClockSpan), ("count", ast.CountRule), ("volume", ast.VolumeRule))
             if sla.first(node)}
    if len(kinds) > 1:
        ctx.report("incomplete-sla", f"sla {sla.name} mixes kinds ({', '.join(sorted(kinds))}); write one per SLA",
                   sla)
    if not kinds:
        ctx.report("incomplete-sla", f"sla {sla.name} says neither a clock, a count nor a volume", sla,
                   hint="for example: from became_sql until first_touch / within 4 business hours on CALENDAR")
    return kinds


def clock(ctx: Context, sla: ast.Sla, kinds: set[str]) -> None:
    """A clock has its tiers in order, one `from ... until`, and a limit."""
    span, limit = sla.first(ast.ClockSpan), sla.first(ast.ClockLimit)
    tiers(ctx, sla)
    for extra in sla.all(ast.ClockSpan)[1:]:
        ctx.report("duplicate-block", f"sla {sla.name} has a second from ... until", extra,
                   hint="several start or stop events are joined with or: from A or B until C or D")
    if "clock" in kinds or limit is not None:
        if span is None:
            ctx.report("incomplete-sla", f"sla {sla.name} has a limit but no `from EVENT until EVENT`", sla)
        if limit is None:
            ctx.report("incomplete-sla", f"sla {sla.name} has no limit", sla, hint="add: within 4 business hours")


def clock_limit(ctx: Context, limit: ast.ClockLimit, calendars: set[str]) -> None:
    """A clock's limit: a unit of time, above zero, business time on a declared calendar."""
    unit = unit_named(limit.unit)
    if unit not in CLOCK_UNITS:
        ctx.report("bad-value", f'"{limit.unit}" is not a unit of time', limit,
                   hint=did_you_mean(limit.unit, CLOCK_UNITS) or ", ".join(CLOCK_UNITS))
    if limit.amount <= 0:
        ctx.report("bad-value", "the limit must be above zero", limit)
    if is_business(unit) and limit.calendar is None:
        ctx.report("incomplete-sla", f"{unit} need a calendar", limit, hint="add: on CALENDAR_NAME")
    if limit.calendar is not None and limit.calendar not in calendars:
        ctx.report("unknown-calendar", f'unknown calendar "{limit.calendar}"', ast.place(limit.calendar_span, limit),
                   hint=did_you_mean(limit.calendar, calendars))


def targets(ctx: Context, sla: ast.Sla, kinds: set[str]) -> None:
    """A clock or count SLA has a target, a percentage."""
    for target in sla.all(ast.Target):
        if not Decimal(0) <= target.percent <= Decimal(100):
            ctx.report("bad-value", f"target {target.percent}% is outside 0-100%", target)
    if kinds & {"clock", "count"} and not sla.all(ast.Target):
        ctx.report("incomplete-sla", f"sla {sla.name} has no target", sla, hint="add: target 90%")


def count_rule(ctx: Context, rule: ast.CountRule, calendars: set[str]) -> None:
    """A count: at least one event in a window above zero, of a count unit, business time on a calendar."""
    unit = unit_named(rule.window_unit)
    if unit not in COUNT_UNITS:
        ctx.report("bad-value", f'"{rule.window_unit}" is not a unit for a count window', rule,
                   hint=f"{', '.join(COUNT_UNITS[:-1])} or {COUNT_UNITS[-1]}")
    elif is_business(unit) and rule.calendar is None:
        ctx.report("incomplete-sla", f"{unit} need a calendar", rule, hint="add: on CALENDAR_NAME")
    if rule.calendar is not None and rule.calendar not in calendars:
        ctx.report("unknown-calendar", f'unknown calendar "{rule.calendar}"', ast.place(rule.calendar_span, rule),
                   hint=did_you_mean(rule.calendar, calendars))
    if rule.count < 1 or rule.window <= 0:
        ctx.report("bad-value", "a count SLA needs at least 1 event in a window above zero", rule)


def reasons(ctx: Context, sla: ast.Sla, span: ast.ClockSpan | None) -> None:
    """An event that needs a reason is one of the clock's events."""
    events = {*span.starts, *span.stops} if isinstance(span, ast.ClockSpan) else set()
    for needs in sla.all(ast.NeedsReason):
        if events and needs.event not in events:
            ctx.report("unknown-name", f'"{needs.event}" is not an event of sla {sla.name}',
                       ast.place(needs.event_span, needs), hint=did_you_mean(needs.event, events))


ROLES = ("starts", "stops", "pauses", "resumes")


def roles(ctx: Context, sla: ast.Sla, span: ast.ClockSpan) -> None:
    """An event plays one part in a clock: it starts it, stops it, pauses it or resumes it."""
    pauses = sla.all(ast.Pause)
    placed = {"starts": ast.places(span.starts, span.start_spans, span),
              "stops": ast.places(span.stops, span.stop_spans, span),
              "pauses": tuple((p.start, ast.place(p.start_span, p)) for p in pauses),
              "resumes": tuple((p.end, ast.place(p.end_span, p)) for p in pauses)}
    parts = {role: {name for name, _ in names} for role, names in placed.items()}
    reported: set[str] = set()
    for i, first in enumerate(ROLES):
        for second in ROLES[i + 1:]:
            for name in sorted((parts[first] & parts[second]) - reported):
                reported.add(name)
                where = next(at for named, at in placed[second] if named == name)  # where it plays its second part
                ctx.report("bad-value", f'event "{name}" both {first} and {second} the clock of sla {sla.name}',
                           where, hint="each event plays one part in a clock; use another event for the other")


def tiers(ctx: Context, sla: ast.Sla) -> None:
    """Several `within` lines are tiers: each but the last with `when`, the last with `otherwise`."""
    limits = sla.all(ast.ClockLimit)
    if len(limits) == 1 and limits[0].condition is not None:
        ctx.report("incomplete-sla", f"sla {sla.name} has one tier and no otherwise", limits[0],
                   hint="end the tiers with: within ... otherwise")
    if len(limits) < 2:
        return
    for limit in limits[:-1]:
        if limit.condition is None:
            what = "an otherwise tier before the last" if limit.otherwise else "several limits without when"
            ctx.report("incomplete-sla", f"sla {sla.name} has {what}", limit,
                       hint="tiers read: within ... when CONDITION, one per line, the last: within ... otherwise")
    if not limits[-1].otherwise:
        ctx.report("incomplete-sla", f"the last tier of sla {sla.name} is not otherwise", limits[-1],
                   hint="end the tiers with: within ... otherwise")


def percents(ctx: Context, sla: ast.Sla) -> None:
    for extra in sla.all(ast.Warn)[1:]:
        ctx.report("duplicate-block", f"sla {sla.name} has a second warn", extra)
    clocked = sla.first(ast.ClockLimit) is not None
    steps: tuple[ast.Warn | ast.Escalate, ...] = (*sla.all(ast.Warn), *sla.all(ast.Escalate))
    for node in steps:
        if node.percent <= 0:
            ctx.report("bad-value", f"{node.percent}% is not above zero", node)
        if not clocked:
            ctx.report("incomplete-sla", f"warn and escalate need a clock with a limit in sla {sla.name}", node)
    for warn in sla.all(ast.Warn):
        if warn.percent > 100:
            ctx.report("bad-value", f"warn at {warn.percent}% is after the deadline", warn,
                       hint="a clock past 100% is breached; use escalate for later steps")
    previous: ast.Escalate | None = None
    for step in sla.all(ast.Escalate):
        if previous is not None and step.percent <= previous.percent:
            ctx.report("bad-value", f"escalation steps go up: {step.percent}% after {previous.percent}%", step)
        previous = step


def recycle(ctx: Context, block: ast.Recycle) -> None:
    reasons: dict[str, tuple[str, ...]] = {}
    for sla in ctx.policy.slas:
        for needs in sla.all(ast.NeedsReason):
            reasons[needs.event] = reasons.get(needs.event, ()) + needs.reasons
    for rule in block.rules:
        if rule.stage not in ctx.stage_names:
            ctx.report("unknown-stage", f'recycle to unknown stage "{rule.stage}"', ast.place(rule.stage_span, rule),
                       hint=did_you_mean(rule.stage, ctx.stage_names))
        if unit_named(rule.unit) != DAYS:
            ctx.report("bad-value", f'recycle delays are in days, not "{rule.unit}"', rule)
        if rule.event in reasons and rule.reason not in reasons[rule.event]:
            ctx.report("not-a-choice", f'"{rule.reason}" is not an agreed reason for {rule.event}', rule,
                       hint=did_you_mean(rule.reason, reasons[rule.event])
                       or "agreed: " + ", ".join(reasons[rule.event]))
