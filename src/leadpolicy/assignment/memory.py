"""A throwaway state in Python's own memory, for `leadpolicy simulate`: the same reads and writes as `state.Turn`, on
dicts and sorted lists instead of SQL, so a month of leads is simulated in seconds. One process, one thread; a turn's
writes are kept aside and applied when it ends without an error, as a transaction's would be.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from leadpolicy.assignment.state import Hold, Stored, from_us, to_us

Key = tuple[str, str]  # (policy id, team)


@dataclass
class _Held:
    team: str
    route: str
    email: str | None
    at_us: int


@dataclass
class MemoryState:
    """What `State` keeps, in memory: the rotation, the values, every assignment and the held leads."""

    postgresql: bool = False
    last_members: dict[Key, str] = field(default_factory=dict)
    values: dict[Key, dict[str, int]] = field(default_factory=dict)
    assignments: dict[Key, Stored] = field(default_factory=dict)  # (policy id, lead id): in the order made
    times: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)  # (policy, team, member): at, sorted
    held: dict[Key, _Held] = field(default_factory=dict)  # (policy id, lead id)

    def ensure_teams(self, policy_id: str, names: list[str]) -> None:
        """Nothing to make: a team's rotation starts empty."""

    def close(self) -> None:
        """Nothing to let go."""

    @contextmanager
    def turn(self) -> Iterator[MemoryTurn]:
        turn = MemoryTurn(self)
        yield turn
        for write in turn.writes:
            write()

    def held_leads(self, policy_id: str) -> list[tuple[str, str, str | None, dt.datetime]]:
        """(lead id, route, email, at) of every held lead, in arrival order."""
        found = sorted((h.at_us, lead_id, h) for (pid, lead_id), h in self.held.items() if pid == policy_id)
        return [(lead_id, h.route, h.email, from_us(at_us)) for at_us, lead_id, h in found]

    def all_assignments(self, policy_id: str) -> list[Stored]:
        return [stored for (pid, _lead), stored in self.assignments.items() if pid == policy_id]


class MemoryTurn:
    """`state.Turn`'s reads and writes on a `MemoryState`; the writes wait in `writes` until the turn ends."""

    def __init__(self, state: MemoryState):
        self.state = state
        self.writes: list[Callable[[], None]] = []

    def lock_team(self, policy_id: str, team: str) -> None:
        """One thread: nobody to lock out."""

    def last_member(self, policy_id: str, team: str) -> str | None:
        return self.state.last_members.get((policy_id, team))

    def set_last_member(self, policy_id: str, team: str, member: str) -> None:
        self.writes.append(lambda: self.state.last_members.__setitem__((policy_id, team), member))

    def weight_values(self, policy_id: str, team: str) -> dict[str, int]:
        return dict(self.state.values.get((policy_id, team), {}))

    def save_weight_values(self, policy_id: str, team: str, values: dict[str, int], known: set[str]) -> None:
        saved = dict(values)
        self.writes.append(lambda: self.state.values.setdefault((policy_id, team), {}).update(saved))

    def assigned(self, policy_id: str, lead_id: str) -> Stored | None:
        return self.state.assignments.get((policy_id, lead_id))

    def count(self, policy_id: str, team: str, member: str, start: dt.datetime, end: dt.datetime) -> int:
        times = self.state.times.get((policy_id, team, member), [])
        return bisect.bisect_left(times, to_us(end)) - bisect.bisect_left(times, to_us(start))

    def last_assigned(self, policy_id: str, team: str, member: str) -> dt.datetime | None:
        times = self.state.times.get((policy_id, team, member))
        return from_us(times[-1]) if times else None

    def record(self, row: dict[str, Any]) -> None:
        def write() -> None:
            state, at_us = self.state, to_us(row["at"])
            state.held.pop((row["policy_id"], row["lead_id"]), None)
            state.assignments[(row["policy_id"], row["lead_id"])] = Stored(row["lead_id"], row["team"], row["member"],
                                                                           from_us(at_us), row["how"])
            bisect.insort(state.times.setdefault((row["policy_id"], row["team"], row["member"]), []), at_us)

        self.writes.append(write)

    def hold(self, policy_id: str, lead_id: str, team: str, route: str, email: str | None, at: dt.datetime) -> None:
        held = _Held(team, route, email, to_us(at))

        def write() -> None:
            kept = self.state.held.setdefault((policy_id, lead_id), held)
            kept.team, kept.route, kept.email = team, route, email  # held already: kept from its first arrival

        self.writes.append(write)

    def held_as(self, policy_id: str, lead_id: str) -> Hold | None:
        held = self.state.held.get((policy_id, lead_id))
        return None if held is None else Hold(held.team, held.route, from_us(held.at_us))

    def unhold(self, policy_id: str, lead_id: str) -> None:
        def write() -> None:
            self.state.held.pop((policy_id, lead_id), None)

        self.writes.append(write)
