"""What a stream of assignments adds up to, for `leadpolicy simulate`: per team and member the leads assigned, the
share against the weight's share, cap hits, leads that arrived outside the member's working hours, held leads and
the longest hold, per day and per hour.

Held leads are tried again, oldest first, as each later lead arrives (as if `assign --release-held` ran at every
arrival): whether anyone of a team is available does not depend on the lead (an account owner is a member who
must be available too), so when a team's oldest held lead stays held, so do the others.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from leadpolicy.assignment.engine import ALREADY, HELD, Assigner, Outcome
from leadpolicy.semantics import ir


@dataclass
class _Held:
    lead_id: str
    route: str
    email: str | None
    at: dt.datetime


@dataclass
class Simulation:
    """Assign a stream of decided leads in arrival order through `assigner`, and count what happened."""

    assigner: Assigner
    zone: ZoneInfo  # the policy's: days and hours are counted in it
    outcomes: list[Outcome] = field(default_factory=list)
    holds: list[tuple[str, float, bool]] = field(default_factory=list)  # (team, minutes held, still held)
    _waiting: dict[str, deque[_Held]] = field(default_factory=dict)  # by route, oldest first
    _held_at: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)  # lead id -> (team, held at)
    _not_before: dict[str, dt.datetime] = field(default_factory=dict)  # by route: when its held may be tried again
    last: dt.datetime | None = None

    def arrive(self, lead_id: str, route: str | None, email: str | None, at: dt.datetime) -> Outcome | None:
        self._release(at)
        outcome = self.assigner.assign(lead_id, route, email, at)
        if outcome is not None:
            self._count(outcome)
        if lead_id in self._held_at:
            self._decided_again(_Held(lead_id, route or "", email, at), outcome)
        elif outcome is not None and outcome.how == HELD:
            self._wait(_Held(lead_id, route or "", email, at))
            self._held_at[lead_id] = (outcome.team, at)
        self.last = at if self.last is None or at > self.last else self.last
        return outcome

    def _wait(self, held: _Held) -> None:
        """Queue a held lead for its route, in arrival order."""
        queue = self._waiting.setdefault(held.route, deque())
        if not queue:
            self._not_before[held.route] = self.assigner.next_change(held.route, held.at)
        if queue and queue[-1].at > held.at:  # only a lead decided again, moved here from another route's queue
            queue.insert(sum(1 for waiting in queue if waiting.at <= held.at), held)
        else:
            queue.append(held)

    def _decided_again(self, again: _Held, outcome: Outcome | None) -> None:
        """A held lead decided again: held no more when routed to no team (or assigned now), moved to the queue
        of another route that holds it."""
        still_held = outcome is not None and outcome.how == HELD
        if still_held and any(h.lead_id == again.lead_id for h in self._waiting.get(again.route, ())):
            return  # still held for the same route, in its place
        team, since = self._held_at[again.lead_id]
        for queue in self._waiting.values():
            for waiting in [h for h in queue if h.lead_id == again.lead_id]:
                queue.remove(waiting)
                since = waiting.at
        if outcome is not None and outcome.how == HELD:
            self._wait(_Held(again.lead_id, again.route, again.email, since))
            self._held_at[again.lead_id] = (outcome.team, since)
            return
        del self._held_at[again.lead_id]
        if outcome is not None and outcome.how != ALREADY:
            self.holds.append((team, (again.at - since).total_seconds() / 60, False))

    def _count(self, outcome: Outcome) -> None:
        if outcome.how != ALREADY:
            self.outcomes.append(outcome)

    def _release(self, now: dt.datetime) -> None:
        for route, queue in self._waiting.items():
            if not queue or now < self._not_before.get(route, now):
                continue  # nobody of the team can have become available since its oldest was held again
            while queue:
                first = queue[0]
                outcome = self.assigner.assign(first.lead_id, first.route, first.email, now)
                if outcome is None or outcome.how == HELD:
                    self._not_before[route] = self.assigner.next_change(route, now)
                    break
                queue.popleft()
                team, since = self._held_at.pop(first.lead_id)
                self.holds.append((team, (now - since).total_seconds() / 60, False))
                self._count(outcome)

    def finish(self) -> None:
        """The leads still held at the end: their hold counted to the last arrival."""
        for team, since in self._held_at.values():
            self.holds.append((team, ((self.last or since) - since).total_seconds() / 60, True))
        self._held_at.clear()

    def summary(self, policy: ir.Policy) -> dict[str, Any]:
        """The JSON form: teams (with members), per day and per hour."""
        return {"teams": [self._team(team) for team in policy.teams],
                "per_day": self._per("day"), "per_hour": self._per("hour")}

    def _team(self, team: ir.Team) -> dict[str, Any]:
        mine = [o for o in self.outcomes if o.team == team.name and o.assignee is not None]
        held = [o for o in self.outcomes if o.team == team.name and o.how == HELD]
        waits = [minutes for name, minutes, _still in self.holds if name == team.name]
        still = sum(1 for name, _minutes, still in self.holds if name == team.name and still)
        skips = Counter((s.member, s.kind) for o in self.outcomes for s in o.skips if s.team == team.name)
        members = [{**_member_share(team, member, mine), "cap_hits": skips[(member.person, "cap")],
                    "outside_hours": skips[(member.person, "closed")], "out_of_office": skips[(member.person, "away")]}
                   for member in team.members]
        return {"team": team.name, "title": team.label, "assign": team.assign.value, "assigned": len(mine),
                "held": len(held), "still_held": still, "longest_hold_minutes": round(max(waits), 1) if waits else None,
                "members": members}

    def _per(self, unit: str) -> list[dict[str, Any]]:
        counts: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            local = outcome.at.astimezone(self.zone)
            key = local.date().isoformat() if unit == "day" else f"{local.hour:02d}"
            counts.setdefault(key, Counter())["held" if outcome.how == HELD else "assigned"] += 1
        keys = sorted(counts) if unit == "day" else [f"{h:02d}" for h in range(24)]
        return [{unit: key, "assigned": counts.get(key, Counter())["assigned"],
                 "held": counts.get(key, Counter())["held"]} for key in keys]


def expected_share(team: ir.Team, member: ir.Member) -> float:
    """The share of the team's leads the member's weight gives: weight over the weights of the members not paused
    (by weight), or an equal part (round robin, least loaded today); none when paused."""
    if member.weight <= 0:
        return 0.0
    if team.assign is ir.AssignHow.BY_WEIGHT:
        return member.weight / sum(m.weight for m in team.members if m.weight > 0)
    return 1 / sum(1 for m in team.members if m.weight > 0)


def _member_share(team: ir.Team, member: ir.Member, assigned: list[Outcome]) -> dict[str, Any]:
    got = [o for o in assigned if o.assignee == member.person]
    return {"member": member.person, "weight": member.weight, "assigned": len(got),
            "share": round(len(got) / len(assigned), 4) if assigned else 0.0,
            "weight_share": round(expected_share(team, member), 4), "by_how": dict(Counter(o.how for o in got)),
            "cap": f"{member.cap} per {member.cap_per or 'day'}" if member.cap is not None else None}
