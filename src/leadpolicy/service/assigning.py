"""Assignment in the decision service: `POST /v1/policies/{id}/assign` decides a lead as `decide` does, then gives
it to a member of the team its route names (`assignment.Assigner`), once per lead id; `GET /v1/assignments` pages
through the state for an audit. The state is the one `serve --state` names (a SQLite file or a PostgreSQL URL),
shared by every worker and every process started on it; the run-time data comes from `--availability` and
`--accounts` (`runtime_data`), re-read when they change. Everything here runs on a decision thread, never on the
event loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadpolicy import zones
from leadpolicy.assignment import (
    ALREADY,
    Assigner,
    Outcome,
    People,
    State,
    StateError,
    open_state,
    read_accounts,
    read_availability,
)
from leadpolicy.assignment.data import read_lead_id
from leadpolicy.assignment.state import assignments, from_us, held, hiding_password, to_us
from leadpolicy.semantics.events import value_kind
from leadpolicy.semantics.now import written_instant
from leadpolicy.service import bodies
from leadpolicy.service.decisions import Decider, LogUnwritable, Settings, encode
from leadpolicy.service.metrics import Metrics
from leadpolicy.service.registry import Loaded
from leadpolicy.service.runtime_data import WatchedFile

T = TypeVar("T")
ASSIGN_THREADS = 2  # assignments at once per worker (each on its own connection to the state)
NO_STATE = "the service was started without a state: start it with --state FILE or --state postgresql://..."
ASSIGN_SHAPE = ('a request is {"lead": {...}, "id": "...", "at": "...", "events": [...], "now": "...", '
                '"explain": false}')
MAX_EMAIL = 254  # RFC 5321: a longer text is no address, and matches no account
PAGE = 1000
MAX_PAGE = 10_000
AUDIT_PARAMETERS = ("since", "policy", "limit", "after")

Answer = tuple[int, dict[str, Any]]


class Refusal(Exception):
    """A request answered with an error: its status and body."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("error"))
        self.status, self.body = status, body


@dataclass(frozen=True)
class Ready:
    """A policy version's assigner over one reading of the run-time data."""

    loaded: Loaded
    data: tuple[int, ...]  # the versions of the data files it read
    assigner: Assigner


class Assignments:
    """The state, the run-time data and an assigner for each served policy with teams."""

    def __init__(self, settings: Settings, metrics: Metrics, say: Callable[[str], None]):
        self.settings, self.metrics, self.say = settings, metrics, say
        self.files = {kind: WatchedFile(kind, path) for kind, path in
                      (("availability", settings.availability), ("accounts", settings.accounts)) if path}
        self.state: State | None = None
        self.state_error: str | None = None
        self.ready: dict[str, Ready] = {}
        self.building = threading.Lock()
        self.one_writer: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        self.held_series: set[tuple[str, str]] = set()
        self.held_failing = False
        self.state_errors: tuple[type[Exception], ...] = (sa.exc.SQLAlchemyError,)
        # Their own threads: an assignment waiting for its team's lock (another process holds it) never holds up
        # the decisions of this worker
        self.pool = ThreadPoolExecutor(max_workers=ASSIGN_THREADS, thread_name_prefix="leadpolicy-assign")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` on an assignment thread."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, work, *args)

    # ---------------------------------------------------------------- the state and the data files

    def open(self) -> None:
        """Open the state (at start; `serve` checked it can be); the first reload reads the data files."""
        if self.settings.state:
            try:
                self.state = open_state(self.settings.state)
            except StateError as exc:
                self.state_error = "the state cannot be opened (the service's log says why)"
                self.say(f"--state: {hiding_password(str(exc), self.settings.state)}")
            else:  # assignments run on the database driver's own connections: its errors too
                # a connection lost (the database restarted) is said in one line of ours, not the pool's traceback
                logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
                driver = self.state.engine.dialect.dbapi
                self.state_errors += (driver.Error,) if driver is not None else ()
                if not self.state.postgresql:
                    self.one_writer = OneWriter(self.state.engine.url.database)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.state is not None:
            self.state.close()
        if isinstance(self.one_writer, OneWriter):
            self.one_writer.close()

    def refresh(self, force: bool = False) -> None:
        """Re-read a changed data file; count the held leads the state holds (every process's)."""
        for watched in self.files.values():
            said = watched.refresh(force)
            if said is not None:
                self.say(said)
        if self.state is not None:
            self._count_held(self.state)

    def _count_held(self, state: State) -> None:
        query = sa.select(held.c.policy_id, held.c.team, sa.func.count()).group_by(held.c.policy_id, held.c.team)
        try:
            with self.one_writer, state.engine.connect() as conn:  # SQLite begins IMMEDIATE: the write lock
                counts = {(policy, team): int(n) for policy, team, n in conn.execute(query)}
        except self.state_errors as exc:
            if not self.held_failing:  # said once when it starts failing, once when it is read again
                self.say(f"the state cannot be read (held leads are not counted until it can): {_first_line(exc)}")
            self.held_failing = True
            return
        if self.held_failing:
            self.say("the state is read again")
        self.held_failing = False
        for series in self.held_series - set(counts):
            self.metrics.held.labels(*series).set(0)
        for series, n in counts.items():
            self.metrics.held.labels(*series).set(n)
        self.held_series |= set(counts)

    # ---------------------------------------------------------------- one assigner per policy version

    def assigner(self, loaded: Loaded, state: State) -> Assigner:
        """The assigner of this policy version over the data files as last read (built once for each)."""
        data = tuple(watched.snapshot.version for watched in self.files.values())
        ready = self.ready.get(loaded.policy.id)
        if ready is not None and ready.loaded is loaded and ready.data == data:
            return ready.assigner
        with self.building:
            ready = self.ready.get(loaded.policy.id)
            if ready is None or ready.loaded is not loaded or ready.data != data:
                ready = Ready(loaded, data, self._build(loaded, state))
                self.ready[loaded.policy.id] = ready
            return ready.assigner

    def _build(self, loaded: Loaded, state: State) -> Assigner:
        policy = loaded.policy.ir
        people = People(policy)
        rows = {kind: watched.snapshot.rows for kind, watched in self.files.items()}
        availability, away_rejects = read_availability(rows.get("availability", ()), people,
                                                        zones.zone(policy.timezone))
        accounts, account_rejects = read_accounts(rows.get("accounts", ()), people)
        for kind, rejects in (("availability", away_rejects), ("accounts", account_rejects)):
            for reject in rejects:
                self.say(f"--{kind} {self.files[kind].path}: {reject} (policy {policy.id}): row not used")
        return Assigner(policy, state, availability, accounts)

    # ---------------------------------------------------------------- POST /v1/policies/{id}/assign

    def answer(self, loaded: Loaded, raw: bytes, decider: Decider) -> tuple[int, bytes]:
        """The answer to an `assign` body: (status, JSON)."""
        try:
            status, out = self._answer(loaded, raw, decider)
        except Refusal as refusal:
            status, out = refusal.status, refusal.body
        return status, encode(out)

    def _answer(self, loaded: Loaded, raw: bytes, decider: Decider) -> Answer:
        state = self._usable_state(loaded)
        try:
            item, checked = bodies.parse(raw)
        except bodies.NotJson as exc:
            raise Refusal(400, {"error": str(exc)}) from None
        problem = None if checked else bodies.refused(item)
        if problem is not None:
            raise Refusal(400, {"error": problem})
        request, lead_id, at_text = self._request(item)
        arrived = None if at_text is None else _instant(loaded, at_text)
        started = time.perf_counter()
        status, out = decider.decide(loaded, request)
        if status != 200:
            return status, out
        at = arrived if arrived is not None else written_instant(out["now"], ZoneInfo("UTC"))  # now has its offset
        outcome = self._assign(loaded, state, lead_id, out["route"], _email(request["lead"]), at)
        out.update(_assigned(lead_id, at, outcome))
        try:
            decider.record(loaded, request["lead"], out, time.perf_counter() - started,
                           {k: out[k] for k in ("id", "at", "team", "assignee", "how")})
        except LogUnwritable:
            raise Refusal(503, {"error": "decision log cannot be written"}) from None
        self._count(loaded, outcome)
        return 200, out

    def _usable_state(self, loaded: Loaded) -> State:
        if self.state is None:
            raise Refusal(503, {"error": NO_STATE if self.state_error is None else self.state_error})
        if not loaded.policy.ir.teams:
            raise Refusal(422, {"error": f"policy {loaded.policy.id} has no team: its routes end at queue names, "
                                         "so there is no one to assign a lead to (decide it instead)"})
        return self.state

    def _request(self, item: Any) -> tuple[dict[str, Any], str, str | None]:
        """The decide request within an assign request, the lead id and the arrival instant as written."""
        if not isinstance(item, dict) or not isinstance(item.get("lead"), dict):
            raise Refusal(400, {"error": ASSIGN_SHAPE})
        request = dict(item)
        lead_id = _lead_id(request.pop("id", None), request["lead"], self.settings.lead_id_field)
        at_text = request.pop("at", None)
        if at_text is not None and not isinstance(at_text, str):
            raise Refusal(400, {"error": f"at: an ISO 8601 timestamp in a string, not {value_kind(at_text)}"})
        if request.get("now") is None and at_text is not None:
            request["now"] = at_text  # decided as of its arrival, as samples' assignment cases decide
        return request, lead_id, at_text

    def _assign(self, loaded: Loaded, state: State, lead_id: str, route: str | None, email: str | None,
                at: dt.datetime) -> Outcome | None:
        try:
            with self.one_writer:
                assigner = self.assigner(loaded, state)
                outcome = assigner.assign(lead_id, route, email, at)
                return outcome if outcome is not None else _stored(state, loaded.policy.id, lead_id)
        except self.state_errors as exc:
            self.say(f"assign {loaded.policy.id}: the state cannot be written: {_first_line(exc)}")
            raise Refusal(503, {"error": "the state cannot be written now; ask again (the same lead id is "
                                         "assigned once)"}) from None

    def _count(self, loaded: Loaded, outcome: Outcome | None) -> None:
        if outcome is not None:
            self.metrics.assignments.labels(loaded.policy.id, outcome.team, outcome.assignee or "", outcome.how).inc()

    # ---------------------------------------------------------------- GET /v1/assignments

    def audit(self, query: Mapping[str, str], path: str, served: Mapping[str, Loaded]) -> tuple[int, bytes]:
        """A page of the assignments in the state, in the order they were made: (status, JSON). `since` without
        an offset is in the zone of the policy named (`policy`, when it is served), else UTC."""
        try:
            status, out = 200, self._page(query, path, served)
        except Refusal as refusal:
            status, out = refusal.status, refusal.body
        return status, encode(out)

    def _page(self, query: Mapping[str, str], path: str, served: Mapping[str, Loaded]) -> dict[str, Any]:
        if self.state is None:
            raise Refusal(503, {"error": NO_STATE if self.state_error is None else self.state_error})
        unknown = sorted(set(query) - set(AUDIT_PARAMETERS))
        if unknown:
            raise Refusal(400, {"error": f"unknown parameter(s): {', '.join(unknown)}",
                                "hint": "since, policy, limit, after"})
        since, policy = query.get("since"), query.get("policy")
        limit = _whole(query.get("limit"), "limit", 1, MAX_PAGE, PAGE)
        after = _whole(query.get("after"), "after", 0, 2**62, 0)
        select = sa.select(assignments).where(assignments.c.seq > after)
        if policy is not None:
            select = select.where(assignments.c.policy_id == policy)
        if since is not None:
            loaded = served.get(policy) if policy is not None else None
            zone = zones.zone(loaded.policy.ir.timezone) if loaded is not None else ZoneInfo("UTC")
            select = select.where(assignments.c.at_us >= to_us(_since(since, zone)))
        try:
            with self.one_writer, self.state.engine.connect() as conn:
                rows = list(conn.execute(select.order_by(assignments.c.seq).limit(limit + 1)))
        except self.state_errors as exc:
            self.say(f"assignments: the state cannot be read: {_first_line(exc)}")
            raise Refusal(503, {"error": "the state cannot be read now; ask again"}) from None
        page = [_audit_row(row) for row in rows[:limit]]
        more = {**query, "after": str(page[-1]["seq"])} if len(rows) > limit else None
        return {"assignments": page, "next": None if more is None else path + "?" + _query_text(more)}


class OneWriter:
    """Assignments on a SQLite file take turns without polling: this process's threads on a lock, the processes
    sharing the file (`--workers N`) on an flock of `FILE.serve-lock` beside it, each woken when the one before is
    done. SQLite's own lock, found taken, makes a writer sleep and retry (1, 2, 5, 10 ... 100 ms), which made the
    slowest assignments of two workers on one file ten times slower. Without the lock file (a folder that cannot
    be written to), the threads still take turns."""

    def __init__(self, database: str | None):
        self.threads = threading.Lock()
        self.fd: int | None = None
        if database and database != ":memory:":
            with contextlib.suppress(OSError):
                self.fd = os.open(database + ".serve-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def __enter__(self) -> None:
        self.threads.acquire()
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.threads.release()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]


def _lead_id(given: Any, lead: dict[str, Any], field: str) -> str:
    """The lead id: the request's `id`, else the lead's id field, read as `assign` reads a leads file's."""
    try:
        return read_lead_id(given if given is not None else lead.get(field))
    except ValueError as exc:
        where = "" if given is not None else f" (the request gives no id, so the lead's {field!r} field is read)"
        raise Refusal(400, {"error": f"id: {exc}{where}"}) from None


def _instant(loaded: Loaded, text: str) -> dt.datetime:
    """An `at` as written: at its offset, else in the policy's zone (as `now`)."""
    try:
        return written_instant(text, zones.zone(loaded.policy.ir.timezone))
    except (ValueError, TypeError, OverflowError) as exc:
        raise Refusal(400, {"error": f"at: {exc}"}) from None


def _email(lead: dict[str, Any]) -> str | None:
    email = lead.get("email")
    return email if isinstance(email, str) and len(email) <= MAX_EMAIL and "\x00" not in email else None


def _stored(state: State, policy_id: str, lead_id: str) -> Outcome | None:
    """A lead routed to no team now, that a team was given earlier: asking again answers its member."""
    with state.transaction() as conn:
        stored = state.assigned(conn, policy_id, lead_id)
    return None if stored is None else Outcome(lead_id, stored.team, stored.member, ALREADY, (), stored.at)


def _assigned(lead_id: str, at: dt.datetime, outcome: Outcome | None) -> dict[str, Any]:
    """The assignment's part of the answer; a lead routed to no team has no team, assignee nor how."""
    if outcome is None:
        return {"id": lead_id, "at": at.isoformat(), "team": None, "assignee": None, "how": None, "skipped": []}
    return {"id": lead_id, "at": outcome.at.astimezone(at.tzinfo).isoformat(), "team": outcome.team,
            "assignee": outcome.assignee, "how": outcome.how, "skipped": list(outcome.skipped)}


def _whole(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise Refusal(400, {"error": f"{name}: a whole number from {low} to {high}, not {text[:40]!r}"})
    return int(text)


def _since(text: str, zone: ZoneInfo) -> dt.datetime:
    try:
        return written_instant(text, zone)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Refusal(400, {"error": f"since: {exc}"}) from None


def _audit_row(row: Any) -> dict[str, Any]:
    return {"seq": row.seq, "policy": row.policy_id, "id": row.lead_id, "team": row.team, "assignee": row.member,
            "at": from_us(row.at_us).isoformat(), "how": row.how, "version": row.version,
            "fingerprint": row.fingerprint}


def _query_text(query: Mapping[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(sorted(query.items()))
