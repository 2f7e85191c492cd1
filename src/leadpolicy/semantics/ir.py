"""The typed intermediate representation: every evaluator reads it, and the artifact is its JSON.

Each semantic decision is made once, when a checked policy is lowered (`lowering.py`), and
recorded on the nodes below: how a comparison folds its operands (`Fold`), the kind of text
match, whether an operand can be missing, each operand's type, whether a score's points are
whole. The interpreter, the Python generator and the SQL generator each have one visit per
node and decide nothing again.

The artifact JSON is derived from these dataclasses (`to_json`): field by field, with a
`"node"` tag on the members of a union (operands, conditions, rules, steps). Its JSON Schema
(`schemas/artifact.schema.json`) is checked against the same classes by a test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Union

from leadpolicy.language import symbols
from leadpolicy.language.types import Type
from leadpolicy.language.visitor import TreeNode

FORMAT = "leadpolicy/compiled"
FORMAT_VERSION = [3, 3]  # 3.1: tz_database, the time-zone data of the leadpolicy that compiled it; 3.2: guarantees;
# 3.3: teams


class Fold(enum.StrEnum):
    """What a comparison does to its operands before comparing them."""

    NONE = "none"  # compare the values as they are
    CASE = "case"  # text: compare `logic.fold` of both sides
    LOCAL_DATE = "local date"  # a timestamp with a date: compare the timestamp's date in the policy's timezone


class Op(enum.StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def negated(self) -> "Op":
        """not (a OP b), when both sides are known."""
        return _NEGATED[self]


_NEGATED = {Op.EQ: Op.NE, Op.NE: Op.EQ, Op.LT: Op.GE, Op.LE: Op.GT, Op.GT: Op.LE, Op.GE: Op.LT}


class Match(enum.StrEnum):
    """The kind of a text match; all ignore case."""

    CONTAINS = "contains"
    CONTAINS_ANY = "contains_any"
    STARTS = "starts"
    ENDS = "ends"


class RefKind(enum.StrEnum):
    FIELD = "field"
    SCORE = "score"
    GRADE = "grade"
    DECIDED = "decided"  # inside guarantees only: the decided `stage`, `route`, `owner` or `handoff`


DECIDED_NAMES = symbols.DECIDED_NAMES  # what a guarantee's conditions may read of the decision


class Node(TreeNode):
    """Base of every IR node (the subclasses are frozen dataclasses)."""

    __slots__ = ()
    tagged = False  # members of a union carry a "node" tag in JSON


class Tagged(Node):
    __slots__ = ()
    tagged = True


# ---------------------------------------------------------------- operands


@dataclass(frozen=True, slots=True)
class Const(Tagged):
    """A constant: Decimal for numbers, str, bool, or datetime.date."""

    value: Decimal | str | bool | dt.date
    type: Type
    text: str  # as written in the policy's canonical form


@dataclass(frozen=True, slots=True)
class Ref(Tagged):
    """A lead field, a score or a grade, by name."""

    name: str
    kind: RefKind
    type: Type
    nullable: bool
    text: str


@dataclass(frozen=True, slots=True)
class DaysSince(Tagged):
    """Whole days from a date or timestamp field to the evaluation time (a number)."""

    field: str
    of: Type  # DATE: calendar days in the policy's timezone; TIMESTAMP: elapsed 24-hour days, rounded down
    nullable: bool
    text: str
    type: Type = Type.NUMBER


@dataclass(frozen=True, slots=True)
class EventCount(Tagged):
    """How many EVENT events have `now - days×24h < at <= now` (a number, never missing)."""

    event: str
    days: Decimal
    text: str
    type: Type = Type.NUMBER
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class DaysSinceEvent(Tagged):
    """Whole 24-hour days from the latest EVENT at or before `now`; missing when there is none."""

    event: str
    text: str
    type: Type = Type.NUMBER
    nullable: bool = True


Operand = Union[Const, Ref, DaysSince, EventCount, DaysSinceEvent]

# ---------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Compare(Tagged):
    op: Op
    left: Operand
    right: Operand
    fold: Fold
    false_when_blank: bool  # FALSE (not unknown) when its text operand is blank: see sqlgen's raw columns
    text: str


@dataclass(frozen=True, slots=True)
class Between(Tagged):
    """Inclusive on both ends: value >= low and value <= high."""

    value: Operand
    low: Operand
    high: Operand
    fold: Fold
    text: str


@dataclass(frozen=True, slots=True)
class InList(Tagged):
    value: Operand
    options: tuple[Const, ...]
    negated: bool
    fold: Fold
    false_when_blank: bool
    text: str


@dataclass(frozen=True, slots=True)
class TextMatch(Tagged):
    """Ignores case: the needles are compared folded (`folded`), the value is folded when evaluated."""

    how: Match
    value: Operand
    needles: tuple[str, ...]
    folded: tuple[str, ...]
    false_when_blank: bool
    text: str


@dataclass(frozen=True, slots=True)
class IsMissing(Tagged):
    """`is missing` (or `is present` when negated); never unknown."""

    value: Operand
    negated: bool
    text: str


@dataclass(frozen=True, slots=True)
class Truthy(Tagged):
    """A yes/no operand used as a condition."""

    value: Operand
    text: str


@dataclass(frozen=True, slots=True)
class And(Tagged):
    items: tuple["Condition", ...]
    text: str


@dataclass(frozen=True, slots=True)
class Or(Tagged):
    items: tuple["Condition", ...]
    text: str


@dataclass(frozen=True, slots=True)
class Not(Tagged):
    item: "Condition"
    text: str


@dataclass(frozen=True, slots=True)
class Happened(Tagged):
    """`EVENT in last N days`: the count is at least 1 (never unknown)."""

    count: EventCount
    text: str


Condition = Union[Compare, Between, InList, TextMatch, IsMissing, Truthy, Happened, And, Or, Not]
ATOMS = (Compare, Between, InList, TextMatch, IsMissing, Truthy, Happened)

# ---------------------------------------------------------------- lead, scores, grades, stages, routes


@dataclass(frozen=True, slots=True)
class Field(Node):
    name: str
    type: Type
    choices: tuple[str, ...]
    required: bool
    default: int | float | str | bool | None  # as JSON, read like a lead's value


@dataclass(frozen=True, slots=True)
class PointsRule(Tagged):
    points: Decimal
    condition: Condition
    reason: str | None
    label: str  # the reason, or the condition's text


@dataclass(frozen=True, slots=True)
class PerRule(Tagged):
    """Points per whole unit of a number field, a score above, or an event count (negative counts as
    none), capped at ±cap."""

    points: Decimal
    per: Union[Ref, EventCount]
    cap: Decimal
    reason: str | None
    label: str


Rule = Union[PointsRule, PerRule]


@dataclass(frozen=True, slots=True)
class Decay(Node):
    percent: Decimal
    every_days: Decimal
    since: Union[DaysSince, DaysSinceEvent]


@dataclass(frozen=True, slots=True)
class Clamp(Node):
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class Score(Tagged):
    name: str
    label: str | None
    rules: tuple[Rule, ...]
    decay: Decay | None
    clamp: Clamp | None
    whole: bool  # every points and cap value is a whole number: totals are exact integers
    scale: int  # the most decimal places of any points or cap value
    bound: Decimal  # the largest total in absolute value (a decayed total never exceeds it)


@dataclass(frozen=True, slots=True)
class Entry(Node):
    """A grade or route entry; no condition means `otherwise`."""

    label: str
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class Grade(Tagged):
    name: str
    source: str
    entries: tuple[Entry, ...]


Step = Union[Score, Grade]


@dataclass(frozen=True, slots=True)
class Stage(Node):
    name: str
    owner: str
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class Route(Node):
    stages: tuple[str, ...]
    stage_indices: tuple[int, ...]  # positions in the policy's stages
    entries: tuple[Entry, ...]


# ---------------------------------------------------------------- calendars, SLAs, recycling


@dataclass(frozen=True, slots=True)
class OpenHours(Node):
    days: tuple[tuple[int, int], ...]  # (first, last) weekdays, 0 = Monday; last may be before first
    ranges: tuple[tuple[str, str], ...]  # ("09:00", "17:00")


@dataclass(frozen=True, slots=True)
class HolidaySource(Node):
    country: str
    subdivision: str | None


@dataclass(frozen=True, slots=True)
class Calendar(Node):
    name: str
    timezone: str
    open: tuple[OpenHours, ...]
    holidays: tuple[HolidaySource, ...]
    closed: tuple[dt.date, ...]


@dataclass(frozen=True, slots=True)
class Clock(Node):
    starts: tuple[str, ...]  # the first of them starts the clock
    stops: tuple[str, ...]
    each_time: bool  # a new clock at every start while none is open


@dataclass(frozen=True, slots=True)
class Limit(Node):
    amount: Decimal
    unit: str  # minutes, hours, days, business hours, business days
    calendar: str | None


@dataclass(frozen=True, slots=True)
class Tier(Node):
    """A limit that applies when its condition is true at the clock's start."""

    limit: Limit
    condition: Condition


@dataclass(frozen=True, slots=True)
class Pause(Node):
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class Escalation(Node):
    to: str
    percent: Decimal


@dataclass(frozen=True, slots=True)
class CountRule(Node):
    at_least: Decimal
    event: str
    within: Limit
    after: str


@dataclass(frozen=True, slots=True)
class VolumeRule(Node):
    at_least: Decimal
    event: str
    per: str


@dataclass(frozen=True, slots=True)
class NeedsReason(Node):
    event: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sla(Node):
    name: str
    label: str | None
    kind: str  # clock, count, volume
    owner: str | None
    clock: Clock | None
    limit: Limit | None  # the only limit, or the `otherwise` tier's
    tiers: tuple[Tier, ...]  # the tiers with a condition, in order
    target: Decimal | None
    counts: tuple[CountRule, ...]
    volumes: tuple[VolumeRule, ...]
    reasons: tuple[NeedsReason, ...]
    pauses: tuple[Pause, ...]
    warn_at: Decimal | None
    escalations: tuple[Escalation, ...]


@dataclass(frozen=True, slots=True)
class RecycleRule(Node):
    event: str
    reason: str
    stage: str
    after_days: Decimal


@dataclass(frozen=True, slots=True)
class Owner(Node):
    team: str
    person: str


@dataclass(frozen=True, slots=True)
class EventDecl(Node):
    name: str
    label: str | None


@dataclass(frozen=True, slots=True)
class Outcome(Node):
    kind: str  # won, lost
    events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy(Node):
    """A checked policy, lowered."""

    id: str
    version: str
    fingerprint: str
    title: str | None
    owners: tuple[Owner, ...]
    timezone: str
    effective: str | None
    lead_schema: dict[str, Any]  # the JSON Schema of a lead
    fields: tuple[Field, ...]
    steps: tuple[Step, ...]  # scores and grades in source order: each sees those before it
    stages: tuple[Stage, ...]
    routes: tuple[Route, ...]
    calendars: tuple[Calendar, ...]
    slas: tuple[Sla, ...]
    recycle: tuple[RecycleRule, ...]
    events: tuple[EventDecl, ...]
    declares_events: bool  # with an events block, event-log rows of another name are rejected
    outcomes: tuple[Outcome, ...]
    guarantees: tuple[Guarantee, ...] = ()  # none in an artifact of format 3.1
    teams: tuple[Team, ...] = ()  # none in an artifact of format 3.2 or before

    @property
    def scores(self) -> tuple[Score, ...]:
        return tuple(s for s in self.steps if isinstance(s, Score))

    @property
    def grades(self) -> tuple[Grade, ...]:
        return tuple(s for s in self.steps if isinstance(s, Grade))

    @property
    def activity(self) -> tuple[EventCount | DaysSinceEvent, ...]:
        """Every distinct operand the decisions read of a lead's events (the nodes of the table's derived-inputs
        row, `primitives.WINDOWS`: event windows and `days since last`), in first-use order."""
        from leadpolicy.semantics.primitives import WINDOWS  # the table is built over this module's nodes

        parts = (*self.steps, *self.stages, *self.routes)
        return tuple(dict.fromkeys(n for part in parts for n in part.walk() if type(n) in WINDOWS.nodes))

    def __hash__(self) -> int:  # lead_schema is a dict; the fingerprint names the policy
        return hash(self.fingerprint)


# ---------------------------------------------------------------- guarantees


class ClaimKind(enum.StrEnum):
    HOLDS = "holds"  # CONDITION: true for every lead
    IMPLIES = "implies"  # CONDITION implies CONDITION: where the first is true, so is the second
    NEVER_DECREASES = "never decreases"  # SCORE never decreases with X
    NEVER_INCREASES = "never increases"  # SCORE never increases with X
    HANDOFF_KEPT = "handoff never lost"  # handoff never lost with X


@dataclass(frozen=True, slots=True)
class Guarantee(Node):
    """A claim both teams rely on, for every lead the lead block admits, every `now` and every history of
    declared events at or before it. Its conditions may read the decided values (`Ref` of kind DECIDED)."""

    name: str
    kind: ClaimKind
    condition: Condition | None  # HOLDS: the condition; IMPLIES: the premise
    then: Condition | None  # IMPLIES: the conclusion
    score: str | None  # NEVER_DECREASES, NEVER_INCREASES: the score compared
    along: str | None  # the monotone claims: the field that grows, or the event there is one more of
    along_event: bool  # `along` names an event, not a field
    text: str  # the claim in canonical form


# ---------------------------------------------------------------- teams


class AssignHow(enum.StrEnum):
    ROUND_ROBIN = "round robin"  # the next available member in listed order after the last assigned
    BY_WEIGHT = "by weight"  # smooth weighted round robin over the available members
    LEAST_LOADED = "least loaded today"  # the available member with the fewest leads in the current cap day


@dataclass(frozen=True, slots=True)
class Member(Node):
    """A person of a team. Run-time data (availability, accounts) names one by `email`, by `name` or as written
    (`person`)."""

    person: str  # as written: "Name <email>"
    name: str
    email: str
    weight: int  # 0 pauses the member
    cap: int | None  # leads at most per `cap_per`, counted in the member's calendar zone
    cap_per: str | None  # "day" or "week" (ISO, Monday first)
    calendar: str | None  # the member's own working hours; None: the team's


@dataclass(frozen=True, slots=True)
class Team(Node):
    """Who gets a lead routed to the label `name`: a member chosen as `assign` says among those available (at work
    on their calendar, not out of office, under their cap, weight above 0), a known account's owner first with
    `match_accounts`; with nobody available the lead falls back to the team `fallback`, or is held (None)."""

    name: str
    label: str | None
    calendar: str | None
    assign: AssignHow
    members: tuple[Member, ...]
    match_accounts: bool
    fallback: str | None


# ---------------------------------------------------------------- JSON


def dec(value: Decimal) -> str:
    """An exact decimal as text, never in exponent form."""
    return format(value, "f")


def to_json(value: Any) -> Any:
    """The JSON form of an IR value, derived from the dataclass fields."""
    if isinstance(value, Node):
        out: dict[str, Any] = {"node": type(value).__name__} if value.tagged else {}
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            out[f.name] = to_json(getattr(value, f.name))
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, Decimal):
        return dec(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return value
    raise TypeError(f"no JSON form for {type(value).__name__}")


def artifact_ir(policy: Policy) -> dict[str, Any]:
    """The artifact's fields besides its source: format, version, the time-zone data it was compiled with,
    then the policy's IR."""
    from leadpolicy import zones

    return {"format": FORMAT, "format_version": list(FORMAT_VERSION), "tz_database": zones.database_version(),
            **to_json(policy)}


OPTIONAL_TOP_LEVEL = ("guarantees", "teams")  # none in an artifact of format 3.1 (3.2: no teams), still read
TOP_LEVEL_PATTERNS = {"id": "^[a-z0-9]+(-[a-z0-9]+)*$", "version": "^[0-9]+\\.[0-9]+\\.[0-9]+([-+].*)?$",
                      "fingerprint": "^sha256:[0-9a-f]{64}$"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an artifact, derived from the dataclasses as `to_json` derives the JSON."""
    defs: dict[str, Any] = {
        "decimal": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
        "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    }

    def of(tp: Any) -> dict[str, Any]:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        simple = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null", dict: "object"}
        if tp in simple:
            return {"type": simple[tp]}
        if origin is dict:
            return {"type": "object"}
        if tp is Decimal:
            return {"$ref": "#/$defs/decimal"}
        if tp is dt.date:
            return {"$ref": "#/$defs/date"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if isinstance(tp, type) and issubclass(tp, Node):
            if tp.__name__ not in defs:
                defs[tp.__name__] = {}  # placeholder: a node may contain itself
                defs[tp.__name__] = node_schema(tp)
            return {"$ref": f"#/$defs/{tp.__name__}"}
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": of(args[0])}
        if origin is tuple:
            return {"type": "array", "prefixItems": [of(a) for a in args], "minItems": len(args),
                    "maxItems": len(args)}
        if origin in (Union, types.UnionType):
            nodes = [a for a in args if isinstance(a, type) and issubclass(a, Tagged)]
            others = [of(a) for a in args if a not in nodes]
            if not nodes:
                return {"anyOf": others}
            # Tagged nodes: the tag picks the branch, so an error is reported inside the node, not at the union.
            tagged = {"type": "object", "required": ["node"],
                      "properties": {"node": {"enum": [n.__name__ for n in nodes]}},
                      "allOf": [{"if": {"properties": {"node": {"const": n.__name__}}}, "then": of(n)} for n in nodes]}
            return {"anyOf": [*others, tagged]} if others else tagged
        raise TypeError(f"no JSON Schema for {tp!r}")

    def node_schema(cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {"node": {"const": cls.__name__}} if cls.tagged else {}  # type: ignore[attr-defined]
        for f in dataclasses.fields(cls):
            properties[f.name] = of(hints[f.name])
        return {"type": "object", "required": list(properties), "additionalProperties": False,
                "properties": properties}

    top = node_schema(Policy)
    for name, pattern in TOP_LEVEL_PATTERNS.items():
        top["properties"][name] = {"type": "string", "pattern": pattern}
    top["properties"] = {"format": {"const": FORMAT},
                         "format_version": {"type": "array", "items": {"type": "integer", "minimum": 0},
                                            "minItems": 2, "maxItems": 2},
                         **top["properties"], "source": {"type": "string", "minLength": 1}}
    top["required"] = [name for name in top["properties"] if name not in OPTIONAL_TOP_LEVEL]
    # Not required: artifacts of format 3.0 have none. Recorded for audits, never compared (leadpolicy.zones).
    top["properties"]["tz_database"] = {"type": "string", "pattern": "^[0-9]{4}[a-z]+$"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:leadpolicy:artifact:{FORMAT_VERSION[0]}",
            "title": "leadpolicy compiled policy",
            "description": "The artifact written by `leadpolicy compile`: the typed IR of one policy (derived from the "
                           "dataclasses of leadpolicy.semantics.ir) and the canonical source it was compiled from.",
            **top, "$defs": dict(sorted(defs.items()))}


def dumps(data: dict[str, Any]) -> str:
    """Artifact text: stable key order and layout, so artifacts diff well."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m leadpolicy.semantics.ir > src/leadpolicy/schemas/artifact.schema.json
    print(json.dumps(json_schema(), indent=2))
