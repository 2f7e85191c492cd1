"""A symbolic lead pinned to one concrete lead (its values, its events' counts and ages, `now`, the zone's real
offsets), and what a decision's expected values say as solver goals: the semantic table as an engine
(tests/test_symbolic_semantics.py) and the witness tests read these."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import z3

from leadpolicy import zones
from leadpolicy.language.types import Type
from leadpolicy.semantics import ir, logic
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.primitives import smt
from leadpolicy.semantics.symbolic import SymbolicLead
from leadpolicy.semantics.symbolic.offsets import offset_at


def typed(f: ir.Field, value: Any) -> Any:
    """A typed lead value (LeadReader's) as the symbolic lead holds it."""
    if f.type is Type.NUMBER:
        return smt.number(Decimal(value))
    if f.type is Type.YESNO:
        return z3.BoolVal(bool(value))
    if f.type is Type.DATE:
        return z3.IntVal(smt.day_number(value))
    if f.type is Type.TIMESTAMP:
        return z3.IntVal(smt.instant_us(value))
    return smt.text(logic.fold(value))


def pins(lead: SymbolicLead, values: dict[str, Any], activity: Activity, now: dt.datetime) -> list[Any]:
    """The facts that make the symbolic lead exactly this one (call after the goal is built: the events and
    offsets it reads exist then)."""
    facts = [lead.vars.now == smt.instant_us(now)]
    for f in lead.policy.fields:
        sym = lead.field(f.name)
        value = values.get(f.name)
        facts.append(z3.Not(sym.present) if value is None else z3.And(sym.present, sym.value == typed(f, value)))
    for name, history in lead.vars.events.items():
        last = activity.last(name, now)
        facts.append(history.has == (last is not None))
        if last is not None:
            facts.append(history.age == smt.instant_us(now) - smt.instant_us(last))
        facts += [count == activity.count(name, days, now) for days, count in history.counts.items()]
    tz = zones.zone(lead.policy.timezone)
    instants = {"now": now, **{k: v for k, v in values.items() if isinstance(v, dt.datetime)}}
    facts += [var == offset_at(tz, instants[key]) for (_, key), (var, _) in lead.vars.offsets.items()]
    return facts


def expected(lead: SymbolicLead, key: str, value: Any) -> Any:
    """`key` (a score, grade, stage, owner or route) is decided `value`."""
    policy = lead.policy
    if key == "stage":
        return lead.stage_is([s.name for s in policy.stages].index(value))
    if key in ("owner", "route") or any(g.name == key for g in policy.grades):
        sym = lead.decided(key) if key in ("owner", "route") else lead.grade(key)
        return z3.Not(sym.present) if value is None else z3.And(sym.present, sym.value == smt.text(
            logic.fold(value)))
    return lead.score(key).value == smt.number(Decimal(value))
