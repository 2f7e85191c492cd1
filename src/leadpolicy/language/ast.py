"""Typed, frozen syntax tree of a policy; every node carries its source span."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from leadpolicy.language.types import Type
from leadpolicy.language.visitor import TreeNode


@dataclass(frozen=True)
class Span:
    """Where a node stands in its file: 1-based lines and columns, end exclusive."""

    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0


NO_SPAN = Span()


@dataclass(frozen=True, kw_only=True)
class Node(TreeNode):
    """Base of every node. Spans never take part in equality."""

    span: Span = field(default=NO_SPAN, compare=False, repr=False)


N = TypeVar("N", bound=Node)


def place(span: Span, node: Node) -> Span:
    """Where a name in `node` stands: its own span when the parser recorded it, else the node's (a tree
    built by hand has no spans for its names)."""
    return span if span.line else node.span


def places(names: tuple[str, ...], spans: tuple[Span, ...], node: Node) -> tuple[tuple[str, Span], ...]:
    """Each name of `node` with where it stands (see `place`)."""
    if len(spans) != len(names):
        return tuple((name, node.span) for name in names)
    return tuple((name, place(span, node)) for name, span in zip(names, spans))

# ---------------------------------------------------------------- conditions


@dataclass(frozen=True, kw_only=True)
class Literal(Node):
    """A constant: a number (Decimal), text, yes/no (bool) or a date (its ISO text)."""

    kind: Type
    value: object


@dataclass(frozen=True, kw_only=True)
class NameRef(Node):
    """A lead field, a score or a grade."""

    name: str


@dataclass(frozen=True, kw_only=True)
class DaysSince(Node):
    """`days since FIELD`: whole days from the field to the evaluation time."""

    field_name: str


@dataclass(frozen=True, kw_only=True)
class EventCount(Node):
    """`count EVENT in last N days`: how many such events in the N×24 hours up to the evaluation time."""

    event: str
    days: Decimal
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class DaysSinceEvent(Node):
    """`days since last EVENT`: whole 24-hour days from the latest such event; missing when none."""

    event: str
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Happened(Node):
    """`EVENT in last N days`: at least one such event in the window."""

    event: str
    days: Decimal
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Compare(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, kw_only=True)
class Between(Node):
    """Inclusive on both ends."""

    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True, kw_only=True)
class InList(Node):
    operand: Node
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True, kw_only=True)
class TextMatch(Node):
    """`contains`, `starts with`, `ends with` and their `any` forms; case-insensitive."""

    operand: Node
    how: str  # 'contains' | 'starts' | 'ends' | 'contains_any' | 'starts_any' | 'ends_any'
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class IsMissing(Node):
    """`is missing`, or `is present` when negated. Never unknown."""

    operand: Node
    negated: bool = False


@dataclass(frozen=True, kw_only=True)
class Truthy(Node):
    """A bare yes/no operand used as a condition."""

    operand: Node


@dataclass(frozen=True, kw_only=True)
class And(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, kw_only=True)
class Or(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, kw_only=True)
class Not(Node):
    operand: Node


# ---------------------------------------------------------------- lead schema


@dataclass(frozen=True, kw_only=True)
class FieldType(Node):
    """A field's type; `one of` has choices, each with where it stands."""

    name: Type
    choices: tuple[str, ...] = ()
    choice_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class LeadField(Node):
    name: str
    type: FieldType
    required: bool = False
    default: Literal | None = None


@dataclass(frozen=True, kw_only=True)
class LeadBlock(Node):
    fields: tuple[LeadField, ...]


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True, kw_only=True)
class PointsRule(Node):
    points: Decimal
    condition: Node
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class PerRule(Node):
    """`+N per NAME up to M`: NAME is a number field or a score; with `window`, it is an event
    counted in the last `window` days."""

    points: Decimal
    field_name: str
    cap: Decimal
    reason: str | None = None
    window: Decimal | None = None
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Decay(Node):
    """Measured from a date or timestamp field, or from the latest EVENT (`since last EVENT`)."""

    percent: Decimal
    every_days: Decimal
    field_name: str
    since_event: bool = False
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Clamp(Node):
    low: Decimal
    high: Decimal


@dataclass(frozen=True, kw_only=True)
class Score(Node):
    name: str
    label: str | None
    items: tuple[Node, ...]  # PointsRule | PerRule | Decay | Clamp, in source order

    @property
    def rules(self) -> tuple[PointsRule | PerRule, ...]:
        return tuple(i for i in self.items if isinstance(i, (PointsRule, PerRule)))

    @property
    def decay(self) -> Decay | None:
        return next((i for i in self.items if isinstance(i, Decay)), None)

    @property
    def clamp(self) -> Clamp | None:
        return next((i for i in self.items if isinstance(i, Clamp)), None)


@dataclass(frozen=True, kw_only=True)
class LabelEntry(Node):
    """A grade or route entry; condition None means `otherwise`."""

    label: str
    condition: Node | None


@dataclass(frozen=True, kw_only=True)
class Grade(Node):
    name: str
    source: str
    entries: tuple[LabelEntry, ...]


@dataclass(frozen=True, kw_only=True)
class StageEntry(Node):
    """A lifecycle stage; condition None means `otherwise`."""

    name: str
    condition: Node | None
    owner: str
    owner_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Stages(Node):
    entries: tuple[StageEntry, ...]


@dataclass(frozen=True, kw_only=True)
class Route(Node):
    stages: tuple[str, ...]
    entries: tuple[LabelEntry, ...]
    stage_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


# ---------------------------------------------------------------- calendars, SLAs


@dataclass(frozen=True, kw_only=True)
class OpenHours(Node):
    """Days as (first, last) pairs of day names; ranges as ('09:00', '17:00') pairs."""

    days: tuple[tuple[str, str], ...]
    ranges: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class Holidays(Node):
    country: str
    subdivision: str | None = None


@dataclass(frozen=True, kw_only=True)
class Closed(Node):
    date: str


@dataclass(frozen=True, kw_only=True)
class Timezone(Node):
    name: str


@dataclass(frozen=True, kw_only=True)
class Calendar(Node):
    name: str
    items: tuple[Node, ...]  # Timezone | OpenHours | Holidays | Closed

    @property
    def timezone(self) -> Timezone | None:
        return next((i for i in self.items if isinstance(i, Timezone)), None)


@dataclass(frozen=True, kw_only=True)
class SlaOwner(Node):
    team: str
    team_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class ClockSpan(Node):
    """`from A or B [each time] until C or D`; each event name with where it stands."""

    starts: tuple[str, ...]
    stops: tuple[str, ...]
    each_time: bool = False
    start_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    stop_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)

    @property
    def start(self) -> str:
        return self.starts[0]


@dataclass(frozen=True, kw_only=True)
class ClockLimit(Node):
    """unit is 'minutes', 'hours', 'days', 'business hours' or 'business days'. A tier has a
    condition, or `otherwise`; a limit without either is the SLA's only limit."""

    amount: Decimal
    unit: str
    calendar: str | None = None
    condition: Node | None = None
    otherwise: bool = False
    calendar_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def is_tier(self) -> bool:
        return self.condition is not None or self.otherwise


@dataclass(frozen=True, kw_only=True)
class Pause(Node):
    start: str
    end: str
    start_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    end_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Warn(Node):
    percent: Decimal


@dataclass(frozen=True, kw_only=True)
class Escalate(Node):
    to: str
    percent: Decimal


@dataclass(frozen=True, kw_only=True)
class Target(Node):
    percent: Decimal


@dataclass(frozen=True, kw_only=True)
class NeedsReason(Node):
    event: str
    reasons: tuple[str, ...]
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class CountRule(Node):
    count: Decimal
    event: str
    window: Decimal
    window_unit: str
    after: str
    calendar: str | None = None
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    after_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    calendar_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class VolumeRule(Node):
    count: Decimal
    event: str
    period: str
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Sla(Node):
    name: str
    label: str | None
    items: tuple[Node, ...]

    def first(self, kind: type[N]) -> N | None:
        """The first item of a kind, typed as that kind."""
        return next((i for i in self.items if isinstance(i, kind)), None)

    def all(self, kind: type[N]) -> tuple[N, ...]:
        return tuple(i for i in self.items if isinstance(i, kind))

    @property
    def kind(self) -> str:
        """'clock', 'count', 'volume', or 'unknown' when none is given."""
        if self.first(ClockSpan) or self.first(ClockLimit):
            return "clock"
        if self.first(CountRule):
            return "count"
        if self.first(VolumeRule):
            return "volume"
        return "unknown"


@dataclass(frozen=True, kw_only=True)
class RecycleRule(Node):
    event: str
    reason: str
    stage: str
    after: Decimal
    unit: str
    event_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    stage_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Recycle(Node):
    rules: tuple[RecycleRule, ...]


# ---------------------------------------------------------------- events, outcomes


@dataclass(frozen=True, kw_only=True)
class EventDecl(Node):
    name: str
    label: str | None = None


@dataclass(frozen=True, kw_only=True)
class Events(Node):
    events: tuple[EventDecl, ...]


@dataclass(frozen=True, kw_only=True)
class Outcome(Node):
    """`won when A or B` / `lost when C`."""

    kind: str
    events: tuple[str, ...]
    event_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Outcomes(Node):
    outcomes: tuple[Outcome, ...]


# ---------------------------------------------------------------- guarantees (v3)

# The kinds of claim, as `semantics.ir.ClaimKind` names them.
HOLDS, IMPLIES, NEVER_DECREASES, NEVER_INCREASES, HANDOFF_KEPT = (
    "holds", "implies", "never decreases", "never increases", "handoff never lost")
MONOTONE_CLAIMS = (NEVER_DECREASES, NEVER_INCREASES, HANDOFF_KEPT)


@dataclass(frozen=True, kw_only=True)
class BareName(Node):
    """In a guarantee, a stage or team named without quotes where it is compared with the decided `stage` or
    `owner` (`stage = nurture`, `owner = sales`)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class Guarantee(Node):
    """`"NAME": CLAIM`. HOLDS: `condition` is true for every lead; IMPLIES: where `condition` is true, so is
    `then`; NEVER_DECREASES / NEVER_INCREASES: `score` compares so between two leads that differ in `along`
    (a field that grows, or one more of an event); HANDOFF_KEPT: a lead handed off stays so."""

    name: str
    kind: str  # HOLDS, IMPLIES, NEVER_DECREASES, NEVER_INCREASES or HANDOFF_KEPT
    condition: Node | None = None
    then: Node | None = None
    score: str | None = None
    along: str | None = None
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    score_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    along_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def conditions(self) -> tuple[Node, ...]:
        """The claim's conditions (none for a monotone claim)."""
        return tuple(c for c in (self.condition, self.then) if c is not None)


@dataclass(frozen=True, kw_only=True)
class Guarantees(Node):
    guarantees: tuple[Guarantee, ...]


# ---------------------------------------------------------------- teams (v3)

ROUND_ROBIN, BY_WEIGHT, LEAST_LOADED = "round robin", "by weight", "least loaded today"
ASSIGN_HOWS = (ROUND_ROBIN, BY_WEIGHT, LEAST_LOADED)
CAP_PERIODS = ("day", "week")


@dataclass(frozen=True, kw_only=True)
class TeamCalendar(Node):
    """`calendar C` in a team: the members' working hours, unless a member's own line names one."""

    name: str


@dataclass(frozen=True, kw_only=True)
class AssignRule(Node):
    """`assign round robin | by weight | least loaded today`."""

    how: str  # one of ASSIGN_HOWS


@dataclass(frozen=True, kw_only=True)
class Member(Node):
    """`member "Name <email>" [weight N] [cap N per day|week] [calendar C]`."""

    person: str  # as written
    weight: Decimal | None = None
    cap: Decimal | None = None
    cap_period: str | None = None
    calendar: str | None = None
    person_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    weight_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    cap_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    calendar_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class MatchAccounts(Node):
    """`match accounts by email domain`: a known account's owner in the team gets the lead first."""


@dataclass(frozen=True, kw_only=True)
class Fallback(Node):
    """`when nobody is available hold` (team None) or `... to TEAM`."""

    team: str | None
    team_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Team(Node):
    """`team NAME "LABEL"? { ... }`: the people a route label of the same name assigns leads to."""

    name: str
    label: str | None
    items: tuple[Node, ...]  # TeamCalendar | AssignRule | Member | MatchAccounts | Fallback, as written
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    def all(self, kind: type[N]) -> tuple[N, ...]:
        return tuple(i for i in self.items if isinstance(i, kind))

    def first(self, kind: type[N]) -> N | None:
        return next((i for i in self.items if isinstance(i, kind)), None)

    @property
    def members(self) -> tuple[Member, ...]:
        return self.all(Member)

    @property
    def calendar(self) -> str | None:
        found = self.first(TeamCalendar)
        return found.name if found else None

    @property
    def assign(self) -> str | None:
        found = self.first(AssignRule)
        return found.how if found else None

    @property
    def fallback(self) -> str | None:
        """The team a lead falls back to when nobody is available; None to hold it."""
        found = self.first(Fallback)
        return found.team if found else None


# ---------------------------------------------------------------- header, policy


@dataclass(frozen=True, kw_only=True)
class Title(Node):
    text: str


@dataclass(frozen=True, kw_only=True)
class Owner(Node):
    team: str
    person: str


@dataclass(frozen=True, kw_only=True)
class Effective(Node):
    date: str


@dataclass(frozen=True, kw_only=True)
class Policy(Node):
    id: str
    version: str
    items: tuple[Node, ...]  # in source order: order matters for scope
    id_span: Span = field(default=NO_SPAN, compare=False, repr=False)
    version_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    def of(self, kind: type[N]) -> tuple[N, ...]:
        """Every item of a kind, typed as that kind."""
        return tuple(i for i in self.items if isinstance(i, kind))

    @property
    def title(self) -> str | None:
        t = self.of(Title)
        return t[0].text if t else None

    @property
    def owners(self) -> tuple[Owner, ...]:
        return self.of(Owner)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o.team for o in self.owners))

    @property
    def timezone(self) -> str:
        t = self.of(Timezone)
        return t[0].name if t else "UTC"

    @property
    def effective(self) -> str | None:
        e = self.of(Effective)
        return e[0].date if e else None

    @property
    def fields(self) -> tuple[LeadField, ...]:
        return tuple(f for block in self.of(LeadBlock) for f in block.fields)

    @property
    def scores(self) -> tuple[Score, ...]:
        return self.of(Score)

    @property
    def grades(self) -> tuple[Grade, ...]:
        return self.of(Grade)

    @property
    def stages(self) -> tuple[StageEntry, ...]:
        return tuple(e for block in self.of(Stages) for e in block.entries)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self.of(Route)

    @property
    def calendars(self) -> tuple[Calendar, ...]:
        return self.of(Calendar)

    @property
    def slas(self) -> tuple[Sla, ...]:
        return self.of(Sla)

    @property
    def events(self) -> tuple[EventDecl, ...] | None:
        """The declared events, or None when the policy has no events block (names are then free)."""
        blocks = self.of(Events)
        return None if not blocks else tuple(e for b in blocks for e in b.events)

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        return tuple(o for b in self.of(Outcomes) for o in b.outcomes)

    @property
    def recycle_rules(self) -> tuple[RecycleRule, ...]:
        return tuple(r for block in self.of(Recycle) for r in block.rules)

    @property
    def guarantees(self) -> tuple[Guarantee, ...]:
        return tuple(g for block in self.of(Guarantees) for g in block.guarantees)

    @property
    def team_blocks(self) -> tuple[Team, ...]:
        """The `team` blocks (who gets the lead); `teams` are the owning teams."""
        return self.of(Team)
