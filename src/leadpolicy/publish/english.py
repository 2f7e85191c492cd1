"""A policy in plain English, for the published docs: conditions, rules, SLAs, calendars, teams.

A condition, operand, rule, decay or clamp is said by its row of the table of primitives (`words`, over its
IR node); this module is the rows' `WordsContext` (how events, names, quantities and numbers are written,
by the `wording` in force) and writes what is the published page's own: SLAs, calendars, moments.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal
from typing import Any, Iterator, Mapping, Protocol, Sequence

from leadpolicy.language import ast, words
from leadpolicy.language.formatter import number
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives import adjust_row, condition_row, operand_row, rule_row
from leadpolicy.semantics.primitives.conditions import OPS, TEXT_VERBS, listing


@dataclass(frozen=True)
class Wording:
    """How events are named: by their label from the policy's `events` block, else by their name in
    words. `marks` (start, between, end): an event is written `start NAME between WORDS end`, for the
    published pages to make a Markdown emphasis with the name as its title (see publish.site); without
    marks, plain text with a label in quotes (for pictures)."""

    labels: dict[str, str] = field(default_factory=dict)
    marks: tuple[str, str, str] | None = None


_WORDING: ContextVar[Wording | None] = ContextVar("wording", default=None)


def labels_of(policy: ast.Policy) -> dict[str, str]:
    """Event name -> its label, for the declared events that have one."""
    return {e.name: e.label for e in policy.events or () if e.label}


@contextmanager
def wording(labels: dict[str, str], marks: tuple[str, str, str] | None = None) -> Iterator[None]:
    """Within the block, events are named by `labels` and marked with `marks`."""
    token = _WORDING.set(Wording(labels, marks))
    try:
        yield
    finally:
        _WORDING.reset(token)


def event(event_name: str) -> str:
    """An event as a reader knows it: its label (`Asked for a demo`), else its name in words."""
    wording_ = _WORDING.get() or Wording()
    label = wording_.labels.get(event_name)
    words = label or name(event_name)
    if wording_.marks is None:
        return f"“{label}”" if label else words
    start, between, end = wording_.marks
    return f"{start}{event_name}{between}{words}{end}"


def an_event(event_name: str) -> str:
    """`a demo request`, or a label as it is: `Asked for a demo`."""
    return event(event_name) if event_name in (_WORDING.get() or Wording()).labels else f"a {event(event_name)}"


def name(text: str) -> str:
    """A field or event name in words: `job_title` -> `job title`."""
    return text.replace("_", " ")


def team(text: str) -> str:
    """A team id as a name at the start of a sentence: `inside_sales` -> `Inside sales`."""
    words = name(text)
    return words[:1].upper() + words[1:]


quantity = words.quantity  # `1 day`, `2 days`: the one wording every layer uses


class Words:
    """The rows' `WordsContext`: events by the wording in force, names, quantities and numbers in words."""

    def event(self, name: str) -> str:
        return event(name)

    def an_event(self, name: str) -> str:
        return an_event(name)

    def name(self, text: str) -> str:
        return name(text)

    def quantity(self, amount: Decimal, unit: str) -> str:
        return quantity(amount, unit)

    def number(self, value: Decimal) -> str:
        return number(value)

    def operand(self, op: ir.Operand) -> str:
        return operand(op)

    def condition(self, cond: ir.Condition, nested: bool = False) -> str:
        return condition(cond, nested)


WORDS = Words()


# How a guarantee's conditions name the decided values (`ir.RefKind.DECIDED`).
DECIDED_WORDS = {"stage": "the stage", "route": "the route", "owner": "the owning team", "handoff": "the handoff"}


def operand(node: ir.Operand) -> str:
    if isinstance(node, ir.Ref) and node.kind is ir.RefKind.DECIDED:
        return DECIDED_WORDS[node.name]
    return operand_row(node).words(WORDS, node)


def condition(node: ir.Condition, nested: bool = False) -> str:
    """A condition in plain English; `nested` parenthesizes an and/or inside another condition."""
    return decided_condition(node) or condition_row(node).words(WORDS, node, nested)


def _decided(node: ir.Operand, name: str) -> bool:
    return isinstance(node, ir.Ref) and node.kind is ir.RefKind.DECIDED and node.name == name


def decided_condition(node: ir.Condition) -> str | None:
    """What a guarantee says of the decision in words of its own: `the lead is handed off`, `the lead gets no
    route`; None for any other condition."""
    if isinstance(node, ir.Truthy) and _decided(node.value, "handoff"):
        return "the lead is handed off"
    if isinstance(node, ir.Not) and isinstance(node.item, ir.Truthy) and _decided(node.item.value, "handoff"):
        return "the lead is not handed off"
    if isinstance(node, ir.IsMissing) and _decided(node.value, "route"):
        return "the lead gets a route" if node.negated else "the lead gets no route"
    if isinstance(node, ir.Compare) and node.op in (ir.Op.EQ, ir.Op.NE):
        return _named(node.left, node.right, node.op) or _named(node.right, node.left, node.op)
    if isinstance(node, ir.Not) and isinstance(node.item, ir.TextMatch):  # `email does not end with "@x.com"`
        needles = listing([f'"{n}"' for n in node.item.needles], "or")
        return f"{operand(node.item.value)} {TEXT_VERBS[node.item.how][1]} {needles}"
    return None


def _named(subject: ir.Operand, value: ir.Operand, op: ir.Op) -> str | None:
    """`the stage is nurture`, `the owning team is not sales`: a stage or team by its name, as the page's stage
    table writes it (a route label stays quoted, as the routing table shows it)."""
    if isinstance(value, ir.Const) and (_decided(subject, "stage") or _decided(subject, "owner")):
        return f"{operand(subject)} {OPS[op]} {value.value}"
    return None


def guarantee(node: ir.Guarantee, policy: ir.Policy) -> str:
    """A guarantee's claim as a sentence: `Whenever the stage is "nurture", the lead gets no route.`,
    `Firmographic fit never goes down as employees grows.`, `Recent activity never goes down with one more demo
    request.`, `A lead handed off stays handed off with one more demo request.`"""
    if node.kind is ir.ClaimKind.HOLDS and node.condition is not None:
        return f"For every lead, {condition(node.condition)}."
    if node.kind is ir.ClaimKind.IMPLIES and node.condition is not None and node.then is not None:
        return f"Whenever {condition(node.condition)}, {condition(node.then)}."
    grows = _growing(node, policy)
    if node.kind is ir.ClaimKind.HANDOFF_KEPT:
        return f"A lead handed off stays handed off {grows}."
    scores = {s.name: f"{s.name} ({s.label})" if s.label else s.name for s in policy.scores}
    score = scores.get(node.score or "", node.score or "")
    way = "down" if node.kind is ir.ClaimKind.NEVER_DECREASES else "up"
    return f"{score[:1].upper()}{score[1:]} never goes {way} {grows}."


def _growing(node: ir.Guarantee, policy: ir.Policy) -> str:
    """How the second lead of a monotone claim differs: `with one more demo request`, `as employees grows`,
    `as signed up gets later`."""
    along = node.along or ""
    if node.along_event:
        return f"with one more {event(along)}"
    later = any(f.name == along and f.type in (Type.DATE, Type.TIMESTAMP) for f in policy.fields)
    return f"as {name(along)} {'gets later' if later else 'grows'}"


def rule(node: ir.Rule) -> str:
    return rule_row(node).words(WORDS, node)


def decay(node: ir.Decay) -> str:
    return adjust_row(node).words(WORDS, node)


def clamp(node: ir.Clamp) -> str:
    return adjust_row(node).words(WORDS, node)


def limit(node: ast.ClockLimit, calendars: dict[str, str]) -> str:
    text = quantity(node.amount, node.unit)
    if node.calendar and node.calendar in calendars:
        text += f" ({calendars[node.calendar]})"
    return text


def tiers(node: ast.Sla, lowered: ir.Sla, calendars: dict[str, str]) -> str:
    """The limit, or its tiers: `1 business hour when tier is "A", otherwise 4 business hours` (the tiers'
    conditions as `lowered`, the SLA's IR, holds them, in the same order)."""
    limits = node.all(ast.ClockLimit)
    conditions = iter(tier.condition for tier in lowered.tiers)
    parts = []
    for lim in limits:
        text = limit(lim, calendars)
        if lim.condition is not None:
            text += f" when {condition(next(conditions))}"
        elif lim.otherwise and len(limits) > 1:
            text = "otherwise " + text
        parts.append(text)
    return ", ".join(parts)


def calendar(cal: ast.Calendar) -> str:
    """'Mon-Fri 09:00-17:00 America/New_York; US holidays; closed 2026-12-24'."""
    from leadpolicy.semantics import lowering
    from leadpolicy.sla.calendars import BusinessCalendar

    parts = [BusinessCalendar.from_ir(lowering.calendar(cal)).describe()]
    for item in cal.items:
        if isinstance(item, ast.Holidays):
            parts.append(f"{item.country}{'-' + item.subdivision if item.subdivision else ''} holidays")
    closed = [i.date for i in cal.items if isinstance(i, ast.Closed)]
    if closed:
        parts.append("closed " + ", ".join(closed))
    return "; ".join(parts)


def an_occurrence(event_name: str) -> str:
    """One event of a lead as a noun: `a first touch event`, `an accepted event`; by its label `an event “Asked for
    a demo”` (a label is a phrase of its own: `a “Asked for a demo” event` would not read)."""
    if event_name in (_WORDING.get() or Wording()).labels:
        return f"an event {event(event_name)}"
    words_ = name(event_name)
    return f"{'an' if words_[:1].lower() in 'aeiou' else 'a'} {event(event_name)} event"


def occurrences(count: Decimal, event_name: str) -> str:
    """A number of events: `100 became mql events`, `1 touch event`, `20 events “Asked for a demo”`."""
    noun = "event" if count == 1 else "events"
    if event_name in (_WORDING.get() or Wording()).labels:
        return f"{number(count)} {noun} {event(event_name)}"
    return f"{number(count)} {event(event_name)} {noun}"


def every_occurrence(event_name: str) -> str:
    """`every rejected event`, `every event “Rejected”`."""
    return "every " + an_occurrence(event_name).split(" ", 1)[1]


def _clock(node: ast.Sla, span: ast.ClockSpan, calendars: dict[str, str], lowered: ir.Sla) -> str:
    """`every lead with a became sql event gets a first touch event within 4 business hours`, its pauses,
    warning and escalation; with `each time`, `every time a lead gets ..., it gets ...`."""
    stops = listing([an_occurrence(s) for s in span.stops], "or")
    starts = listing([an_occurrence(s) for s in span.starts], "or")
    lead = f"every time a lead gets {starts}, it" if span.each_time else f"every lead with {starts}"
    text = f"that {lead} gets {stops} within {tiers(node, lowered, calendars)}{_share(node)}."
    for pause in node.all(ast.Pause):
        text += f" The clock stops at {an_occurrence(pause.start)} and starts again at {an_occurrence(pause.end)}."
    for warn in node.all(ast.Warn):
        text += f" A lead is at risk once {number(warn.percent)}% of the time is used."
    steps = [f'"{e.to}" at {number(e.percent)}%' for e in node.all(ast.Escalate)]
    if steps:
        text += f" It is escalated to {listing(steps, 'then')} of the time."
    return text


def _share(node: ast.Sla) -> str:
    target = node.first(ast.Target)
    return f", {number(target.percent)}% of the time" if isinstance(target, ast.Target) else ""


def _count(node: ast.Sla, count: ast.CountRule, calendars: dict[str, str]) -> str:
    window = quantity(count.window, count.window_unit)
    if count.calendar and count.calendar in calendars:
        window += f" ({calendars[count.calendar]})"
    return (f"to at least {occurrences(count.count, count.event)} within {window} after "
            f"{an_occurrence(count.after)}{_share(node)}.")


def _commitment(node: ast.Sla, calendars: dict[str, str], lowered: ir.Sla) -> str | None:
    """What the owner commits to, after `commits`; None for an SLA that lacks its rule."""
    span, lim = node.first(ast.ClockSpan), node.first(ast.ClockLimit)
    if isinstance(span, ast.ClockSpan) and isinstance(lim, ast.ClockLimit):
        return _clock(node, span, calendars, lowered)
    count = node.first(ast.CountRule)
    if isinstance(count, ast.CountRule):
        return _count(node, count, calendars)
    volume = node.first(ast.VolumeRule)
    if isinstance(volume, ast.VolumeRule):
        return f"to at least {occurrences(volume.count, volume.event)} every {volume.period}."
    return None


def sla(node: ast.Sla, calendars: dict[str, str], lowered: ir.Sla) -> str:
    """One plain-English commitment; `lowered` is its IR (the tiers' conditions are said from it). An event is
    said as an event (`a became sql event`), by its label when it has one (`an event “Asked for a demo”`)."""
    owner = node.first(ast.SlaOwner)
    who = team(owner.team) if isinstance(owner, ast.SlaOwner) else "Someone"
    commitment = _commitment(node, calendars, lowered)
    if commitment is None:
        return f"{who}: (incomplete SLA)"
    text = f"{who} commits {commitment}"
    for needs in node.all(ast.NeedsReason):
        reasons = listing([f'"{r}"' for r in needs.reasons], "or")
        said = every_occurrence(needs.event)
        text += f" {said[:1].upper()}{said[1:]} gives a reason: {reasons}."
    return text


ROTATIONS = {
    ir.AssignHow.ROUND_ROBIN: "in turn: each lead goes to the next available member, in the order listed",
    ir.AssignHow.BY_WEIGHT: "by weight: whenever all are available, each member gets the share of the leads that "
                            "its weight is of the weights of all (a smooth weighted rotation)",
    ir.AssignHow.LEAST_LOADED: "to the available member with the fewest leads today (a tie goes to the one whose "
                               "last lead is oldest, then to the one listed first)",
}


def team_text(node: ir.Team) -> str:
    """How a team assigns the leads routed to it, in sentences of plain text."""
    text = [f'Leads routed to "{node.name}" are assigned {ROTATIONS[node.assign]}.',
            "A member is available when at work on their calendar, not out of office, below their cap and at a "
            "weight above 0."]
    if node.match_accounts:
        text.append("A lead from a known account's email domain goes first to the account's owner, when the owner "
                    "is a member and available; that does not move the rotation.")
    if node.fallback is not None:
        text.append(f'When nobody is available, the lead goes to the team "{node.fallback}".')
    else:
        text.append("When nobody is available, the lead is held until someone is.")
    return " ".join(text)


def member_weight(member: ir.Member, node: ir.Team) -> str:
    """`2 (50% of the leads)` by weight, `paused (weight 0)`, or the weight alone."""
    if member.weight == 0:
        return "paused (weight 0)"
    if node.assign is not ir.AssignHow.BY_WEIGHT:
        return str(member.weight)
    total = sum(m.weight for m in node.members)
    share = (Decimal(100 * member.weight) / total).quantize(Decimal("0.1")).normalize()
    return f"{member.weight} ({number(share)}% of the leads)"


def member_cap(member: ir.Member) -> str:
    if member.cap is None:
        return "no cap"
    return f"at most {quantity(Decimal(member.cap), 'leads')} a {'day' if member.cap_per == 'day' else 'week'}"


def member_hours(member: ir.Member, node: ir.Team, calendars: dict[str, str]) -> str:
    """The member's working hours in words, and the calendar they come from; `any time` with none."""
    name_ = member.calendar or node.calendar
    if name_ is None:
        return "any time"
    return f"{calendars.get(name_, name_)} (calendar {name_}{'' if member.calendar else ', the team’s'})"


def points(value: Decimal) -> str:
    return number(value, signed=True)


def moment(at: dt.datetime, tz: tzinfo) -> str:
    """An instant as a reader of the policy reads it, `Wed 2026-11-18 10:00`: on the policy's clock, its time zone
    `tz`, whatever offset it was written at (one page, one clock, as `explain` prints); a wall-clock time the zone
    repeats when its clock goes back says which of the two it is, `Sun 2026-11-01 01:30 (UTC-05:00)`."""
    local = at.astimezone(dt.timezone.utc).astimezone(tz)  # to UTC first: a zone's datetime names its wall clock
    text = local.strftime("%a %Y-%m-%d %H:%M")
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += f" (UTC{local.isoformat()[-6:]})"
    return text


def before_or_after(at: dt.datetime, now: dt.datetime) -> str:
    """`2 days 2 hours before now`, `30 days before now`, `1 second after now`: the two largest parts."""
    seconds = int(abs((now - at).total_seconds()))
    side = "before" if at < now else "after"
    if seconds < 60:
        return "now" if at == now else f"{quantity(Decimal(seconds), 'seconds')} {side} now"
    days, rest = divmod(seconds, 86400)
    parts = [(days, "days"), (rest // 3600, "hours"), (rest % 3600 // 60, "minutes")]
    shown = [quantity(Decimal(amount), unit) for amount, unit in parts if amount][:2]
    return f"{' '.join(shown)} {side} now"


class DecidedLike(Protocol):
    """What a counter-example's lead was decided (an `api.Decision`)."""

    stage: str | None  # None: the policy has no stages
    owner: str | None
    route: str | None

    @property
    def scores(self) -> Mapping[str, Any]: ...

    @property
    def grades(self) -> Mapping[str, str | None]: ...


def counterexample(policy: ir.Policy, shown: Mapping[str, Any], decided: Sequence[tuple[DecidedLike, bool]]) -> str:
    """A violated guarantee's counter-example in words, for the published page: `on Nov 20, 2026 at 12:00, a lead
    with email "a" (its other fields missing), with “Asked for a demo” on Oct 22, 2026, is decided stage nurture
    (owner marketing), no route, not handed off; fit 0, ...`. `shown` is the proofs' JSON (`{now, lead, events}`,
    or `{now, before, after}` for a pair), `decided` each lead's decision and whether it is handed off."""
    now = f"on {_day(shown['now'])} at {shown['now'][11:16]}"
    if "before" not in shown:
        return f"{now}, {_lead(policy, shown['lead'], shown['events'])}, is decided {_decision(*decided[0])}"
    before, after = shown["before"], shown["after"]
    changed = _what_grows(before, after)
    moved = _moved(*decided[0], *decided[1])
    return (f"{now}, {_lead(policy, before['lead'], before['events'])}, is decided {_decision(*decided[0])}; "
            f"{changed}, {moved}")


def _day(instant: str) -> str:
    day = dt.date.fromisoformat(instant[:10])
    return f"{day:%b} {day.day}, {day.year}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _lead(policy: ir.Policy, lead: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    values = listing([f"{key} {_value(value)}" for key, value in lead.items()], "and") if lead else "no value"
    missing = " (its other fields missing)" if len(lead) < len(policy.fields) else ""
    return f"a lead with {values}{missing}, with {_events(events)}"


def _events(events: Sequence[Mapping[str, Any]]) -> str:
    """`“Asked for a demo” on Oct 22, 2026`, `3 “Viewed the pricing page” from Nov 18, 2026 to Nov 20, 2026`."""
    if not events:
        return "no events"
    spans: dict[str, list[Any]] = {}
    for item in events:
        span = spans.setdefault(item["event"], [0, item["at"], item["at"]])
        span[0] += 1
        span[2] = item["at"]
    said = []
    for event_name, (count, first, last) in spans.items():
        when = f"on {_day(first)}" if _day(first) == _day(last) else f"from {_day(first)} to {_day(last)}"
        said.append(f"{event(event_name)} {when}" if count == 1 else f"{event(event_name)} {count:,} times {when}")
    return listing(said, "and")


def _decision(decision: DecidedLike, handed_off: bool) -> str:
    route = f"route {decision.route}" if decision.route is not None else "no route"
    stage = f"stage {decision.stage} (owner {decision.owner})" if decision.stage is not None else "no stage"
    parts = [f"{stage}, {route}, "
             + ("handed off" if handed_off else "not handed off")]
    values = [f"{key} {value}" for key, value in decision.scores.items()]
    values += [f"{key} {label if label is not None else 'none'}" for key, label in decision.grades.items()]
    return "; ".join(parts + ([", ".join(values)] if values else []))


def _what_grows(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """`with one more “Clicked a marketing email” on Sep 20, 2026`, or `with employees 201 instead of 200`."""
    fields = [f"{key} {_value(value)} instead of {_value(before['lead'].get(key))}"
              if key in before["lead"] else f"{key} {_value(value)}"
              for key, value in after["lead"].items() if before["lead"].get(key) != value]
    extra = list(after["events"])
    for item in before["events"]:
        if item in extra:
            extra.remove(item)
    said = [f"one more {event(item['event'])} on {_day(item['at'])}" for item in extra] + fields
    return "with " + listing(said, "and") if said else "with the same values"


def _moved(before: DecidedLike, handed_before: bool, after: DecidedLike, handed_after: bool) -> str:
    """`engagement goes from 40 to 30 and priority from 40 to 30`: what the second lead's decision changes."""
    pairs: list[tuple[str, Any, Any]] = [("stage", before.stage, after.stage),
                                         ("route", before.route or "none", after.route or "none"),
                                         ("handoff", "yes" if handed_before else "no", "yes" if handed_after else "no")]
    pairs += [(key, value, after.scores.get(key)) for key, value in before.scores.items()]
    pairs += [(key, label or "none", after.grades.get(key) or "none") for key, label in before.grades.items()]
    said = [f"{key} from {old} to {new}" for key, old, new in pairs if old != new]
    if not said:
        return "it is decided alike"
    first, *rest = said
    return "its " + " and ".join([first.replace(" from ", " goes from ", 1), *rest])
