"""`now` as given (`--now`, a samples file's or case's `now`): one reading for every command.

Read as every timestamp is (`runtime.parse_timestamp`: without an offset, in the policy's zone), and held as the
instant it names at a fixed UTC offset, the one it was written with or else the zone's at that instant. A fixed
offset is an instant already (`runtime.as_instant` keeps it as it is), so windows count real 24-hour days back
from it, as `Policy.evaluate` and the SQL engines count them (a datetime in a zone with clock changes would
subtract by its wall clock), and it still prints at the wall clock it was written with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from leadpolicy.runtime import parse_timestamp
from leadpolicy.semantics.events import is_number, number_text, problem_words, value_kind


def written_instant(text: str, tz: ZoneInfo) -> dt.datetime:
    """A time written as text, as the instant it names at the offset it was written with, else at `tz`'s offset
    then (see the module's docstring). Raises ValueError, in `runtime.parse_timestamp`'s words."""
    return at_its_offset(parse_timestamp(text, tz))


def at_its_offset(value: dt.datetime) -> dt.datetime:
    """An aware datetime at its fixed UTC offset then: the same instant and the same wall clock."""
    offset = value.utcoffset()
    return value if type(value.tzinfo) is dt.timezone or offset is None else value.astimezone(dt.timezone(offset))


def current(tz: ZoneInfo) -> dt.datetime:
    """Now, to the second, at `tz`'s offset: `now` when none is given."""
    return at_its_offset(dt.datetime.now(dt.timezone.utc).astimezone(tz).replace(microsecond=0))


def case_now(case: Mapping[str, Any], tz: ZoneInfo, file_now: Any = None) -> dt.datetime | None:
    """A samples case's `now` (its own, else its file's `file_now`), read by `written_instant`: the one reading
    `leadpolicy test`, `explain --lead` and the published cases share; None without one. Raises ValueError, in
    the words an event's time is refused in when it is a number or a value of another kind than text."""
    now = case.get("now", file_now)
    if now is None:
        return None
    if isinstance(now, str):
        return written_instant(now, tz)
    raise ValueError(not_text_words(now))


def not_text_words(now: Any) -> str:
    """Why a `now` that is not text is no time: in the words an event's time of that kind is refused in (a
    number as written, one too long as every reader says it); the samples schema's refusal says these too."""
    if is_number(now):
        return problem_words("at", "timestamp", number_text(now))  # ValueError: a number too long
    return problem_words("at", "not-text", value_kind(now))
