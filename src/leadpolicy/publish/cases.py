"""The agreed sample cases for the published page: each lead case with what the lead did (its events, by
label, when, and how long before the samples' `now`), each event timeline with its outcomes in words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from leadpolicy.language import ast
from leadpolicy.language.formatter import number
from leadpolicy.publish import english
from leadpolicy.runtime import in_window, seen_at, window_start
from leadpolicy.semantics import ir
from leadpolicy.semantics.lowering import lower
from leadpolicy.semantics.now import case_now, written_instant
from leadpolicy.semantics.primitives import events_read

# Turns a function saying plain English into Markdown (see site.Prose): events become emphasis.
Say = Callable[[Callable[[], str]], str]


@dataclass
class Cases:
    samples: list[dict[str, Any]]
    timelines: list[dict[str, Any]]
    points: list[tuple[str, dict[str, Any], Any]]  # (case name, scores, stage) for the chart
    now: str  # the samples file's `now`, in words ("" without one)
    problems: list[Any] = field(default_factory=list)  # the samples file's errors (bad-samples): no page then


def sample_cases(path: Path, policy: ast.Policy, say: Say) -> Cases:
    """The cases of the samples file beside the policy, run, with their events in words."""
    from leadpolicy.language.loader import samples_for
    from leadpolicy.testing.harness import load_samples, run_samples

    cases = Cases([], [], [], "")
    sample_path = samples_for(path)
    if not sample_path.exists():
        return cases
    run = run_samples(sample_path, policy, str(path))
    cases.problems = [d for d in run.diagnostics if d.is_error] + _case_errors(run.cases)
    if cases.problems:  # as `check` fails it: a page without its agreed cases would read as complete
        return cases
    doc, _ = load_samples(sample_path)
    data = doc.data if doc is not None else {}
    page = _CasePage(policy, say, _Instants(policy))
    page.file_now = page.reader.now(data)
    cases.now = english.moment(page.file_now, page.reader.tz) if page.file_now else ""
    shown = [case for case in run.cases if case.kind in ("lead", "timeline")]  # assignments: not on this page yet
    for case, source in zip(shown, _written_cases(shown, data)):
        written_events = source.get("events")
        events: list[Any] = written_events if isinstance(written_events, list) else []
        if case.kind == "timeline":
            cases.timelines.append(page.timeline(case, events))
        elif case.actual:
            cases.samples.append(page.lead(case, events, page.reader.now(source, data.get("now"))))
            cases.points.append((case.name, page.scores_of(case), case.actual.get("stage")))
    return cases


def _written_cases(results: list[Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each case's entry as written in the samples file (in the order of its kind's list; {} when none)."""
    written = {"lead": list(data.get("leads") or []), "timeline": list(data.get("timelines") or [])}
    seen = {"lead": 0, "timeline": 0}
    sources = []
    for case in results:
        index = seen[case.kind]
        seen[case.kind] += 1
        source = written[case.kind][index] if index < len(written[case.kind]) else {}
        sources.append(source if isinstance(source, dict) else {})
    return sources


@dataclass
class _CasePage:
    """How the page shows one run case: a lead case's facts and events, a timeline's outcomes and events."""

    policy: ast.Policy
    say: Say
    reader: _Instants
    file_now: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.sla_labels = {s.name: s.label or s.name for s in self.policy.slas}

        self.windows = event_windows(lower(self.policy))

    def scores_of(self, case: Any) -> dict[str, Any]:
        return {s.name: case.actual.get(s.name) for s in self.policy.scores}

    def timeline(self, case: Any, events: list[Any]) -> dict[str, Any]:
        several = _several_leads(events)
        return {
            "name": case.name, "passed": case.passed, "failures": _differences(case, self.sla_labels),
            "outcomes": [_outcome(key, value, self.sla_labels, self.reader) for key, value in case.actual.items()],
            "events": [self.say(functools.partial(_timeline_event, e, self.reader, several)) for e in events]}

    def lead(self, case: Any, events: list[Any], now: dt.datetime | None) -> dict[str, Any]:
        facts = [f"{name} {value}" for name, value in self.scores_of(case).items()]
        facts += [f"{g.name} {case.actual.get(g.name)}" for g in self.policy.grades if case.actual.get(g.name)]
        return {
            "name": case.name, "facts": facts, "stage": case.actual.get("stage"), "route": case.actual.get("route"),
            "passed": case.passed, "failures": _differences(case, self.sla_labels),
            "now": english.moment(now, self.reader.tz) if now and now != self.file_now else "",
            "events": [self.say(functools.partial(_lead_event, e, self.reader, now, self.windows)) for e in events]}


def _case_errors(results: list[Any]) -> list[Any]:
    """A `bad-samples` error for each case that could not run (as `test` counts it under errors): a case
    that merely differs from its expectation stays on the page, marked so."""
    from leadpolicy.language.ast import Span
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.testing.harness import ERROR

    return [Diagnostic("bad-samples", f"case {case.name!r} cannot run: " + "; ".join(case.failures),
                       case.file, Span(case.line, 1)) for case in results if case.status == ERROR]


class _Instants:
    """Reads a samples file's times as `leadpolicy test` and `explain` do (`semantics.now`: in the policy's time
    zone, shown at the offset written); None when unreadable (`test` says why, and no page is made)."""

    def __init__(self, policy: ast.Policy):
        from leadpolicy import zones

        self.tz = zones.zone(policy.timezone)

    def read(self, text: Any) -> dt.datetime | None:

        if text is None:
            return None
        try:
            return written_instant(str(text), self.tz)
        except ValueError:
            return None

    def now(self, case: dict[str, Any], file_now: Any = None) -> dt.datetime | None:
        """A case's `now`, else its file's (`semantics.now.case_now`)."""

        try:
            return case_now(case, self.tz, file_now)
        except ValueError:
            return None


def _when(row: dict[str, Any], reader: _Instants) -> tuple[dt.datetime | None, str]:
    at = reader.read(row.get("at"))
    return at, english.moment(at, reader.tz) if at else str(row.get("at", ""))


def _what(row: dict[str, Any]) -> str:
    text = english.event(str(row.get("event", "")))
    return text + (f" (reason: {row['reason']})" if row.get("reason") else "")


def event_windows(policy_ir: ir.Policy) -> dict[str, set[Decimal | None]]:
    """Event name -> the windows (days) of what reads it (`primitives.events_read`); None for what reads it at
    any age (`days since last EVENT`, decay since the last EVENT). A guarantee's windows are no reading of the
    lead: the decisions never read them."""

    found: dict[str, set[Decimal | None]] = {}
    for event, days in events_read(dataclasses.replace(policy_ir, guarantees=())):
        found.setdefault(event, set()).add(days)
    return found


def _outside(at: dt.datetime, now: dt.datetime, windows: set[Decimal | None]) -> str:
    """`, outside the 10-day window` when the event is in no window that reads it (the engines' cut-off,
    `runtime.in_window`: a window of N days holds what happened after now - N×24 hours): else ""."""

    if not windows or None in windows or any(in_window(at, window_start(now, days), now) for days in windows if days):
        return ""
    days = sorted(d for d in windows if d is not None)
    named = " and ".join(f"{number(d)}-day" for d in days)
    return f", outside the {named} window{'s' if len(days) > 1 else ''}"


def _lead_event(row: Any, reader: _Instants, now: dt.datetime | None,
                windows: dict[str, set[Decimal | None]]) -> str:
    """`Asked for a demo: Wed 2026-11-18 10:00, 2 days 2 hours before now`; after now: `not counted`;
    before every window that reads it: `outside the 30-day window`."""

    if not isinstance(row, dict):
        return str(row)
    at, when = _when(row, reader)
    if at is None or now is None:
        return f"{_what(row)}: {when}"
    windows_of = windows.get(str(row.get("event", "")), set())
    later = _outside(at, now, windows_of) if seen_at(at, now) else ", not counted"
    return f"{_what(row)}: {when}, {english.before_or_after(at, now)}{later}"


def _several_leads(events: list[Any]) -> bool:
    return len({str(e.get("lead")) for e in events if isinstance(e, dict)}) > 1


def _timeline_event(row: Any, reader: _Instants, name_leads: bool) -> str:
    """`became sql: Mon 2026-11-16 10:00`, naming the lead when the timeline has several."""
    if not isinstance(row, dict):
        return str(row)
    _, when = _when(row, reader)
    lead = f" (lead {row.get('lead')})" if name_leads else ""
    return f"{_what(row)}{lead}: {when}"


def _outcome(key: str, value: Any, sla_labels: dict[str, str], reader: _Instants) -> str:
    """A timeline's outcome in words: `Speed to lead: met`, `at risk: yes`, `escalated: not yet`,
    `sent back to nurture on Thu 2026-12-03 10:00`."""
    if key == "at_risk" and isinstance(value, dict):
        return "at risk: " + _per_sla(value, sla_labels, lambda v: _word(v))
    if key == "escalation" and isinstance(value, dict):
        if len(value) == 1:
            whom = next(iter(value.values()))
            return "escalated: not yet" if whom is None else f"escalated to {whom}"
        return "escalated: " + _per_sla(value, sla_labels, lambda v: "not yet" if v is None else f"to {v}")
    if key == "recycle":
        if not isinstance(value, dict):
            return "not sent back"
        at = reader.read(value.get("at"))
        when = english.moment(at, reader.tz) if at else _word(value.get("at"))
        return f"sent back to {_word(value.get('stage'))} on {when}"
    if key == "reason_violations":
        return f"reasons missing or not allowed: {_word(value)}"
    return f"{sla_labels.get(key, english.name(key))}: {_word(value)}"


def _per_sla(values: dict[str, Any], sla_labels: dict[str, str], say: Callable[[Any], str]) -> str:
    if len(values) == 1:
        return say(next(iter(values.values())))
    return ", ".join(f"{sla_labels.get(str(k), k)} {say(v)}" for k, v in values.items())


def _differences(case: Any, sla_labels: dict[str, str]) -> list[str]:
    """What a case's run found that differs from the agreement, in words (`route: agreed emea-ae, the
    policy gives no route`); a failure that is not a difference of values (an error) as the test says it."""
    said = {what for what, _, _ in case.mismatches}
    words = [_difference(what, want, got, sla_labels) for what, want, got in case.mismatches]
    return words + [f for f in case.failures if not any(f.startswith(f"{what}: expected") for what in said)]


def _difference(what: str, want: Any, got: Any, sla_labels: dict[str, str]) -> str:
    if what.startswith("fired "):
        score = what.removeprefix("fired ")
        return f"rules that fired in {score}: agreed {_listed(want)}, the policy fires {_listed(got)}"
    if what == "invalid":
        return f"invalid fields: agreed {_listed(want)}, the lead has {_listed(got)}"
    nothing = {"route": "no route", "stage": "no stage", "owner": "no owner"}.get(what, "none")
    return (f"{sla_labels.get(what, english.name(what))}: agreed {_word(want, nothing)}, "
            f"the policy gives {_word(got, nothing)}")


def _listed(values: Any) -> str:
    """`A`, `A and B`, `A, B and C`, or `none`."""
    items = [_word(v) for v in values] if isinstance(values, (list, tuple)) else [_word(values)]
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _word(value: Any, nothing: str = "—") -> str:
    """yes, no, — (nothing), `met, then breached`, `2026-09 breached, 2026-10 pending`: never a Python repr."""
    if value is None:
        return nothing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", then ".join(_word(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_word(v)}" for k, v in value.items()) or "none"
    return str(value)
