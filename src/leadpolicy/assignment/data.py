"""Run-time data of assignment: who is out of office when (availability) and who owns which account (accounts).

A row names a member by email, by name, or as written in the policy (`Name <email>`), as approvals name owners;
a row that cannot be used (an unknown member, a time that is no time, a period that ends before it starts) is a
rejected row, by row and field, with did-you-mean: rows read = rows used + rows rejected.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.runtime import BLANK
from leadpolicy.semantics import ir
from leadpolicy.semantics.now import written_instant

AVAILABILITY_COLUMNS = ("member", "from", "until")
ACCOUNT_COLUMNS = ("domain", "owner")


@dataclass(frozen=True)
class Reject:
    """A row of run-time data that cannot be used (rows are counted from 1)."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}" if self.field else f"row {self.row}: {self.message}"


MAX_ID = 400  # characters of a lead id the state keeps
ID_RULE = f"a lead id is printable text of 1 to {MAX_ID} characters or a whole number"


def read_lead_id(value: object) -> str:
    """The lead id a value gives, as assign, simulate, samples and the service all read it: text trimmed of blanks,
    or a whole number's digits (7, never 7.0). Raises ValueError (the same words everywhere) for anything else: a
    number with a fraction point, true or false, a list or object, blank text, a control character, or too long."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{ID_RULE}, not {_shown(value)}")
    text = value.strip(BLANK)
    if not text:
        raise ValueError(f"{ID_RULE}, not blank text")
    if not text.isprintable():
        raise ValueError(f"{ID_RULE}; this one holds a control character (a tab, a line break, NUL)")
    if len(text) > MAX_ID:
        raise ValueError(f"{ID_RULE}; this one has {len(text)}")
    return text


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, float):
        return f"{value!r}, a number with a fraction point"
    if isinstance(value, (dt.date, dt.time)):
        return "a date or a time"
    if value is None:
        return "null"
    return "a list or an object" if isinstance(value, (list, dict, tuple)) else "a value of another kind"


def fold(text: str) -> str:
    return text.strip().casefold()


class People:
    """Every member of the policy's teams, found by email, name or as written (folded); the key of a person is
    their email, folded."""

    def __init__(self, policy: ir.Policy):
        self.written: dict[str, ir.Member] = {}  # email key -> the member as first written
        self._names: dict[str, set[str]] = {}
        for team in policy.teams:
            for member in team.members:
                key = fold(member.email)
                self.written.setdefault(key, member)
                for spelling in (member.email, member.name, member.person):
                    self._names.setdefault(fold(spelling), set()).add(key)

    def find(self, text: str) -> str | Reject:
        """The person's key; a Reject (row 0, field '') saying why no one or more than one person is meant."""
        keys = self._names.get(fold(text), set())
        if len(keys) == 1:
            return next(iter(keys))
        if keys:
            return Reject(0, "", f"{text!r} names more than one member: name them by email")
        spellings = [spelling for m in self.written.values() for spelling in (m.name, m.email, m.person)]
        hint = did_you_mean(text, spellings)
        return Reject(0, "", f"{text!r} is no member of a team" + (f" ({hint})" if hint else ""))


@dataclass
class Availability:
    """Out-of-office periods [from, until) by person."""

    away: dict[str, list[tuple[dt.datetime, dt.datetime]]] = field(default_factory=dict)

    def add(self, person: str, start: dt.datetime, end: dt.datetime) -> None:
        bisect.insort(self.away.setdefault(person, []), (start, end))

    def away_until(self, person: str, at: dt.datetime) -> dt.datetime | None:
        """When the person is back, if an out-of-office period covers `at` (the latest end of those that do)."""
        covering = [end for start, end in self.away.get(person, ()) if start <= at < end]
        return max(covering, default=None)


NO_AVAILABILITY = Availability()


def _cell(row: Any, name: str) -> Any:
    value = row.get(name) if isinstance(row, Mapping) else None
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _instant(row: Any, name: str, tz: ZoneInfo) -> dt.datetime | str:
    value = _cell(row, name)
    if value is None:
        return "missing"
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    try:
        return written_instant(str(value), tz)
    except ValueError as exc:
        return str(exc)


def _member(row: Any, name: str, people: People, number: int) -> str | Reject:
    value = _cell(row, name)
    if value is None:
        return Reject(number, name, "missing")
    found = people.find(str(value))
    return found if isinstance(found, str) else Reject(number, name, found.message)


def read_availability(rows: Iterable[Any], people: People, tz: ZoneInfo) -> tuple[Availability, list[Reject]]:
    """Rows {member, from, until} (times without an offset are in `tz`, the policy's zone)."""
    availability, rejects = Availability(), []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            rejects.append(Reject(number, "", "not a row of member, from and until"))
            continue
        person = _member(row, "member", people, number)
        if isinstance(person, Reject):
            rejects.append(person)
            continue
        start, end = _instant(row, "from", tz), _instant(row, "until", tz)
        if isinstance(start, str) or isinstance(end, str):
            bad = "from" if isinstance(start, str) else "until"
            rejects.append(Reject(number, bad, str(start if bad == "from" else end)))
        elif end <= start:
            rejects.append(Reject(number, "until", "not after from"))
        else:
            availability.add(person, start, end)
    return availability, rejects


def read_accounts(rows: Iterable[Any], people: People) -> tuple[dict[str, str], list[Reject]]:
    """Rows {domain, owner}: each domain (folded, without a leading @) and its owner's person key."""
    owners: dict[str, str] = {}
    rejects = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            rejects.append(Reject(number, "", "not a row of domain and owner"))
            continue
        domain = _cell(row, "domain")
        person = _member(row, "owner", people, number)
        if domain is None:
            rejects.append(Reject(number, "domain", "missing"))
        elif isinstance(person, Reject):
            rejects.append(person)
        elif (key := fold(str(domain)).lstrip("@")) in owners and owners[key] != person:
            rejects.append(Reject(number, "domain", f"{key} has another owner in an earlier row"))
        else:
            owners[key] = person
    return owners, rejects


def email_domain(email: Any) -> str | None:
    """The domain of an email address (after the last @), folded; None without one."""
    if not isinstance(email, str) or "@" not in email:
        return None
    domain = fold(email.rsplit("@", 1)[1])
    return domain or None
