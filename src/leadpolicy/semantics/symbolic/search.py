"""`find`: whether some admitted leads satisfy a goal, with readable witnesses when they do.

Unsat is `Impossible`, for every lead: what "proved" rests on, so every over-approximation in the encoding
is one way only (the solver admits more than the readers do, never less). A model is made readable with
preferences tried in order (round `now`, no events or one, whole numbers, lowercase ASCII text, round
instants), each kept when the goal still holds with it. Then it is checked: a zone offset the model chose
that the zone does not have at its instant is excluded over the whole span of that offset (a true fact), and
the search repeated; a witness `confirm` rejects is excluded and the search repeated; after a bounded number
of rounds, `Unknown`. A time-out is `Unknown` too, never a hang.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import z3

from leadpolicy import zones
from leadpolicy.language.types import Type
from leadpolicy.semantics.primitives import smt
from leadpolicy.semantics.primitives.smt import DAY_US, HOUR_US
from leadpolicy.semantics.symbolic import refine
from leadpolicy.semantics.symbolic.lead import NOW_KEY, SymbolicLead
from leadpolicy.semantics.symbolic.offsets import offset_at
from leadpolicy.semantics.symbolic.witness import Witness, extra_ages, witness

# The preferences are bounded by the solver's resource count (its `rlimit`), not by time: a witness is then the
# same on every run and machine (users add witnesses to their samples). Time only guards against a hang.
PREFERENCE_SECONDS = 10.0  # the most the preferences of one witness may take (a guard: the resources end first)
PREFERENCE_RESOURCES = 10_000_000  # the solver's resources for the preferences of one witness (about 5 s at most)
GRACE_SECONDS = 2.0  # past a search's time-out, the watchdog stops the solver (`Watchdog`)
MAX_TIMEOUT_MS = 2**32 - 1  # z3 reads its time-out modulo 2**32 ms: a longer one (50 days) would be a short one
REGAIN_RESOURCES = 1_000_000  # the most one check of a preference dropped in a conflict may use (about 0.5 s)
MAX_EVENTS = 10_000  # the most events of one window a witness lays out
MAX_WITNESS_EVENTS = 50_000  # the most a witness lays out in all (deciding 594,000 took 10 s past a 3 s time-out)
ROUNDS = 8  # witnesses `confirm` rejects before the answer is Unknown
REFINEMENTS = 200  # models excluded by a true fact (`refine`: a wrong zone offset, ...) before it is Unknown
ROUND_NOW = dt.datetime(2026, 11, 20, 12, 0)  # the `now` witnesses prefer, in the policy's zone
CENTURY = (smt.instant_us(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)),
           smt.instant_us(dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)))
FEW = (1, 3, 10, 100)  # the counts of events witnesses prefer, fewest first
SMALL = 1_000_000  # the magnitude numbers in witnesses prefer to stay within
PLAIN_TEXT = z3.Star(z3.Union(z3.Range("a", "z"), z3.Range("0", "9"), z3.Re("@"), z3.Re("."), z3.Re("-")))


@dataclass(frozen=True)
class Found:
    witnesses: tuple[Witness, ...]  # one per lead given
    seconds: float


@dataclass(frozen=True)
class Impossible:
    seconds: float


@dataclass(frozen=True)
class Unknown:
    reason: str
    seconds: float


Goal = Any | Callable[..., Any]
Confirm = Callable[[tuple[Witness, ...]], bool]


class Clock:
    """The time left of a search, as each solver call's time-out."""

    def __init__(self, timeout: float):
        self.start = time.perf_counter()
        self.timeout = timeout

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def left_ms(self, at_most: float | None = None) -> int:
        left = self.timeout - self.seconds()
        return min(MAX_TIMEOUT_MS, max(1, int(1000 * (left if at_most is None else min(left, at_most)))))

    @property
    def expired(self) -> bool:
        return self.seconds() >= self.timeout


def check(solver: z3.Solver, clock: Clock, assumptions: Sequence[Any] = (), at_most: float | None = None) -> Any:
    solver.set("timeout", clock.left_ms(at_most))
    return solver.check(*assumptions)


class Allowance:
    """The solver's resources left for making a witness readable: each check gets at most `per_check` of them,
    so which preferences a witness keeps does not depend on how busy the machine is."""

    def __init__(self, resources: int):
        self.left = resources

    def check(self, solver: z3.Solver, clock: Clock, assumptions: Sequence[Any], per_check: int) -> Any:
        limit = min(per_check, self.left)
        if limit <= 0 or clock.expired:  # each check past the time-out would still cost its setting up
            return z3.unknown
        before = used_resources(solver)
        solver.set("rlimit", limit)
        try:
            return check(solver, clock, assumptions)
        finally:
            solver.set("rlimit", int(z3.get_param("rlimit") or 0))  # the global limit again (check's, or none)
            self.left -= used_resources(solver) - before


def used_resources(solver: z3.Solver) -> int:
    stats = solver.statistics()
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0


def admitted(leads: Sequence[SymbolicLead]) -> list[Any]:
    """The facts of every lead given, each once (leads grown from one another share theirs)."""
    seen: dict[int, Any] = {}
    for lead in leads:
        for fact in lead.admitted:
            seen.setdefault(fact.get_id(), fact)
    return list(seen.values())


def named_apart(leads: Sequence[SymbolicLead]) -> None:
    """z3 names a variable by its text: two leads of one name (or two histories of one prefix) would be one."""
    prefixes = {id(lead.vars): lead.vars.prefix for lead in leads}
    if len({lead.name for lead in leads}) < len(leads) or len(set(prefixes.values())) < len(prefixes):
        raise ValueError(f"leads given to find need distinct names, not {[lead.name for lead in leads]}")


def find(goal: Goal, leads: Sequence[SymbolicLead], timeout: float, confirm: Confirm | None = None) -> (
        Found | Impossible | Unknown):
    """Some admitted leads (one per `leads`, with their histories and `now`) for which `goal` holds: Found with
    a witness of each (re-decided by `confirm` when given), Impossible when there are none, Unknown when the
    solver could not tell within `timeout` seconds (or a construct has no exact encoding)."""
    clock = Clock(timeout)
    named_apart(leads)
    try:
        target = goal(*leads) if callable(goal) else goal
    except smt.Unsupported as exc:
        return Unknown(str(exc), clock.seconds())
    with Watchdog(clock.timeout + GRACE_SECONDS) as watchdog:
        try:
            solver = incremental()
            solver.add(target, *admitted(leads))
            found = Search(solver, leads, clock, confirm).run()
        except z3.Z3Exception:
            if not watchdog.fired:
                raise
            found = Unknown("", clock.seconds())
    if watchdog.fired and isinstance(found, Unknown):
        return Unknown(f"the solver ran past the time-out ({clock.timeout:g} s) and was stopped", found.seconds)
    return found


class Watchdog:
    """Stops the solver GRACE_SECONDS past a search's time-out, whatever it is doing: z3 honours its time-out
    only within a check, and a step outside one (taking in assertions at a push, say) once ran for 14 minutes.
    It interrupts z3 again each second until the search ends (a check clears an interrupt that came before
    it), and a stale interrupt is cleared when the search ends, so it never stops the next search."""

    def __init__(self, seconds: float):
        self.seconds = min(seconds, threading.TIMEOUT_MAX)  # past it, waiting raises (an --timeout of 1e10)
        self.ended = threading.Event()
        self.lock = threading.Lock()
        self.fired = False
        self.thread = threading.Thread(target=self.watch, name="leadpolicy-solver-watchdog", daemon=True)

    def watch(self) -> None:
        if self.ended.wait(self.seconds):
            return
        while True:
            with self.lock:
                if self.ended.is_set():
                    return
                self.fired = True
                z3.main_ctx().interrupt()
            if self.ended.wait(1.0):
                return

    def __enter__(self) -> Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.ended.set()
        self.thread.join()
        if self.fired:
            z3.Solver().check()  # clears an interrupt no call took in (a push would fail on it)


def incremental() -> z3.Solver:
    """A solver whose every check is incremental, the first included: z3 otherwise takes in every assertion
    again at the first push after a check, with no time-out (past 60 s at a 2 s time-out for a 550-character
    needle); in a scope from the start, it takes them in within each check. No search pushes again."""
    solver = z3.Solver()
    solver.push()
    return solver


class Unsettled(Exception):
    """REFINEMENTS models in a row were no leads."""


class Search:
    """One `find`: models made readable, refined (a true fact excludes a model that is no lead: `refine`) and
    confirmed. Refinements and rejected witnesses are counted apart: REFINEMENTS of the one, ROUNDS of the
    other, then Unknown."""

    def __init__(self, solver: z3.Solver, leads: Sequence[SymbolicLead], clock: Clock, confirm: Confirm | None):
        self.solver, self.leads, self.clock, self.confirm = solver, leads, clock, confirm
        self.wishes = Preferences(leads)
        self.limited = False  # whether the search asked for witnesses of few events: then unsat is no proof
        self.rejected = 0  # witnesses `confirm` rejected and the search excluded: then unsat is no proof either
        self.refined = 0  # models excluded by true facts (unsat after them is a proof)

    def run(self) -> Found | Impossible | Unknown:
        try:
            return self.searched()
        except Unsettled:
            return Unknown(f"the solver's models were still no leads after {REFINEMENTS} refinements (of zone "
                           "offsets, numbers no lead file holds, texts not in folded form)", self.clock.seconds())

    def searched(self) -> Found | Impossible | Unknown:
        while True:
            result, model = readable(self.solver, self.wishes, self.clock, self.refine)
            if result == z3.unsat:
                return self.unsat()
            if result != z3.sat:
                return Unknown(self.unknown_reason(), self.clock.seconds())
            if too_many_events(self.leads, model):
                self.solver.add(*fewer_events(self.leads))
                self.limited = True
                continue
            if self.refine(model):
                continue
            model = self.rounded(model)
            avoid = extra_ages(list(self.leads), model)
            found = tuple(witness(lead, model, avoid) for lead in self.leads)
            if self.confirm is None or self.confirm(found):
                return Found(found, self.clock.seconds())
            self.solver.add(z3.Not(z3.And(assignment(self.leads, model))))
            self.rejected += 1
            if self.rejected >= ROUNDS:
                return Unknown(f"none of the {ROUNDS} witnesses found was confirmed when decided",
                               self.clock.seconds())

    def rounded(self, model: Any) -> Any:
        """The model with a round `now` when it costs nothing: when the preferences lost it (they had no time
        left, or conflicted), everything else the witness shows is kept and only `now` moved, if the goal
        still holds (a quick check: every text and number is fixed)."""
        wish = round_now(self.leads[0])[0]  # the leads share `now` (another zone's offset is refined if wrong)
        if z3.is_true(model.eval(wish, model_completion=True)):
            return model
        pins = assignment(self.leads, model, with_now=False)
        if Allowance(REGAIN_RESOURCES).check(self.solver, self.clock, [*pins, wish], REGAIN_RESOURCES) != z3.sat:
            return model
        better = self.solver.model()
        return model if self.refine(better) else better

    def refine(self, model: Any) -> bool:
        """Whether the model is no lead (then the facts that exclude it are added): a bounded number of times,
        after which the search stops with Unknown."""
        found = refine.facts(self.leads, model)
        if found and self.refined >= REFINEMENTS:
            raise Unsettled
        if found:
            self.solver.add(*found)
            self.refined += 1
        return bool(found)

    def unsat(self) -> Impossible | Unknown:
        if self.limited:
            return Unknown(f"every witness has more than {MAX_EVENTS} events in a window or more than "
                           f"{MAX_WITNESS_EVENTS} in all", self.clock.seconds())
        if self.rejected:  # what is left after excluding witnesses is empty: that proves nothing
            return Unknown(f"every witness found ({self.rejected}) was rejected when decided", self.clock.seconds())
        return Impossible(self.clock.seconds())

    def unknown_reason(self) -> str:
        return f"the solver gave no answer ({self.solver.reason_unknown()})"


# ---------------------------------------------------------------- readable models


class Preferences:
    """What makes a witness readable, most wanted first, each with a mark that implies it: checked as
    assumptions, dropped when they conflict. The implications are added to the solver once, after its first
    model, and never in a scope: z3 takes in every assertion again at a push, outside any time-out (it ran for
    14 minutes there once). Unassumed, a mark constrains nothing. They are made at the first model too: a
    search with none needs none (on a policy of thousands of windows they took seconds past its time-out)."""

    def __init__(self, leads: Sequence[SymbolicLead]):
        self.leads = leads
        self.marked: list[tuple[Any, Any]] | None = None

    def marks(self, solver: z3.Solver) -> list[tuple[Any, Any]]:
        if self.marked is None:
            self.marked = [(z3.Bool(f"wish!{i}"), wish) for i, wish in enumerate(preferences(self.leads))]
            solver.add(*(z3.Implies(mark, wish) for mark, wish in self.marked))
        return self.marked


def readable(solver: z3.Solver, wishes: Preferences, clock: Clock, refine: Callable[[Any], bool] | None = None,
             ) -> tuple[Any, Any]:
    """(sat, a model with as many preferences as let the goal hold), unsat or unknown. The goal is checked
    first without them (so they never slow the answer, nor change it), and while its model is no lead
    (`refine` adds the facts excluding it) it is checked again, up to REFINEMENTS times. Then all preferences
    are assumed; while they conflict, the least wanted of the conflict (the unsat core) is dropped; then each
    one dropped is tried again, most wanted first (a core is not the smallest conflict). The preferences have
    PREFERENCE_RESOURCES in all (PREFERENCE_SECONDS as a guard): past that, the model has those found so far."""
    result, model = refined_check(solver, clock, refine)
    if result != z3.sat:
        return result, None
    budget = Clock(min(PREFERENCE_SECONDS, clock.timeout - clock.seconds()))
    allowance = Allowance(PREFERENCE_RESOURCES if budget.timeout > 0 else 0)
    marked = wishes.marks(solver)
    marks = [mark for mark, _ in marked]
    active = list(marks)
    while active:
        result = allowance.check(solver, budget, active, REGAIN_RESOURCES * 4)
        if result == z3.sat:
            model = regained(solver, marked, active, budget, allowance, solver.model())
            break
        core = {mark.get_id() for mark in solver.unsat_core()} if result == z3.unsat else set()
        if not core:
            model = regained(solver, marked, [], budget, allowance, model)
            break
        dropped = marks[max(i for i, mark in enumerate(marks) if mark.get_id() in core)].get_id()
        active = [mark for mark in active if mark.get_id() != dropped]  # by id: `==` on z3 terms builds a term
    return z3.sat, model


def refined_check(solver: z3.Solver, clock: Clock, refine: Callable[[Any], bool] | None) -> tuple[Any, Any]:
    """The goal checked until its model is a lead (`refine` says False; it raises Unsettled past its bound)."""
    while True:
        result = check(solver, clock)
        if result != z3.sat:
            return result, None
        model = solver.model()
        if refine is None or not refine(model):
            return result, model


def regained(solver: z3.Solver, wishes: list[tuple[Any, Any]], active: list[Any], budget: Clock,
             allowance: Allowance, model: Any) -> Any:
    """The model after each preference not yet taken, most wanted first, that still lets the goal hold (one
    the model has already costs nothing)."""
    taken = {mark.get_id() for mark in active}
    for mark, wish in wishes:
        if mark.get_id() in taken:
            continue
        if z3.is_true(model.eval(wish, model_completion=True)):
            active.append(mark)
        elif allowance.check(solver, budget, [*active, mark], REGAIN_RESOURCES) == z3.sat:  # unknown when spent
            active.append(mark)
            model = solver.model()
    return model


def round_now(lead: SymbolicLead) -> list[Any]:
    """`now` at noon on a fixed day in the policy's zone (with the zone's offset there), else in this century
    (whose years every reader reads in any zone)."""
    tz = zones.zone(lead.policy.timezone)
    at = ROUND_NOW.replace(tzinfo=tz)
    wishes = [lead.vars.now == smt.instant_us(at)]
    if (lead.policy.timezone, NOW_KEY) in lead.vars.offsets:
        wishes.append(lead.vars.offsets[(lead.policy.timezone, NOW_KEY)][0] == offset_at(tz, at))
    now = lead.vars.now
    return [z3.And(wishes), z3.And(now >= CENTURY[0], now < CENTURY[1])]


def event_wishes(lead: SymbolicLead) -> list[Any]:
    wishes = [z3.Not(h.has) for h in lead.vars.events.values()]
    wishes += [lead.vars.now - h.age >= CENTURY[0] for h in lead.vars.events.values()]
    wishes += [count <= most for most in FEW for h in lead.vars.events.values() for count in h.counts.values()]
    wishes += [h.age % DAY_US == 0 for h in lead.vars.events.values()]
    wishes += [h.age % HOUR_US == 0 for h in lead.vars.events.values()]
    return wishes + [g.extra % DAY_US == 0 for g in lead.own_events.values()]


def value_wishes(sym: smt.Sym, kind: Type) -> list[Any]:
    if kind is Type.NUMBER:
        return [z3.IsInt(sym.value), sym.value <= SMALL, sym.value >= -SMALL]
    if kind is Type.TEXT:
        return [sym.value == smt.text("a"), z3.InRe(sym.value, PLAIN_TEXT), z3.Length(sym.value) <= 24]
    if kind is Type.TIMESTAMP:
        return [z3.And(sym.value >= CENTURY[0], sym.value < CENTURY[1]), sym.value % HOUR_US == 0]
    return []


def field_wishes(lead: SymbolicLead) -> list[Any]:
    syms = [(sym, Type(kind)) for (_, kind), sym in lead.vars.fields.items()]
    syms += [(sym, lead.fields[name].type) for name, sym in lead.own_fields.items()]
    return [wish for sym, kind in syms for wish in value_wishes(sym, kind)]


def preferences(leads: Sequence[SymbolicLead]) -> list[Any]:
    """What makes a witness readable, most wanted first (each lead's shared variables once)."""
    wishes: dict[int, Any] = {}
    for lead in leads:
        for wish in [*round_now(lead), *event_wishes(lead), *field_wishes(lead)]:
            wishes.setdefault(wish.get_id(), wish)
    return list(wishes.values())


# ---------------------------------------------------------------- refinement


def window_counts(leads: Sequence[SymbolicLead]) -> list[Any]:
    """Each window's count of events, once (a grown lead shares its history's)."""
    counts = (count for lead in leads for h in lead.vars.events.values() for count in h.counts.values())
    return list({count.get_id(): count for count in counts}.values())


def too_many_events(leads: Sequence[SymbolicLead], model: Any) -> bool:
    """Whether a witness would lay out more than MAX_EVENTS events of one window, or more than
    MAX_WITNESS_EVENTS in all (then the search asks for fewer, and says Unknown when every witness needs more)."""
    counts = [model.eval(count, model_completion=True).as_long() for count in window_counts(leads)]
    return any(count > MAX_EVENTS for count in counts) or sum(counts) > MAX_WITNESS_EVENTS


def fewer_events(leads: Sequence[SymbolicLead]) -> list[Any]:
    """At most MAX_EVENTS in each window and MAX_WITNESS_EVENTS in all windows together (more than a witness
    lays out, where windows of one event overlap: a bound, and unsat under it is no proof)."""
    counts = window_counts(leads)
    return [*(count <= MAX_EVENTS for count in counts), z3.Sum(counts) <= MAX_WITNESS_EVENTS] if counts else []


def shown(model: Any, present: Any, values: list[Any]) -> list[Any]:
    """The model's values of what a witness shows of one field or event: whether it is present, and its value(s)
    only when it is (a missing one shows none)."""
    is_present = z3.is_true(model.eval(present, model_completion=True))
    facts = [present == is_present] if not z3.is_true(present) else []
    return facts + ([v == model.eval(v, model_completion=True) for v in values] if is_present else [])


def assignment(leads: Sequence[SymbolicLead], model: Any, with_now: bool = True) -> list[Any]:
    """What the model's witnesses show (`now`, fields, events), to exclude a witness `confirm` rejected (or,
    without `now`, to keep all but `now`)."""
    terms: dict[int, Any] = {}
    for lead in leads:
        found = [lead.vars.now == model.eval(lead.vars.now, model_completion=True)] if with_now else []
        for sym in [*lead.vars.fields.values(), *lead.own_fields.values()]:
            found += shown(model, sym.present, [sym.value])
        for history in lead.vars.events.values():
            found += shown(model, history.has, [history.age, *history.counts.values()])
        found += [g.extra == model.eval(g.extra, model_completion=True) for g in lead.own_events.values()]
        for fact in found:
            terms.setdefault(fact.get_id(), fact)
    return list(terms.values())
