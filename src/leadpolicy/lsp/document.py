"""One open policy text as the language server holds it: parsed lazily, and positions converted between the
project's spans (1-based lines and columns in code points, end exclusive) and LSP's (0-based, UTF-16 code units)."""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from lark.exceptions import UnexpectedInput
from lsprotocol.types import Position, Range

from leadpolicy.language import ast
from leadpolicy.language.incremental import parse_edited
from leadpolicy.language.parser import ParseResult, grammar_parser
from leadpolicy.language.symbols import symbol_table
from leadpolicy.language.visitor import Visitor


@dataclass
class Document:
    """An open policy: its URI, its current text and version. The parse is made on first use and kept
    (a Document is replaced, not edited, when the text changes)."""

    uri: str
    text: str
    version: int | None = None
    _parsed: ParseResult | None = field(default=None, init=False, repr=False, compare=False)
    _names: tuple[Occurrence, ...] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def path(self) -> Path | None:
        """The file, for a file: URI; None for an unsaved buffer (untitled:) or another scheme."""
        parts = urlparse(self.uri)
        if parts.scheme != "file":
            return None
        return Path(unquote(parts.path))

    @property
    def parsed(self) -> ParseResult:
        """The parse of the text (the policy is None when it does not parse)."""
        if self._parsed is None:
            self._parsed = parse_edited(self.text, str(self.path or self.uri))
        return self._parsed

    @property
    def policy(self) -> ast.Policy | None:
        return self.parsed.policy

    @property
    def occurrences(self) -> tuple[Occurrence, ...]:
        """Every name of the policy with where it stands (none when the text does not parse)."""
        if self._names is None:
            self._names = () if self.policy is None else occurrences(self.policy, self.text)
        return self._names


@functools.lru_cache(maxsize=8)
def _line_starts(text: str) -> tuple[int, ...]:
    """The index in `text` where each line starts (LF, CRLF and a lone CR end a line)."""
    starts = [0]
    index = 0
    length = len(text)
    while index < length:
        ch = text[index]
        if ch == "\r" and index + 1 < length and text[index + 1] == "\n":
            index += 1
        if ch in "\r\n":
            starts.append(index + 1)
        index += 1
    return tuple(starts)


def _utf16_length(chars: str) -> int:
    return len(chars.encode("utf-16-le")) // 2


def _line_text(text: str, line: int) -> str:
    """Line `line` (0-based) without its line ending; empty past the end."""
    starts = _line_starts(text)
    if line < 0 or line >= len(starts):
        return ""
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    return text[starts[line]:end].rstrip("\r\n")


def to_position(text: str, line: int, column: int) -> Position:
    """The project's 1-based line and code-point column -> an LSP position (0-based, UTF-16 units)."""
    zero_line = max(line - 1, 0)
    prefix = _line_text(text, zero_line)[: max(column - 1, 0)]
    return Position(line=zero_line, character=_utf16_length(prefix))


def to_range(text: str, span: ast.Span) -> Range:
    """A span (1-based lines and code-point columns, end exclusive) as an LSP range (0-based, UTF-16)."""
    start = to_position(text, span.line, span.column)
    end_line, end_column = (span.end_line, span.end_column) if span.end_line else (span.line, span.column)
    return Range(start=start, end=to_position(text, end_line, end_column))


def to_offset(text: str, position: Position) -> int:
    """An LSP position -> an index into `text` (clamped to the line's end, and to the text's end)."""
    starts = _line_starts(text)
    if position.line >= len(starts):
        return len(text)
    line = _line_text(text, position.line)
    units = 0
    for index, ch in enumerate(line):
        if units >= position.character:
            return starts[position.line] + index
        units += 2 if ord(ch) > 0xFFFF else 1
    return starts[position.line] + len(line)


def offset_to_position(text: str, offset: int) -> Position:
    """An index into `text` -> an LSP position."""
    starts = _line_starts(text)
    offset = max(0, min(offset, len(text)))
    line = bisect.bisect_right(starts, offset) - 1
    return Position(line=line, character=_utf16_length(text[starts[line]:offset]))


# ---------------------------------------------------------------- where each name stands

KINDS = ("field", "score", "grade", "stage", "event", "calendar", "team", "owner", "sla")


@dataclass(frozen=True)
class Occurrence:
    """A name in the policy: its kind (one of KINDS), where the name itself stands, whether this is its
    declaration, and the item it stands in (`score fit`), for hovers to say where a name is used."""

    kind: str
    name: str
    span: ast.Span
    declaration: bool = False
    container: str = ""


def offset_of(text: str, line: int, column: int) -> int:
    """The project's 1-based line and code-point column -> an index into `text`."""
    starts = _line_starts(text)
    return starts[min(max(line - 1, 0), len(starts) - 1)] + max(column - 1, 0)


def name_span(start: ast.Span, name: str) -> ast.Span:
    """The span of `name` written from where `start` begins (a name is one line)."""
    return ast.Span(start.line, start.column, start.line, start.column + len(name))


def token_span(text: str, node: ast.Node, index: int) -> ast.Span:
    """Where the `index`-th token of `node` stands, as the grammar's lexer reads it from the node's start
    (for names the tree builder kept no span of: `score NAME`, `grade NAME from NAME`); the node's own span
    when the text cannot be lexed that far."""
    if not node.span.line:
        return node.span
    start = offset_of(text, node.span.line, node.span.column)
    try:
        for position, token in enumerate(grammar_parser().lex(text[start:])):
            if position == index:
                return _span_at(text, start + (token.start_pos or 0), len(token.value))
    except UnexpectedInput:
        pass
    return node.span


def _span_at(text: str, offset: int, length: int) -> ast.Span:
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, offset) - 1
    column = offset - starts[line] + 1
    return ast.Span(line + 1, column, line + 1, column + length)


@dataclass(frozen=True)
class Names:
    """The names a policy declares, by kind (events None when the policy has no events block)."""

    symbols: dict[str, str]  # field, score and grade names -> their kind
    events: frozenset[str] | None
    stages: frozenset[str]
    slas: frozenset[str] = frozenset()

    @classmethod
    def of(cls, policy: ast.Policy) -> Names:
        events = policy.events
        return cls({name: s.kind for name, s in symbol_table(policy).items()},
                   None if events is None else frozenset(e.name for e in events),
                   frozenset(s.name for s in policy.stages), frozenset(s.name for s in policy.slas))

    def is_event(self, name: str) -> bool:
        return name in self.events if self.events is not None else name not in self.symbols


def _container(node: ast.Node) -> str | None:
    """How an item that holds names is called in a hover (`score fit`); None for other nodes."""
    named = {ast.Score: "score", ast.Grade: "grade", ast.StageEntry: "stage", ast.Sla: "SLA",
             ast.Guarantee: "guarantee", ast.Team: "team", ast.Calendar: "calendar"}
    for kind, word in named.items():
        if isinstance(node, kind):
            return f"{word} {getattr(node, 'name', '')}"
    if isinstance(node, ast.Route):
        return "route for " + ", ".join(node.stages)
    plain = {ast.Recycle: "recycle", ast.Outcomes: "outcomes", ast.LeadBlock: "lead", ast.Events: "events"}
    return next((word for kind, word in plain.items() if isinstance(node, kind)), None)


class _Finder(Visitor):
    """Collects every Occurrence of a policy, walking it with the project's visitor."""

    def __init__(self, text: str, names: Names):
        self.text, self.names = text, names
        self.found: list[Occurrence] = []
        self.container = ""

    def add(self, kind: str, name: str, span: ast.Span, declaration: bool = False) -> None:
        if span.line:
            self.found.append(Occurrence(kind, name, span, declaration, self.container))

    def generic_visit(self, node: Any, *args: Any) -> Any:
        label = _container(node)
        outer = self.container
        if label is not None:
            self.container = label
        self.visit_names(node)
        super().generic_visit(node, *args)
        self.container = outer

    def visit_names(self, node: ast.Node) -> None:
        method = getattr(self, f"names_{type(node).__name__}", None)
        if method is not None:
            method(node)

    # declarations
    def names_LeadField(self, node: ast.LeadField) -> None:
        self.add("field", node.name, name_span(node.span, node.name), declaration=True)

    def names_Score(self, node: ast.Score) -> None:
        self.add("score", node.name, token_span(self.text, node, 1), declaration=True)

    def names_Grade(self, node: ast.Grade) -> None:
        self.add("grade", node.name, token_span(self.text, node, 1), declaration=True)
        self.add(self.names.symbols.get(node.source, "score"), node.source, token_span(self.text, node, 3))

    def names_StageEntry(self, node: ast.StageEntry) -> None:
        self.add("stage", node.name, name_span(node.span, node.name), declaration=True)
        self.add("owner", node.owner, node.owner_span)

    def names_EventDecl(self, node: ast.EventDecl) -> None:
        self.add("event", node.name, name_span(node.span, node.name), declaration=True)

    def names_Calendar(self, node: ast.Calendar) -> None:
        self.add("calendar", node.name, token_span(self.text, node, 1), declaration=True)

    def names_Team(self, node: ast.Team) -> None:
        self.add("team", node.name, node.name_span, declaration=True)

    def names_Owner(self, node: ast.Owner) -> None:
        self.add("owner", node.team, token_span(self.text, node, 1), declaration=True)

    def names_Sla(self, node: ast.Sla) -> None:
        self.add("sla", node.name, token_span(self.text, node, 1), declaration=True)

    # uses in conditions
    def names_NameRef(self, node: ast.NameRef) -> None:
        kind = self.names.symbols.get(node.name)
        if kind is not None:
            self.add(kind, node.name, node.span)

    def names_DaysSince(self, node: ast.DaysSince) -> None:
        self.add("field", node.field_name, token_span(self.text, node, 2))

    def names_EventCount(self, node: ast.EventCount | ast.DaysSinceEvent | ast.Happened) -> None:
        self.add("event", node.event, node.event_span)

    names_DaysSinceEvent = names_Happened = names_EventCount

    def names_BareName(self, node: ast.BareName) -> None:
        self.add("stage" if node.name in self.names.stages else "owner", node.name, node.span)

    # uses in scores, routes, SLAs, outcomes, recycling, guarantees and teams
    def names_PerRule(self, node: ast.PerRule) -> None:
        kind = "event" if node.window is not None else self.names.symbols.get(node.field_name, "field")
        self.add(kind, node.field_name, node.name_span)

    def names_Decay(self, node: ast.Decay) -> None:
        self.add("event" if node.since_event else "field", node.field_name, node.name_span)

    def names_Route(self, node: ast.Route) -> None:
        for stage, span in ast.places(node.stages, node.stage_spans, node):
            self.add("stage", stage, span)
        for entry in node.entries:
            label = token_span(self.text, entry, 0)
            if label.end_column - label.column == len(entry.label) + 2:  # a label as written, in quotes
                self.add("team", entry.label, ast.Span(label.line, label.column + 1, label.line, label.end_column - 1))

    def names_ClockSpan(self, node: ast.ClockSpan) -> None:
        for name, span in ast.places(node.starts, node.start_spans, node) + ast.places(node.stops, node.stop_spans,
                                                                                      node):
            self.add("event", name, span)

    def names_ClockLimit(self, node: ast.ClockLimit) -> None:
        if node.calendar is not None:
            self.add("calendar", node.calendar, node.calendar_span)

    def names_Pause(self, node: ast.Pause) -> None:
        self.add("event", node.start, node.start_span)
        self.add("event", node.end, node.end_span)

    def names_NeedsReason(self, node: ast.NeedsReason) -> None:
        self.add("event", node.event, node.event_span)

    def names_CountRule(self, node: ast.CountRule) -> None:
        self.add("event", node.event, node.event_span)
        self.add("event", node.after, node.after_span)
        if node.calendar is not None:
            self.add("calendar", node.calendar, node.calendar_span)

    def names_VolumeRule(self, node: ast.VolumeRule) -> None:
        self.add("event", node.event, token_span(self.text, node, 3))

    def names_SlaOwner(self, node: ast.SlaOwner) -> None:
        self.add("owner", node.team, node.team_span)

    def names_Outcome(self, node: ast.Outcome) -> None:
        for name, span in ast.places(node.events, node.event_spans, node):
            self.add("event", name, span)

    def names_RecycleRule(self, node: ast.RecycleRule) -> None:
        self.add("event", node.event, node.event_span)
        self.add("stage", node.stage, node.stage_span)

    def names_Guarantee(self, node: ast.Guarantee) -> None:
        if node.score is not None:
            self.add(self.names.symbols.get(node.score, "score"), node.score, node.score_span)
        if node.along is not None:
            kind = self.names.symbols.get(node.along) or ("event" if self.names.is_event(node.along) else "field")
            self.add(kind, node.along, node.along_span)

    def names_TeamCalendar(self, node: ast.TeamCalendar) -> None:
        self.add("calendar", node.name, token_span(self.text, node, 1))

    def names_Member(self, node: ast.Member) -> None:
        if node.calendar is not None:
            self.add("calendar", node.calendar, node.calendar_span)

    def names_Fallback(self, node: ast.Fallback) -> None:
        if node.team is not None:
            self.add("team", node.team, node.team_span)


def occurrences(policy: ast.Policy, text: str) -> tuple[Occurrence, ...]:
    """Every name of the policy with where it stands, in source order."""
    finder = _Finder(text, Names.of(policy))
    finder.visit(policy)
    return tuple(sorted(finder.found, key=lambda o: (o.span.line, o.span.column)))


# ---------------------------------------------------------------- names in the samples file

def samples_path(policy: Path) -> Path:
    """The samples file next to a policy: NAME.samples.yaml beside NAME.policy."""
    return policy.with_name(policy.name.removesuffix(".policy") + ".samples.yaml")


def policy_path(samples: Path) -> Path | None:
    """The policy a samples file beside it belongs to (None for another file)."""
    if not samples.name.endswith(".samples.yaml"):
        return None
    return samples.with_name(samples.name.removesuffix(".samples.yaml") + ".policy")


YAML_TEXT = "tag:yaml.org,2002:str"  # a scalar read as text (not `null`, `yes`, a number or a date)
YamlPath = tuple[str, ...]  # the keys from the document's root, "*" for any list item


TIMELINE_EXPECT = ("timelines", "*", "expect")


def _key_kind(parent: YamlPath, key: str, names: Names) -> str | None:
    """The kind of name a samples key is: a lead's field, a score or grade the case expects, or an SLA a
    timeline expects (its clocks, `at_risk`, `escalation`)."""
    if parent[-1:] == ("lead",) or (parent[:1] == ("timelines",) and parent[2:3] == ("leads",) and len(parent) == 4):
        return "field"
    if parent[-2:] == ("expect", "fired"):
        return "score"
    if parent in (TIMELINE_EXPECT, TIMELINE_EXPECT + ("at_risk",), TIMELINE_EXPECT + ("escalation",)):
        return "sla" if key in names.slas else None
    if parent[-1:] == ("expect",) and names.symbols.get(key) in ("score", "grade"):
        return names.symbols[key]
    return None


VALUE_KINDS = {("events", "*", "event"): "event", ("expect", "stage"): "stage",
               ("expect", "recycle", "stage"): "stage", ("expect", "route"): "team", ("expect", "owner"): "owner"}


def _value_kind(path: YamlPath) -> str | None:
    """The kind of name a samples value is: an event's kind, the expected stage, route or owning team."""
    return next((kind for tail, kind in VALUE_KINDS.items() if path[-len(tail):] == tail), None)


def _scalar_span(node: yaml.ScalarNode) -> ast.Span:
    """Where a scalar's text stands, without its quotes."""
    quoted = 1 if node.style in ("'", '"') else 0
    start, end = node.start_mark, node.end_mark
    return ast.Span(start.line + 1, start.column + 1 + quoted, end.line + 1, end.column + 1 - quoted)


def samples_occurrences(text: str, names: Names) -> tuple[Occurrence, ...]:
    """The names a samples file uses (lead keys, events, expected scores, grades, stages, routes, owning teams
    and SLAs), with where each stands; none when the file is not YAML or nests deeper than PyYAML reads."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):  # PyYAML composes nested lists by recursion: too deep is unreadable
        return ()
    found: list[Occurrence] = []
    seen: set[int] = set()  # an alias names a node already walked: each node once, however many aliases
    stack: list[tuple[yaml.Node, YamlPath]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag == YAML_TEXT:
                    kind = _key_kind(path, key.value, names)
                    if kind is not None:
                        found.append(Occurrence(kind, key.value, _scalar_span(key)))
                    stack.append((value, path + (str(key.value),)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + ("*",)) for item in node.value)
        elif isinstance(node, yaml.ScalarNode) and node.tag == YAML_TEXT:
            kind = _value_kind(path)
            if kind is not None and node.value:
                found.append(Occurrence(kind, node.value, _scalar_span(node)))
    return tuple(sorted(found, key=lambda o: (o.span.line, o.span.column)))
