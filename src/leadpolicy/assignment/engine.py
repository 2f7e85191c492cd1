"""Who gets a lead routed to a team (LANGUAGE-v3.md, "Teams: who gets the lead"): availability, account owners,
`round robin`, `by weight` (smooth weighted round robin), `least loaded today`, fallback or hold, idempotence by
lead id, and an explanation of who was skipped and why.

`Assigner.assign` is the one entry: a decided lead's id, route label and email at its arrival instant, against a
state (`assignment.state`); each call is one transaction holding its team's lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.assignment.data import NO_AVAILABILITY, Availability, email_domain, fold
from leadpolicy.assignment.memory import MemoryState, MemoryTurn
from leadpolicy.assignment.state import State, Turn
from leadpolicy.semantics import ir
from leadpolicy.sla.calendars import BusinessCalendar

ACCOUNT_OWNER, ROTATION, FALLBACK, HELD, ALREADY = "account owner", "rotation", "fallback", "held", "already assigned"


@dataclass(frozen=True)
class Skip:
    """A member passed over, and why: `kind` is paused, closed, away or cap (`calendar`: the closed one)."""

    team: str
    member: str  # as written
    kind: str
    why: str  # "Chloe Park: cap 2 per day reached"
    calendar: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one lead routed to a team."""

    lead_id: str
    team: str  # the team that assigned or holds it (a fallback's name when it fell back)
    assignee: str | None  # the member as written in the policy; None when held
    how: str  # account owner, rotation, fallback, held, already assigned
    skips: tuple[Skip, ...]  # who was passed over and why, in the order they were considered
    at: dt.datetime

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(skip.why for skip in self.skips)

    def as_dict(self) -> dict[str, object]:
        return {"lead_id": self.lead_id, "team": self.team, "assignee": self.assignee, "how": self.how,
                "skipped": list(self.skipped), "at": self.at.isoformat()}


@dataclass(frozen=True)
class Seat:
    """A member as their team sees them: their working hours and the zone their cap is counted in."""

    member: ir.Member
    key: str  # the person: their email, folded
    calendar: BusinessCalendar | None
    zone: ZoneInfo

    @property
    def name(self) -> str:
        return self.member.name


def period_bounds(per: str, at: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The local calendar day (`day`) or ISO week, Monday first (`week`), holding `at` in `zone`."""
    day = at.astimezone(zone).date()
    if per == "week":
        day -= dt.timedelta(days=day.weekday())
    length = dt.timedelta(days=7 if per == "week" else 1)
    return (dt.datetime.combine(day, dt.time(0), tzinfo=zone),
            dt.datetime.combine(day + length, dt.time(0), tzinfo=zone))


def _moment(instant: dt.datetime, zone: ZoneInfo, now: dt.datetime) -> str:
    """`Dec 8 09:00` in `zone`, with the year when it is not `now`'s there (`Jan 1 9800 00:00`)."""
    local = instant.astimezone(zone)
    year = f" {local.year}" if local.year != now.astimezone(zone).year else ""
    return f"{local:%b} {local.day}{year} {local:%H:%M}"


class TeamRules:
    """One team of a policy, ready to assign: its seats in listed order."""

    def __init__(self, team: ir.Team, policy: ir.Policy, calendar: Callable[[str], BusinessCalendar]):
        self.team = team
        team_calendar = calendar(team.calendar) if team.calendar else None
        policy_zone = zones.zone(policy.timezone)
        self.seats: list[Seat] = []
        for member in team.members:
            own = calendar(member.calendar) if member.calendar else team_calendar
            zone = own.tz if own is not None else policy_zone
            self.seats.append(Seat(member, fold(member.email), own, zone))

    def seat(self, key: str) -> Seat | None:
        return next((s for s in self.seats if s.key == key), None)


class Assigner:
    """Assigns decided leads of one policy against a state."""

    def __init__(self, policy: ir.Policy, state: State | MemoryState, availability: Availability = NO_AVAILABILITY,
                 accounts: dict[str, str] | None = None):
        self.policy = policy
        self.state = state
        self.availability = availability
        self.accounts = accounts or {}
        calendars = {c.name: c for c in policy.calendars}
        ready: dict[str, BusinessCalendar] = {}

        def calendar(name: str) -> BusinessCalendar:
            if name not in ready:
                ready[name] = BusinessCalendar.from_ir(calendars[name])
            return ready[name]

        self.teams = {team.name: TeamRules(team, policy, calendar) for team in policy.teams}
        self.closed_days: dict[tuple[int, dt.date], str] = {}
        state.ensure_teams(policy.id, list(self.teams))

    def assign(self, lead_id: str, route: str | None, email: str | None, at: dt.datetime) -> Outcome | None:
        """The member who gets a decided lead routed to `route` at its arrival instant `at`, and how; None when
        the route names no team (a queue name, or no route): a lead held before is then held no more. One
        transaction; a lead id is assigned once."""
        if route not in self.teams:
            with self.state.turn() as tx:
                tx.unhold(self.policy.id, lead_id)
            return None
        if at.tzinfo is None:  # a time without an offset is the policy's, as leads' timestamps are
            at = at.replace(tzinfo=zones.zone(self.policy.timezone))
        with self.state.turn() as tx:
            return _Turn(self, tx, lead_id, email, at).run(route)

    def next_change(self, route: str, at: dt.datetime) -> dt.datetime:
        """An instant after which someone of the team `route` names, or of its fallbacks, may be available where
        nobody was at `at`: no member is before it. Assignments only take availability away, so a lead held at
        `at` stays held until then (`leadpolicy simulate` tries its held leads again no sooner)."""
        found, team, seen = [], route, set()
        while team in self.teams and team not in seen:
            seen.add(team)
            rules = self.teams[team]
            found += [self._back(seat, at) for seat in rules.seats if seat.member.weight > 0]
            team = rules.team.fallback or ""
        return min(found, default=NEVER)

    def _back(self, seat: Seat, at: dt.datetime) -> dt.datetime:
        """No sooner than this is the member available (at work, back from out of office, or, when neither kept
        them, in a new cap period)."""
        opens = _next_open(seat.calendar, at)
        back = self.availability.away_until(seat.key, at)
        if opens == at and back is None:  # at work and in the office, so their cap kept them
            per = seat.member.cap_per or "day"
            return period_bounds(per, at, seat.zone)[1] if seat.member.cap is not None else at
        return max(opens, back or at)

    def release_held(self, now: dt.datetime) -> list[Outcome]:
        """Try every held lead that arrived at or before `now` again at `now`, in arrival order; those still without
        a member stay held (a lead is never assigned before it arrived)."""
        return [outcome for lead_id, route, email, at in self.state.held_leads(self.policy.id)
                if at <= now and (outcome := self.assign(lead_id, route, email, now)) is not None]


class _Turn:
    """One lead's assignment inside its transaction."""

    def __init__(self, assigner: Assigner, tx: Turn | MemoryTurn, lead_id: str, email: str | None, at: dt.datetime):
        self.a = assigner
        self.tx = tx
        self.policy_id = assigner.policy.id
        self.lead_id = lead_id
        self.email = email
        self.at = at
        self.skipped: list[Skip] = []

    def run(self, route: str) -> Outcome:
        self.tx.lock_team(self.policy_id, route)
        stored = self.tx.assigned(self.policy_id, self.lead_id)
        if stored is not None:
            return Outcome(self.lead_id, stored.team, stored.member, ALREADY, (), stored.at)
        hold = self.tx.held_as(self.policy_id, self.lead_id)
        if hold is not None and self.at < hold.at:  # asked again at an instant before it arrived: not assigned then
            team = hold.team if hold.route == route else route
            self.tx.hold(self.policy_id, self.lead_id, team, route, self.email, hold.at)
            return Outcome(self.lead_id, team, None, HELD, (), hold.at)
        team, how = route, None
        while True:
            chosen = self._choose(self.a.teams[team])
            if chosen is not None:
                return self._record(team, chosen[0], how or chosen[1])
            fallback = self.a.teams[team].team.fallback
            if fallback is None or fallback not in self.a.teams:
                self.tx.hold(self.policy_id, self.lead_id, team, route, self.email, self.at)
                return Outcome(self.lead_id, team, None, HELD, tuple(self.skipped), self.at)
            team, how = fallback, FALLBACK
            self.tx.lock_team(self.policy_id, team)

    def _record(self, team: str, seat: Seat, how: str) -> Outcome:
        self.tx.record({
            "policy_id": self.policy_id, "lead_id": self.lead_id, "team": team, "member": seat.member.person,
            "at": self.at, "how": how, "version": self.a.policy.version, "fingerprint": self.a.policy.fingerprint})
        return Outcome(self.lead_id, team, seat.member.person, how, tuple(self.skipped), self.at)

    # ---------------------------------------------------------------- availability

    def unavailable(self, rules: TeamRules, seat: Seat) -> tuple[str, str] | None:
        """(kind, words) of why the member cannot take a lead at this instant, or None when they can."""
        member = seat.member
        if member.weight <= 0:
            return "paused", "weight 0 (paused)"
        closed = _closed(seat, self.at, self.a.closed_days)
        if closed is not None:
            return "closed", closed
        back = self.a.availability.away_until(seat.key, self.at)
        if back is not None:
            return "away", f"out of office until {_moment(back, seat.zone, self.at)}"
        if member.cap is not None and self.load(rules, seat, member.cap_per or "day") >= member.cap:
            return "cap", f"cap {member.cap} per {member.cap_per or 'day'} reached"
        return None

    def skip(self, rules: TeamRules, seat: Seat, reason: tuple[str, str], role: str = "") -> None:
        calendar = seat.calendar.name if reason[0] == "closed" and seat.calendar is not None else None
        self.skipped.append(Skip(rules.team.name, seat.member.person, reason[0], f"{seat.name}{role}: {reason[1]}",
                                 calendar))

    def load(self, rules: TeamRules, seat: Seat, per: str) -> int:
        start, end = period_bounds(per, self.at, seat.zone)
        return self.tx.count(self.policy_id, rules.team.name, seat.member.person, start, end)

    def _available(self, rules: TeamRules, seats: list[Seat]) -> list[Seat]:
        """The seats free at this instant, in the order given; the others are skipped with their reason."""
        free = []
        for seat in seats:
            why = self.unavailable(rules, seat)
            if why is None:
                free.append(seat)
            else:
                self.skip(rules, seat, why)
        return free

    # ---------------------------------------------------------------- choosing

    def _choose(self, rules: TeamRules) -> tuple[Seat, str] | None:
        owner = self._account_owner(rules)
        if owner is not None:
            return owner, ACCOUNT_OWNER
        how = rules.team.assign
        if how is ir.AssignHow.ROUND_ROBIN:
            seat = self._round_robin(rules)
        elif how is ir.AssignHow.BY_WEIGHT:
            seat = self._by_weight(rules)
        else:
            seat = self._least_loaded(rules)
        return None if seat is None else (seat, ROTATION)

    def _account_owner(self, rules: TeamRules) -> Seat | None:
        domain = email_domain(self.email) if rules.team.match_accounts else None
        owner = self.a.accounts.get(domain) if domain is not None else None
        seat = rules.seat(owner) if owner is not None else None
        if seat is None:
            return None
        why = self.unavailable(rules, seat)
        if why is not None:
            self.skip(rules, seat, why, f" (account owner of {domain})")
            return None
        return seat

    def _round_robin(self, rules: TeamRules) -> Seat | None:
        last = self.tx.last_member(self.policy_id, rules.team.name)
        people = [s.member.person for s in rules.seats]
        first = people.index(last) + 1 if last in people else 0
        for seat in rules.seats[first:] + rules.seats[:first]:
            if not self._available(rules, [seat]):
                continue
            self.tx.set_last_member(self.policy_id, rules.team.name, seat.member.person)
            return seat
        return None

    def _by_weight(self, rules: TeamRules) -> Seat | None:
        free = self._available(rules, rules.seats)
        if not free:
            return None
        stored = self.tx.weight_values(self.policy_id, rules.team.name)
        values = {s.member.person: stored.get(s.member.person, 0) for s in free}
        for seat in free:
            values[seat.member.person] += seat.member.weight
        winner = max(free, key=lambda s: values[s.member.person])  # max keeps the first of a tie: listed order
        values[winner.member.person] -= sum(s.member.weight for s in free)
        self.tx.save_weight_values(self.policy_id, rules.team.name, values, set(stored))
        return winner

    def _least_loaded(self, rules: TeamRules) -> Seat | None:
        free = self._available(rules, rules.seats)
        if not free:
            return None
        never = dt.datetime.min.replace(tzinfo=dt.timezone.utc)

        def order(seat: Seat) -> tuple[int, dt.datetime]:
            last = self.tx.last_assigned(self.policy_id, rules.team.name, seat.member.person)
            return self.load(rules, seat, "day"), last or never

        return min(free, key=order)  # min keeps the first of a tie: listed order


NEVER = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
HORIZON = 400  # days searched for a calendar's next open hours


def _next_open(calendar: BusinessCalendar | None, at: dt.datetime) -> dt.datetime:
    """`at` when the calendar is open then (or there is none); else when it next opens (NEVER: not in a year)."""
    if calendar is None:
        return at
    day = calendar.local_day(at)
    for _ in range(HORIZON):
        for start, end in calendar.intervals(day):
            if end > at:
                return max(start, at)
        day += dt.timedelta(days=1)
    return NEVER


def _closed(seat: Seat, at: dt.datetime, words: dict[tuple[int, dt.date], str]) -> str | None:
    """Why the member's calendar is closed at `at` (a holiday or closed date, or outside its open hours);
    `words` keeps what was said of each calendar's day (by the calendar's id: the assigner keeps them all)."""
    calendar = seat.calendar
    if calendar is None:
        return None
    day = calendar.local_day(at)
    for start, end in calendar.intervals(day):
        if start <= at < end:
            return None
    key = (id(calendar), day)
    if key not in words:  # the same days come back lead after lead, and the holidays' lookup is slow
        words[key] = _closed_words(calendar, day)
    return words[key]


def _closed_words(calendar: BusinessCalendar, day: dt.date) -> str:
    weekday_open = bool(calendar.hours[day.weekday()])
    if weekday_open and not calendar.is_open_day(day):
        return f"a day off ({calendar.name})"
    return f"outside working hours ({calendar.name})"
