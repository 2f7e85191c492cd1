"""Navigation in a policy: go to definition, find references, rename (the samples file's uses too), hover and
completion, over the names `document.occurrences` finds.

A policy being typed seldom parses: navigation then reads the last text of it that parsed (or, when none did,
the text with the line the syntax error is on left blank), and finds the name under the cursor by the lexer.
No request ever answers with an exception: a failure is logged and answered with nothing, and a rename that
cannot be made is refused with a message saying why."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TypeVar

import yaml
from lark.exceptions import UnexpectedInput
from lark.lexer import PatternStr, Token
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from leadpolicy.language import ast
from leadpolicy.language.formatter import field_type, format_policy
from leadpolicy.language.parser import grammar_parser, parse_text
from leadpolicy.language.sources import read_source
from leadpolicy.language.symbols import DATE, DECIDED_NAMES, NUMBER, TIMESTAMP, Symbol, symbol_table
from leadpolicy.lsp.document import (
    Document,
    Names,
    Occurrence,
    offset_of,
    offset_to_position,
    policy_path,
    samples_occurrences,
    samples_path,
    to_offset,
    to_range,
)
from leadpolicy.outputs import md
from leadpolicy.publish import english
from leadpolicy.semantics import primitives
from leadpolicy.semantics.lowering import Lowering

log = logging.getLogger(__name__)
DocumentOf = Callable[[str], "Document | None"]
R = TypeVar("R")


class RenameRefused(JsonRpcException):
    """A rename that cannot be made; the message says why (LSP's RequestFailed)."""

    CODE = -32803


# ---------------------------------------------------------------- what the requests read


@dataclass
class View:
    """What a request reads: the policy's document as it is (`current`) and the text whose names navigation
    uses (`names`: the current one when it parses, else the last that did)."""

    uri: str
    current: Document
    names: Document

    @property
    def is_current(self) -> bool:
        return self.names is self.current


@dataclass
class Workspace:
    """The open documents (by `document_of`) and, per policy, the last text of it that parsed."""

    document_of: DocumentOf
    last_good: dict[str, Document] = field(default_factory=dict)

    def document(self, uri: str) -> Document | None:
        """The open document at `uri`, else the saved file's text (None when there is neither)."""
        found = self.document_of(uri)
        if found is not None:
            return found
        path = Document(uri, "").path
        if path is None or not path.is_file():
            return None
        text, _ = read_source(path)
        return None if text is None else Document(uri, text)

    def view(self, uri: str) -> View | None:
        doc = self.document(uri)
        if doc is None:
            return None
        if doc.policy is not None:
            self.last_good[uri] = doc
            return View(uri, doc, doc)
        fallback = self.last_good.get(uri) or _without_error_line(doc)
        return View(uri, doc, fallback) if fallback is not None else None

    def samples_of(self, view: View) -> Samples | None:
        """The samples file beside the policy and the names it uses (None when there is none)."""
        path, policy = view.current.path, view.names.policy
        if path is None or policy is None:
            return None
        uri = samples_path(path).as_uri()
        doc = self.document(uri)
        return None if doc is None else Samples(uri, doc.text, samples_occurrences(doc.text, Names.of(policy)))


@dataclass(frozen=True)
class Samples:
    """A samples file: its URI, its text and the names it uses."""

    uri: str
    text: str
    occurrences: tuple[Occurrence, ...]


def _without_error_line(doc: Document) -> Document | None:
    """The text with the line of its syntax error blanked (positions kept), or the line before it (where an
    unclosed `(` was typed, the error is found on the next line), or both: the first of them that parses."""
    spans = [d.span for d in doc.parsed.diagnostics if d.span is not None and d.span.line]
    if not spans:
        return None
    line = spans[0].line - 1
    for blanked in ({line}, {line - 1}, {line - 1, line}):
        lines = doc.text.split("\n")
        for number in blanked:
            if 0 <= number < len(lines):
                lines[number] = " " * len(lines[number])
        candidate = Document(doc.uri, "\n".join(lines), doc.version)
        if candidate.policy is not None:
            return candidate
    return None


# ---------------------------------------------------------------- the name under the cursor


def _contains(span: ast.Span, line: int, column: int) -> bool:
    """Whether a one-line name's span holds the 1-based place (its end included: the cursor after a name)."""
    return span.line == line and span.column <= column <= span.end_column


def _place(text: str, position: types.Position) -> tuple[int, int]:
    """An LSP position as the project's 1-based line and code-point column."""
    offset = to_offset(text, position)
    line_start = text.rfind("\n", 0, offset) + 1
    return position.line + 1, offset - line_start + 1


def _word_at(text: str, position: types.Position) -> str | None:
    """The name the lexer reads under the cursor on its line (a quoted route label without its quotes)."""
    line_no, column = _place(text, position)
    line = text.split("\n")[line_no - 1] if line_no - 1 < len(text.split("\n")) else ""
    try:
        for token in grammar_parser().lex(line):
            start = (token.start_pos or 0) + 1
            if start <= column <= start + len(token.value):
                word = str(token.value)
                return word[1:-1] if token.type == "STRING" else word
    except UnexpectedInput:
        return None
    return None


def occurrence_at(view: View, position: types.Position) -> Occurrence | None:
    """The occurrence of a name under the cursor: by place in a text that parses, else by the word there."""
    names = view.names.occurrences
    if view.is_current:
        line, column = _place(view.current.text, position)
        return next((o for o in names if _contains(o.span, line, column)), None)
    word = _word_at(view.current.text, position)
    matching = [o for o in names if o.name == word]
    return next((o for o in matching if o.declaration), matching[0] if matching else None)


def _samples_occurrence_at(text: str, names: Names, position: types.Position) -> Occurrence | None:
    line, column = _place(text, position)
    return next((o for o in samples_occurrences(text, names) if _contains(o.span, line, column)), None)


# ---------------------------------------------------------------- definition and references


def _location(uri: str, text: str, span: ast.Span) -> types.Location:
    return types.Location(uri=uri, range=to_range(text, span))


def _same(found: Occurrence, kind: str, name: str) -> bool:
    return found.kind == kind and found.name == name


def definitions(view: View, kind: str, name: str) -> list[types.Location]:
    text = view.names.text
    return [_location(view.uri, text, o.span) for o in view.names.occurrences if o.declaration and _same(o, kind, name)]


def references(ws: Workspace, view: View, kind: str, name: str, declaration: bool = True) -> list[types.Location]:
    """Every use of a name in the policy and its samples file (its declaration too when `declaration`)."""
    text = view.names.text
    found = [_location(view.uri, text, o.span) for o in view.names.occurrences
             if _same(o, kind, name) and (declaration or not o.declaration)]
    samples = ws.samples_of(view)
    if samples is not None:
        found += [_location(samples.uri, samples.text, o.span) for o in samples.occurrences if _same(o, kind, name)]
    return found


def target(ws: Workspace, uri: str, position: types.Position) -> tuple[View, Occurrence] | None:
    """The policy's view and the name under the cursor, in the policy or in its samples file."""
    doc = Document(uri, "")
    path = doc.path
    beside = policy_path(path) if path is not None else None
    if beside is None:
        view = ws.view(uri)
        found = occurrence_at(view, position) if view is not None else None
        return (view, found) if view is not None and found is not None else None
    view = ws.view(beside.as_uri())
    samples = ws.document(uri)
    if view is None or samples is None or view.names.policy is None:
        return None
    found = _samples_occurrence_at(samples.text, Names.of(view.names.policy), position)
    return (view, found) if found is not None else None


# ---------------------------------------------------------------- rename


@functools.lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """The grammar's words (`score`, `when`, `days`, ...)."""
    return frozenset(t.pattern.value for t in grammar_parser().terminals
                     if isinstance(t.pattern, PatternStr) and t.pattern.value[:1].isalpha())


def _is_name(kind: str, text: str) -> bool:
    """Whether the grammar reads `text` as one name of that kind (a team's may hold dashes)."""
    terminal = grammar_parser().get_terminal("TEAM_NAME" if kind == "team" else "NAME")
    return re.fullmatch(terminal.pattern.to_regexp(), text) is not None and (kind != "team" or text[:1].isalpha())


def _taken(view: View, found: Occurrence, new: str) -> bool:
    """Whether `new` names something else already, ignoring case as `check` compares names: for a field, score
    or grade, any of those or a decided value a guarantee reads (`stage`, `route`, `owner`, `handoff`); for
    the other kinds, another name of the same kind."""
    policy = view.names.policy
    if found.kind in ("field", "score", "grade"):
        names = set(Names.of(policy).symbols if policy is not None else ()) | set(DECIDED_NAMES)
    else:
        names = {o.name for o in view.names.occurrences if o.kind == found.kind}
    return new.casefold() in {name.casefold() for name in names - {found.name}}


def refusal(view: View, found: Occurrence, new: str) -> str | None:
    """Why `found` cannot be renamed to `new` (None when it can)."""
    if not view.is_current:
        return "the policy does not parse: fix the syntax error, then rename"
    if not _is_name(found.kind, new):
        shape = "letters, digits, _ and -" if found.kind == "team" else "letters, digits and _"
        return f"{new!r} is not a name: a {found.kind}'s name is {shape}, starting with a letter"
    if new in keywords():
        return f"{new!r} is a word of the policy language; choose another name"
    if _taken(view, found, new):
        return f"{new!r} is already a name in this policy; choose another"
    return None


def _yaml_text(new: str) -> str:
    """A name as a samples file must write it to read it back as text (`no` or `null` quoted)."""
    return new if yaml.safe_load(new) == new else f'"{new}"'


def rename_edit(ws: Workspace, view: View, found: Occurrence, new: str) -> types.WorkspaceEdit:
    """The edits renaming a name everywhere: its declaration, its uses, and the samples file's."""
    why = refusal(view, found, new)
    if why is not None:
        raise RenameRefused(why)
    text = view.current.text
    spans = [o.span for o in view.names.occurrences if _same(o, found.kind, found.name)]
    changes = {view.uri: _formatted_edit(view.current, spans, new)
               or [types.TextEdit(range=to_range(text, span), new_text=new) for span in spans]}
    samples = ws.samples_of(view)
    if samples is not None:
        edits = [types.TextEdit(range=to_range(samples.text, o.span), new_text=_yaml_edit(samples.text, o, new))
                 for o in samples.occurrences if _same(o, found.kind, found.name)]
        if edits:
            changes[samples.uri] = edits
    return types.WorkspaceEdit(changes=changes)


def _formatted_edit(doc: Document, spans: list[ast.Span], new: str) -> list[types.TextEdit] | None:
    """For a policy `fmt` leaves as it is, the rename as one edit of the whole text, formatted as `fmt` would
    (a longer or shorter name moves the columns `fmt` aligns, and `fmt --check` in `ci` would fail); None for
    a text that is not formatted (its own layout is kept: only the names change) or that does not parse."""
    parsed = doc.parsed
    if parsed.policy is None or format_policy(parsed.policy, parsed.comments) != doc.text:
        return None
    renamed = doc.text
    for span in sorted(spans, key=lambda s: (s.line, s.column), reverse=True):
        start = offset_of(renamed, span.line, span.column)
        renamed = renamed[:start] + new + renamed[offset_of(renamed, span.end_line, span.end_column):]
    reparsed = parse_text(renamed, str(doc.path or doc.uri))
    if reparsed.policy is None:
        return None
    whole = types.Range(start=types.Position(line=0, character=0), end=offset_to_position(doc.text, len(doc.text)))
    return [types.TextEdit(range=whole, new_text=format_policy(reparsed.policy, reparsed.comments))]


def _yaml_edit(text: str, found: Occurrence, new: str) -> str:
    """The new name for a samples occurrence: as it is inside quotes, else as YAML must write it bare."""
    start = offset_of(text, found.span.line, found.span.column)
    quoted = start > 0 and text[start - 1] in "'\""
    return new if quoted else _yaml_text(new)


# ---------------------------------------------------------------- completion


BLOCK_WORDS = ("policy", "lead", "score", "grade", "stages", "route", "calendar", "events", "sla", "outcomes",
               "guarantees", "team", "recycle")
OPERAND = ("field", "score", "grade", "event")


@dataclass
class Context:
    """Where the cursor is, as the tokens before it say: the block it is in, the word before, what the
    grammar accepts next, and the scores and grades declared above the item being written."""

    block: str
    opened: int  # where in `before` the block's brace stands
    header: str  # the block word read since the last brace (`route` in `route for a, `)
    before: list[str]
    accepts: set[str]
    above: frozenset[str] = frozenset()  # the scores and grades a condition here may read (check's order)

    def prev(self, back: int = 1) -> str:
        return self.before[-back] if len(self.before) >= back else ""


@dataclass
class _Reading:
    """The tokens read so far: the open blocks, the block word since the last brace, the scores and grades
    declared (with where) and where the last top-level item ended."""

    blocks: list[tuple[str, int]] = field(default_factory=list)
    header: str = ""
    before: list[str] = field(default_factory=list)
    declared: list[tuple[str, int]] = field(default_factory=list)
    item_end: int = 0
    naming: bool = False  # the token before was the policy's `score` or `grade`: this one is its name

    def read(self, token: Token) -> None:
        value = str(token.value)
        if self.naming and token.type == "NAME":
            self.declared.append((value, len(self.before)))
        self.naming = len(self.blocks) == 1 and value in ("score", "grade") and token.type != "NAME"
        self.before.append(value if token.type != "NUMBER" else "#")
        if value in BLOCK_WORDS and token.type != "NAME":
            self.header = value
        elif value == "{":
            self.blocks.append((self.header, len(self.before)))
            self.header = ""
        elif value == "}" and self.blocks:
            self.blocks.pop()
            self.item_end = len(self.before) if len(self.blocks) == 1 else self.item_end

    def context(self, accepts: set[str]) -> Context:
        block, opened = self.blocks[-1] if self.blocks else ("", 0)
        above = frozenset(name for name, at in self.declared if at < self.item_end)
        return Context(block, opened, self.header, self.before, accepts, above)


def context_at(text: str) -> Context | None:
    """The context of the end of `text`, by Lark's interactive parser (None when the text before is wrong)."""
    reading = _Reading()
    try:
        parser = grammar_parser().parse_interactive(text)
        for token in parser.iter_parse():
            reading.read(token)
        accepts: set[str] = parser.accepts()  # type: ignore[no-untyped-call]
    except UnexpectedInput:
        return None
    return reading.context(accepts)


def _sla_kinds(ctx: Context) -> tuple[str, ...]:
    item = ctx.before[ctx.opened:]
    in_condition = "within" in item and "when" in item[_last(item, "within"):]
    if not in_condition and ctx.prev() in ("from", "until", "or", "after"):
        return ("event",)
    if ctx.prev() == "#" and ctx.prev(2) == "least":
        return ("event",)
    return OPERAND if in_condition and _operand_place(ctx) else ()


def _last(items: list[str], word: str) -> int:
    return max((i for i, item in enumerate(items) if item == word), default=0)


def _operand_place(ctx: Context) -> bool:
    words = ("when", "and", "or", "not", "(", "between", "implies", ":", "=", "!=", "<", "<=", ">", ">=")
    return ctx.prev() in words


def _guarantee_kinds(ctx: Context) -> tuple[str, ...]:
    """In a guarantee: a stage or an owning team beside the decided `stage` or `owner`, else what a condition
    reads, the decided values included."""
    if ctx.prev() in ("=", "!=") and ctx.prev(2) in ("stage", "owner"):
        return (ctx.prev(2),)
    return OPERAND + ("decided",) if _operand_place(ctx) else ()


def name_kinds(ctx: Context) -> tuple[str, ...]:
    """The kinds of name that fit where the cursor is."""
    prev = ctx.prev()
    fixed = {"on": ("calendar",), "owner": ("owner",), "last": ("event",), "since": ("field",),
             "with": ("field", "event")}
    if prev in fixed:
        return fixed[prev]
    if ctx.block == "team":
        return ("calendar",) if prev == "calendar" else ("team",) if prev == "to" else ()
    by_block: dict[str, Callable[[Context], tuple[str, ...]]] = {
        "sla": _sla_kinds, "outcomes": lambda c: ("event",) if c.prev() in ("when", "or") else (),
        "recycle": lambda c: ("stage",) if c.prev() == "to" else ("event",) if c.prev() != "because" else (),
        "score": lambda c: ("field", "score", "event") if c.prev() == "per" else OPERAND if _operand_place(c) else (),
        "guarantees": _guarantee_kinds,
    }
    if ctx.block in by_block:
        return by_block[ctx.block](ctx)
    if ctx.header == "route" and prev in ("for", ","):
        return ("stage",)
    if ctx.block == "policy" and prev == "from":
        return ("score",)
    return OPERAND if ctx.block and _operand_place(ctx) else ()


def _word_start(text: str, offset: int) -> int:
    """Where the word being typed at `offset` starts."""
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-"):
        start -= 1
    return start


FIELD_TYPES = {"per": (NUMBER,), "since": (DATE, TIMESTAMP)}  # what a field after these words must be


def _fits(ctx: Context, symbols: dict[str, Symbol], found: Occurrence) -> bool:
    """Whether `check` accepts the name where the cursor is: a score or grade declared above the item being
    written, a field of the type the word before needs (`per` a number, `since` a date or timestamp)."""
    if found.kind in ("score", "grade"):
        return found.name in ctx.above
    wanted = FIELD_TYPES.get(ctx.prev())
    if found.kind == "field" and wanted is not None:
        symbol = symbols.get(found.name)
        return symbol is not None and symbol.type in wanted
    return True


def completions(view: View | None, text: str, offset: int) -> list[types.CompletionItem]:
    """The declared names of the kinds that fit at `offset` and that `check` accepts there, and the grammar's
    words accepted there."""
    ctx = context_at(text[: _word_start(text, offset)])
    occurrences = view.names.occurrences if view is not None else ()
    if ctx is None:  # the text before the cursor does not parse: offer every name a condition reads
        return _name_items(occurrences, OPERAND)
    policy = view.names.policy if view is not None else None
    symbols = symbol_table(policy) if policy is not None else {}
    fitting = [o for o in occurrences if _fits(ctx, symbols, o)]
    items = _name_items(fitting, name_kinds(ctx)) if ctx.accepts & {"NAME", "TEAM_NAME"} else []
    words = sorted(_keyword(t) for t in ctx.accepts if _keyword(t))
    return items + [types.CompletionItem(label=w, kind=types.CompletionItemKind.Keyword) for w in words]


def _keyword(terminal: str) -> str:
    try:
        pattern = grammar_parser().get_terminal(terminal).pattern
    except KeyError:
        return ""
    return pattern.value if isinstance(pattern, PatternStr) and pattern.value[:1].isalpha() else ""


ITEM_KINDS = {"field": types.CompletionItemKind.Field, "score": types.CompletionItemKind.Variable,
              "grade": types.CompletionItemKind.EnumMember, "event": types.CompletionItemKind.Event,
              "calendar": types.CompletionItemKind.Module, "team": types.CompletionItemKind.Class,
              "owner": types.CompletionItemKind.Class, "stage": types.CompletionItemKind.Enum,
              "decided": types.CompletionItemKind.Constant}


def _name_items(occurrences: Iterable[Occurrence], kinds: tuple[str, ...]) -> list[types.CompletionItem]:
    seen: dict[tuple[str, str], Occurrence] = {}
    for found in occurrences:
        if found.kind in kinds and (found.kind, found.name) not in seen and (found.declaration or found.kind == "team"):
            seen[(found.kind, found.name)] = found
    decided = [("decided", name) for name in DECIDED_NAMES] if "decided" in kinds else []
    return [types.CompletionItem(label=name, kind=ITEM_KINDS[kind], detail=kind) for kind, name in [*seen, *decided]]


# ---------------------------------------------------------------- hover


def hover_markdown(policy: ast.Policy, occurrences: tuple[Occurrence, ...], found: Occurrence) -> str:
    """What a hover says of a name, in Markdown with every text of the policy escaped: its kind and name, what
    it is (in the published page's plain English) and where it is used."""
    describe = DESCRIBE.get(found.kind)
    lines = [f"**{found.kind} {md(found.name)}**"]
    if describe is not None:
        lines += _described(describe, policy, found.name)
    users = _users(occurrences, found)
    if users:
        verb = "Read by" if found.kind == "event" else "Used in"
        lines.append(f"{verb}: " + ", ".join(md(u) for u in users))
    return "\n\n".join(lines)


def _described(describe: Callable[[ast.Policy, str], list[str]], policy: ast.Policy, name: str) -> list[str]:
    """What `describe` says of a name; nothing when the policy's errors keep it from saying it (the plain English
    is made for a checked policy: an unknown time zone or name raises there, and the diagnostics say why)."""
    try:
        with english.wording(english.labels_of(policy)):
            return describe(policy, name)
    except (LookupError, ValueError, TypeError, ArithmeticError):
        return []


def _users(occurrences: tuple[Occurrence, ...], found: Occurrence) -> list[str]:
    """The items that use a name (not its declaration), once each, in source order."""
    return list(dict.fromkeys(o.container for o in occurrences
                              if _same(o, found.kind, found.name) and not o.declaration and o.container))


def _lowering(policy: ast.Policy) -> Lowering:
    return Lowering(symbol_table(policy))


def _field(policy: ast.Policy, name: str) -> list[str]:
    node = next((f for f in policy.fields if f.name == name), None)
    if node is None:
        return ["not declared in the lead block"]
    extra = ", required" if node.required else ", with a default" if node.default is not None else ""
    return [md(field_type(node.type)) + extra]


def _score(policy: ast.Policy, name: str) -> list[str]:
    node = next((s for s in policy.scores if s.name == name), None)
    if node is None:
        return []
    lowered = _lowering(policy).score(node)
    lines = [md(node.label)] if node.label else []
    for rule in lowered.rules:
        points = primitives.rule_row(rule).amount.format(points=english.points(rule.points))
        reason = f" ({md(rule.reason)})" if rule.reason else ""
        lines.append(f"- {md(points)}: {md(english.rule(rule))}{reason}")
    if lowered.decay is not None:
        lines.append("Decay: " + md(english.decay(lowered.decay)) + ".")
    if lowered.clamp is not None:
        lines.append("The score " + md(english.clamp(lowered.clamp)) + ".")
    return lines


def _grade(policy: ast.Policy, name: str) -> list[str]:
    node = next((g for g in policy.grades if g.name == name), None)
    if node is None:
        return []
    entries = _lowering(policy).entries(node.entries)
    ladder = [f"- {md(e.label)}: " + (md(english.condition(e.condition)) if e.condition else "otherwise")
              for e in entries]
    return [f"From the score {md(node.source)}:", "\n".join(ladder)]


def _stage(policy: ast.Policy, name: str) -> list[str]:
    node = next((s for s in policy.stages if s.name == name), None)
    if node is None:
        return []
    when = "otherwise" if node.condition is None else \
        "when " + md(english.condition(_lowering(policy).condition(node.condition)))
    return [f"Reached {when}", f"Owner: {md(node.owner)}"]


def _event(policy: ast.Policy, name: str) -> list[str]:
    node = next((e for e in policy.events or () if e.name == name), None)
    if node is None:
        return ["not declared in the events block"] if policy.events is not None else []
    return [md(node.label)] if node.label else []


def _calendar(policy: ast.Policy, name: str) -> list[str]:
    node = next((c for c in policy.calendars if c.name == name), None)
    return [md(english.calendar(node))] if node is not None else []


def _team(policy: ast.Policy, name: str) -> list[str]:
    node = next((t for t in policy.team_blocks if t.name == name), None)
    if node is None:
        return ["a route label (no team block assigns its leads)"]
    members = [f"- {md(m.person)}" for m in node.members]
    return ([md(node.label)] if node.label else []) + (["Members:", "\n".join(members)] if members else [])


def _owner(policy: ast.Policy, name: str) -> list[str]:
    return [md(o.person) for o in policy.owners if o.team == name]


def _sla(policy: ast.Policy, name: str) -> list[str]:
    return [md(s.label) for s in policy.slas if s.name == name and s.label]


DESCRIBE: dict[str, Callable[[ast.Policy, str], list[str]]] = {
    "field": _field, "score": _score, "grade": _grade, "stage": _stage, "event": _event, "calendar": _calendar,
    "team": _team, "owner": _owner, "sla": _sla}


# ---------------------------------------------------------------- the handlers


def _never_raise(handler: Callable[..., R]) -> Callable[..., R | None]:
    """A handler that answers nothing rather than an error when it fails (a refused rename still says why)."""
    @functools.wraps(handler)
    def guarded(*args: Any) -> R | None:
        try:
            return handler(*args)
        except RenameRefused:
            raise
        except Exception:  # a failure of navigation must never reach the editor as an error
            log.exception("navigation failed")
            return None
    return guarded


def register(server: Any, document_of: DocumentOf) -> None:
    """Register definition, references, rename (+ prepare), hover and completion on `server`."""
    ws = Workspace(document_of)
    handlers: dict[str, Callable[[Any], Any]] = {
        types.TEXT_DOCUMENT_DEFINITION: functools.partial(on_definition, ws),
        types.TEXT_DOCUMENT_REFERENCES: functools.partial(on_references, ws),
        types.TEXT_DOCUMENT_PREPARE_RENAME: functools.partial(on_prepare_rename, ws),
        types.TEXT_DOCUMENT_RENAME: functools.partial(on_rename, ws),
        types.TEXT_DOCUMENT_HOVER: functools.partial(on_hover, ws),
    }
    for method, handler in handlers.items():
        server.feature(method)(_never_raise(handler))
    options = types.CompletionOptions(trigger_characters=[" ", "("])
    server.feature(types.TEXT_DOCUMENT_COMPLETION, options)(_never_raise(functools.partial(on_completion, ws)))


def on_definition(ws: Workspace, params: types.DefinitionParams) -> list[types.Location] | None:
    found = target(ws, params.text_document.uri, params.position)
    return definitions(found[0], found[1].kind, found[1].name) if found is not None else None


def on_references(ws: Workspace, params: types.ReferenceParams) -> list[types.Location] | None:
    found = target(ws, params.text_document.uri, params.position)
    if found is None:
        return None
    return references(ws, found[0], found[1].kind, found[1].name, params.context.include_declaration)


def on_prepare_rename(ws: Workspace, params: types.PrepareRenameParams) -> types.PrepareRenamePlaceholder | None:
    uri = params.text_document.uri
    found = target(ws, uri, params.position)
    if found is None:
        return None
    view, occurrence = found
    if not view.is_current:
        raise RenameRefused("the policy does not parse: fix the syntax error, then rename")
    asked = view.current if uri == view.uri else ws.document(uri)
    if asked is None:
        return None
    return types.PrepareRenamePlaceholder(range=to_range(asked.text, occurrence.span), placeholder=occurrence.name)


def on_rename(ws: Workspace, params: types.RenameParams) -> types.WorkspaceEdit | None:
    found = target(ws, params.text_document.uri, params.position)
    if found is None:
        raise RenameRefused("there is no field, score, grade, stage, event, calendar, team or SLA name here")
    return rename_edit(ws, found[0], found[1], params.new_name)


def on_hover(ws: Workspace, params: types.HoverParams) -> types.Hover | None:
    found = target(ws, params.text_document.uri, params.position)
    policy = found[0].names.policy if found is not None else None
    if found is None or policy is None:
        return None
    text = hover_markdown(policy, found[0].names.occurrences, found[1])
    if not text:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


def on_completion(ws: Workspace, params: types.CompletionParams) -> types.CompletionList | None:
    doc = ws.document(params.text_document.uri)
    if doc is None or (doc.path is not None and policy_path(doc.path) is not None):
        return None
    view = ws.view(params.text_document.uri)
    items = completions(view, doc.text, to_offset(doc.text, params.position))
    return types.CompletionList(is_incomplete=False, items=items)
