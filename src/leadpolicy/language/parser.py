"""Source text to typed syntax tree, with Lark (LALR); syntax errors become diagnostics."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from lark import Lark, Token, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.tree import Meta

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic, character_kind, source_lines, unsafe_character
from leadpolicy.language.sources import read_source
from leadpolicy.language.syntax_errors import syntax_diagnostic
from leadpolicy.language.team_tree import TeamTree
from leadpolicy.language.tokens import BuildError, unquote
from leadpolicy.language.tokens import span_of as _span
from leadpolicy.language.types import Type

MAX_DEPTH = 100
BOOLEAN_RULES = ("and_", "or_", "not_")



def _grammar() -> str:
    return resources.files("leadpolicy").joinpath("grammar/leadpolicy.lark").read_text("utf-8")


@functools.lru_cache(maxsize=1)
def grammar_parser() -> Lark:
    return Lark(_grammar(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


# The pieces the incremental parse (language.incremental) reads alone: a whole policy, a run of its items,
# a run of a score's items.
PIECE_STARTS = ("start", "items", "score_items")


@functools.lru_cache(maxsize=1)
def piece_parser() -> Lark:
    rules = "\nitems: _item*\nscore_items: _score_item*\n"
    return Lark(_grammar() + rules, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                start=list(PIECE_STARTS))


@dataclass(frozen=True)
class Piece:
    """What a piece of a policy text holds: its nodes, comments and control-character errors."""

    nodes: tuple[ast.Node, ...]
    comments: tuple[Token, ...]
    diagnostics: tuple[Diagnostic, ...]


def parse_piece(piece: str, line: int, column: int, start: str, file: str) -> Piece | None:
    """A piece of a policy text that starts at `line` and `column` of its file, parsed alone from the rule
    `start` (one of PIECE_STARTS), with the positions it has in the file; None when it does not parse, nests too
    deep or the tree builder refuses it (the whole text's parse then says why, as only it can)."""
    try:
        tree = piece_parser().parse("\n" * (line - 1) + " " * (column - 1) + piece, start=start)
    except UnexpectedInput:
        return None
    if _too_deep(tree) is not None:
        return None
    try:
        built = _PieceToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, BuildError):
            return None
        raise exc.orig_exc from None
    comments = _comments(" " * (column - 1) + piece)
    for comment in comments:
        comment.line = (comment.line or 1) + line - 1
    nodes = (built,) if isinstance(built, ast.Policy) else tuple(built)
    return Piece(nodes, tuple(comments), tuple(_control_characters(tree, comments, file)))


@dataclass
class ParseResult:
    """A parsed file: the tree (None when it could not be built), its source and diagnostics."""

    file: str
    source: str  # empty when the file could not be read
    policy: ast.Policy | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    comments: list[Token] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return self.policy is None or any(d.is_error for d in self.diagnostics)


def parse_file(path: str | Path) -> ParseResult:
    text, diags = read_source(path)
    if text is None:
        return ParseResult(str(path), "", None, diags)
    return parse_text(text, str(path))


LONE_CR = re.compile(r"\r(?!\n)")


def parse_text(text: str, file: str = "<policy>") -> ParseResult:
    """Parse policy source. Never raises for bad input: problems are diagnostics."""
    text = LONE_CR.sub("\n", text)  # old Mac line endings: a CR alone ends a line, as LF and CRLF do
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in source_lines(text)
    ):
        return ParseResult(file, text, None, [Diagnostic("empty-file", "the file holds no policy", file,
                                                         hint='start with: policy "my-policy" version 1.0.0 { ... }')])
    comments: list[Token] = []
    parser = grammar_parser()
    try:
        tree = parser.parse(text)
        comments.extend(_comments(text))
    except UnexpectedInput as exc:
        reserved = _option_word_as_field(text, file) or _reserved_event_name(text, file)
        syntax = reserved or syntax_diagnostic(exc, text, file, grammar_parser())
        return ParseResult(file, text, None, [syntax], comments)
    deep = _too_deep(tree)
    if deep is not None:
        too_deep = Diagnostic("too-deep", f"condition nested more than {MAX_DEPTH} levels deep", file, deep,
                              hint="split it into simpler rules")
        return ParseResult(file, text, None, [too_deep], comments)
    try:
        policy = _ToAst().transform(tree)
    except VisitError as exc:  # our own errors are never hidden behind Lark's
        if isinstance(exc.orig_exc, BuildError):
            error = exc.orig_exc
            return ParseResult(file, text, None, [Diagnostic("syntax-error", str(error), file, error.span,
                                                             hint=error.hint)], comments)
        raise exc.orig_exc from None
    return ParseResult(file, text, policy, _control_characters(tree, comments, file), comments)


def _control_characters(tree: Tree[Token], comments: list[Token], file: str) -> list[Diagnostic]:
    """A `control-character` error for each text (as its escapes make it) or comment that holds one: texts
    reach terminals, pages and files, where an escape sequence or a line break would act."""
    found = []
    texts = [(c, unquote(c)) for subtree in tree.iter_subtrees()  # iter_subtrees does not recurse
             for c in subtree.children if isinstance(c, Token) and c.type == "STRING"]
    for token, value in [*texts, *((c, str(c)) for c in comments)]:
        bad = unsafe_character(value)
        if bad is not None:
            what = "comment" if token.type == "COMMENT" else "text"
            line, column = token.line or 1, token.column or 1
            span = ast.Span(line, column, line, column + len(str(token)))
            hint = "remove it: a text or comment is one line of visible characters (a tab, written \\t, is allowed)"
            if unicodedata.category(bad) == "Cf":
                hint += "; an invisible or bidi format character makes it read other than it is"
            found.append(Diagnostic("control-character", f"a {what} holds the {character_kind(bad)}", file, span,
                                    hint=hint))
    return sorted(found, key=Diagnostic.sort_key)


_OPTION_AS_FIELD = re.compile(r"^(\s*)(required|default)\s+(text|number|yes/no|date|timestamp|one\s+of)\b")


def _option_word_as_field(text: str, file: str) -> Diagnostic | None:
    """A field named `required` or `default` reads as an option of the field before it, so the
    grammar cannot take it; say that instead of the syntax error it leads to further on."""
    for number, line in enumerate(source_lines(text), start=1):
        found = _OPTION_AS_FIELD.match(line)
        if found:
            word, column = found.group(2), len(found.group(1)) + 1
            return Diagnostic("reserved-name", f'"{word}" cannot name a lead field: after a field it is read as '
                              "that field's option", file, ast.Span(number, column, number, column + len(word)),
                              hint=f'rename it, for example "{word}_value"')
    return None


def _reserved_event_name(text: str, file: str) -> Diagnostic | None:
    """An event declared with a word conditions read as their own (`not`) parses, but its first use does
    not (`when not in last 90 days`); name the declaration instead of the syntax error further on."""
    from leadpolicy.language.checks.context import RESERVED_EVENT_NAMES

    for name in _declared_event_names(_source_tokens(text)):
        if name.value in RESERVED_EVENT_NAMES:
            line, column = _line_column(text, name.start_pos or 0)
            return Diagnostic("reserved-name", f'"{name}" is a word conditions reserve, so no rule could name this '
                              "event", file, ast.Span(line, column, line, column + len(name)),
                              hint=f'rename it, for example "{name}_event"')
    return None


# An item starts after the policy's `{` or the end of the item before it (a `}`, a text, a date). The parser
# reads `events` elsewhere (`score events {`) as a name; the grammar's lexer, reading on where it stopped, does not.
_BEFORE_AN_ITEM = frozenset({"LBRACE", "RBRACE", "STRING", "DATE"})


def _declared_event_names(tokens: list[Token]) -> Iterable[Token]:
    """The names in the events blocks among a policy's tokens: each block is read to the first token no
    declaration holds (its `}`, or what follows when the `}` is missing)."""
    name = re.compile(grammar_parser().get_terminal("NAME").pattern.to_regexp())
    for index, token in enumerate(tokens):
        if token.type == "EVENTS" and (index == 0 or tokens[index - 1].type in _BEFORE_AN_ITEM) \
                and index + 1 < len(tokens) and tokens[index + 1].type == "LBRACE":
            in_block = (t for t in tokens[index + 2:] if t.type != "STRING")  # a declaration's description
            # a name that is a keyword elsewhere (`not`) has that keyword's type, so names are read by their text
            yield from itertools.takewhile(lambda t: name.fullmatch(t.value) is not None, in_block)


def _source_tokens(text: str) -> list[Token]:
    """The tokens of a policy that did not parse, comments and spaces left out: as the parser read them up to
    where it stopped, then as the grammar's lexer reads the rest; none after a character no token starts with."""
    tokens: list[Token] = []
    try:
        for token in grammar_parser().parse_interactive(text).iter_parse():  # yields a token, then parses it
            tokens.append(token)
    except UnexpectedCharacters:
        return tokens
    except UnexpectedToken as exc:
        stop = exc.token.start_pos or 0
        tokens = [token for token in tokens if (token.start_pos or 0) < stop]
        try:
            for token in grammar_parser().lex(text[stop:]):
                tokens.append(Token(token.type, token.value, start_pos=stop + (token.start_pos or 0)))
        except UnexpectedCharacters:
            pass
    return tokens


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _comments(text: str) -> list[Token]:
    """Comment tokens with positions. A '#' inside a quoted text is not a comment."""
    found: list[Token] = []
    for lineno, line in enumerate(source_lines(text), start=1):
        in_string = False
        escaped = False
        for col, ch in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                tok = Token("COMMENT", line[col:].rstrip())
                tok.line, tok.column = lineno, col + 1
                found.append(tok)
                break
    return found


def _too_deep(tree: Tree[Token]) -> ast.Span | None:
    """Where conditions nest more than MAX_DEPTH levels (and/or of the same kind flatten, so they do not count)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            return ast.Span(meta.line, meta.column, meta.line, meta.column + 1)
        for child in node.children:
            if isinstance(child, Tree):
                deeper = child.data in BOOLEAN_RULES and (child.data != node.data or child.data == "not_")
                stack.append((child, depth + 1 if deeper else depth))
    return None


# ---------------------------------------------------------------- tree building


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(unquote(t) for t in items)


# What each tree-building callback below receives, as its grammar rule makes it.
Tokens = list[Token]  # a rule of terminals only
Nodes = list[ast.Node]  # a rule of conditions or operands only
# A rule that mixes terminals with what the callbacks built for its sub-rules (nodes, names with their
# spans, tiers, units); each callback reads them by their position in the grammar rule.
Mixed = list[Any]
NamesWithSpans = tuple[tuple[str, ...], tuple[ast.Span, ...]]  # event_names, name_list
Tier = tuple[str, ast.Node | None]  # ("tier", the condition of `when`, or None for `otherwise`)
HoursPart = tuple[str, str, str]  # ("days", first, last) or ("range", opens, closes) of open_hours


@v_args(meta=True)
class _ToAst(TeamTree):
    """Builds ast nodes from Lark's tree; each node gets the span of its rule."""

    def start(self, meta: Meta, children: list[ast.Policy]) -> ast.Policy:
        return children[0]

    def policy(self, meta: Meta, children: Mixed) -> ast.Policy:
        pid, version, *items = children
        return ast.Policy(id=unquote(pid), version=str(version), items=tuple(items), span=_span(meta),
                          id_span=_span(pid), version_span=_span(version))

    def title(self, meta: Meta, c: Tokens) -> ast.Title:
        return ast.Title(text=unquote(c[0]), span=_span(meta))

    def owner(self, meta: Meta, c: Tokens) -> ast.Owner:
        return ast.Owner(team=str(c[0]), person=unquote(c[1]), span=_span(meta))

    def timezone(self, meta: Meta, c: Tokens) -> ast.Timezone:
        return ast.Timezone(name=unquote(c[0]), span=_span(meta))

    def effective(self, meta: Meta, c: Tokens) -> ast.Effective:
        return ast.Effective(date=str(c[0]), span=_span(meta))

    # lead schema
    def lead_block(self, meta: Meta, c: list[ast.LeadField]) -> ast.LeadBlock:
        return ast.LeadBlock(fields=tuple(c), span=_span(meta))

    def field(self, meta: Meta, c: Mixed) -> ast.LeadField:
        name, ftype, *opts = c
        required = any(o == "required" for o in opts)
        default = next((o for o in opts if isinstance(o, ast.Literal)), None)
        return ast.LeadField(name=str(name), type=ftype, required=required, default=default, span=_span(meta))

    def text_type(self, meta: Meta, c: Tokens) -> ast.FieldType:
        return ast.FieldType(name=Type.TEXT, span=_span(meta))

    def number_type(self, meta: Meta, c: Tokens) -> ast.FieldType:
        return ast.FieldType(name=Type.NUMBER, span=_span(meta))

    def yesno_type(self, meta: Meta, c: Tokens) -> ast.FieldType:
        return ast.FieldType(name=Type.YESNO, span=_span(meta))

    def date_type(self, meta: Meta, c: Tokens) -> ast.FieldType:
        return ast.FieldType(name=Type.DATE, span=_span(meta))

    def timestamp_type(self, meta: Meta, c: Tokens) -> ast.FieldType:
        return ast.FieldType(name=Type.TIMESTAMP, span=_span(meta))

    def choice_type(self, meta: Meta, c: Tokens) -> ast.FieldType:
        return ast.FieldType(name=Type.ONE_OF, choices=_strings(c), choice_spans=tuple(_span(t) for t in c),
                             span=_span(meta))

    def required(self, meta: Meta, c: Tokens) -> str:
        return "required"

    def default(self, meta: Meta, c: list[ast.Literal]) -> ast.Literal:
        return c[0]

    # scores
    def score(self, meta: Meta, c: Mixed) -> ast.Score:
        name = c[0]
        label = unquote(c[1]) if len(c) > 1 and isinstance(c[1], Token) else None
        items = tuple(x for x in c[1:] if isinstance(x, ast.Node))
        return ast.Score(name=str(name), label=label, items=items, span=_span(meta))

    def points_rule(self, meta: Meta, c: Mixed) -> ast.PointsRule:
        reason = unquote(c[2]) if len(c) > 2 else None
        return ast.PointsRule(points=Decimal(str(c[0])), condition=c[1], reason=reason, span=_span(meta))

    def per_rule(self, meta: Meta, c: Tokens) -> ast.PerRule:
        reason = unquote(c[-1]) if c[-1].type == "STRING" else None
        window = None
        if len(c) - (reason is not None) == 5:  # per EVENT in last N days up to M
            _days_word(c[3])
            window = Decimal(str(c[2]))
        cap = c[-2 if reason is not None else -1]
        return ast.PerRule(points=Decimal(str(c[0])), field_name=str(c[1]), cap=Decimal(str(cap)), reason=reason,
                           window=window, name_span=_span(c[1]), span=_span(meta))

    def decay(self, meta: Meta, c: Tokens) -> ast.Decay:
        since_event = len(c) == 4
        if since_event:
            _keyword(c[2], "last", "decay ... since last EVENT")
        return ast.Decay(percent=Decimal(str(c[0])), every_days=Decimal(str(c[1])), field_name=str(c[-1]),
                         since_event=since_event, name_span=_span(c[-1]), span=_span(meta))

    def clamp(self, meta: Meta, c: Tokens) -> ast.Clamp:
        return ast.Clamp(low=Decimal(str(c[0])), high=Decimal(str(c[1])), span=_span(meta))

    def grade(self, meta: Meta, c: Mixed) -> ast.Grade:
        return ast.Grade(name=str(c[0]), source=str(c[1]), entries=tuple(c[2:]), span=_span(meta))

    def label_when(self, meta: Meta, c: Mixed) -> ast.LabelEntry:
        return ast.LabelEntry(label=unquote(c[0]), condition=c[1], span=_span(meta))

    def label_otherwise(self, meta: Meta, c: Tokens) -> ast.LabelEntry:
        return ast.LabelEntry(label=unquote(c[0]), condition=None, span=_span(meta))

    def stages(self, meta: Meta, c: list[ast.StageEntry]) -> ast.Stages:
        return ast.Stages(entries=tuple(c), span=_span(meta))

    def stage_when(self, meta: Meta, c: Mixed) -> ast.StageEntry:
        return ast.StageEntry(name=str(c[0]), condition=c[1], owner=str(c[2]), owner_span=_span(c[2]),
                              span=_span(meta))

    def stage_otherwise(self, meta: Meta, c: Tokens) -> ast.StageEntry:
        return ast.StageEntry(name=str(c[0]), condition=None, owner=str(c[1]), owner_span=_span(c[1]),
                              span=_span(meta))

    def route(self, meta: Meta, c: Mixed) -> ast.Route:
        stages, spans = c[0]
        return ast.Route(stages=stages, entries=tuple(c[1:]), stage_spans=spans, span=_span(meta))

    # calendars
    def calendar(self, meta: Meta, c: Mixed) -> ast.Calendar:
        return ast.Calendar(name=str(c[0]), items=tuple(c[1:]), span=_span(meta))

    def open_hours(self, meta: Meta, c: list[HoursPart]) -> ast.OpenHours:
        days = tuple(x for x in c if isinstance(x, tuple) and x[0] == "days")
        ranges = tuple(x for x in c if isinstance(x, tuple) and x[0] == "range")
        return ast.OpenHours(days=tuple(d[1:] for d in days), ranges=tuple(r[1:] for r in ranges), span=_span(meta))

    def day_spec(self, meta: Meta, c: Tokens) -> HoursPart:
        return ("days", str(c[0]), str(c[-1]))

    def time_range(self, meta: Meta, c: Tokens) -> HoursPart:
        return ("range", str(c[0]), str(c[1]))

    def holidays(self, meta: Meta, c: Tokens) -> ast.Holidays:
        return ast.Holidays(country=unquote(c[0]), subdivision=unquote(c[1]) if len(c) > 1 else None, span=_span(meta))

    def closed(self, meta: Meta, c: Tokens) -> ast.Closed:
        return ast.Closed(date=str(c[0]), span=_span(meta))

    # SLAs
    def sla(self, meta: Meta, c: Mixed) -> ast.Sla:
        label = unquote(c[1]) if len(c) > 1 and isinstance(c[1], Token) else None
        items = tuple(x for x in c[1:] if isinstance(x, ast.Node))
        return ast.Sla(name=str(c[0]), label=label, items=items, span=_span(meta))

    def sla_owner(self, meta: Meta, c: Tokens) -> ast.SlaOwner:
        return ast.SlaOwner(team=str(c[0]), team_span=_span(c[0]), span=_span(meta))

    def clock_span(self, meta: Meta, c: Mixed) -> ast.ClockSpan:
        (starts, start_spans), (stops, stop_spans) = c[0], c[-1]
        return ast.ClockSpan(starts=starts, stops=stops, each_time=len(c) == 3, start_spans=start_spans,
                             stop_spans=stop_spans, span=_span(meta))

    def each_time(self, meta: Meta, c: Tokens) -> str:
        return "each time"

    def event_names(self, meta: Meta, c: Tokens) -> NamesWithSpans:
        """The names, and where each stands."""
        return tuple(str(x) for x in c), tuple(_span(x) for x in c)

    def clock_limit(self, meta: Meta, c: Mixed) -> ast.ClockLimit:
        tier: Tier | None = c[-1] if isinstance(c[-1], tuple) else None
        rest = c[:-1] if tier else c
        return ast.ClockLimit(amount=Decimal(str(rest[0])), unit=rest[1],
                              calendar=str(rest[2]) if len(rest) > 2 else None,
                              condition=tier[1] if tier else None, otherwise=tier is not None and tier[1] is None,
                              calendar_span=_span(rest[2]) if len(rest) > 2 else ast.NO_SPAN, span=_span(meta))

    def tier_when(self, meta: Meta, c: Nodes) -> Tier:
        return ("tier", c[0])

    def tier_otherwise(self, meta: Meta, c: Tokens) -> Tier:
        return ("tier", None)

    def pause(self, meta: Meta, c: Tokens) -> ast.Pause:
        return ast.Pause(start=str(c[0]), end=str(c[1]), start_span=_span(c[0]), end_span=_span(c[1]),
                         span=_span(meta))

    def warn(self, meta: Meta, c: Tokens) -> ast.Warn:
        return ast.Warn(percent=Decimal(str(c[0])), span=_span(meta))

    def escalate(self, meta: Meta, c: Tokens) -> ast.Escalate:
        return ast.Escalate(to=unquote(c[0]), percent=Decimal(str(c[1])), span=_span(meta))

    def events(self, meta: Meta, c: list[ast.EventDecl]) -> ast.Events:
        return ast.Events(events=tuple(c), span=_span(meta))

    def event_decl(self, meta: Meta, c: Tokens) -> ast.EventDecl:
        return ast.EventDecl(name=str(c[0]), label=unquote(c[1]) if len(c) > 1 else None, span=_span(meta))

    def outcomes(self, meta: Meta, c: list[ast.Outcome]) -> ast.Outcomes:
        return ast.Outcomes(outcomes=tuple(c), span=_span(meta))

    def outcome(self, meta: Meta, c: Mixed) -> ast.Outcome:
        names, spans = c[1]
        return ast.Outcome(kind=str(c[0]), events=names, event_spans=spans, span=_span(meta))

    def plain_unit(self, meta: Meta, c: Tokens) -> str:
        return str(c[0])

    def business_unit(self, meta: Meta, c: Tokens) -> str:
        return "business " + str(c[0])

    def target(self, meta: Meta, c: Tokens) -> ast.Target:
        return ast.Target(percent=Decimal(str(c[0])), span=_span(meta))

    def needs_reason(self, meta: Meta, c: Mixed) -> ast.NeedsReason:
        return ast.NeedsReason(event=str(c[0]), reasons=c[1], event_span=_span(c[0]), span=_span(meta))

    def count_rule(self, meta: Meta, c: Mixed) -> ast.CountRule:
        return ast.CountRule(count=Decimal(str(c[0])), event=str(c[1]), window=Decimal(str(c[2])),
                             window_unit=str(c[3]), after=str(c[-1]), calendar=str(c[4]) if len(c) == 6 else None,
                             event_span=_span(c[1]), after_span=_span(c[-1]),
                             calendar_span=_span(c[4]) if len(c) == 6 else ast.NO_SPAN, span=_span(meta))

    def volume_rule(self, meta: Meta, c: Tokens) -> ast.VolumeRule:
        return ast.VolumeRule(count=Decimal(str(c[0])), event=str(c[1]), period=str(c[2]), event_span=_span(c[1]),
                              span=_span(meta))

    def recycle(self, meta: Meta, c: list[ast.RecycleRule]) -> ast.Recycle:
        return ast.Recycle(rules=tuple(c), span=_span(meta))

    def recycle_rule(self, meta: Meta, c: Tokens) -> ast.RecycleRule:
        return ast.RecycleRule(event=str(c[0]), reason=unquote(c[1]), stage=str(c[2]), after=Decimal(str(c[3])),
                               unit=str(c[4]), event_span=_span(c[0]), stage_span=_span(c[2]), span=_span(meta))

    # guarantees
    def guarantees(self, meta: Meta, c: list[ast.Guarantee]) -> ast.Guarantees:
        return ast.Guarantees(guarantees=tuple(c), span=_span(meta))

    def holds_claim(self, meta: Meta, c: Mixed) -> ast.Guarantee:
        return ast.Guarantee(name=unquote(c[0]), kind=ast.HOLDS, condition=with_bare_names(c[1]),
                             name_span=_span(c[0]), span=_span(meta))

    def implies_claim(self, meta: Meta, c: Mixed) -> ast.Guarantee:
        return ast.Guarantee(name=unquote(c[0]), kind=ast.IMPLIES, condition=with_bare_names(c[1]),
                             then=with_bare_names(c[2]), name_span=_span(c[0]), span=_span(meta))

    def never_decreases_claim(self, meta: Meta, c: Tokens) -> ast.Guarantee:
        return _monotone(meta, c, ast.NEVER_DECREASES)

    def never_increases_claim(self, meta: Meta, c: Tokens) -> ast.Guarantee:
        return _monotone(meta, c, ast.NEVER_INCREASES)

    def never_lost_claim(self, meta: Meta, c: Tokens) -> ast.Guarantee:
        _keyword(c[1], "handoff", "handoff never lost with EVENT")
        return _monotone(meta, c, ast.HANDOFF_KEPT)

    # conditions
    def or_(self, meta: Meta, c: Nodes) -> ast.Or:
        return ast.Or(items=_flatten(ast.Or, c), span=_span(meta))

    def and_(self, meta: Meta, c: Nodes) -> ast.And:
        return ast.And(items=_flatten(ast.And, c), span=_span(meta))

    def not_(self, meta: Meta, c: Nodes) -> ast.Not:
        return ast.Not(operand=c[0], span=_span(meta))

    def compare(self, meta: Meta, c: Mixed) -> ast.Compare:
        return ast.Compare(op=str(c[1]), left=c[0], right=c[2], span=_span(meta))

    def between(self, meta: Meta, c: Nodes) -> ast.Between:
        return ast.Between(operand=c[0], low=c[1], high=c[2], span=_span(meta))

    def in_list(self, meta: Meta, c: Mixed) -> ast.InList:
        return ast.InList(operand=c[0], values=c[1], span=_span(meta))

    def not_in_list(self, meta: Meta, c: Mixed) -> ast.InList:
        return ast.InList(operand=c[0], values=c[1], negated=True, span=_span(meta))

    def contains(self, meta: Meta, c: Mixed) -> ast.TextMatch:
        return ast.TextMatch(operand=c[0], how="contains", values=(unquote(c[1]),), span=_span(meta))

    def contains_any(self, meta: Meta, c: Mixed) -> ast.TextMatch:
        return ast.TextMatch(operand=c[0], how="contains_any", values=c[1], span=_span(meta))

    def starts_with(self, meta: Meta, c: Mixed) -> ast.TextMatch:
        return ast.TextMatch(operand=c[0], how="starts", values=(unquote(c[1]),), span=_span(meta))

    def ends_with(self, meta: Meta, c: Mixed) -> ast.TextMatch:
        return ast.TextMatch(operand=c[0], how="ends", values=(unquote(c[1]),), span=_span(meta))

    def starts_with_any(self, meta: Meta, c: Mixed) -> ast.TextMatch:
        return ast.TextMatch(operand=c[0], how="starts_any", values=c[1], span=_span(meta))

    def ends_with_any(self, meta: Meta, c: Mixed) -> ast.TextMatch:
        return ast.TextMatch(operand=c[0], how="ends_any", values=c[1], span=_span(meta))

    def happened(self, meta: Meta, c: Mixed) -> ast.Happened:
        if not isinstance(c[0], ast.NameRef):
            raise BuildError("`in last N days` follows an event name", _span(meta),
                             "write: EVENT in last 30 days")
        _days_word(c[2])
        return ast.Happened(event=c[0].name, days=Decimal(str(c[1])), event_span=c[0].span, span=_span(meta))

    def event_count(self, meta: Meta, c: Tokens) -> ast.EventCount:
        _keyword(c[0], "count", "count EVENT in last N days")
        _days_word(c[3])
        return ast.EventCount(event=str(c[1]), days=Decimal(str(c[2])), event_span=_span(c[1]), span=_span(meta))

    def is_missing(self, meta: Meta, c: Nodes) -> ast.IsMissing:
        return ast.IsMissing(operand=c[0], span=_span(meta))

    def is_present(self, meta: Meta, c: Nodes) -> ast.IsMissing:
        return ast.IsMissing(operand=c[0], negated=True, span=_span(meta))

    def truthy(self, meta: Meta, c: Nodes) -> ast.Truthy:
        return ast.Truthy(operand=c[0], span=_span(meta))

    def name_ref(self, meta: Meta, c: Tokens) -> ast.NameRef:
        return ast.NameRef(name=str(c[0]), span=_span(meta))

    def days_since(self, meta: Meta, c: Tokens) -> ast.DaysSince | ast.DaysSinceEvent:
        if len(c) == 2:
            _keyword(c[0], "last", "days since last EVENT")
            return ast.DaysSinceEvent(event=str(c[1]), event_span=_span(c[1]), span=_span(meta))
        return ast.DaysSince(field_name=str(c[0]), span=_span(meta))

    def number_lit(self, meta: Meta, c: Tokens) -> ast.Literal:
        return ast.Literal(kind=Type.NUMBER, value=Decimal(str(c[0])), span=_span(meta))

    def string_lit(self, meta: Meta, c: Tokens) -> ast.Literal:
        return ast.Literal(kind=Type.TEXT, value=unquote(c[0]), span=_span(meta))

    def date_lit(self, meta: Meta, c: Tokens) -> ast.Literal:
        return ast.Literal(kind=Type.DATE, value=str(c[0]), span=_span(meta))

    def yes_lit(self, meta: Meta, c: Tokens) -> ast.Literal:
        return ast.Literal(kind=Type.YESNO, value=True, span=_span(meta))

    def no_lit(self, meta: Meta, c: Tokens) -> ast.Literal:
        return ast.Literal(kind=Type.YESNO, value=False, span=_span(meta))

    def literal_list(self, meta: Meta, c: list[ast.Literal]) -> tuple[ast.Literal, ...]:
        return tuple(c)

    def string_list(self, meta: Meta, c: Tokens) -> tuple[str, ...]:
        return _strings(c)

    def name_list(self, meta: Meta, c: Tokens) -> NamesWithSpans:
        """The names, and where each stands."""
        return tuple(str(x) for x in c), tuple(_span(x) for x in c)


@v_args(meta=True)
class _PieceToAst(_ToAst):
    """The tree builder, with the rules of a piece's run of items."""

    def items(self, meta: Meta, c: list[ast.Node]) -> tuple[ast.Node, ...]:
        return tuple(c)

    def score_items(self, meta: Meta, c: list[ast.Node]) -> tuple[ast.Node, ...]:
        return tuple(c)


def _keyword(token: Token, word: str, form: str) -> None:
    if str(token) != word:
        raise BuildError(f"unexpected {str(token)!r}", _span(token), f"expected `{word}`, as in: {form}")


def _days_word(token: Token) -> None:
    if str(token) not in ("days", "day"):
        raise BuildError(f'activity windows are in days, not "{token}"', _span(token),
                         "write: in last 30 days (a week is 7 days)")


def _monotone(meta: Meta, c: Tokens, kind: str) -> ast.Guarantee:
    """`"NAME": SCORE never decreases with X` and its kin; `handoff never lost with X` names no score."""
    score = None if kind == ast.HANDOFF_KEPT else str(c[1])
    return ast.Guarantee(name=unquote(c[0]), kind=kind, score=score, along=str(c[2]), name_span=_span(c[0]),
                         score_span=_span(c[1]), along_span=_span(c[2]), span=_span(meta))


# In a guarantee, the names compared with these decided values are theirs, written bare: `stage = nurture`,
# `owner = sales` (a route label is quoted: `route = "x"`; a bare one is named as such by the checker).
BARE_PARTNERS = ("stage", "owner", "route")


def with_bare_names(node: ast.Node) -> ast.Node:
    """A guarantee's condition with each name compared (= or !=) with the decided stage, owner or route read as
    a bare name (`ast.BareName`), not as a lead field."""
    if isinstance(node, (ast.And, ast.Or)):
        return dataclasses.replace(node, items=tuple(with_bare_names(i) for i in node.items))
    if isinstance(node, ast.Not):
        return dataclasses.replace(node, operand=with_bare_names(node.operand))
    if isinstance(node, ast.Compare):
        return dataclasses.replace(node, left=_bare_beside(node.left, node.right),
                                   right=_bare_beside(node.right, node.left))
    return node


def _bare_beside(node: ast.Node, other: ast.Node) -> ast.Node:
    if isinstance(node, ast.NameRef) and isinstance(other, ast.NameRef) and other.name in BARE_PARTNERS \
            and node.name not in BARE_PARTNERS:
        return ast.BareName(name=node.name, span=node.span)
    return node


def _flatten(kind: type[ast.And] | type[ast.Or], items: Iterable[ast.Node]) -> tuple[ast.Node, ...]:
    out: list[ast.Node] = []
    for item in items:
        if isinstance(item, kind):
            out.extend(item.items)
        else:
            out.append(item)
    return tuple(out)
