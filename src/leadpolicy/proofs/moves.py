"""`diff OLD NEW --prove` (issue 27; docs/governance.md): for every pair (old stage, new stage), whether some lead
moves so, over every lead, history of events and `now`, with a witness lead for each possible move, and the
moves proved impossible.

The same lead is decided by both versions (`SymbolicLead.under`: a field of the same name and type, an event
and `now` are one variable for both). A field only one version has is in the witness; the other version ignores
it. Each witness is re-decided by both compiled evaluators before it is shown: the old version decides the old
stage, the new one the new stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Sequence

from leadpolicy.api import Decision
from leadpolicy.language.types import Type

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.semantics.primitives.smt import Sym
    from leadpolicy.semantics.symbolic import SymbolicLead, Witness

TIMEOUT = 20.0  # seconds for all the pairs of a diff
Possible = Literal["possible", "impossible", "unknown"]


@dataclass(frozen=True)
class Move:
    old: str  # the stage the old version decides
    new: str  # the stage the new version decides
    status: Possible
    witness: Witness | None = None  # the lead both versions decide so
    seconds: float = 0.0
    reason: str | None = None

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.old, "to": self.new, "status": self.status,
                               "seconds": round(self.seconds, 3)}
        if self.witness is not None:
            out["witness"] = self.witness.as_json()
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def merged(old: Witness, new: Witness) -> Witness:
    """The one lead both witnesses show: every field either version reads, every event either declares."""
    from leadpolicy.semantics.symbolic import Witness

    events = tuple(sorted(set(old.events) | set(new.events), key=lambda pair: (pair[1], pair[0])))
    return Witness(old.now, {**new.lead, **old.lead}, events)


def decided_by(policy: Policy, w: Witness) -> Decision | None:
    """The lead decided by one version: the events it does not declare left out (it would refuse them)."""
    known = {e.name for e in policy.ir.events}
    events = [{"event": e, "at": at} for e, at in w.events if not policy.ir.declares_events or e in known]
    try:
        return policy.evaluate(w.lead, w.now, events)
    except ValueError:  # a LeadError, or a `now` outside the years the readers accept
        return None


def moved_as(old: Policy, new: Policy, w: Witness, pair: tuple[str, str]) -> bool:
    before, after = decided_by(old, w), decided_by(new, w)
    return before is not None and after is not None and (before.stage, after.stage) == pair


def pair_move(old: Policy, new: Policy, i: int, j: int, seconds: float) -> Move:
    """Whether some lead is decided old stage i by the old version and new stage j by the new one."""
    from leadpolicy.semantics.symbolic import Found, Impossible, SymbolicLead, find

    pair = (old.ir.stages[i].name, new.ir.stages[j].name)
    if seconds <= 0:
        return Move(*pair, "unknown", reason="no time left")

    def goal(a: SymbolicLead, b: SymbolicLead) -> Any:
        return [a.stage_is(i), b.stage_is(j), *same_fields(a, b)]

    lead = SymbolicLead(old.ir)
    result = find(lambda a, b: all_of(goal(a, b)), [lead, lead.under(new.ir)], seconds,
                  lambda found: moved_as(old, new, merged(*found), pair))
    if isinstance(result, Found):
        return Move(*pair, "possible", merged(*result.witnesses), result.seconds)
    if isinstance(result, Impossible):
        return Move(*pair, "impossible", seconds=result.seconds)
    return Move(*pair, "unknown", seconds=result.seconds, reason=result.reason)


TEXTUAL = (Type.TEXT, Type.ONE_OF)


def comparable(a: Type, b: Type) -> bool:
    """Whether one value can be a field's in both versions (a `one of` and a text are both folded texts)."""
    return a == b or (a in TEXTUAL and b in TEXTUAL)


def clashing_fields(old: Policy, new: Policy) -> list[str]:
    """Fields both versions have whose types no one value fits (a number in one, a text in the other)."""
    types = {f.name: f.type for f in old.ir.fields}
    return [f.name for f in new.ir.fields if f.name in types and not comparable(types[f.name], f.type)]


def same_fields(a: SymbolicLead, b: SymbolicLead) -> list[Any]:
    """The one lead's fields as given, alike for both versions: present in both or neither, with one value. They
    are bound before each version applies its own default (a changed default moves a lead that gives no value);
    a field of one name and type is one variable already, one whose type changed between text and `one of` is a
    variable of each version's, bound here (the choices both admit are what is left)."""
    mine = {f.name: f for f in a.policy.fields}
    return [same_value(a.vars.field(mine[f.name]), b.vars.field(f)) for f in b.policy.fields if f.name in mine]


def same_value(a: Sym, b: Sym) -> Any:
    """Present in both or in neither, and then one value."""
    import z3  # two versions' variables of one field bound together; the encoding stays in semantics.symbolic

    return z3.And(a.present == b.present, z3.Implies(a.present, a.value == b.value))


def all_of(terms: list[Any]) -> Any:
    from leadpolicy.semantics.primitives.smt import all_of as conjunction

    return conjunction(terms)


def moves(old: Policy, new: Policy, timeout: float = TIMEOUT) -> list[Move]:
    """Every pair (old stage, new stage), in the versions' stage order: possible with a witness, impossible,
    or unknown when the solver could not tell within the time left of `timeout`."""
    clash = clashing_fields(old, new)
    if clash:
        reason = (f"field {clash[0]} has a different type in each version: the solver ties no value of it to both "
                  "(only a lead with it missing reads alike in both), so it decides no pair")
        return [Move(a.name, b.name, "unknown", reason=reason) for a in old.ir.stages for b in new.ir.stages]
    end = time.perf_counter() + timeout
    out = []
    for i in range(len(old.ir.stages)):
        for j in range(len(new.ir.stages)):
            out.append(pair_move(old, new, i, j, end - time.perf_counter()))
    return out


@dataclass(frozen=True)
class Outcome:
    """Whether one decided value other than the stage (`route`, or a grade both versions have) can differ for
    one lead: possible with a witness and the two values, impossible (proved), or unknown."""

    name: str  # "route" or the grade's name
    status: Possible
    witness: Witness | None = None
    before: str | None = None  # the value the old version decides for the witness (None: missing)
    after: str | None = None
    seconds: float = 0.0
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "seconds": round(self.seconds, 3)}
        if self.witness is not None:
            out.update(witness=self.witness.as_json(), old=self.before, new=self.after)
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def value_of(d: Decision, name: str) -> str | None:
    return d.route if name == "route" else d.grades.get(name)


def differs(a: Sym, b: Sym) -> Any:
    """Two decided values differ, a missing one counted as a value of its own."""
    import z3  # two versions' decided values compared; the encoding stays in semantics.symbolic

    return z3.Or(a.present != b.present, z3.And(a.present, a.value != b.value))


def outcome(old: Policy, new: Policy, name: str, seconds: float) -> Outcome:
    """Whether some lead gets a different `name` (route or grade) from the two versions; for the route, a lead
    each version decides the same stage for (a stage move is said by its pair already)."""
    from leadpolicy.semantics.symbolic import Found, Impossible, SymbolicLead, find

    if seconds <= 0:
        return Outcome(name, "unknown", reason="no time left")

    def value(lead: SymbolicLead) -> Sym:
        return lead.decided("route") if name == "route" else lead.grade(name)

    def goal(a: SymbolicLead, b: SymbolicLead) -> Any:
        same_stage = [a.decided("stage").value == b.decided("stage").value] if name == "route" else []
        return all_of([differs(value(a), value(b)), *same_stage, *same_fields(a, b)])

    def confirm(found: tuple[Witness, ...]) -> bool:
        before, after = decided_by(old, merged(*found)), decided_by(new, merged(*found))
        return before is not None and after is not None and value_of(before, name) != value_of(after, name) and \
            (name != "route" or before.stage == after.stage)

    lead = SymbolicLead(old.ir)
    result = find(goal, [lead, lead.under(new.ir)], seconds, confirm)
    if isinstance(result, Found):
        w = merged(*result.witnesses)
        before, after = decided_by(old, w), decided_by(new, w)
        assert before is not None and after is not None  # confirmed by the search
        return Outcome(name, "possible", w, value_of(before, name), value_of(after, name), result.seconds)
    if isinstance(result, Impossible):
        return Outcome(name, "impossible", seconds=result.seconds)
    return Outcome(name, "unknown", seconds=result.seconds, reason=result.reason)


def outcomes(old: Policy, new: Policy, timeout: float = TIMEOUT) -> list[Outcome]:
    """The route, then each grade both versions have: whether one lead can get a different one from each."""
    if clashing_fields(old, new):
        return [Outcome(name, "unknown", reason=moves(old, new)[0].reason) for name in compared(old, new)]
    end = time.perf_counter() + timeout
    return [outcome(old, new, name, end - time.perf_counter()) for name in compared(old, new)]


def compared(old: Policy, new: Policy) -> list[str]:
    grades = {g.name for g in old.ir.grades}
    return ["route"] + [g.name for g in new.ir.grades if g.name in grades]


def verdict(old: str, new: str, found: list[Move], others: Sequence[Outcome] = ()) -> str:
    """The one line a reviewer reads first; `old` and `new` name the versions as the diff was asked for. It
    says the versions decide alike only when the stage, the route and every grade are proved alike."""
    changed = [m for m in found if m.changed and m.status == "possible"]
    undecided = [m for m in found if m.status == "unknown"]
    moved = bool(changed or undecided)
    if not moved and all(o.status == "impossible" for o in others):
        return f"{new} decides every possible lead as {old} does"
    kept, can, unsure = named_by_status(others, moved)
    parts = [stage_part(old, new, changed, undecided)] if moved else []
    kept = kept if moved else ["stage", *kept]
    parts += ["every possible lead keeps " + " and ".join(f"its {name}" for name in kept)] if kept else []
    parts += [" and ".join(f"its {name}" for name in can) + " can change"] if can else []
    parts += ["undecided whether " + " or ".join(f"its {name}" for name in unsure) + " changes"] if unsure else []
    return "; ".join(parts)


def named_by_status(others: Sequence[Outcome], moved: bool) -> tuple[list[str], list[str], list[str]]:
    """The names of the route and grades proved alike, possibly changed and undecided (the route's said as
    for the same stage when some stage pair moves or is undecided)."""
    def name(o: Outcome) -> str:
        return "route (for the same stage)" if moved and o.name == "route" else o.name

    kept, can, unsure = ([name(o) for o in others if o.status == status]
                         for status in ("impossible", "possible", "unknown"))
    return kept, can, unsure


def stage_part(old: str, new: str, changed: list[Move], undecided: list[Move]) -> str:
    if changed:
        return (f"{len(changed)} possible stage move{'s' if len(changed) != 1 else ''} from {old} to {new}"
                + (f" ({len(undecided)} pair(s) undecided)" if undecided else ""))
    return f"no stage move found from {old} to {new}, but {len(undecided)} pair(s) are undecided"


def moves_json(old: str, new: str, found: list[Move], others: list[Outcome] | None = None) -> dict[str, Any]:
    """`diff --prove`'s JSON: every pair, whether the route and each grade can change (`others`, see
    `outcomes`), the verdict, and whether every possible lead is decided alike (stage, route and grades)."""
    alike = all(m.status == "impossible" or (m.status == "possible" and not m.changed) for m in found)
    out: dict[str, Any] = {"moves": [m.as_dict() for m in found]}
    if others is not None:
        alike = alike and all(o.status == "impossible" for o in others)
        out["routes"] = next(o.as_dict() for o in others if o.name == "route")
        out["grades"] = [o.as_dict() for o in others if o.name != "route"]
    return {**out, "verdict": verdict(old, new, found, others or []), "same_decisions": alike}
