"""Samples files: load and validate them, run every case, measure coverage."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterable, Iterator
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic, character_kind, did_you_mean, printable, unsafe_character
from leadpolicy.language.symbols import symbol_table
from leadpolicy.language.words import quantity
from leadpolicy.language.yamldoc import JsonPath, YamlDoc, load_yaml, schema_errors
from leadpolicy.runtime import window_start
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.events import (
    NOT_A_RECORD,
    EventError,
    EventReader,
    Repeats,
    duplicate_words,
    log_columns,
    log_key,
    read_log_row,
)
from leadpolicy.semantics.interpreter import Decision, evaluate
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.semantics.lowering import Lowering, lower
from leadpolicy.semantics.now import case_now, not_text_words, written_instant
from leadpolicy.sla.engine import Event, SlaEngine, TimelineResult
from leadpolicy.testing.assignment_cases import AssignmentCase, TeamsReached, team_items

if TYPE_CHECKING:
    from jsonschema import ValidationError

PASSED, FAILED, ERROR = "passed", "failed", "error"
NO_NOW = "no `now`: give one for the file or the case"


@functools.lru_cache(maxsize=1)
def samples_schema() -> dict[str, Any]:
    text = resources.files("leadpolicy").joinpath("schemas/samples.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass
class CaseResult:
    """The outcome of one sample case."""

    file: str
    line: int
    name: str
    kind: str  # 'lead' | 'timeline' | 'assignment'
    status: str
    failures: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    actual: dict[str, Any] = field(default_factory=dict)
    # (what, expected, got) of each failure that is a difference from the agreement, as values (for
    # pages that say it in words); `failures` says the same as text.
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def failing(self) -> bool:
        """Failed or in error; a case this leadpolicy cannot run yet is neither passed nor failing."""
        return self.status in (FAILED, ERROR)

    def error(self, failure: str) -> None:
        """The case cannot be run as written (an unknown name, a bad value)."""
        self.status = ERROR
        self.failures.append(failure)

    def differs(self, what: str, want: Any, got: Any, failures: list[str]) -> None:
        """What the case found is not what it agreed: failed, unless already in error."""
        if self.status == PASSED:
            self.status = FAILED
        self.failures += failures
        self.mismatches.append((what, want, got))

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "name": self.name, "kind": self.kind, "status": self.status,
                "failures": self.failures, "explanation": self.explanation, "actual": self.actual}


@dataclass
class CoverageItem:
    kind: str  # 'rule' | 'stage' | 'route' | 'boundary' | 'member' | 'cap' | 'calendar' | 'fallback'
    what: str
    line: int
    covered: bool = False


@dataclass
class SamplesRun:
    """A samples file and what running it gave."""

    file: str
    policy_file: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    coverage: list[CoverageItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors and no failed case."""
        return not any(d.is_error for d in self.diagnostics) and all(c.status == PASSED for c in self.cases)

    @property
    def coverage_percent(self) -> float | None:
        if not self.coverage:
            return None
        return round(100.0 * sum(i.covered for i in self.coverage) / len(self.coverage), 1)


# ---------------------------------------------------------------- loading


def load_samples(path: str | Path) -> tuple[YamlDoc | None, list[Diagnostic]]:
    """Read and validate a samples file against the samples schema."""
    doc, diags = load_yaml(path, "bad-samples", "a samples file is a mapping with policy, now, leads and timelines")
    if doc is None:
        return None, diags
    errors = []
    for error, where, label in schema_errors(doc, samples_schema()):
        hint = None
        if error.validator == "additionalProperties":
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            message = f"{label}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}"
            hint = did_you_mean(extra[0], error.schema.get("properties", {})) if extra else None
            where = where + (extra[0],) if extra else where
        else:
            message = f"{label}: {_schema_words(error, where)}"
        errors.append(Diagnostic("bad-samples", message, doc.file, doc.span(where), hint=hint))
    if not errors:
        errors = _unsafe_case_names(doc)
    return (doc if not errors else None), errors


def _schema_words(error: ValidationError, where: JsonPath) -> str:
    """What the schema found wrong with one value, in the words its reader says it in: a `now` that is not
    text as `semantics.now.case_now` says it (as `explain --lead` does), a status as one of the three."""
    if error.validator == "oneOf" and isinstance(error.instance, str):
        return f"{error.instance!r} is not a status: met, breached or pending"
    if where and where[-1] == "now" and error.validator == "type":
        try:
            return not_text_words(error.instance)
        except ValueError as too_long:
            return str(too_long)
    return str(error.message)


def _unsafe_case_names(doc: YamlDoc) -> list[Diagnostic]:
    """A `bad-samples` error for each case name holding a control or invisible format character: names
    are printed in reports and terminals, where one would act or make the name read other than it is."""
    errors = []
    for kind in ("leads", "timelines", "assignments"):
        for i, case in enumerate(doc.data.get(kind) or []):
            bad = unsafe_character(case["name"])
            if bad is not None:
                errors.append(Diagnostic(
                    "bad-samples", f'{kind}[{i}].name: "{printable(case["name"])}" holds the {character_kind(bad)}',
                    doc.file, doc.span((kind, i, "name")), hint="a case name is one line of visible characters"))
    return errors


# ---------------------------------------------------------------- running


def _instant(text: Any, tz: ZoneInfo) -> dt.datetime:
    """A time an expectation writes, read as a case's `now` is (`semantics.now.written_instant`)."""
    return written_instant(str(text), tz)


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected == actual)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float, Decimal)):
        return Decimal(str(expected)) == Decimal(str(actual))
    return str(expected) == str(actual)


def _show(value: Any, none: str = "null") -> str:
    """An expected or found value in words: text quoted, yes/no, a list joined with commas, `none` for
    nothing (never a Python repr: the terminal and the JUnit report show it)."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) if value else "none"
    return str(value)


def _show_words(value: Any, none: str = "none") -> str:
    """A value of a timeline expectation (a status, a team, a list of statuses) in words, unquoted."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_show_words(v) for v in value) if value else none
    return _show(value, none).strip('"') if isinstance(value, str) else _show(value, none)


def _recycle_words(value: Any) -> str:
    return "none" if not isinstance(value, dict) else f"{value.get('stage')} at {value.get('at')}"


def _timeline_failures(key: str, want: Any, got: Any) -> list[str]:
    """A timeline expectation that does not hold, in words: one line per SLA or period that differs."""
    if key == "recycle":
        want_text = _recycle_words(_recycle_shown(want))
        return [f"recycle: expected {want_text}, got {_recycle_words(got)}"]
    if isinstance(want, dict) and isinstance(got, dict):
        none = "nobody" if key == "escalation" else "none"
        return [f"{key} {name}: expected {_show_words(expected, none)}, got {_show_words(got.get(name), none)}"
                for name, expected in want.items() if got.get(str(name)) != expected]
    return [f"{key}: expected {_show_words(want)}, got {_show_words(got)}"]


def _recycle_shown(want: Any) -> Any:
    if not isinstance(want, dict):
        return None
    at = want.get("at")
    return {"stage": want.get("stage"), "at": at.isoformat() if isinstance(at, (dt.datetime, dt.date)) else at}


class CaseRunner:
    """Runs the cases of one samples file against one checked policy."""

    def __init__(self, policy: ast.Policy, doc: YamlDoc):
        self.policy = policy
        self.doc = doc
        self.tz = zones.zone(policy.timezone)
        self.ir = lower(policy)
        self.reader = LeadReader(self.ir)
        self.event_reader = EventReader(self.ir)
        self.decisions: list[Decision] = []
        self.decision_names = ({s.name for s in policy.scores} | {g.name for g in policy.grades}
                               | {"stage", "owner", "route"})

    @staticmethod
    def same(expected: Any, actual: Any) -> bool:
        """Whether a value found is the one a case expects (a number by value, text as written)."""
        return _same(expected, actual)

    def assignment_case(self, index: int, case: dict[str, Any], reached: TeamsReached) -> CaseResult:
        """A stream of leads decided and assigned in order on a fresh state (`testing.assignment_cases`)."""
        path = ("assignments", index)
        result = CaseResult(self.doc.file, self.doc.span(path).line, case["name"], "assignment", PASSED)
        AssignmentCase(self, reached, result).run(case)
        return result

    def now_for(self, case: dict[str, Any]) -> dt.datetime | None:
        """A case's `now`, else its file's, read as explain and the cases page read it (ValueError: no time)."""
        return case_now(case, self.tz, self.doc.data.get("now"))

    def lead_case(self, index: int, case: dict[str, Any]) -> CaseResult:
        path = ("leads", index)
        result = CaseResult(self.doc.file, self.doc.span(path).line, case["name"], "lead", PASSED)
        expect = case["expect"]
        values, errors = self.reader.read(case["lead"], strict=True)
        if "invalid" in expect:
            _check_invalid(result, sorted(expect["invalid"]), errors)
            return result
        if errors:
            result.status = ERROR
            result.failures = [f"the lead does not fit the policy's schema: {e}" for e in errors]
            return result
        inputs = self._lead_inputs(case, result)
        if inputs is None:
            return result
        decision = evaluate(self.ir, values, *inputs)
        self.decisions.append(decision)
        result.explanation = decision.explanation
        result.actual = {k: decision.value(k) for k in sorted(self.decision_names)}
        for key, want in expect.items():
            if key == "fired":
                _check_fired(result, want, decision)
            elif key not in self.decision_names:
                hint = did_you_mean(key, self.decision_names)
                result.error(f"expect: {key!r} is not a score, grade, stage, owner or route"
                             + (f" ({hint})" if hint else ""))
            elif not _same(want, got := decision.value(key)):
                none = "no route" if key == "route" else "null"
                result.differs(key, want, got, [f"{key}: expected {_show(want, none)}, got {_show(got, none)}"])
        return result

    def _case_now(self, case: dict[str, Any], result: CaseResult) -> dt.datetime | None:
        """A case's `now` (its own or the file's); None (the case in error) when it has none or it is no time."""
        try:
            now = self.now_for(case)
        except ValueError as exc:
            result.status, result.failures = ERROR, [f"now: {exc}"]
            return None
        if now is None:
            result.status, result.failures = ERROR, [NO_NOW]
        return now

    def _lead_inputs(self, case: dict[str, Any], result: CaseResult) -> tuple[dt.datetime, Activity] | None:
        """A lead case's `now` and what the lead did (rows read as `score --events` reads them); None (the
        case in error) when they cannot be read."""
        now = self._case_now(case, result)
        if now is None:
            return None
        events, errors = self.event_reader.read(case.get("events") or [], now)
        return (now, Activity(events)) if _read_cleanly(result, errors) else None

    def timeline_case(self, index: int, case: dict[str, Any], engine: SlaEngine) -> CaseResult:
        path = ("timelines", index)
        result = CaseResult(self.doc.file, self.doc.span(path).line, case["name"], "timeline", PASSED)
        inputs = self._timeline_inputs(case, result, engine.event_names())
        if inputs is None:
            return result
        now, events = inputs
        engine.records = {str(lead): record for lead, record in (case.get("leads") or {}).items()}
        outcome = engine.evaluate(events, now)
        result.explanation = explain_timeline(outcome)
        sla_names = {s.name for s in self.policy.slas}
        for key, want in case["expect"].items():
            found = self._timeline_expectation(outcome, key, want, sla_names)
            if found is None:
                hint = did_you_mean(key, sla_names | {"reason_violations", "recycle", "at_risk", "escalation"})
                result.error(f"expect: {key!r} is not an SLA, reason_violations, recycle, at_risk or escalation"
                             + (f" ({hint})" if hint else ""))
                continue
            got, ok = found
            result.actual[key] = got
            if not ok:
                result.differs(key, want, got, _timeline_failures(key, want, got))
        return result

    def _timeline_inputs(self, case: dict[str, Any], result: CaseResult,
                         known: Collection[str]) -> tuple[dt.datetime, list[Event]] | None:
        """A timeline's `now` and events (rows read as `leadpolicy sla` reads an event log's); None (the case
        in error) when they cannot be read."""
        now = self._case_now(case, result)
        if now is None:
            return None
        events, errors = timeline_events(case["events"], known, self.tz, now)
        return (now, events) if _read_cleanly(result, errors) else None

    def _timeline_expectation(self, outcome: TimelineResult, key: str, want: Any,
                              sla_names: set[str]) -> tuple[Any, bool] | None:
        """What one expectation of a timeline found and whether it is what was wanted; None for a key that
        is no expectation."""
        if key == "reason_violations":
            return len(outcome.violations), len(outcome.violations) == want
        if key == "recycle":
            last = outcome.recycles[-1] if outcome.recycles else None
            if last is None:
                return None, want is None
            got = {"stage": last.stage, "at": last.at.isoformat()}
            return got, want is not None and last.stage == want["stage"] and last.at == _instant(want["at"], self.tz)
        if key in sla_names:
            return _sla_expectation(outcome, key, want)
        if key in ("at_risk", "escalation") and isinstance(want, dict):
            states = {str(sla): _open_clock_state(outcome, str(sla), key) for sla in want}
            return states, states == {str(sla): value for sla, value in want.items()}
        return None


def timeline_events(rows: list[Any], known: Collection[str], tz: ZoneInfo,
                    now: dt.datetime) -> tuple[list[Event], list[EventError]]:
    """A timeline's event rows, each read as a row of an SLA event log is (`semantics.events.read_log_row`,
    a repeated row as `Repeats` says): the events, and an error for each row the log would reject. An event
    after `now` is a good row, which the engine's clocks never see."""
    events: list[Event] = []
    errors: list[EventError] = []
    repeats = Repeats(now)
    for row, record in enumerate(rows, start=1):
        columns = log_columns(record)
        if columns is None:
            errors.append(EventError(row, "", NOT_A_RECORD))
            continue
        found = read_log_row(row, *columns[:3], known, tz)
        if isinstance(found, EventError):
            errors.append(found)
            continue
        first = repeats.earlier(row, log_key(*found, columns[3]), found[2])
        if first is not None:
            errors.append(EventError(row, "", duplicate_words(first)))
            continue
        events.append(Event(*found, columns[3] or None, row))
    return events, errors


def _read_cleanly(result: CaseResult, errors: list[EventError]) -> bool:
    """Whether a case's event rows all read; if not, the case is in error with one line per bad row."""
    if errors:
        result.status, result.failures = ERROR, [str(e) for e in errors]
    return not errors


def _check_invalid(result: CaseResult, wanted: list[str], errors: list[Any]) -> None:
    """An `invalid` expectation: the fields the reader rejected are the ones named."""
    got = sorted({e.field for e in errors})
    if got != wanted:
        result.status = FAILED
        result.failures.append(f"invalid: expected {_show_words(wanted)}, got {_show_words(got)}")
        result.mismatches.append(("invalid", wanted, got))
    result.explanation = [str(e) for e in errors]


def _check_fired(result: CaseResult, want: dict[str, Any], decision: Decision) -> None:
    """A `fired` expectation: the labels of the rules each named score fired."""
    for score, labels in want.items():
        if score not in decision.scores:
            result.error(f"fired: no score {score!r}"
                         + (f" ({h})" if (h := did_you_mean(score, decision.scores)) else ""))
            continue
        got = decision.fired(score)
        if sorted(labels) != sorted(got):
            result.status = FAILED  # as before: a fired difference is a failure even after an error
            result.failures.append(f"fired {score}: expected {_show(sorted(labels))}, got {_show(sorted(got))}")
            result.mismatches.append((f"fired {score}", sorted(labels), sorted(got)))


def _sla_expectation(outcome: TimelineResult, sla: str, want: Any) -> tuple[Any, bool]:
    """What an SLA's expectation found, and whether it is what was wanted: a map of volume periods, a
    list of statuses in start order (one per clock of an `each time` SLA), or one status every clock has."""
    if isinstance(want, dict):
        statuses = outcome.statuses(sla)
        got = {str(k): statuses.get(str(k)) for k in want}
        return got, got == {str(k): v for k, v in want.items()}
    found = [r.status for r in outcome.in_order(sla)]
    if isinstance(want, list):
        return found, found == want
    distinct = sorted(set(found))
    return (distinct[0] if len(distinct) == 1 else (distinct or "nothing started")), distinct == [want]


def _open_clock_state(outcome: TimelineResult, sla: str, key: str) -> Any:
    """`at_risk`: whether an open clock of the SLA is at risk; `escalation`: whom the furthest open clock of
    the SLA is escalated to (None when nobody)."""
    open_clocks = [c for c in outcome.clocks if c.sla == sla and c.stop is None]
    if key == "at_risk":
        return any(c.at_risk for c in open_clocks)
    furthest = max(open_clocks, key=lambda c: c.used_percent or 0, default=None)
    return furthest.escalated_to if furthest is not None else None


def explain_timeline(outcome: TimelineResult) -> list[str]:
    lines = []
    for c in outcome.clocks:
        used = f", {c.used.total_seconds() / 3600:g} h used" if c.used is not None else ""
        stop = f"stopped by {c.stop_event} at {c.stop.isoformat()}" if c.stop else "not stopped"
        tier = f" (tier: {c.tier})" if c.tier != "otherwise" else ""
        paused = f", paused {c.paused.total_seconds() / 3600:g} h" if c.paused else ""
        risk = f"; {c.used_percent:g}% of the limit used" if c.used_percent is not None else ""
        risk += "; at risk" if c.at_risk else ""
        risk += f"; escalated to {c.escalated_to}" if c.escalated_to else ""
        lines.append(f"{c.sla} [{c.lead}]: {c.status}{tier}; started {c.start.isoformat()}, deadline "
                     f"{c.deadline.isoformat()}, {stop}{used}{paused}{risk}")
    for n in outcome.counts:
        lines.append(f"{n.sla} [{n.lead}]: {n.status}; {n.count} of {n.needed} by {n.window_end.isoformat()}")
    for v in outcome.volumes:
        lines.append(f"{v.sla} {v.period}: {v.status}; {v.count} of {v.needed}")
    for r in outcome.violations:
        lines.append(f"{r.sla} [{r.lead}]: {r.event} at {r.at.isoformat()} has reason {r.reason!r}, not an agreed one")
    for back in outcome.recycles:
        lines.append(f"recycle [{back.lead}]: back to {back.stage} at {back.at.isoformat()} ({back.event} because "
                     f"{back.reason})")
    return lines


def coverage_items(policy: ast.Policy, decisions: list[Decision]) -> list[CoverageItem]:
    """Rules no case fires, stages and routes no case reaches, thresholds no case tests at the boundary."""
    policy_ir = lower(policy)
    return [*_rule_items(policy, policy_ir, decisions), *_stage_items(policy, decisions),
            *_route_items(policy, decisions), *_boundary_items(policy, policy_ir, decisions),
            *window_edges(policy, decisions)]


def _rule_items(policy: ast.Policy, policy_ir: ir.Policy, decisions: list[Decision]) -> list[CoverageItem]:
    """Each rule by its label (the IR rule's: its reason, or what it reads) and whether some case fires it."""
    labels = {score.name: [rule.label for rule in score.rules] for score in policy_ir.scores}
    items = []
    for score in policy.scores:
        for i, rule in enumerate(score.rules):
            fired = any(d.scores[score.name].rules[i].fired for d in decisions)
            items.append(CoverageItem("rule", f"{score.name}: {labels[score.name][i]}", rule.span.line, fired))
    return items


def _stage_items(policy: ast.Policy, decisions: list[Decision]) -> list[CoverageItem]:
    return [CoverageItem("stage", stage.name, stage.span.line, any(d.stage == stage.name for d in decisions))
            for stage in policy.stages]


def _route_items(policy: ast.Policy, decisions: list[Decision]) -> list[CoverageItem]:
    return [CoverageItem("route", f"{', '.join(route.stages)} -> {entry.label}", entry.span.line,
                         any(d.route_entry == (ri, ei) for d in decisions))
            for ri, route in enumerate(policy.routes) for ei, entry in enumerate(route.entries)]


def _boundary_items(policy: ast.Policy, policy_ir: ir.Policy, decisions: list[Decision]) -> list[CoverageItem]:
    """Each number a condition compares a value with: whether some case's value is exactly that number."""
    from leadpolicy.semantics.interpreter import Evaluator

    # each lead's values and events, for the boundaries
    evaluators = [Evaluator(policy_ir, d.env, d.now, d.activity) for d in decisions]
    items = []
    seen = set()
    for line, subject, bound in _numeric_bounds(policy, _conditions(policy)):
        what = f"{subject.text} = {bound}"
        if what in seen:
            continue
        seen.add(what)
        hit = any(value is not None and value == bound for value in (ev.value(subject) for ev in evaluators))
        items.append(CoverageItem("boundary", what, line, hit))
    return items


def _lowered(policy: ast.Policy, items: Iterable[ast.Node]) -> Iterator[tuple[int, ir.Node]]:
    """(line, the node lowered) for every node of the items that the table lowers (`primitives.SYNTAX`), in
    the order of the policy: an atom with the line it stands on."""
    lowering = Lowering(symbol_table(policy), texts=False)
    for item in items:
        for node in item.walk():
            row = primitives.SYNTAX.get(type(node))
            if row is not None:
                yield node.span.line, row.lower(lowering, node)


def _numeric_bounds(policy: ast.Policy, conditions: list[ast.Node]) -> Iterator[tuple[int, ir.Operand, Decimal]]:
    """(line, what it bounds, the number) for each number an atom of the conditions holds against one value
    it reads (`x OP number`, `x between a and b`, `x in (1, 2)`), generic over the IR atom's operands as
    `semantics.analysis` reads them; a number against a number, or an atom of two values, bounds nothing."""
    for line, node in _lowered(policy, conditions):
        if type(node) not in primitives.CONDITIONS:
            continue
        operands = [child for child in node.children() if type(child) in primitives.OPERANDS]
        variables = [op for op in operands if not isinstance(op, ir.Const)]
        if len(variables) == 1:
            yield from ((line, variables[0], op.value) for op in operands
                        if isinstance(op, ir.Const) and isinstance(op.value, Decimal))


def _conditions(policy: ast.Policy) -> list[ast.Node]:
    """The conditions of the rules, grades, stages and routes, in that order."""
    conditions: list[ast.Node] = [r.condition for s in policy.scores for r in s.rules
                                  if isinstance(r, ast.PointsRule)]
    conditions += [e.condition for g in policy.grades for e in g.entries if e.condition is not None]
    conditions += [e.condition for e in policy.stages if e.condition is not None]
    conditions += [e.condition for r in policy.routes for e in r.entries if e.condition is not None]
    return conditions


def window_edges(policy: ast.Policy, decisions: list[Decision]) -> list[CoverageItem]:
    """Activity windows no case tests at their edge: an event exactly N×24 hours before `now` (outside). The
    windows are what the decisions read of the events (`primitives.events_read`), each at its first line."""
    windows: dict[tuple[str, Decimal], int] = {}
    for line, node in _lowered(policy, (*policy.scores, *policy.grades, *policy.stages, *policy.routes)):
        for event, days in primitives.events_read(node):
            if days is not None:
                windows.setdefault((event, days), line)
    items = []
    for (event, days), line in windows.items():
        hit = any(at == window_start(d.now, days) for d in decisions
                  for at in d.activity.times.get(event, ()))
        items.append(CoverageItem("boundary", f"{event} exactly {quantity(days, 'days')} before now", line, hit))
    return items


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links and `..`); paths that do not exist compare as written."""
    try:
        return a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def run_samples(path: str | Path, policy: ast.Policy | None = None, policy_file: str | None = None) -> SamplesRun:
    """Load a samples file, check its policy (unless given) and run every case."""
    from leadpolicy.semantics.loading import load_policy

    run = SamplesRun(str(path))
    doc, diags = load_samples(path)
    run.diagnostics.extend(diags)
    if doc is None:
        return run
    target = Path(path).parent / doc.data["policy"]
    run.policy_file = policy_file or str(target)
    if policy is not None and policy_file is not None and not _same_file(target, Path(policy_file)):
        run.diagnostics.append(Diagnostic(
            "bad-samples", f"its policy: {doc.data['policy']!r} is not {policy_file}, the policy it sits beside; "
            "no case can run", run.file, doc.span(("policy",)),
            hint=f"name the policy beside it ({Path(policy_file).name}), or move the samples file beside its policy"))
        return run
    if policy is None:
        if not target.exists():
            run.diagnostics.append(Diagnostic("bad-samples", f"policy file {doc.data['policy']!r} not found",
                                              run.file, doc.span(("policy",)),
                                              hint="the path is relative to the samples file"))
            return run
        loaded = load_policy(target)
        if loaded.policy is None or loaded.has_errors:
            first = next((d for d in loaded.diagnostics if d.is_error), None)
            why = f" ({first.code}: {first.message})" if first is not None else ""
            run.diagnostics.append(Diagnostic("bad-samples", f"its policy {doc.data['policy']!r} has errors{why}; "
                                              "no case can run", run.file, doc.span(("policy",))))
            return run
        policy = loaded.policy
    runner = CaseRunner(policy, doc)
    for i, case in enumerate(doc.data.get("leads") or []):
        run.cases.append(runner.lead_case(i, case))
    engine = SlaEngine(runner.ir)
    for i, case in enumerate(doc.data.get("timelines") or []):
        run.cases.append(runner.timeline_case(i, case, engine))
    reached = TeamsReached()
    for i, case in enumerate(doc.data.get("assignments") or []):
        run.cases.append(runner.assignment_case(i, case, reached))
    run.coverage = coverage_items(policy, runner.decisions) + team_items(policy, reached, CoverageItem)
    return run
