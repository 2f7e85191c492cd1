"""SLA evaluation over event timelines: clocks, counts, volumes, reason codes and recycling."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.runtime import seen_at
from leadpolicy.semantics import ir
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.interpreter import Evaluator
from leadpolicy.semantics.interpreter import evaluate as interpret
from leadpolicy.semantics.leads import LeadReader, as_instant
from leadpolicy.semantics.logic import fold
from leadpolicy.semantics.primitives import events_read
from leadpolicy.sla import rules
from leadpolicy.sla.calendars import BusinessCalendar

MET, BREACHED, PENDING = "met", "breached", "pending"


@dataclass(frozen=True, slots=True)
class Event:
    """One row of an event log."""

    lead: str
    event: str
    at: dt.datetime
    reason: str | None = None
    row: int = 0
    given: tuple[str, str] | None = field(default=None, compare=False)  # lead and at as the log wrote them


@dataclass
class ClockResult:
    sla: str
    lead: str
    start: dt.datetime
    deadline: dt.datetime
    status: str
    stop: dt.datetime | None = None
    stop_event: str | None = None
    used: dt.timedelta | None = None  # business or elapsed time from start to stop (or now), less pauses
    late_by: dt.timedelta | None = None
    tier: str = "otherwise"  # the tier's condition, or `otherwise`
    paused: dt.timedelta = dt.timedelta(0)  # measured as the limit is
    used_percent: float | None = None  # of the limit, for a clock still open at now
    at_risk: bool = False  # open, and at least `warn at` of the limit used
    escalated_to: str | None = None  # open, and the last escalation step reached

    def as_dict(self) -> dict[str, Any]:
        return {"sla": self.sla, "lead": self.lead, "start": _iso(self.start), "stop": _iso(self.stop),
                "stop_event": self.stop_event, "deadline": _iso(self.deadline), "status": self.status,
                "used_minutes": _minutes(self.used), "late_minutes": _minutes(self.late_by), "tier": self.tier,
                "paused_minutes": _minutes(self.paused), "used_percent": self.used_percent,
                "at_risk": self.at_risk, "escalated_to": self.escalated_to}


@dataclass
class CountResult:
    sla: str
    lead: str
    start: dt.datetime
    window_end: dt.datetime
    count: int
    needed: int
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"sla": self.sla, "lead": self.lead, "start": _iso(self.start), "window_end": _iso(self.window_end),
                "count": self.count, "needed": self.needed, "status": self.status}


@dataclass
class VolumeResult:
    sla: str
    period: str
    start: dt.datetime
    end: dt.datetime
    count: int
    needed: int
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"sla": self.sla, "period": self.period, "start": _iso(self.start), "end": _iso(self.end),
                "count": self.count, "needed": self.needed, "status": self.status}


@dataclass
class ReasonViolation:
    sla: str
    lead: str
    event: str
    at: dt.datetime
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"sla": self.sla, "lead": self.lead, "event": self.event, "at": _iso(self.at), "reason": self.reason}


@dataclass
class RecycleEntry:
    lead: str
    event: str
    reason: str
    stage: str
    at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {"lead": self.lead, "event": self.event, "reason": self.reason, "stage": self.stage, "at": _iso(self.at)}


@dataclass
class TimelineResult:
    """Everything the SLAs say about a set of events at `now`."""

    now: dt.datetime
    clocks: list[ClockResult] = field(default_factory=list)
    counts: list[CountResult] = field(default_factory=list)
    volumes: list[VolumeResult] = field(default_factory=list)
    violations: list[ReasonViolation] = field(default_factory=list)
    recycles: list[RecycleEntry] = field(default_factory=list)
    ignored_pauses: dict[str, int] = field(default_factory=dict)  # SLA -> pause or resume events with no open clock

    def in_order(self, sla: str) -> list[ClockResult | CountResult]:
        """One SLA's clocks and counts, by start (then lead)."""
        results: list[ClockResult | CountResult] = [*self.clocks, *self.counts]
        return sorted((r for r in results if r.sla == sla), key=lambda r: (r.start, r.lead))

    def statuses(self, sla: str) -> dict[str, str]:
        """lead (or period, for volumes) -> status for one SLA."""
        results: list[ClockResult | CountResult] = [*self.clocks, *self.counts]
        out = {r.lead: r.status for r in results if r.sla == sla}
        out.update({v.period: v.status for v in self.volumes if v.sla == sla})
        return out


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _minutes(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 3)


_MICROSECOND = dt.timedelta(microseconds=1)
Paused = tuple[dt.datetime, dt.datetime | None]  # a pause's start and end (None: still paused)


class Span(NamedTuple):
    """One clock in a lead's events."""

    start: Event
    stop: Event | None  # None: open at now
    pauses: list[Paused]
    still_paused: bool  # at now


def _still_paused(pauses: list[Paused]) -> bool:
    return bool(pauses) and pauses[-1][1] is None


@dataclass(frozen=True)
class _Limit:
    """A limit's measure (`sla.rules`) with the calendar that measures business time and the zone it is shown in."""

    measure: rules.Measure
    calendar: BusinessCalendar | None  # for business units
    zone: ZoneInfo


NO_RECORD, REJECTED_RECORD = "no record", "rejected record"  # why a clock of a tiered SLA took `otherwise`
NO_LEADS_FILE = "no leads file given"  # ... when there are no records at all (`sla` without --leads)


def events_named(node: ir.Node | None) -> set[str]:
    """The event names an IR expression reads (`primitives.events_read`: its event counts, days since an event)."""
    return {event for event, _ in events_read(node)}


def tier_fallbacks(no_record: int, rejected_record: int) -> dict[str, int]:
    """The report's count of clocks that took an SLA's `otherwise` tier for want of a lead record."""
    return {"clocks": no_record + rejected_record, NO_RECORD: no_record, REJECTED_RECORD: rejected_record}


class SlaEngine:
    """The SLAs, calendars and recycle rules of one policy, ready to evaluate events."""

    def __init__(self, policy: ir.Policy, records: Mapping[str, Any] | None = None):
        """`records`: lead id -> the lead's record, for tiers (a lead without a valid one takes `otherwise`)."""
        self.policy = policy
        self.records: Mapping[str, Any] = records or {}
        self.no_leads_file: dict[str, int] | None = defaultdict(int) if records is None else None  # clocks, by SLA
        self.rejected_ids: set[str] = getattr(records, "rejected_ids", set())
        self.fallbacks = {NO_RECORD: 0, REJECTED_RECORD: 0}  # clocks of tiered SLAs left `otherwise`, by why
        self.reader = LeadReader(policy)
        self.tz = zones.zone(policy.timezone)
        self.calendars = {c.name: BusinessCalendar.from_ir(c) for c in policy.calendars}
        self.slas = policy.slas
        self.recycle_rules = policy.recycle
        self._limits: dict[ir.Limit, _Limit] = {}
        self.clocks = [(sla, rules.clock_rule(sla)) for sla in self.slas
                       if sla.clock is not None and sla.limit is not None]
        self.count_rules = [(sla, rule) for sla in self.slas for rule in sla.counts]
        self.reason_rules = [(sla.name, needs.event, frozenset(fold(r) for r in needs.reasons))
                             for sla in self.slas for needs in sla.reasons]
        self.recycles = [(r, fold(r.reason), dt.timedelta(days=float(r.after_days))) for r in self.recycle_rules]
        self.stop_starts: dict[str, set[str]] = defaultdict(set)
        self.other_roles: set[str] = {r.event for r in self.recycle_rules}
        for _, rule in self.clocks:
            for stop in rule.stops:
                self.stop_starts[stop].update(rule.starts)
            self.other_roles.update(rule.starts)
            self.other_roles.update(rule.pauses.names)
        for _, count in self.count_rules:
            self.other_roles |= {count.event, count.after}
        for _, volume in self.volume_rules():
            self.other_roles.add(volume.event)

    def event_names(self) -> set[str]:
        """Every event name the policy mentions."""
        return {e.name for e in self.policy.events} | self._clock_event_names()

    def sla_event_names(self) -> set[str]:
        """The event names the SLAs and recycle rules read: clocks' starts, stops and pauses, counts, volumes,
        reasons, and events a tier's condition names itself (not those the scores it names read)."""
        tiers = {name for sla in self.slas for tier in sla.tiers for name in events_named(tier.condition)}
        return self._clock_event_names() | tiers

    def _clock_event_names(self) -> set[str]:
        """The events the SLAs' clocks, counts, volumes, reasons and pauses and the recycle rules name."""
        names: set[str] = {r.event for r in self.recycle_rules}
        for sla in self.slas:
            if sla.clock is not None:
                names |= {*sla.clock.starts, *sla.clock.stops}
            names |= {c.event for c in sla.counts} | {c.after for c in sla.counts}
            names |= {v.event for v in sla.volumes} | {n.event for n in sla.reasons}
            names |= {name for pause in sla.pauses for name in (pause.start, pause.end)}
        return names

    def _limit(self, limit: ir.Limit) -> "_Limit":
        """A limit with its calendar, worked out once (the per-lead loop asks for it often)."""
        known = self._limits.get(limit)
        if known is None:
            known = self._limits[limit] = self._measured(rules.measure(limit))
        return known

    def _measured(self, measure: rules.Measure) -> "_Limit":
        calendar = self.calendars.get(measure.calendar) if measure.calendar else None
        return _Limit(measure, calendar if measure.business_calendar else None,
                      calendar.tz if calendar else self.tz)

    def deadline(self, sla: ir.Sla, start: dt.datetime) -> dt.datetime:
        """The deadline of a clock of the SLA's `otherwise` limit started at `start`, without pauses."""
        assert sla.limit is not None, "only clock SLAs have limits"
        return self._deadline(self._limit(sla.limit), start)

    @staticmethod
    def _deadline(limit: "_Limit", start: dt.datetime) -> dt.datetime:
        """`start` moved by the limit: real time, open time (business hours) or whole open days."""
        span, open_days, calendar = limit.measure.span, limit.measure.open_days, limit.calendar
        if calendar is None:
            assert span is not None, "the checker requires a calendar for business time"
            return start + span
        if open_days is not None:
            return calendar.add_days(start, open_days)
        assert span is not None
        return calendar.add_hours(start, span)

    def display_zones(self) -> dict[str, ZoneInfo]:
        """Each clock or count SLA's zone, the one its times are shown in: its calendar's, else the policy's."""
        zones = {}
        for sla in self.slas:
            if sla.limit is not None:
                zones[sla.name] = self.zone_of(sla)
            elif sla.counts:
                calendar = sla.counts[0].within.calendar
                zones[sla.name] = self.calendars[calendar].tz if calendar else self.tz
        return zones

    def zone_of(self, sla: ir.Sla) -> ZoneInfo:
        """The calendar's timezone for business-time SLAs, else the policy's."""
        assert sla.limit is not None
        return self._limit(sla.limit).zone

    @staticmethod
    def _measure(limit: "_Limit", start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Time from start to end measured as the limit is: open time for business units, else real time."""
        if limit.calendar is not None:
            return limit.calendar.elapsed(start, end)
        return max(end - start, dt.timedelta(0))

    @staticmethod
    def _shift(limit: "_Limit", instant: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """`instant` moved later by `amount`, measured as the limit is (by nothing, when it is zero)."""
        if limit.calendar is not None and amount:
            return limit.calendar.add_hours(instant, amount)
        return instant + amount

    def evaluate_lead(self, lead: str, events: list[Event], now: dt.datetime, out: TimelineResult,
                      prepared: bool = False) -> None:
        """One lead's events into clock, count, reason and recycle results. Events may come in any
        order and include ones after `now`, unless `prepared` says they are sorted and none is."""
        now = as_instant(now)  # a time in a zone with clock changes subtracts by its wall clock
        if not prepared:
            events = sorted((e for e in events if seen_at(e.at, now)), key=lambda e: e.at)
        for sla, span in self.clocks:
            self._clock(sla, span, lead, events, now, out)
        for sla, rule in self.count_rules:
            self._count(sla, rule, lead, events, now, out)
        for sla_name, event, allowed in self.reason_rules:
            for e in events:
                if e.event == event and fold(e.reason or "") not in allowed:
                    out.violations.append(ReasonViolation(sla_name, lead, e.event, e.at, e.reason))
        for recycle, reason, delay in self.recycles:
            for e in events:
                if e.event == recycle.event and fold(e.reason or "") == reason:
                    out.recycles.append(RecycleEntry(lead, e.event, recycle.reason, recycle.stage, e.at + delay))

    def _clock(self, sla: ir.Sla, rule: rules.ClockRule, lead: str, events: list[Event], now: dt.datetime,
               out: TimelineResult) -> None:
        for span in self._spans(rule, events, out):
            self._judge(rule, lead, events, span, now, out)

    def _spans(self, rule: rules.ClockRule, events: list[Event], out: TimelineResult) -> list[Span]:
        """Each clock of the SLA in a lead's events (sorted, none after now): its start, its stop (None while
        open) and its pauses (an end of None: still paused). Without `each time` one clock runs from the first
        start to the first stop at or after it; with it, a start while no clock is open opens one. A stop ends
        a pause; a pause or resume with no open clock is ignored (and counted)."""
        if rule.each_time:
            return self._spans_each_time(rule, events, out)
        return self._span_once(rule, events, out)

    def _spans_each_time(self, rule: rules.ClockRule, events: list[Event], out: TimelineResult) -> list[Span]:
        flips = rule.pauses
        spans: list[Span] = []
        opened: Event | None = None
        pauses: list[Paused] = []
        for e in events:
            if opened is None:
                if e.event in rule.starts:
                    opened, pauses = e, []
                elif flips.touches(e.event):
                    self._ignored(rule, out)
            elif e.event in rule.stops:
                spans.append(Span(opened, e, _closed(pauses, e.at), False))
                opened = None
            elif flips.touches(e.event):
                self._pause_step(rule, e, pauses, out)
        if opened is not None:
            spans.append(Span(opened, None, pauses, _still_paused(pauses)))
        return spans

    def _span_once(self, rule: rules.ClockRule, events: list[Event], out: TimelineResult) -> list[Span]:
        flips = rule.pauses
        start = next((e for e in events if e.event in rule.starts), None)
        if start is None:
            for _ in filter(lambda e: flips.touches(e.event), events):
                self._ignored(rule, out)
            return []
        stop = next((e for e in events if e.event in rule.stops and e.at >= start.at), None)
        pauses: list[Paused] = []
        for e in filter(lambda e: flips.touches(e.event), events):
            if e.at < start.at or (stop is not None and e.at >= stop.at) or e is start:
                self._ignored(rule, out)
            else:
                self._pause_step(rule, e, pauses, out)
        if stop is not None:
            return [Span(start, stop, _closed(pauses, stop.at), False)]
        return [Span(start, None, pauses, _still_paused(pauses))]

    def _pause_step(self, rule: rules.ClockRule, e: Event, pauses: list[Paused], out: TimelineResult) -> None:
        paused = _still_paused(pauses)
        if e.event in rule.pauses.pausing and not paused:
            pauses.append((e.at, None))
        elif e.event in rule.pauses.resuming and paused:
            pauses[-1] = (pauses[-1][0], e.at)
        else:
            self._ignored(rule, out)  # a pause while paused, or a resume while running

    @staticmethod
    def _ignored(rule: rules.ClockRule, out: TimelineResult) -> None:
        out.ignored_pauses[rule.sla] = out.ignored_pauses.get(rule.sla, 0) + 1

    def tier_of(self, rule: rules.ClockRule, lead: str, events: list[Event], start: Event) -> rules.TierRule:
        """The tier of a clock of the SLA started by `start`: the first whose condition holds as the policy
        decides the lead when `sla.rules` says (at the start, from its record and its events up to and
        including the start), else `otherwise` (also for a lead with no valid record)."""
        if len(rule.tiers) == 1:
            return rule.otherwise
        values = self._record_values(rule.sla, lead)
        if values is None:
            return rule.otherwise
        at = rules.tier_decided_at(start.at)
        activity = Activity((e.event, e.at) for e in events if rules.tier_reads_event(e.at, start.at))
        decision = interpret(self.policy, values, at, activity)
        known = {**values, **{name: Decimal(s.value) for name, s in decision.scores.items()}, **decision.grades}
        evaluator = Evaluator(self.policy, known, at, activity)
        for tier in rule.tiers:
            if tier.condition is None or evaluator.test(tier.condition) is True:
                return tier
        return rule.otherwise

    def _record_values(self, sla: str, lead: str) -> dict[str, Any] | None:
        """The lead's values from its record for a tiered SLA's clock, or None (counted as why) when it has no
        valid record."""
        record = self.records.get(lead)
        if record is None:
            if self.no_leads_file is not None:
                self.no_leads_file[sla] += 1
            else:
                self.fallbacks[REJECTED_RECORD if lead in self.rejected_ids else NO_RECORD] += 1
            return None
        values, errors = self.reader.read(record)
        return None if errors else values

    def _judge(self, rule: rules.ClockRule, lead: str, events: list[Event], span: Span,
               now: dt.datetime, out: TimelineResult) -> None:
        """One clock: its deadline moved by its pauses, its status, and (open) how much of the limit is used."""
        start, stop = span.start, span.stop
        tier = self.tier_of(rule, lead, events, start)
        limit = self._measured(tier.measure)
        base = self._deadline(limit, start.at)
        deadline, paused, still_paused = self._paused_deadline(limit, base, span, now)
        deadline = deadline.astimezone(limit.zone)
        used = self._measure(limit, start.at, stop.at if stop is not None else now) - paused
        if stop is not None:
            status = MET if stop.at <= deadline else BREACHED
            late = stop.at - deadline if status == BREACHED else None
        else:
            status = PENDING if still_paused or now <= deadline else BREACHED
            late = now - deadline if status == BREACHED else None
        result = ClockResult(rule.sla, lead, start.at, deadline, status, stop.at if stop else None,
                             stop.event if stop else None, used, late, tier.text, paused)
        if stop is None:
            self._used_share(rule.thresholds, result, used, self._measure(limit, start.at, base))
        out.clocks.append(result)

    def _paused_deadline(self, limit: "_Limit", base: dt.datetime, span: Span,
                         now: dt.datetime) -> tuple[dt.datetime, dt.timedelta, bool]:
        """The deadline moved by the pauses, the paused time, and whether still paused: a pause counts while it
        starts before the deadline so far; the first that does not ends the counting (the limit was used up)."""
        deadline, paused, still_paused = base, dt.timedelta(0), span.still_paused
        for pause_start, pause_end in span.pauses:
            if pause_start >= deadline:
                return deadline, paused, False
            amount = self._measure(limit, pause_start, pause_end or now)
            deadline = self._shift(limit, deadline, amount)
            paused += amount
        return deadline, paused, still_paused

    @staticmethod
    def _used_share(thresholds: rules.Thresholds, result: ClockResult, used: dt.timedelta,
                    full: dt.timedelta) -> None:
        """An open clock's share of its limit used, whether at risk, and its escalation (exact, as SQL)."""
        percent = float(used / full * 100) if full else 100.0
        result.used_percent = round(percent, 3)
        used_us, full_us = used // _MICROSECOND, full // _MICROSECOND
        result.at_risk = thresholds.at_risk(used_us, full_us)
        result.escalated_to = thresholds.escalated_to(used_us, full_us)

    def _count(self, sla: ir.Sla, rule: ir.CountRule, lead: str, events: list[Event], now: dt.datetime,
               out: TimelineResult) -> None:
        start = next((e for e in events if e.event == rule.after), None)
        if start is None:
            return
        limit = self._limit(rule.within)
        window_end = self._deadline(limit, start.at).astimezone(limit.zone)
        window = rules.COUNT_WINDOW
        count = sum(1 for e in events if e.event == rule.event and window.holds(e.at, start.at, window_end))
        needed = int(rule.at_least)
        status = MET if count >= needed else (BREACHED if window.closed(now, window_end) else PENDING)
        out.counts.append(CountResult(sla.name, lead, start.at, window_end, count, needed, status))

    def volume_rules(self) -> list[tuple[ir.Sla, ir.VolumeRule]]:
        return [(sla, rule) for sla in self.slas for rule in sla.volumes]

    def count_volumes(self, events: Iterable[Event], counts: dict[str, dict[dt.datetime, int]]) -> None:
        """Add events to per-SLA, per-period counts (memory grows with periods, not events)."""
        rules = self.volume_rules()
        for e in events:
            for sla, rule in rules:
                if e.event == rule.event:
                    period = counts.setdefault(sla.name, defaultdict(int))
                    period[period_start(rule.per, e.at, self.tz)] += 1

    def volume_results(self, counts: dict[str, dict[dt.datetime, int]], now: dt.datetime,
                       first: dt.datetime | None) -> list[VolumeResult]:
        """Each period from the first of the report (`first`: the earliest event of the log, or the report's
        start) to now's, met, breached or pending; a period without events counts 0."""
        out = []
        for sla, rule in self.volume_rules():
            per = counts.get(sla.name) or {}
            starts = list(per) + ([period_start(rule.per, first, self.tz)] if first is not None else [])
            if not starts:
                continue
            start = min(starts)
            last = period_start(rule.per, now, self.tz)
            while start <= last:
                end = next_period(rule.per, start)
                count = per.get(start, 0)
                status = MET if count >= rule.at_least else (BREACHED if seen_at(end, now) else PENDING)
                out.append(VolumeResult(sla.name, period_label(rule.per, start), start, end, count,
                                        int(rule.at_least), status))
                start = end
        return out

    def orphan_stops(self, events: list[Event]) -> list[tuple[Event, str]]:
        """Stop events with no start of their clock at or before them, when stopping is all they do."""
        first_at: dict[str, dt.datetime] = {}
        for e in events:
            if e.event not in first_at or e.at < first_at[e.event]:
                first_at[e.event] = e.at
        orphans = []
        for e in events:
            starts = self.stop_starts.get(e.event)
            if starts and e.event not in self.other_roles:
                if not any(s in first_at and first_at[s] <= e.at for s in starts):
                    orphans.append((e, f"{e.event} with no {' or '.join(sorted(starts))} before it"))
        return orphans

    def evaluate(self, events: Iterable[Event], now: dt.datetime) -> TimelineResult:
        """All SLA results for a set of events (in memory; see the batch reader for large logs)."""
        events = list(events)
        now = as_instant(now)
        out = TimelineResult(now)
        by_lead: dict[str, list[Event]] = defaultdict(list)
        for e in events:
            by_lead[e.lead].append(e)
        for lead, lead_events in by_lead.items():
            self.evaluate_lead(lead, lead_events, now, out)
        counts: dict[str, dict[dt.datetime, int]] = {}
        seen = [e for e in events if seen_at(e.at, now)]
        self.count_volumes(seen, counts)
        out.volumes = self.volume_results(counts, now, min((e.at for e in seen), default=None))
        return out


def _closed(pauses: list[Paused], at: dt.datetime) -> list[Paused]:
    """The pauses of a clock stopped at `at`: a stop ends a pause."""
    return [(begin, end if end is not None else at) for begin, end in pauses]


def period_start(period: str, instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    local = instant.astimezone(tz)
    day = local.date()
    if period == "week":
        day -= dt.timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period == "quarter":
        day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


def next_period(period: str, start: dt.datetime) -> dt.datetime:
    day = start.date()
    if period == "day":
        day += dt.timedelta(days=1)
    elif period == "week":
        day += dt.timedelta(days=7)
    else:
        months = 1 if period == "month" else 3
        month = day.month - 1 + months
        day = day.replace(year=day.year + month // 12, month=month % 12 + 1, day=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=start.tzinfo)


def period_label(period: str, start: dt.datetime) -> str:
    day = start.date()
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()
