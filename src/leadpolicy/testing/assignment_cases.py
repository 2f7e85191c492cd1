"""The `assignments:` cases of a samples file: each case a stream of leads decided and assigned in order, each at
its `at` (also its `now`), on a fresh state in memory, with its own availability and accounts rows; and the
coverage of the teams: each member assigned, each cap and calendar that stopped someone, each fallback or hold
taken."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadpolicy.assignment.data import People, read_accounts, read_availability, read_lead_id
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.interpreter import Decision, evaluate
from leadpolicy.semantics.now import written_instant

if TYPE_CHECKING:  # the harness imports this module; the engine and state only assignment cases need
    from leadpolicy.assignment.engine import Assigner, Outcome
    from leadpolicy.testing.harness import CaseResult, CaseRunner, CoverageItem

ASSIGNED_KEYS = ("assignee", "how")


@dataclass
class TeamsReached:
    """What the assignment cases reached, for coverage."""

    assigned: set[tuple[str, str]] = field(default_factory=set)  # (team, member as written)
    capped: set[tuple[str, str]] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)  # calendars found closed
    fell_back: set[str] = field(default_factory=set)  # teams a lead fell back from, or that held a lead

    def add(self, routed: str, outcome: Outcome) -> None:
        from leadpolicy.assignment.engine import HELD

        if outcome.assignee is not None:
            self.assigned.add((outcome.team, outcome.assignee))
        for skip in outcome.skips:
            if skip.kind == "cap":
                self.capped.add((skip.team, skip.member))
            if skip.calendar is not None:
                self.closed.add(skip.calendar)
        if outcome.how == HELD:
            self.fell_back.add(outcome.team)
        if outcome.team != routed:
            self.fell_back.add(routed)


def _lead_line(lead_id: str, at: dt.datetime, outcome: Outcome | None) -> list[str]:
    if outcome is None:
        return [f"{lead_id} at {at.isoformat()}: routed to no team"]
    who = outcome.assignee if outcome.assignee is not None else "nobody"
    lines = [f"{lead_id} at {at.isoformat()}: {who} ({outcome.how}, team {outcome.team})"]
    return lines + [f"  skipped {why}" for why in outcome.skipped]


def _show(value: Any) -> str:
    return "null" if value is None else f'"{value}"'


class AssignmentCase:
    """One case of `assignments:` run against the runner's policy."""

    def __init__(self, runner: CaseRunner, reached: TeamsReached, result: CaseResult):
        self.runner = runner
        self.reached = reached
        self.result = result
        self.people = People(runner.ir)

    def run(self, case: dict[str, Any]) -> None:
        assigner = self._assigner(case)
        if assigner is None:
            return
        try:
            for item in case["leads"]:
                self._lead(assigner, item)
        finally:
            assigner.state.close()

    def _assigner(self, case: dict[str, Any]) -> Assigner | None:
        availability, rejects = read_availability(case.get("availability") or [], self.people, self.runner.tz)
        accounts, account_rejects = read_accounts(case.get("accounts") or [], self.people)
        for where, found in (("availability", rejects), ("accounts", account_rejects)):
            for reject in found:
                self.result.error(f"{where}: {reject}")
        if rejects or account_rejects:
            return None
        try:  # the engine and its state load the database library, which only assignment cases need
            from leadpolicy.assignment.engine import Assigner
            from leadpolicy.assignment.state import open_state
        except ModuleNotFoundError as exc:
            self.result.error(f"assignment cases need {exc.name}, a dependency of leadpolicy that is not installed: "
                              "reinstall leadpolicy (pip install -e .)")
            return None
        return Assigner(self.runner.ir, open_state(":memory:"), availability, accounts)

    def _lead(self, assigner: Assigner, item: dict[str, Any]) -> None:
        try:  # read as assign and the service read a lead id
            lead_id = read_lead_id(item["id"])
        except ValueError as exc:
            self.result.error(f"id: {exc}")
            return
        decided = self._decide(lead_id, item)
        if decided is None:
            return
        at, decision = decided
        self.runner.decisions.append(decision)
        email = decision.env.get("email")
        outcome = assigner.assign(lead_id, decision.route, email if isinstance(email, str) else None, at)
        if outcome is not None:
            self.reached.add(str(decision.route), outcome)
        self.result.explanation += _lead_line(lead_id, at, outcome)
        got = {"assignee": outcome.assignee if outcome else None, "how": outcome.how if outcome else None}
        self.result.actual[lead_id] = {"stage": decision.stage, "route": decision.route, **got}
        for key, want in item["expect"].items():
            self._expectation(lead_id, key, want, decision, got, outcome)

    def _decide(self, lead_id: str, item: dict[str, Any]) -> tuple[dt.datetime, Decision] | None:
        try:
            at = written_instant(str(item["at"]), self.runner.tz)
        except ValueError as exc:
            self.result.error(f"{lead_id}: at: {exc}")
            return None
        values, errors = self.runner.reader.read(item["lead"], strict=True)
        events, event_errors = self.runner.event_reader.read(item.get("events") or [], at)
        problems = [f"{lead_id}: the lead does not fit the policy's schema: {e}" for e in errors]
        problems += [f"{lead_id}: events: {e}" for e in event_errors]
        for problem in problems:
            self.result.error(problem)
        return None if problems else (at, evaluate(self.runner.ir, values, at, Activity(events)))

    def _expectation(self, lead_id: str, key: str, want: Any, decision: Decision, got: dict[str, Any],
                     outcome: Outcome | None) -> None:
        names = self.runner.decision_names
        if key in ASSIGNED_KEYS:
            found = got[key]
        elif key in names:
            found = decision.value(key)
        else:
            hint = did_you_mean(key, [*names, *ASSIGNED_KEYS])
            self.result.error(f"{lead_id}: expect: {key!r} is not assignee, how, a score, grade, stage, owner or "
                              "route" + (f" ({hint})" if hint else ""))
            return
        if not self.runner.same(want, found):
            because = f" (skipped: {'; '.join(outcome.skipped)})" if outcome is not None and outcome.skipped else ""
            self.result.differs(f"{lead_id} {key}", want, found,
                                [f"{lead_id}: {key}: expected {_show(want)}, got {_show(found)}{because}"])


def team_items(policy: ast.Policy, reached: TeamsReached, item: Callable[..., CoverageItem]) -> list[CoverageItem]:
    """Each member who can be assigned (weight above 0), each cap, each calendar the teams work on and each
    fallback or hold: whether some assignment case reached it."""
    items = []
    for team in policy.team_blocks:
        for member in team.members:
            if member.weight is None or member.weight > 0:
                items.append(item("member", f"{team.name}: {member.person}", member.span.line,
                                  (team.name, member.person) in reached.assigned))
            if member.cap is not None:
                items.append(item("cap", f"{team.name}: {member.person} {member.cap} per {member.cap_period}",
                                  member.cap_span.line or member.span.line,
                                  (team.name, member.person) in reached.capped))
        fallback = team.first(ast.Fallback)
        if fallback is not None:
            target = fallback.team or "hold"
            items.append(item("fallback", f"{team.name} -> {target}", fallback.span.line,
                              team.name in reached.fell_back))
    for calendar in _team_calendars(policy):
        items.append(item("calendar", calendar.name, calendar.span.line, calendar.name in reached.closed))
    return items


def _team_calendars(policy: ast.Policy) -> list[Any]:
    named = {member.calendar for team in policy.team_blocks for member in team.members if member.calendar}
    named |= {c.name for team in policy.team_blocks for c in team.all(ast.TeamCalendar)}
    return [c for c in policy.calendars if c.name in named]
