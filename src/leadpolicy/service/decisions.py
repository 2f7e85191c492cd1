"""Deciding requests on the decision threads, never on the event loop: one request, or a batch item
by item, each answer encoded as it is made, and the decision log."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import json
import math
import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, TypeVar

from leadpolicy import zones
from leadpolicy.api import LeadError, Policy
from leadpolicy.language.diagnostics import escaped
from leadpolicy.semantics.events import value_kind
from leadpolicy.semantics.now import current, written_instant
from leadpolicy.service import bodies
from leadpolicy.service.metrics import Metrics
from leadpolicy.service.registry import Loaded

T = TypeVar("T")

DECISION_THREADS = 2  # requests decided at once per worker; more wait their turn, the event loop stays free
EVENT_SHAPE = "an event is {event, at}"
REQUEST_SHAPE = 'a request is {"lead": {...}, "events": [...], "now": "...", "explain": false}'
LOG_UNWRITABLE = "decision log cannot be written"


@dataclass
class Settings:
    paths: list[str]
    token: str | None = None
    max_body: int = 1 << 20  # bytes, for one decision
    max_batch_body: int = 8 << 20  # bytes, for a batch: fits max_batch_items requests of ~800 bytes
    max_batch_items: int = 10_000
    read_timeout: float = 30.0  # seconds for a request's body to arrive
    decision_log: Path | None = None
    log_leads: bool = False
    lead_id_field: str = "id"
    poll_seconds: float = 1.0
    state: str | None = None  # assignment's state: a SQLite file or a database URL (`--state`)
    availability: str | None = None  # files of assignment's run-time data (`--availability`, `--accounts`)
    accounts: str | None = None


def open_log(path: Path) -> BinaryIO:
    """The decision log, opened to append: a regular file (or a new one), a character device
    (`/dev/stdout` on a terminal, `/dev/null`) or a pipe that something reads (`/dev/stdout` of a
    container). Opening never waits: a pipe nothing reads and a socket are refused (OSError)
    before anything is written. Writes to a pipe then wait for its reader, on a decision thread."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY
                     | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO opened without waiting, with no reader
            raise OSError(errno.ENXIO, "a pipe with no reader") from None
        raise
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file, a device or a pipe")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "ab", buffering=0)  # unbuffered: a write that fails leaves nothing pending


class LogUnwritable(Exception):
    """The decision log refused a write (a full disk, /dev/full, a closed pipe): the decisions it should
    have recorded are answered 503, since a decision must not go unrecorded."""


class ShuttingDown(Exception):
    """The service stopped while a batch was being decided (after the shutdown grace period)."""


class Decider:
    """Decides requests on its own threads and writes the decision log."""

    def __init__(self, settings: Settings, metrics: Metrics):
        self.settings, self.metrics = settings, metrics
        self.log = open_log(settings.decision_log) if settings.decision_log else None
        self.log_lock = threading.Lock()
        self.log_failing = False  # said once on stdout when the log starts failing, again when it recovers
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=DECISION_THREADS, thread_name_prefix="leadpolicy-decide")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` on a decision thread."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, work, *args)

    def close(self) -> None:
        """Stop: batches still running stop at their next item; then the log is closed."""
        self.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.log is not None:
            self.log.close()

    def one(self, loaded: Loaded, raw: bytes) -> tuple[int, bytes]:
        """The answer to a `decide` body: (status, JSON)."""
        try:
            item, checked = bodies.parse(raw)
        except bodies.NotJson as exc:
            return 400, encode({"error": str(exc)})
        try:
            return self.answer(loaded, item, checked=checked)
        except LogUnwritable:
            return 503, encode({"error": LOG_UNWRITABLE})

    def batch(self, loaded: Loaded, raw: bytes, lines: bool) -> tuple[int, bytes]:
        """The answer to a `decide-batch` body: one answer per request, in order, encoded one by one."""
        limit = self.settings.max_batch_items
        try:
            items = bodies.batch_items(raw, lines, limit)
        except bodies.NotJson as exc:
            return 400, encode({"error": str(exc)})
        except bodies.TooManyItems:
            return 413, encode({"error": f"a batch holds at most {limit} requests (--max-batch-items)"})
        answers = []
        pending: list[bytes] = []  # the batch's log lines, written at once: one write, one hold of the lock
        try:
            for number, (item, checked) in enumerate(items, start=1):  # numbered from 1, as events and lines are
                if self.stopping.is_set():
                    raise ShuttingDown
                try:
                    answers.append(self.answer(loaded, item, number, pending, checked)[1])
                except Exception as exc:  # one request's bug is its own 500, never the whole batch's
                    print(f"leadpolicy serve: decide-batch item {number}: {type(exc).__name__}: "
                          f"{escaped(str(exc))}", flush=True)
                    answers.append(encode({"item": number, "error": "internal error"}))
        finally:
            try:
                self._append(pending)  # the decisions made, also of a batch stopped by shutdown
            except LogUnwritable:
                return 503, encode({"error": LOG_UNWRITABLE})
        head = encode({"policy": loaded.policy.id})[:-1]
        return 200, head + b',"results":[' + b",".join(answers) + b"]}"

    def answer(self, loaded: Loaded, item: Any, number: int | None = None,
               pending: list[bytes] | None = None, checked: bool = False) -> tuple[int, bytes]:
        """One request's answer, encoded; a decision is counted and logged only once its answer is made.
        In a batch (`number` given) an error names its item, and its log line goes to `pending`, which
        the batch writes at its end; `checked`: its text showed `bodies.refused` would find nothing.
        Raises LogUnwritable when the log refuses the line."""
        started = time.perf_counter()
        problem = None if checked else bodies.refused(item)
        status, out = (400, {"error": problem}) if problem else self.decide(loaded, item)
        took = time.perf_counter() - started
        encoded = encode(out if status == 200 or number is None else {"item": number, **out})
        if status == 200:
            if self.log is not None:
                line = self._log_line(loaded, item["lead"], out, took)
                if pending is None:
                    self._append([line])
                else:
                    pending.append(line)
            self.metrics.decisions.labels(loaded.policy.id, out["stage"] or "").inc()  # None: no stages
        return status, encoded

    def decide(self, loaded: Loaded, item: Any) -> tuple[int, dict[str, Any]]:
        """One request's answer: (200, the decision) or (400, why not)."""
        problem = _shape_problem(item)
        now = problem if problem is not None else _read_now(loaded.policy, item.get("now"))
        if isinstance(now, dict):
            return 400, now
        problem = _options_problem(loaded, item)
        if problem is not None:
            return 400, problem
        try:
            decision = loaded.policy.evaluate(item["lead"], now, events=item.get("events"))
        except LeadError as exc:
            return 400, {"error": "invalid lead", "fields": [{"field": e.field, "message": e.message}
                                                            for e in exc.errors]}
        except OverflowError:  # a window reaching past the years a date can hold
            return 400, {"error": "now: too far from the events' times to count them"}
        out = decision.as_dict(explain=item.get("explain") is True)
        out["fingerprint"] = loaded.policy.fingerprint
        return 200, out

    def record(self, loaded: Loaded, lead: dict[str, Any], out: dict[str, Any], took: float,
               assignment: dict[str, Any]) -> None:
        """One assigned decision in the log (with its assignment) and the metrics. Raises LogUnwritable."""
        if self.log is not None:
            self._append([self._log_line(loaded, lead, out, took, assignment)])
        self.metrics.decisions.labels(loaded.policy.id, out["stage"] or "").inc()  # None: no stages

    def _log_line(self, loaded: Loaded, lead: dict[str, Any], out: dict[str, Any], took: float,
                  assignment: dict[str, Any] | None = None) -> bytes:
        policy = loaded.policy
        record = {"time": dt.datetime.now(dt.timezone.utc).isoformat(), "policy": policy.id,
                  "fingerprint": policy.fingerprint, "lead_id": _plain_id(lead.get(self.settings.lead_id_field)),
                  "decision": {k: out[k] for k in ("scores", "grades", "stage", "owner", "route")},
                  "latency_ms": round(took * 1000, 3)}
        if assignment is not None:
            record["assignment"] = assignment
        if self.settings.log_leads:
            record["lead"] = _finite(lead)
        return (json.dumps(record, default=str, allow_nan=False) + "\n").encode("utf-8")

    def _append(self, lines: list[bytes]) -> None:
        """Write log lines in one write (or as few as a pipe takes), under the lock so lines of two
        threads never interleave. Raises LogUnwritable, counted and said on stdout, when the log fails."""
        if not lines or self.log is None:
            return
        data = memoryview(b"".join(lines))
        with self.log_lock:
            try:
                while data:
                    written = self.log.write(data)
                    if not written:
                        raise OSError(errno.EIO, "nothing written")
                    data = data[written:]
            except (OSError, ValueError) as exc:  # ValueError: the log was closed at shutdown
                self.metrics.decision_log_errors.inc()
                if not self.log_failing:
                    self.log_failing = True
                    print(f"leadpolicy serve: the decision log cannot be written: {escaped(str(exc))}; "
                          "decisions are answered 503 until it can", flush=True)
                raise LogUnwritable from None
            if self.log_failing:
                self.log_failing = False
                print("leadpolicy serve: the decision log is written again", flush=True)


def _shape_problem(item: Any) -> dict[str, Any] | None:
    """Why a request is not {lead, events, now, explain} with a lead object and a text or no now."""
    if not isinstance(item, dict) or not isinstance(item.get("lead"), dict):
        return {"error": REQUEST_SHAPE}
    unknown = sorted(set(item) - {"lead", "events", "now", "explain"})
    if unknown:
        return {"error": f"unknown request field(s): {', '.join(unknown)}"}
    if item.get("now") is not None and not isinstance(item["now"], str):
        return {"error": f"now: an ISO 8601 timestamp in a string, not {value_kind(item['now'])}"}
    return None


def _read_now(policy: Policy, now: str | None) -> dt.datetime | dict[str, Any]:
    """The request's now as the CLI reads `--now` (`semantics.now`): the instant at the offset it was written
    with, else the policy's zone's then, and so answered; or the problem with it, in the CLI's words."""
    zone = zones.zone(policy.ir.timezone)
    try:
        return current(zone) if now is None else written_instant(now, zone)
    except (ValueError, TypeError, OverflowError) as exc:
        return {"error": f"now: {exc}"}


def _options_problem(loaded: Loaded, item: dict[str, Any]) -> dict[str, Any] | None:
    """Why a request's explain or events cannot be used (events of the wrong shape name their item)."""
    if item.get("explain") is not None and not isinstance(item["explain"], bool):
        return {"error": f"explain: true or false, not {value_kind(item['explain'])}"}
    events = item.get("events")
    if events is not None and not isinstance(events, list):
        return {"error": "events: a list of {event, at}"}
    if events and not loaded.uses_events:
        return {"error": f"events: policy {loaded.policy.id} declares no events and counts none"}
    shapeless = [n for n, event in enumerate(events or (), start=1) if not isinstance(event, dict)]
    if shapeless:
        return {"error": "invalid lead", "fields": [{"field": f"events/{n}", "message": EVENT_SHAPE}
                                                    for n in shapeless]}
    return None


def _plain_id(value: Any) -> str | int | float | None:
    """A lead id as the log names it: text or a finite number; anything else (an object, a list,
    true, infinity) is no id, so lead data never reaches the log through it."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return value if isinstance(value, float) and math.isfinite(value) else None


def _finite(value: Any) -> Any:
    """A lead as JSON can hold it: a number too large for a float (1e400) is written as text.
    Recursive, as the lead was refused beyond bodies.MAX_DEPTH levels before it was decided."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return [_finite(v) for v in value] if isinstance(value, list) else value


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def encode(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")
