"""One description of each SLA clock rule, read by both engines: the Python reference (`sla.engine`)
interprets it and the SQL builder (`warehouse.sla_sql`) compiles it, so a rule is decided here once.

- A limit's measure: its unit (normalised once, by lowering), its length as real time or open time, or
  whole open days, and the calendar that measures business time.
- Pause flips: which events pause a clock and which resume it.
- Tiers: each limit with its condition, in the policy's order, `otherwise` last; a tier is decided as the
  policy decides the lead at the clock's moment `TIER_DECIDED_AT` names (its start), from the events seen
  then (`runtime.seen_at`: up to and including it).
- Count windows: the events a window counts (`COUNT_WINDOW`: from its opening event to its end, both
  included) and when a count short of its need is breached (once the window is closed: `now >= end`).
- Warn and escalation: shares of the limit used, compared exactly (no float rounding at 33.3%).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from leadpolicy.language.units import BUSINESS_DAYS, BUSINESS_HOURS, CLOCK_UNITS, DAYS, HOURS, MINUTES, is_business
from leadpolicy.runtime import seen_at
from leadpolicy.semantics import ir

MICROSECOND = dt.timedelta(microseconds=1)
UNIT_LENGTHS = {MINUTES: dt.timedelta(minutes=1), HOURS: dt.timedelta(hours=1), DAYS: dt.timedelta(days=1),
                BUSINESS_HOURS: dt.timedelta(hours=1)}  # business hours: of open time
OTHERWISE = "otherwise"


@dataclass(frozen=True, slots=True)
class Measure:
    """A limit as both engines measure it."""

    unit: str  # one of language.units.CLOCK_UNITS
    amount: Decimal
    calendar: str | None  # as the policy names it (its zone shows the times, whatever the unit)

    @property
    def business(self) -> bool:
        return is_business(self.unit)

    @property
    def business_calendar(self) -> str | None:
        """The calendar whose open time measures the limit: only business units are measured on one."""
        return self.calendar if self.business else None

    @property
    def span(self) -> dt.timedelta | None:
        """The limit's length, real time for elapsed units and open time for business hours; None for
        business days, which count whole open days instead."""
        if self.unit == BUSINESS_DAYS:
            return None
        return UNIT_LENGTHS[self.unit] * float(self.amount)

    @property
    def span_us(self) -> int | None:
        span = self.span
        return None if span is None else span // MICROSECOND

    @property
    def open_days(self) -> int | None:
        """Business days: how many open days after the start's the deadline falls on."""
        return int(self.amount) if self.unit == BUSINESS_DAYS else None


UNITS = frozenset(CLOCK_UNITS)


def measure(limit: ir.Limit) -> Measure:
    """A limit's measure. Lowering normalised its unit; any other is a bug, never guessed at."""
    if limit.unit not in UNITS:
        raise ValueError(f"unit {limit.unit!r} is not one lowering makes ({', '.join(sorted(UNITS))})")
    return Measure(limit.unit, limit.amount, limit.calendar)


@dataclass(frozen=True, slots=True)
class PauseFlips:
    """The events that pause a running clock and those that resume a paused one. A pause while paused, a
    resume while running, or either with no clock open is ignored (and counted); a stop ends a pause."""

    pausing: frozenset[str]
    resuming: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        return self.pausing | self.resuming

    def touches(self, event: str) -> bool:
        return event in self.pausing or event in self.resuming


@dataclass(frozen=True, slots=True)
class TierRule:
    """One limit of a clock SLA: its condition (None: `otherwise`), its text as reported, its measure."""

    index: int
    condition: ir.Condition | None
    text: str
    measure: Measure


class ClockMoment(enum.Enum):
    """A moment of a clock that a rule is decided at; each engine maps it to its own value (the Python
    engine to the clock's start event's time, the SQL engine to the clock's `start_us` column)."""

    START = "start"


TIER_DECIDED_AT = ClockMoment.START  # a clock's tier is decided as the policy decides the lead at its start
# each moment as the Python engine reads it, from the clock's start
_MOMENTS: dict[ClockMoment, Callable[[dt.datetime], dt.datetime]] = {ClockMoment.START: lambda start: start}


def tier_decided_at(start: dt.datetime) -> dt.datetime:
    """The instant at which a clock started at `start` has its tier decided (`TIER_DECIDED_AT`)."""
    return _MOMENTS[TIER_DECIDED_AT](start)


def tier_reads_event(at: dt.datetime, start: dt.datetime) -> bool:
    """Whether the decision of a clock's tier sees an event at `at`: those seen at the moment it is decided."""
    return seen_at(at, tier_decided_at(start))


@dataclass(frozen=True, slots=True)
class Window:
    """The events a window counts: those from its start to its end, each end included or not. It is closed
    (a count short of its need is breached, not pending) once its end is seen at `now` (`now >= end`)."""

    start_included: bool
    end_included: bool

    def holds(self, at: dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
        after_start = at >= start if self.start_included else at > start
        before_end = at <= end if self.end_included else at < end
        return after_start and before_end

    @staticmethod
    def closed(now: dt.datetime, end: dt.datetime) -> bool:
        return seen_at(end, now)


COUNT_WINDOW = Window(start_included=True, end_included=True)  # a count window: its `after` event to its end


@dataclass(frozen=True, slots=True)
class Thresholds:
    """`warn at` and the escalation steps (percent, to whom; the checker keeps them going up)."""

    warn_at: Decimal | None
    escalations: tuple[tuple[Decimal, str], ...]

    @property
    def scale(self) -> int:
        """10 to the number of decimals of the finest percent: the percents times it are whole."""
        percents = [p for p in (self.warn_at, *(p for p, _ in self.escalations)) if p is not None]
        return int(10 ** max([_decimals(p) for p in percents] or [0]))

    def scaled(self, percent: Decimal) -> int:
        return int(percent * self.scale)

    def reached(self, used_us: int, full_us: int, percent: Decimal) -> bool:
        """Whether `percent` of a limit of `full_us` is used, exactly; a limit of no length is all used."""
        if full_us == 0:
            return 100 * self.scale >= self.scaled(percent)
        return used_us * 100 * self.scale >= full_us * self.scaled(percent)

    def at_risk(self, used_us: int, full_us: int) -> bool:
        return self.warn_at is not None and self.reached(used_us, full_us, self.warn_at)

    def highest_first(self) -> list[tuple[Decimal, str]]:
        return sorted(self.escalations, key=lambda step: step[0], reverse=True)

    def escalated_to(self, used_us: int, full_us: int) -> str | None:
        """The highest escalation step reached, if any."""
        return next((to for percent, to in self.highest_first() if self.reached(used_us, full_us, percent)), None)


@dataclass(frozen=True, slots=True)
class ClockRule:
    """Everything both engines need to judge one clock SLA's clocks."""

    sla: str
    starts: tuple[str, ...]
    stops: tuple[str, ...]
    each_time: bool
    pauses: PauseFlips
    tiers: tuple[TierRule, ...]  # the policy's order, `otherwise` last
    thresholds: Thresholds

    @property
    def otherwise(self) -> TierRule:
        return self.tiers[-1]


def clock_rule(sla: ir.Sla) -> ClockRule:
    """The clock SLA's rules (it must have a clock and a limit)."""
    if sla.clock is None or sla.limit is None:
        raise ValueError(f"sla {sla.name} has no clock with a limit")
    tiers = [TierRule(i, t.condition, t.condition.text, measure(t.limit)) for i, t in enumerate(sla.tiers)]
    tiers.append(TierRule(len(tiers), None, OTHERWISE, measure(sla.limit)))
    return ClockRule(
        sla.name, tuple(sla.clock.starts), tuple(sla.clock.stops), sla.clock.each_time,
        PauseFlips(frozenset(p.start for p in sla.pauses), frozenset(p.end for p in sla.pauses)), tuple(tiers),
        Thresholds(sla.warn_at, tuple((step.percent, step.to) for step in sla.escalations)))


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
