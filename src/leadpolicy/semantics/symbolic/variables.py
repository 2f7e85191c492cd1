"""The variables of a symbolic lead: its fields as the lead block admits them, its events (per event the age
of its latest and a count per window read), `now`, and an offset variable per instant read as a local date.

Every variable comes with the facts every admitted lead satisfies (`Variables.admitted`), made when the
variable is first read: only what the decisions read is encoded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import z3

from leadpolicy import runtime, zones
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir, logic, primitives
from leadpolicy.semantics.primitives import smt
from leadpolicy.semantics.primitives.smt import DAY_US, Sym
from leadpolicy.semantics.symbolic.offsets import local_date_monotone, zone_offsets

FIRST_DAY = smt.day_number(dt.date(runtime.FIRST_YEAR, 1, 1))
LAST_DAY = smt.day_number(dt.date(runtime.LAST_YEAR, 12, 31))
# Instants as written in the admitted years, at any offset a written time may have.
LATEST_OFFSET_US = (23 * 3600 + 59 * 60) * 1_000_000  # the largest offset a written time may have: ±23:59
FIRST_INSTANT = FIRST_DAY * DAY_US - LATEST_OFFSET_US
LAST_INSTANT = (LAST_DAY + 1) * DAY_US - 1 + LATEST_OFFSET_US
BLANK_TEXT = z3.Star(z3.Union([z3.Re(smt.text(c)) for c in runtime.BLANK]))
# A folded text holds no ASCII capital (`runtime.fold` lowers them all).
HOLDS_A_CAPITAL = z3.Concat(z3.Star(z3.AllChar(z3.ReSort(z3.StringSort()))), z3.Range("A", "Z"),
                            z3.Star(z3.AllChar(z3.ReSort(z3.StringSort()))))


def field_value(f: ir.Field, name: str) -> tuple[Any, list[Any]]:
    """A field's value variable and what the lead reader admits of it, by type."""
    if f.type is Type.NUMBER:
        value = z3.Real(name)
        return value, [value >= smt.number(-runtime.MAX_NUMBER), value <= smt.number(runtime.MAX_NUMBER)]
    if f.type is Type.YESNO:
        return z3.Bool(name), []
    if f.type is Type.DATE:
        value = z3.Int(name)
        return value, [value >= FIRST_DAY, value <= LAST_DAY]
    if f.type is Type.TIMESTAMP:
        value = z3.Int(name)
        return value, [value >= FIRST_INSTANT, value <= LAST_INSTANT]
    value = z3.String(name)
    return value, [z3.Not(z3.InRe(value, BLANK_TEXT)), z3.Not(z3.InRe(value, HOLDS_A_CAPITAL))]


def admission(f: ir.Field, raw: Sym) -> list[Any]:
    """What a policy's lead block admits of a field as given: present when required, one of its choices."""
    facts = [raw.present] if f.required else []
    if f.type is Type.ONE_OF:
        facts.append(z3.Implies(raw.present, smt.any_of([raw.value == smt.text(logic.fold(c)) for c in f.choices])))
    return facts


def default_value(f: ir.Field, zone: str) -> Any:
    """A field's default, read as a lead's value is (`LeadReader._typed`)."""
    value = f.default
    if f.type is Type.NUMBER:
        return smt.number(Decimal(str(value)))
    if f.type is Type.YESNO:
        return z3.BoolVal(bool(value))
    if f.type is Type.DATE:
        return z3.IntVal(smt.day_number(runtime.read_calendar_date(str(value))))
    if f.type is Type.TIMESTAMP:
        return z3.IntVal(smt.instant_us(runtime.read_instant(str(value), zones.zone(zone))))
    return smt.text(logic.fold(str(value)))


def seen_by(f: ir.Field, raw: Sym, zone: str) -> Sym:
    """A field as a policy reads it: a missing value takes the field's default."""
    if f.default is None:
        return raw
    return Sym(z3.BoolVal(True), z3.If(raw.present, raw.value, default_value(f, zone)))


@dataclass
class EventVars:
    """One event's history: whether there is one at or before now, the age of the latest (microseconds),
    and a count per window (days -> Int)."""

    event: str
    has: Any
    age: Any
    counts: dict[int, Any] = field(default_factory=dict)

    def count(self, days: int, variables: Variables) -> Any:
        if days not in self.counts:
            self.counts[days] = z3.Int(f"{variables.prefix}#{self.event}@{days}")
            encode = smt.ENCODERS[primitives.WINDOWS.solver]  # the activity windows' derived-inputs row
            oldest = variables.now - FIRST_INSTANT
            variables.admitted += encode(self.has, self.age, sorted(self.counts.items()), oldest)
        return self.counts[days]


@dataclass
class GrownEvent:
    """An event's history with one more of it, at age `extra`, than `base` has."""

    base: EventVars
    extra: Any

    @property
    def has(self) -> Any:
        return z3.BoolVal(True)

    @property
    def age(self) -> Any:
        return z3.If(z3.And(self.base.has, self.base.age < self.extra), self.base.age, self.extra)

    def count(self, days: int, variables: Variables) -> Any:
        return self.base.count(days, variables) + z3.If(self.extra < days * DAY_US, 1, 0)


@dataclass
class Variables:
    """The variables a lead (and the leads grown from it) share, with the facts of the admitted leads."""

    prefix: str
    zone: str
    now: Any
    admitted: list[Any] = field(default_factory=list)
    fields: dict[tuple[str, str], Sym] = field(default_factory=dict)  # (name, type) -> the field as given
    blocks: set[tuple[Any, ...]] = field(default_factory=set)  # the lead blocks' fields whose facts are in
    events: dict[str, EventVars] = field(default_factory=dict)
    # (zone, key) -> (offset in seconds, its instant): two policies of one lead (`SymbolicLead.under`) each read
    # an instant in their own zone
    offsets: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)

    @classmethod
    def fresh(cls, prefix: str, zone: str) -> Variables:
        now = z3.Int(f"{prefix}now")
        return cls(prefix, zone, now, [now >= FIRST_INSTANT, now <= LAST_INSTANT])

    def field(self, f: ir.Field) -> Sym:
        """A field as the lead gives it (present or not, and its value), one per name and type: two policies that
        read the lead (`SymbolicLead.under`) share it, each adding what its lead block admits."""
        key = (f.name, str(f.type))
        if key not in self.fields:
            name = f"{self.prefix}{f.name}"
            value, facts = field_value(f, name)
            self.fields[key] = Sym(z3.Bool(f"{name}?"), value)
            self.admitted += facts
        if (f.name, f.type, f.choices, f.required) not in self.blocks:
            self.blocks.add((f.name, f.type, f.choices, f.required))
            self.admitted += admission(f, self.fields[key])
        return self.fields[key]

    def event(self, name: str) -> EventVars:
        if name not in self.events:
            has, age = z3.Bool(f"{self.prefix}#{name}?"), z3.Int(f"{self.prefix}#{name}.age")
            self.events[name] = EventVars(name, has, age)
            self.admitted += [age >= 0, z3.Implies(has, age <= self.now - FIRST_INSTANT)]
        return self.events[name]

    def offset(self, key: str, instant: Any, zone: str) -> Any:
        """The zone's offset (seconds) at an instant: a constant for a zone of one offset, else a variable
        that may be any offset the zone has (refined by the search when a witness proves it wrong), bound to
        the zone's other offset variables by what holds of every zone's offsets (`offset_facts`)."""
        choices = zone_offsets(zone)
        if len(choices) == 1:
            return z3.IntVal(choices[0])
        if (zone, key) not in self.offsets:
            var = z3.Int(f"{self.prefix}{key}@{zone}.offset")
            self.admitted.append(smt.any_of([var == c for c in choices]))
            for (other_zone, _), other in self.offsets.items():
                if other_zone == zone:
                    self.admitted += offset_facts(zone, (var, instant), other)
            self.offsets[(zone, key)] = (var, instant)
        return self.offsets[(zone, key)][0]


def offset_facts(zone: str, one: tuple[Any, Any], other: tuple[Any, Any]) -> list[Any]:
    """What holds of two offset variables of one zone: one instant has one offset, and where the zone's local
    date never goes back (no clock change crosses midnight backwards), a later instant's local date is not
    earlier."""
    (var, instant), (other_var, other_instant) = one, other
    facts = [z3.Implies(instant == other_instant, var == other_var)]
    if local_date_monotone(zone):
        mine, theirs = local_day(instant, var), local_day(other_instant, other_var)
        facts += [z3.Implies(instant <= other_instant, mine <= theirs),
                  z3.Implies(other_instant <= instant, theirs <= mine)]
    return facts


def local_day(instant: Any, offset: Any) -> Any:
    """The local date (a day number) of an instant at an offset in seconds."""
    return (instant + offset * 1_000_000) / DAY_US


def window_days(days: Decimal) -> int:
    """A window's whole days, as `runtime.window_start` reads them."""
    return int(days)
