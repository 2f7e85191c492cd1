"""The SLA report over an event log: compliance per SLA, team and month, breaches, rejects."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Mapping, Sequence, TextIO, TypeVar
from zoneinfo import ZoneInfo

from leadpolicy.outputs import excel_safe
from leadpolicy.semantics import ir
from leadpolicy.semantics.leads import as_instant
from leadpolicy.sla.engine import (
    BREACHED,
    NO_LEADS_FILE,
    NO_RECORD,
    REJECTED_RECORD,
    ClockResult,
    CountResult,
    ReasonViolation,
    RecycleEntry,
    SlaEngine,
    TimelineResult,
    VolumeResult,
    tier_fallbacks,
)
from leadpolicy.sla.events import EventSource

Result = ClockResult | CountResult  # one lead's clock or count
_Shown = TypeVar("_Shown", bound=ClockResult | CountResult | ReasonViolation | RecycleEntry)


@dataclass
class _Count:
    met: int = 0
    breached: int = 0
    pending: int = 0

    def add(self, status: str, count: int = 1) -> None:
        setattr(self, status, getattr(self, status) + count)

    def as_dict(self, target: Decimal | None) -> dict[str, Any]:
        decided = self.met + self.breached
        rate = Decimal(self.met * 100) / decided if decided else None
        return {
            "met": self.met, "breached": self.breached, "pending": self.pending,
            "compliance": float(round(rate, 2)) if rate is not None else None,
            "target": float(target) if target is not None else None,
            "meets_target": None if rate is None or target is None else rate >= target,
        }


@dataclass
class SlaReport:
    """What one run over an event log found."""

    policy: ir.Policy
    now: dt.datetime
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    read: int = 0
    rejected: int = 0
    after_now: int = 0  # used rows after `now`: good rows no clock sees
    per_sla: dict[str, _Count] = field(default_factory=lambda: defaultdict(_Count))
    per_team: dict[str, _Count] = field(default_factory=lambda: defaultdict(_Count))
    per_month: dict[tuple[str, str], _Count] = field(default_factory=lambda: defaultdict(_Count))
    per_tier: dict[tuple[str, str], _Count] = field(default_factory=lambda: defaultdict(_Count))
    open_clocks: list[ClockResult] = field(default_factory=list)  # clocks not stopped at `now`
    ignored_pauses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allow_empty: bool = False
    breach_results: list[Result] = field(default_factory=list)  # clock and count results, made into dicts on demand
    breach_total: int | None = None  # when breach_results holds only the first breaches (the SQL engine)
    tz: Any = None  # the policy's timezone, and each SLA's zone, for showing times (set as results are added)
    zones: dict[str, Any] = field(default_factory=dict)
    leads: dict[str, int] | None = None  # with --leads: the leads file's rows read, used, rejected
    # clocks of tiered SLAs left `otherwise` for want of a record (with --leads), or of a leads file (without)
    tier_fallbacks: dict[str, int] | None = None
    no_leads_fallbacks: dict[str, int] = field(default_factory=dict)  # without --leads: those clocks, by SLA
    absent_events: list[str] = field(default_factory=list)  # events the SLAs read that no row of the log holds

    def set_no_leads_fallbacks(self, clocks: Mapping[str, int]) -> None:
        """No leads file was given: every clock of a tiered SLA took `otherwise` (`clocks`: by SLA)."""
        if any(sla.tiers for sla in self.policy.slas):
            self.no_leads_fallbacks = {name: count for name, count in sorted(clocks.items()) if count}
            total = sum(self.no_leads_fallbacks.values())
            self.tier_fallbacks = {"clocks": total, NO_LEADS_FILE: total}

    def event_hints(self) -> dict[str, str]:
        """An event that never occurs named like a stage -> the event entering the stage is logged as."""
        stages = {stage.name for stage in self.policy.stages}
        return {name: f"became_{name}" for name in self.absent_events if name in stages}

    def no_data_reason(self) -> str:
        """Why an SLA has no data, in one wording: the log is empty, or nothing in it falls in the range."""
        reason = ("the log has no rows; an empty log is not compliance" if self.read == 0
                  else "nothing to judge in this log and range")
        return reason + ("" if self.allow_empty else "; --allow-empty accepts it")

    def shown(self, result: _Shown) -> _Shown:
        """The result with its event times in its SLA's zone, whatever offset the log wrote them with (changed
        in place: a report owns its results)."""
        zone = self.zones.get(getattr(result, "sla", ""), self.tz)
        if zone is None:
            return result
        if isinstance(result, ClockResult):
            result.start = result.start.astimezone(zone)
            result.stop = result.stop.astimezone(zone) if result.stop is not None else None
        elif isinstance(result, CountResult):
            result.start = result.start.astimezone(zone)
        else:
            result.at = result.at.astimezone(zone)
        return result
    volumes: list[dict[str, Any]] = field(default_factory=list)
    violations: list[ReasonViolation] = field(default_factory=list)  # in the report's range, shown in their zone
    recycles: list[RecycleEntry] = field(default_factory=list)

    def breaches(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The breaches (lead, deadline, how late), by SLA, deadline and lead; the first `limit` of them."""
        ordered = sorted(self.breach_results, key=lambda r: (r.sla, _due(r), r.lead, r.start))
        return [_breach(self.shown(r)) for r in ordered[:limit]]

    def ordered_violations(self) -> list[ReasonViolation]:
        """The answers without an allowed reason, by SLA, lead and time (the order of both engines)."""
        return sorted(self.violations, key=lambda v: (v.sla, v.lead, v.at, v.event, v.reason or ""))

    def ordered_recycles(self) -> list[RecycleEntry]:
        """The recycle schedule, by lead and time."""
        return sorted(self.recycles, key=lambda r: (r.lead, r.at, r.stage, r.event, r.reason))

    @property
    def used(self) -> int:
        return self.read - self.rejected

    def targets(self) -> dict[str, Decimal | None]:
        return {sla.name: sla.target for sla in self.policy.slas}

    def owners(self) -> dict[str, str]:
        return {sla.name: sla.owner or "" for sla in self.policy.slas}

    def no_data(self) -> list[str]:
        """SLAs with nothing to judge in the report's range: no clock, count or volume period."""
        judged = set(self.per_sla) | {v["sla"] for v in self.volumes}
        return [sla.name for sla in self.policy.slas if sla.name not in judged]

    def failing(self) -> list[str]:
        """SLAs below their target, volume SLAs with a finished period short of the commitment, and (unless
        `allow_empty`) SLAs with no data: an empty log is not a compliant one."""
        targets = self.targets()
        bad = [name for name, tally in sorted(self.per_sla.items())
               if tally.as_dict(targets.get(name))["meets_target"] is False]
        bad += sorted({v["sla"] for v in self.volumes if v["status"] == BREACHED} - set(bad))
        if not self.allow_empty:
            bad += [name for name in self.no_data() if name not in bad]
        return bad

    def open_rows(self) -> list[dict[str, Any]]:
        """The clocks open at `now`, the most urgent first: lead, SLA, tier, deadline, time left (negative when
        late), at risk, escalated to."""
        rows = []
        for c in sorted(self.open_clocks, key=lambda c: (c.deadline, c.sla, c.lead)):
            left = c.deadline - as_instant(self.now)
            rows.append({"lead": c.lead, "sla": c.sla, "tier": c.tier, "start": c.start.isoformat(),
                         "deadline": c.deadline.isoformat(), "status": c.status,
                         "minutes_left": round(left.total_seconds() / 60, 1),
                         "left": _duration(left) if left >= dt.timedelta(0) else "-" + _duration(-left),
                         "used_percent": c.used_percent, "at_risk": c.at_risk, "escalated_to": c.escalated_to})
        return rows

    def as_dict(self, listed: int | None = None) -> dict[str, Any]:
        """Everything; `listed` limits how many breaches, reason violations and recycles are listed
        (`breach_count`, `reason_violation_count` and `recycle_count` count them all)."""
        targets, owners = self.targets(), self.owners()
        tiered = {sla.name for sla in self.policy.slas if sla.tiers}  # an untiered SLA has no tiers entry
        return {
            "policy": self.policy.id, "version": self.policy.version, "now": self.now.isoformat(),
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "rows": {"read": self.read, "used": self.used, "rejected": self.rejected, "after_now": self.after_now},
            "slas": {name: {"owner": owners.get(name), **tally.as_dict(targets.get(name))}
                     for name, tally in sorted(self.per_sla.items())},
            "teams": {team: tally.as_dict(None) for team, tally in sorted(self.per_team.items())},
            "months": [{"sla": sla, "month": month, **tally.as_dict(targets.get(sla))}
                       for (sla, month), tally in sorted(self.per_month.items())],
            "tiers": [{"sla": sla, "tier": tier, **tally.as_dict(targets.get(sla))}
                      for (sla, tier), tally in sorted(self.per_tier.items()) if sla in tiered],
            "no_data": self.no_data(),
            "events_not_in_log": self.absent_events,
            "event_hints": self.event_hints(),
            "ignored_pauses": dict(sorted(self.ignored_pauses.items())),
            "volumes": self.volumes,
            "breach_count": self.breach_total if self.breach_total is not None else len(self.breach_results),
            "breaches": self.breaches(listed),
            "reason_violation_count": len(self.violations),
            "reason_violations": [v.as_dict() for v in self.ordered_violations()[:listed]],
            "recycle_count": len(self.recycles),
            "recycle": [r.as_dict() for r in self.ordered_recycles()[:listed]],
            "failing": self.failing(),
            **({"leads": self.leads} if self.leads is not None else {}),
            **({"tier_fallbacks": self.tier_fallbacks} if self.tier_fallbacks is not None else {}),
        }


LISTED_BREACHES = 20  # the breaches (reason violations, recycles) a report lists; --details FILE has every one

# A row per clock, count, reason violation and recycle; `kind` says which. `event`, `reason`, `stage` and `at`
# (the answer's time, or when the lead recycles) are a reason violation's or a recycle's.
DETAIL_COLUMNS = ["sla", "kind", "lead", "start", "stop", "deadline", "status", "used_minutes", "late_minutes",
                  "count", "needed", "event", "reason", "stage", "at"]


def detail_row(result: Result | ReasonViolation | RecycleEntry) -> dict[str, Any]:
    """One clock, count, reason violation or recycle of one lead, as a row of the details file."""
    if isinstance(result, ClockResult):
        row = result.as_dict()
        return {**{k: row.get(k) for k in DETAIL_COLUMNS[:11]}, "kind": "clock"}
    if isinstance(result, CountResult):
        return {"sla": result.sla, "kind": "count", "lead": result.lead, "start": result.start.isoformat(),
                "deadline": result.window_end.isoformat(), "status": result.status, "count": result.count,
                "needed": result.needed}
    kind = "reason_violation" if isinstance(result, ReasonViolation) else "recycle"
    return {**result.as_dict(), "kind": kind}


class Tally:
    """Adds results to a report: the range filter, the details file, the tallies by SLA, team, month, tier."""

    def __init__(self, report: SlaReport, engine: SlaEngine, details: IO[str] | None):
        self.report, self.tz = report, engine.tz
        # Times are shown in the zone the SLA measures in (its calendar's, else the policy's), as deadlines are.
        report.tz = engine.tz
        report.zones = engine.display_zones()
        self.owners = report.owners()
        self.writer = csv.DictWriter(details, fieldnames=DETAIL_COLUMNS, restval=None) \
            if details is not None else None
        if self.writer is not None:
            self.writer.writeheader()
        self.months: dict[int, str] = {}

    def write_detail(self, result: Result | ReasonViolation | RecycleEntry) -> None:
        if self.writer is not None:
            row = detail_row(self.report.shown(result))
            for text in ("lead", "reason"):  # the text from the log; the rest is computed or the policy's
                if row.get(text) is not None:
                    row[text] = excel_safe(row[text])
            self.writer.writerow(row)

    def write_answers(self) -> None:
        """The reason violations and recycles into the details file, after every clock and count (both
        engines find them apart from the clocks, so both write them here, in the report's order)."""
        if self.writer is not None:
            for violation in self.report.ordered_violations():
                self.write_detail(violation)
            for recycle in self.report.ordered_recycles():
                self.write_detail(recycle)

    def month_of(self, start: dt.datetime) -> str:
        """The local month of an instant; local months change on the hour, so one lookup per hour."""
        hour = int(start.timestamp()) // 3600
        month = self.months.get(hour)
        if month is None:
            local = start.astimezone(self.tz)
            month = self.months[hour] = f"{local.year}-{local.month:02d}"
        return month

    def in_range(self, start: dt.datetime) -> bool:
        date_from, date_to = self.report.date_from, self.report.date_to
        if date_from is None and date_to is None:
            return True
        day = start.astimezone(self.tz).date()
        return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)

    def add(self, out: TimelineResult) -> None:
        report = self.report
        results: list[ClockResult | CountResult] = [*out.clocks, *out.counts]
        for result in results:
            if not self.in_range(result.start):
                continue
            self.write_detail(result)
            month = self.month_of(result.start)
            report.per_sla[result.sla].add(result.status)
            report.per_team[self.owners.get(result.sla, "")].add(result.status)
            report.per_month[(result.sla, month)].add(result.status)
            if isinstance(result, ClockResult):
                report.per_tier[(result.sla, result.tier)].add(result.status)
                if result.stop is None:
                    report.open_clocks.append(self.report.shown(result))
            if result.status == BREACHED:
                report.breach_results.append(result)
        report.violations += [self.report.shown(v) for v in out.violations if self.in_range(v.at)]
        report.recycles += [self.report.shown(r) for r in out.recycles if self.in_range(r.at)]
        for sla, count in out.ignored_pauses.items():
            report.ignored_pauses[sla] += count

    def add_volumes(self, volumes: list[VolumeResult]) -> None:
        for volume in volumes:
            if self.in_range(volume.start):
                self.report.volumes.append(volume.as_dict())
                self.report.per_team[self.owners.get(volume.sla, "")].add(volume.status)


def first_period(tz: ZoneInfo, date_from: dt.date | None) -> dt.datetime | None:
    """Where volume periods start: the report's first day, if it has one (else the log's first event)."""
    return dt.datetime.combine(date_from, dt.time(0), tzinfo=tz) if date_from is not None else None


def build_report(policy: ir.Policy, reader: EventSource, now: dt.datetime,
                 date_from: dt.date | None = None, date_to: dt.date | None = None,
                 details: IO[str] | None = None, records: Mapping[str, Any] | None = None) -> SlaReport:
    """Stream the reader's leads through the SLA engine into a report; with `details`, also write
    every lead's clock and count (start, stop, deadline, status, time used) there as CSV. `records`:
    lead id -> record, for SLA tiers."""
    engine = SlaEngine(policy, records)
    report = SlaReport(policy, now, date_from, date_to)
    tally = Tally(report, engine, details)
    counts: dict[str, dict[dt.datetime, int]] = {}
    first = first_period(engine.tz, date_from)
    for lead, events in reader.groups():
        if date_from is None and events and (first is None or events[0].at < first):
            first = events[0].at
        orphans = engine.orphan_stops(events)
        if orphans:
            dropped = {id(e) for e, _ in orphans}
            for e, problem in orphans:
                lead_given, at_given = e.given or (e.lead, e.at.isoformat())  # the values as written
                reader.reject(e.row, "event", problem, {"lead": lead_given, "event": e.event, "at": at_given,
                                                        "reason": e.reason})
            events = [e for e in events if id(e) not in dropped]
        out = TimelineResult(now)
        engine.evaluate_lead(lead, events, now, out, prepared=True)  # the reader sorts and drops later events
        engine.count_volumes(events, counts)
        tally.add(out)
    tally.add_volumes(engine.volume_results(counts, now, first))
    tally.write_answers()
    report.read, report.rejected, report.after_now = reader.stats.read, reader.stats.rejected, reader.stats.after_now
    report.absent_events = sorted(engine.sla_event_names() - reader.stats.events)
    if engine.no_leads_file is not None:
        report.set_no_leads_fallbacks(engine.no_leads_file)
    else:
        report.tier_fallbacks = tier_fallbacks(engine.fallbacks[NO_RECORD], engine.fallbacks[REJECTED_RECORD])
    return report


def _due(result: Result) -> dt.datetime:
    """When a clock was due, or a count's window closed."""
    return result.deadline if isinstance(result, ClockResult) else result.window_end


def _breach(result: Result) -> dict[str, Any]:
    if isinstance(result, ClockResult):
        late = result.late_by
        return {"sla": result.sla, "lead": result.lead, "start": result.start.isoformat(),
                "deadline": result.deadline.isoformat(), "stop": result.stop.isoformat() if result.stop else None,
                "late": _duration(late), "late_minutes": round(late.total_seconds() / 60, 1) if late else None}
    return {"sla": result.sla, "lead": result.lead, "start": result.start.isoformat(),
            "deadline": result.window_end.isoformat(), "stop": None,
            "late": f"{result.count} of {result.needed}", "late_minutes": None}


def _duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"


def tier_fallback_text(fallbacks: dict[str, int]) -> str:
    if NO_LEADS_FILE in fallbacks:
        return (f"{fallbacks['clocks']:,} clock(s) took the otherwise tier: {NO_LEADS_FILE} (--leads FILE gives the "
                "records the tiers are decided on)")
    return (f"{fallbacks['clocks']:,} clock(s) took the otherwise tier because their lead had no record in the "
            f"leads file ({fallbacks[NO_RECORD]:,}) or a rejected one ({fallbacks[REJECTED_RECORD]:,})")


def no_leads_warning(report: SlaReport) -> str | None:
    """The one-line warning when clocks of tiered SLAs took `otherwise` because no leads file was given."""
    clocks = report.no_leads_fallbacks
    if not clocks:
        return None
    total = sum(clocks.values())
    names = " and ".join(clocks)
    counts = f" ({', '.join(f'{name} {count:,}' for name, count in clocks.items())})" if len(clocks) > 1 else ""
    return (f"the tiers of {names} are decided on the leads' records and no leads file was given: {total:,} "
            f"clock(s) took the otherwise tier{counts}; give the records with --leads FILE")


def render_table(report: SlaReport, out: TextIO, max_breaches: int = LISTED_BREACHES) -> None:
    """The report as text: a table per section, the sections with nothing to show left out."""
    data = report.as_dict(listed=max_breaches)
    print(f"{data['policy']} {data['version']} SLA report at {data['now']}", file=out)
    _table([("sla", "owner", "met", "breached", "pending", "compliance", "target", "status")] +
           [(name, s["owner"] or "", *_figures(s), _target(s["target"]), _STATUS[s["meets_target"]])
            for name, s in data["slas"].items()], out)
    _section(out, "volumes", [("sla", "period", "count", "needed", "status")] +
             [(v["sla"], v["period"], str(v["count"]), str(v["needed"]), v["status"]) for v in data["volumes"]])
    fallbacks = data.get("tier_fallbacks")
    if fallbacks and fallbacks["clocks"]:
        print(f"\n{tier_fallback_text(fallbacks)}", file=out)
    _section(out, "per team", [("team", "met", "breached", "pending", "compliance")] +
             [(t, *_figures(s)) for t, s in data["teams"].items()])
    _section(out, "per month", [("sla", "month", "met", "breached", "pending", "compliance", "target")] +
             [(m["sla"], m["month"], *_figures(m), _target(m["target"])) for m in data["months"]])
    _render_breaches(data, out, max_breaches)
    if data["reason_violation_count"]:
        print(f"\nreason violations: {data['reason_violation_count']}", file=out)
    if data["recycle_count"]:
        print(f"recycle scheduled: {data['recycle_count']}", file=out)
    _section(out, "per tier", [("sla", "tier", "met", "breached", "pending", "compliance")] +
             [(t["sla"], t["tier"], *_figures(t)) for t in data["tiers"]])
    notes = _notes(report, data)
    if notes:
        print("\n" + "\n".join(notes), file=out)
    print("\n" + _rows_line(data["rows"]), file=out)


def _rows_line(rows: Mapping[str, int]) -> str:
    """read N, used M, rejected K; and how many of the used rows are after now, when some are."""
    later = f"; {rows['after_now']} used after now, seen by no clock" if rows["after_now"] else ""
    return f"read {rows['read']}, used {rows['used']}, rejected {rows['rejected']}{later}"


_STATUS = {True: "ok", False: "BELOW TARGET", None: "-"}  # meets_target, as the table says it


def _figures(tally: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """met, breached, pending and compliance, as table cells."""
    return str(tally["met"]), str(tally["breached"]), str(tally["pending"]), _percent(tally["compliance"])


def _target(target: float | None) -> str:
    return f"{target:g}%" if target is not None else "-"


def _section(out: TextIO, title: str, rows: list[tuple[str, ...]]) -> None:
    """A titled table, when it has a row under its header."""
    if len(rows) > 1:
        print(f"\n{title}:", file=out)
        _table(rows, out)


def _render_breaches(data: Mapping[str, Any], out: TextIO, max_breaches: int) -> None:
    if data["breaches"]:
        count = data["breach_count"]
        print(f"\nbreaches ({count}{', first ' + str(max_breaches) if count > max_breaches else ''}):", file=out)
        _table([("sla", "lead", "deadline", "late")] +
               [(b["sla"], b["lead"], b["deadline"], b["late"]) for b in data["breaches"][:max_breaches]], out)


def _notes(report: SlaReport, data: Mapping[str, Any]) -> list[str]:
    """The report's closing paragraph: SLAs with no data, events never in the log, pauses ignored."""
    notes = []
    if data["no_data"]:
        notes.append(f"no data: {', '.join(data['no_data'])} ({report.no_data_reason()})")
    if data["events_not_in_log"]:
        hints = data["event_hints"]
        notes.append("events the SLAs read that never occur in the log: "
                     + ", ".join(f'{name} (did you mean "{hints[name]}"?)' if name in hints else name
                                 for name in data["events_not_in_log"]))
    if data["ignored_pauses"]:
        notes.append("pause or resume events with no open clock, ignored: "
                     + ", ".join(f"{sla} {n}" for sla, n in data["ignored_pauses"].items()))
    return notes


def _percent(value: float | None) -> str:
    return f"{value}%" if value is not None else "-"


def render_open(report: SlaReport, out: TextIO) -> None:
    """The clocks open at `now`, the most urgent first."""
    rows = report.open_rows()
    print(f"{len(rows)} open clock(s) at {report.now.isoformat()}", file=out)
    if rows:
        _table([("lead", "sla", "tier", "deadline", "left", "at risk", "escalated to")] +
               [(r["lead"], r["sla"], r["tier"], r["deadline"], r["left"], "yes" if r["at_risk"] else "",
                 r["escalated_to"] or "") for r in rows], out)


def _table(rows: Sequence[Sequence[object]], out: TextIO) -> None:
    """Columns as wide as their cells as shown: escaped (`\\x1b`), as the command prints lead data."""
    from leadpolicy.language.diagnostics import escaped

    cells = [[escaped(str(cell)) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)


def render_csv(report: SlaReport) -> str:
    """One row per SLA and month: the compliance figures, for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sla", "month", "met", "breached", "pending", "compliance", "target", "meets_target"])
    for row in report.as_dict(listed=0)["months"]:
        writer.writerow([_cell(row[k]) for k in ("sla", "month", "met", "breached", "pending", "compliance", "target",
                                                 "meets_target")])
    return buffer.getvalue()


def _cell(value: object) -> object:
    """A value as spreadsheets and warehouses read a CSV cell: true/false, and blank for none."""
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else value


def render_json(report: SlaReport, max_breaches: int = LISTED_BREACHES) -> str:
    """The report as indented JSON: the figures, the counts of breaches, reason violations and recycles, and the
    first `max_breaches` of each (every one is a row of `--details FILE`)."""
    return json.dumps(report.as_dict(listed=max_breaches), indent=2)
