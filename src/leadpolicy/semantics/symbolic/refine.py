"""Where the symbolic lead admits more than the readers do, and the true facts that exclude a model showing it.

The encoding over-approximates three things, one way only (so `Impossible` stays sound): a local date's zone
offset may be any offset the zone has; a number may be any rational in range, where every reader reads a
number through a float (`runtime.read_number`: an int, or the shortest decimal that reads back as the same
float); a text may hold any character, where a folded text (`runtime.fold`, one character for one, each
lowered) holds none that the fold changes. A model showing one of these is no lead: `facts` gives what is
true of every lead and false of the model, and the search adds them and looks again (a refinement, which
spends none of the rounds of witnesses `confirm` rejects).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import z3

from leadpolicy import runtime
from leadpolicy.language.types import Type
from leadpolicy.semantics.primitives import smt
from leadpolicy.semantics.primitives.smt import Sym
from leadpolicy.semantics.symbolic.offsets import offset_span, rare_offset_spans
from leadpolicy.semantics.symbolic.witness import text

if TYPE_CHECKING:
    from leadpolicy.semantics.symbolic.lead import SymbolicLead

WHOLE_FLOATS = 2**53  # from here on every float is a whole number


def facts(leads: Sequence[SymbolicLead], model: Any) -> list[Any]:
    """The true facts that exclude the model's wrong offsets, unreadable numbers and unfolded texts (none when
    the model shows leads the readers read as it has them)."""
    found: dict[int, Any] = {}
    for fact in [*wrong_offsets(leads, model), *unreadable_numbers(leads, model), *unfolded_texts(leads, model)]:
        found.setdefault(fact.get_id(), fact)
    return list(found.values())


def wrong_offsets(leads: Sequence[SymbolicLead], model: Any) -> Iterator[Any]:
    """For each offset the model chose that its zone does not have at its instant: the zone's offset over the
    span of instants around it that share it; and, when the zone had the offset chosen in a few spans only,
    that the offset is the zone's only within them (else each refinement excluded one span of the centuries
    admitted, and the search ended unknown after REFINEMENTS of them)."""
    for lead in leads:
        for (zone, _), (var, instant) in lead.vars.offsets.items():
            at = model.eval(instant, model_completion=True).as_long()
            first, end, offset = offset_span(zone, at)
            chosen = model.eval(var, model_completion=True).as_long()
            if chosen == offset:
                continue
            yield z3.Implies(z3.And(instant >= first, instant < end), var == offset)
            spans = rare_offset_spans(zone, chosen)
            if spans is not None:
                yield z3.Implies(var == chosen, z3.Or([z3.And(instant >= a, instant < b) for a, b in spans]))


def typed_syms(leads: Sequence[SymbolicLead], kind: Type) -> Iterator[Sym]:
    for lead in leads:
        yield from (sym for (_, name), sym in lead.vars.fields.items() if Type(name) is kind)
        yield from (sym for name, sym in lead.own_fields.items() if lead.fields[name].type is kind)


def present(model: Any, sym: Sym) -> bool:
    return bool(z3.is_true(model.eval(sym.present, model_completion=True)))


def fraction(model: Any, term: Any) -> Fraction:
    value = model.eval(term, model_completion=True)
    return Fraction(value.numerator_as_long(), value.denominator_as_long())


def read_back(value: Fraction) -> Fraction:
    """The number a reader reads for the float nearest `value` (the shortest decimal naming that float)."""
    return Fraction(Decimal(repr(float(value))))


def readable(value: Fraction) -> bool:
    """Whether some lead file's number reads as exactly `value` (an int, or a float's shortest decimal)."""
    return value.denominator == 1 or read_back(value) == value


def number_fact(var: Any, value: Fraction) -> Any:
    """True of every number a reader reads, false of `value`: past 2**53 readable numbers are whole; else
    between the shortest decimals of the floats either side of value's nearest float, the only readable
    numbers are that float's decimal and whole numbers."""
    if abs(value) >= WHOLE_FLOATS:
        return z3.Implies(z3.Or(var >= WHOLE_FLOATS, var <= -WHOLE_FLOATS), z3.IsInt(var))
    nearest = float(value)
    low, high = (Decimal(repr(math.nextafter(nearest, side))) for side in (-math.inf, math.inf))
    inside = z3.And(var > smt.number(low), var < smt.number(high))
    return z3.Implies(inside, z3.Or(var == smt.number(Decimal(repr(nearest))), z3.IsInt(var)))


def unreadable_numbers(leads: Sequence[SymbolicLead], model: Any) -> Iterator[Any]:
    for sym in typed_syms(leads, Type.NUMBER):
        if present(model, sym) and not readable(fraction(model, sym.value)):
            yield number_fact(sym.value, fraction(model, sym.value))


def unfolded_texts(leads: Sequence[SymbolicLead], model: Any) -> Iterator[Any]:
    """No text variable holds a character the fold changes (fold lowers each character alone, and lowering
    twice is lowering once, so no folded text holds one)."""
    syms = list(typed_syms(leads, Type.TEXT))
    changed = {c for sym in syms if present(model, sym) for c in text(model, sym.value) if runtime.fold(c) != c}
    for c in sorted(changed):
        yield from (z3.Not(z3.Contains(sym.value, smt.text(c))) for sym in syms)
