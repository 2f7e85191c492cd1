"""Loaded policies: compiled artifacts and policy files behind one small API.

    >>> import leadpolicy
    >>> policy = leadpolicy.load("policies/inbound-b2b.policy")
    >>> decision = policy.evaluate({"email": "ana@bigsoft.io", "employees": 1200,
    ...                             "industry": "software", "demo_requested": True},
    ...                            now="2026-11-20T12:00:00-05:00")
    >>> decision.stage, decision.route, decision.scores
    ('sql', 'enterprise-ae', {'fit': 50, 'engagement': 40})
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from leadpolicy import zones
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import render_all
from leadpolicy.runtime import checked_instant, read_instant
from leadpolicy.semantics import ir
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.codegen import INVALID, compile_evaluator
from leadpolicy.semantics.events import EventReader, value_kind
from leadpolicy.semantics.ir import FORMAT, FORMAT_VERSION, dumps
from leadpolicy.semantics.leads import FieldError, LeadReader
from leadpolicy.semantics.linemap import places
from leadpolicy.semantics.lowering import fingerprint, lower

if TYPE_CHECKING:  # the interpreter is imported when a decision is first explained
    from leadpolicy.semantics.interpreter import Decision as Interpreted


# A lead without events shares this one: a decision holding a list of its own would be one more object for
# the garbage collector to track and scan per lead (measured: a tenth of Policy.evaluate's time).
NO_EVENTS: tuple[tuple[str, dt.datetime], ...] = ()


class PolicyError(ValueError):
    """A policy or artifact that cannot be loaded; the message says why."""


class LeadError(ValueError):
    """A lead that does not fit the policy's schema."""

    def __init__(self, errors: list[FieldError], index: int | None = None):
        self.errors = errors
        self.index = index
        where = f"lead {index}: " if index is not None else ""
        super().__init__(where + "; ".join(str(e) for e in errors))


@functools.lru_cache(maxsize=1)
def artifact_schema() -> dict[str, Any]:
    text = resources.files("leadpolicy").joinpath("schemas/artifact.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class Decision:
    """What a policy decides about one lead. Breakdown and explanation are worked out on first use."""

    __slots__ = ("policy", "values", "now", "_scores", "_grades", "stage", "owner", "route", "_explained", "events")

    def __init__(self, policy: "Policy", values: Mapping[str, Any] | None, now: dt.datetime, scores: dict[str, int],
                 grades: dict[str, str | None], stage: str | None, owner: str | None, route: str | None,
                 explained: Interpreted | None = None, events: Iterable[tuple[str, dt.datetime]] = ()):
        # one store a line: tuple assignments of five build and unpack a tuple, on every decision
        self.policy = policy
        self.values = values
        self.now = now
        self.events = events
        self._scores = scores
        self._grades = grades
        self.stage = stage
        self.owner = owner
        self.route = route
        self._explained = explained

    @property
    def scores(self) -> dict[str, int]:
        """Each score's value, by name."""
        return self._scores.copy()

    @property
    def grades(self) -> dict[str, str | None]:
        """Each grade's label (None when no entry matched), by name."""
        return self._grades.copy()

    def _interpreted(self) -> Interpreted:
        if self._explained is None:
            from leadpolicy.semantics.interpreter import evaluate

            values, _ = self.policy._reader.read(self.values or {})
            self._explained = evaluate(self.policy.ir, values, self.now, Activity(self.events))
        return self._explained

    @property
    def breakdown(self) -> dict[str, dict[str, Any]]:
        """Per score: rules with their points, decay factor and periods, what the clamp changed."""
        return {k: v.as_dict() for k, v in self._interpreted().scores.items()}

    @property
    def explanation(self) -> list[str]:
        return list(self._interpreted().explanation)

    def as_dict(self, explain: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy.id, "version": self.policy.version, "now": self.now.isoformat(),
               "scores": dict(self.scores), "grades": dict(self.grades), "stage": self.stage, "owner": self.owner,
               "route": self.route}
        if explain:
            out["breakdown"] = self.breakdown
            out["explanation"] = self.explanation
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and self.as_dict(explain=False) == other.as_dict(explain=False)

    def __repr__(self) -> str:
        return f"Decision(stage={self.stage!r}, route={self.route!r}, scores={self.scores!r}, grades={self.grades!r})"


@dataclass(slots=True)
class Result:
    """One lead of `evaluate_many`: a decision, or the errors that kept it from one."""

    index: int
    decision: Decision | None = None
    errors: list[FieldError] | tuple[()] = ()

    @property
    def ok(self) -> bool:
        return self.decision is not None


class Policy:
    """A checked, compiled policy, ready to evaluate leads."""

    def __init__(self, tree: ast.Policy, policy_ir: ir.Policy, file: str | None = None):
        """`file` names the policy's source in the notes of exceptions from its generated code."""
        self.tree = tree
        self.ir = policy_ir
        self._evaluate, self.python_source = compile_evaluator(policy_ir, places(tree), file)
        self._reader = LeadReader(policy_ir)
        self._event_reader = EventReader(policy_ir)
        self._tz = zones.zone(policy_ir.timezone)
        self._stages = [(s.name, s.owner) for s in policy_ir.stages]

    @property
    def id(self) -> str:
        return self.ir.id

    @property
    def version(self) -> str:
        return self.ir.version

    @property
    def fingerprint(self) -> str:
        return self.ir.fingerprint

    @property
    def title(self) -> str | None:
        return self.ir.title

    @property
    def lead_schema(self) -> dict[str, Any]:
        return self.ir.lead_schema

    def instant(self, now: dt.datetime | str | None) -> dt.datetime:
        """The instant `now` names, as every lead's timestamps are read (a text or naive time in the policy's
        timezone; the current time when None). Raises ValueError for a time that cannot be read."""
        if isinstance(now, dt.datetime) and now.tzinfo is not None:  # the common case first
            return checked_instant(now)  # its year checked as a written `now`'s is
        if now is None:
            return dt.datetime.now(dt.timezone.utc)
        if isinstance(now, str):
            return read_instant(now, self._tz)
        if isinstance(now, dt.date):
            return read_instant(now.isoformat(), self._tz)
        raise ValueError(f"now must be a datetime, a date or ISO 8601 text, not {value_kind(now)}")

    def validate(self, lead: Mapping[str, Any]) -> list[FieldError]:
        """The schema errors of a lead (empty when it fits)."""
        return self._reader.read(lead)[1]

    def _declined(self, lead: Mapping[str, Any], now: dt.datetime, index: int | None,
                  events: Iterable[tuple[str, dt.datetime]]) -> Decision:
        """A lead the generated function declined: the schema validator says why, or the interpreter decides."""
        values, errors = self._reader.read(lead)
        if errors:
            raise LeadError(errors, index)
        from leadpolicy.semantics.interpreter import evaluate

        d = evaluate(self.ir, values, now, Activity(events))
        return Decision(self, lead, now, {k: v.value for k, v in d.scores.items()}, dict(d.grades),
                        d.stage or None, d.owner or None, d.route, d, events)  # "": no stage (a policy has none)

    def _decided(self, lead: Mapping[str, Any], at: dt.datetime, index: int | None,
                 events: Iterable[tuple[str, dt.datetime]]) -> Decision:
        """Decide, or decline to the interpreter: the one place. The generated function decides a lead it can
        read; a lead it declines (or that is no mapping) goes to the schema reader and the interpreter."""
        out = self._evaluate(lead, at, events) if lead.__class__ is dict or isinstance(lead, Mapping) else INVALID
        if out is INVALID:
            return self._declined(lead, at, index, events)
        stage, owner = self._stages[out[2]] if out[2] is not None else (None, None)  # a policy without stages
        return Decision(self, lead, at, out[0], out[1], stage, owner, out[3], None, events)

    def _events(self, events: Iterable[Any] | None, index: int | None,
                now: dt.datetime) -> Sequence[tuple[str, dt.datetime]]:
        """A lead's events read and checked; a bad one (or one repeating an earlier row) is a LeadError naming
        `events/ROW/FIELD`."""
        if not events:
            return NO_EVENTS
        pairs, errors = self._event_reader.read(events, now)
        if errors:
            raise LeadError([FieldError(f"events/{e.row}" + (f"/{e.field}" if e.field else ""), e.message)
                             for e in errors], index)
        return pairs

    def evaluate(self, lead: Mapping[str, Any], now: dt.datetime | str | None = None,
                 events: Iterable[Any] | None = None) -> Decision:
        """Decide one lead, given what it did (`events`: `{"event": NAME, "at": TIME}` items).
        Raises LeadError naming the fields when the lead or an event does not fit."""
        at = self.instant(now)
        return self._decided(lead, at, None, self._events(events, None, at) if events else NO_EVENTS)

    def evaluate_many(self, leads: Iterable[Mapping[str, Any]], now: dt.datetime | str | None = None,
                      events: Mapping[Any, Iterable[Any]] | None = None, id_field: str = "id") -> Iterator[Result]:
        """Decide a stream of leads lazily; a bad lead gives an error result, never a crash of the batch.
        `events` maps a lead's id (its `id_field` value) to what that lead did."""
        at, decided, read_events = self.instant(now), self._decided, self._events
        for index, lead in enumerate(leads):
            try:
                read = (read_events(events.get(lead.get(id_field)), index, at)
                        if events is not None and isinstance(lead, Mapping) else NO_EVENTS)
                result = Result(index, decided(lead, at, index, read))
            except LeadError as exc:
                result = Result(index, errors=exc.errors)
            yield result

    def row(self, lead: Mapping[str, Any], at: dt.datetime, events: Iterable[tuple[str, dt.datetime]]) -> list[Any]:
        """A lead's computed columns as batch scoring writes them: each score, each grade, stage, owner, route.
        `at` is an instant (see `instant`); `events` are read already, as (name, instant) pairs."""
        decision = self._decided(lead, at, None, events)
        return [*decision._scores.values(), *decision._grades.values(), decision.stage, decision.owner,
                decision.route]

    def artifact(self) -> dict[str, Any]:
        """The compiled artifact: the IR plus the canonical source it was compiled from."""
        from leadpolicy.language.formatter import format_policy

        return {**ir.artifact_ir(self.ir), "source": format_policy(self.tree)}

    def artifact_json(self) -> str:
        return dumps(self.artifact())


def from_tree(tree: ast.Policy, file: str | None = None) -> Policy:
    """A Policy from the syntax tree of a policy that checked without errors (see semantics.loading);
    `file`, when given, is where the tree was read from."""
    return Policy(tree, lower(tree), file)


def load(source: str | Path | Mapping[str, Any]) -> Policy:
    """A Policy from a `.policy` file, a compiled artifact (`.json` path), or an artifact mapping.

    Raises PolicyError with every diagnostic when the policy has errors, or when an artifact
    is malformed, of an unknown or newer major format, or tampered with.
    """
    if isinstance(source, Mapping):
        return _from_artifact(source, "<artifact>")
    path = Path(source)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise PolicyError(f"{path}: not a readable compiled policy: {exc}") from None
        return _from_artifact(data, str(path))
    from leadpolicy.semantics.loading import load_policy

    loaded = load_policy(path)
    if loaded.has_errors:
        raise PolicyError(render_all([d for d in loaded.diagnostics if d.is_error], {loaded.file: loaded.source}))
    assert loaded.policy is not None  # has_errors is true without a tree
    return from_tree(loaded.policy, str(path))


def _from_artifact(data: Mapping[str, Any], name: str) -> Policy:
    try:
        return _checked_artifact(data, name)
    except PolicyError:
        raise
    except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
        # Whatever else a malformed file makes the checks below trip on, it is still a refused artifact.
        raise PolicyError(f"{name}: not a valid compiled policy ({type(exc).__name__}: {str(exc)[:200]})") from None


def _checked_artifact(data: Mapping[str, Any], name: str) -> Policy:
    """The Policy of an artifact that is what `compile` writes, for its own source; PolicyError otherwise."""
    _check_format(data, name)
    _check_schema(data, name)
    source = data["source"]
    if "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest() != data["fingerprint"]:
        raise PolicyError(f"{name}: fingerprint mismatch: the source was changed after compiling")
    tree = _source_tree(source, name)
    # The IR must be exactly the source's; which minor format and time-zone data compiled it does not matter.
    unchecked = ("source", "tz_database", "format_version")
    given = {k: v for k, v in data.items() if k not in unchecked}
    for optional in ir.OPTIONAL_TOP_LEVEL:  # format 3.1 had no guarantees, 3.2 no teams, nor could their sources
        given.setdefault(optional, [])
    lowered = lower(tree)
    expected = {k: v for k, v in ir.artifact_ir(lowered).items() if k not in unchecked}
    same = json.loads(dumps(given)) == json.loads(dumps(expected))
    if not same or fingerprint(tree) != data["fingerprint"]:
        raise PolicyError(f"{name}: the compiled form does not match its source (tampered, or compiled by another "
                          "leadpolicy); recompile it")
    return Policy(tree, lowered, f"{name} (its source)")


def _check_format(data: Mapping[str, Any], name: str) -> None:
    """A JSON object of leadpolicy's format, in a format version this leadpolicy reads."""
    if not isinstance(data, Mapping):
        raise PolicyError(f"{name}: a compiled policy is a JSON object")
    if data.get("format") != FORMAT:
        raise PolicyError(f"{name}: not a leadpolicy compiled policy (format {data.get('format')!r})")
    version = data.get("format_version")
    if not (isinstance(version, list) and version and all(type(v) is int and 0 <= v < 10**6 for v in version)):
        raise PolicyError(f"{name}: no format_version (a list of whole numbers, as [1, 0])")
    if version[0] != FORMAT_VERSION[0] or list(version) > FORMAT_VERSION:
        raise PolicyError(f"{name}: format version {'.'.join(map(str, version))} is not supported by this "
                          f"leadpolicy (it reads {FORMAT_VERSION[0]}.x up to {'.'.join(map(str, FORMAT_VERSION))}); "
                          "upgrade leadpolicy or recompile")


def _check_schema(data: Mapping[str, Any], name: str) -> None:
    """The artifact follows schemas/artifact.schema.json; the first place it does not is named."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(artifact_schema()).iter_errors(dict(data)), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "the artifact"
        raise PolicyError(f"{name}: does not follow the artifact schema at {where}: {first.message}"
                          + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


def _source_tree(source: str, name: str) -> ast.Policy:
    """The syntax tree of an artifact's source, which must check without errors."""
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(source, name)
    if loaded.has_errors or loaded.policy is None:
        raise PolicyError(f"{name}: its source has errors:\n"
                          + render_all([d for d in loaded.diagnostics if d.is_error], {name: source}))
    return loaded.policy
