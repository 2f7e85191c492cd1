"""A model of the symbolic leads as concrete witnesses: each lead as a lead file holds it, its events laid
out at instants (the latest at its age, every window holding its count, one instant per event of a name),
and `now` in the policy's zone.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

import z3

from leadpolicy import runtime, zones
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.smt import DAY_US, EPOCH, EPOCH_DATE, HOUR_US
from leadpolicy.semantics.symbolic.variables import FIRST_INSTANT, EventVars, GrownEvent

if TYPE_CHECKING:
    from leadpolicy.semantics.symbolic.lead import SymbolicLead

MICROSECOND = dt.timedelta(microseconds=1)
STEPS = (DAY_US, HOUR_US, 60_000_000, 1_000_000, 1)  # the roundest spacing of a window's extra events that fits


@dataclass(frozen=True)
class Witness:
    """A concrete lead, its events and `now`: what a counter-example or a witness shows."""

    now: dt.datetime  # aware, in the policy's zone
    lead: dict[str, Any]  # JSON values as a lead file holds them
    events: tuple[tuple[str, dt.datetime], ...]  # (event, at), sorted by at, every at <= now

    def as_json(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "lead": dict(self.lead),
                "events": [{"event": event, "at": at.isoformat()} for event, at in self.events]}


def integer(model: Any, term: Any) -> int:
    return int(model.eval(term, model_completion=True).as_long())


def text(model: Any, term: Any) -> str:
    """A z3 string as Python text, character by character (its printed form escapes some characters and not a
    backslash, so it cannot be read back)."""
    length = integer(model, z3.Length(term))
    return "".join(chr(integer(model, z3.StrToCode(z3.SubString(term, i, 1)))) for i in range(length))


def json_number(model: Any, term: Any) -> int | float:
    """A number as a lead file holds it: an int when whole, else the float whose shortest decimal is the value
    (the search has excluded models holding a number no reader reads: `refine.unreadable_numbers`)."""
    value = model.eval(term, model_completion=True)
    numerator, denominator = value.numerator_as_long(), value.denominator_as_long()
    if denominator == 1:
        return int(numerator)
    with localcontext() as ctx:
        ctx.prec = 60
        return float(Decimal(numerator) / Decimal(denominator))


# Where an instant's local year is outside the admitted years, the offsets it is written with instead.
EDGE_OFFSETS = (dt.timezone.utc, dt.timezone(dt.timedelta(hours=23, minutes=59)),
                dt.timezone(-dt.timedelta(hours=23, minutes=59)))  # the offsets of variables.FIRST/LAST_INSTANT


def at_us(instant: int, tz: dt.tzinfo) -> dt.datetime:
    """An instant in the policy's zone; at the edges of the admitted years, at an offset that writes it in
    one of them (the solver admits every instant some admitted writing names)."""
    at = EPOCH + instant * MICROSECOND
    for zone in (tz, *EDGE_OFFSETS):
        if runtime.FIRST_YEAR <= at.astimezone(zone).year <= runtime.LAST_YEAR:
            return at.astimezone(zone)
    return at.astimezone(tz)


def field_json(model: Any, f: ir.Field, value: Any, tz: dt.tzinfo) -> Any:
    if f.type is Type.NUMBER:
        return json_number(model, value)
    if f.type is Type.YESNO:
        return z3.is_true(model.eval(value, model_completion=True))
    if f.type is Type.DATE:
        return (EPOCH_DATE + dt.timedelta(days=integer(model, value))).isoformat()
    if f.type is Type.TIMESTAMP:
        return at_us(integer(model, value), tz).isoformat()
    folded = text(model, value)
    if f.type is Type.ONE_OF:
        return runtime.choice_spellings(f.choices).get(folded, folded)
    return folded


PLAIN = {Type.NUMBER: 1, Type.YESNO: False, Type.DATE: "2026-01-01", Type.TIMESTAMP: "2026-01-01T00:00:00Z",
         Type.TEXT: "a"}


def unread_value(f: ir.Field) -> Any:
    """A value for a required field no decision reads (any value does)."""
    return f.choices[0] if f.type is Type.ONE_OF else PLAIN[f.type]


def lead_json(lead: SymbolicLead, model: Any, tz: dt.tzinfo) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in lead.policy.fields:
        sym = lead.own_fields.get(f.name) or lead.vars.fields.get((f.name, str(f.type)))
        if sym is None:
            if f.required:
                values[f.name] = unread_value(f)
        elif z3.is_true(model.eval(sym.present, model_completion=True)):
            values[f.name] = field_json(model, f, sym.value, tz)
    return values


def spaced(low: int, high: int, n: int, avoid: set[int]) -> list[int]:
    """n distinct ages in [low, high), as round as fits, none in `avoid`."""
    for step in STEPS:
        start = -(-low // step) * step
        ages = list(itertools.islice((a for a in range(start, high, step) if a not in avoid), n))
        if len(ages) == n:
            return ages
    return list(itertools.islice((a for a in range(low, high) if a not in avoid), n))


def history_ages(model: Any, history: EventVars, avoid: set[int], oldest: int) -> list[int]:
    """The ages (microseconds before now) of one event's history: the latest at its age, then each window's
    extra events in its band of ages (none older than `oldest`)."""
    if not z3.is_true(model.eval(history.has, model_completion=True)):
        return []
    latest = integer(model, history.age)
    ages, previous_us, previous = [latest], 0, 0
    for days, count in sorted(history.counts.items()):
        window_us, total = min(days * DAY_US, oldest + 1), integer(model, count)
        extra = total - previous - (1 if previous_us <= latest < window_us else 0)
        ages += spaced(max(previous_us, latest + 1), window_us, extra, avoid)
        previous_us, previous = window_us, total
    return ages


def events_of(lead: SymbolicLead, model: Any, avoid: dict[str, set[int]]) -> list[tuple[str, int]]:
    found = []
    oldest = integer(model, lead.vars.now) - FIRST_INSTANT
    for name, history in lead.vars.events.items():
        found += [(name, age) for age in history_ages(model, history, avoid.get(name, set()), oldest)]
    for name, grown in lead.own_events.items():
        if isinstance(grown, GrownEvent):
            found.append((name, integer(model, grown.extra)))
    return found


def extra_ages(leads: list[SymbolicLead], model: Any) -> dict[str, set[int]]:
    """The ages of the one-more events of grown leads, which the shared history must keep free."""
    avoid: dict[str, set[int]] = {}
    for lead in leads:
        for name, grown in lead.own_events.items():
            avoid.setdefault(name, set()).add(integer(model, grown.extra))
    return avoid


def witness(lead: SymbolicLead, model: Any, avoid: dict[str, set[int]] | None = None) -> Witness:
    tz = zones.zone(lead.policy.timezone)
    now_us = integer(model, lead.vars.now)
    events = sorted(((name, at_us(now_us - age, tz)) for name, age in events_of(lead, model, avoid or {})),
                    key=lambda pair: (pair[1], pair[0]))
    return Witness(at_us(now_us, tz), lead_json(lead, model, tz), tuple(events))
