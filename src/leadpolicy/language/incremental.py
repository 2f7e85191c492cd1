"""An incremental parse for the language server: after an edit only the pieces of the text it changed are parsed
again, the others are taken from the parse before; the result is exactly `parser.parse_text`'s.

A policy text is cut into pieces where a cut can never change how the text reads:

- the header up to the policy's `{` and the tail from the end of its last block (both read together, with the
  text between left blank, as a policy: the skeleton),
- each top-level block, from the end of the one before (so the items without braces, like `owner`, go with the
  block after them) to its `}`,
- inside a score, each line that starts a rule (a number, `decay`, `clamp`): a score block is its header and
  `}` (read as a score with no rules), then its runs of rules.

Cuts are found by a scanner that knows texts (with their escapes) and comments, and are made only after a `}`
or at the start of a line, where no token can straddle them. Each piece is parsed alone where it stands
(preceded by blanks standing for the text before it), so every position is the file's; pieces are kept by
their text and position. When the scanner is unsure (braces that do not balance), or a piece does not parse,
the whole text is parsed as `parse_text` does, so a syntax error is always the whole text's.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from lark import Token

from leadpolicy.language import ast
from leadpolicy.language.parser import LONE_CR, ParseResult, Piece, parse_piece, parse_text

# What the scanner looks at: texts (with escapes, on one line), comments and braces.
_SCANNED = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]')
# A score block, after blank lines and comments.
_SCORE_HEADER = re.compile(r'(?:\s|#[^\n]*)*score\s+[A-Za-z_][A-Za-z0-9_]*\s*(?:"(?:[^"\\\n]|\\.)*"\s*)?\{')
# A line that starts a score's item: a rule's points, `decay`, `clamp`.
_SCORE_ITEM_LINE = re.compile(r"^[ \t]*(?:[+-]?[0-9]|decay\b|clamp\b)", re.MULTILINE)

Key = tuple[str, int, str]  # (the piece's start rule, the column it starts at, its text)
Position = tuple[int, int]  # line and column, from 1


@dataclass(frozen=True)
class Layout:
    """Where the policy's header ends, and each top-level block (start and end offsets) after it."""

    header_end: int
    blocks: tuple[tuple[int, int], ...]


def layout(text: str) -> Layout | None:
    """The header and blocks of a policy text; None when its braces do not balance or more follows the policy."""
    depth, header_end, start = 0, -1, 0
    blocks: list[tuple[int, int]] = []
    for found in _SCANNED.finditer(text):
        mark = found.group()
        if mark == "{":
            if depth == 0 and header_end >= 0:
                return None  # a second policy, or a block after the policy's end
            depth += 1
            if depth == 1:
                header_end = start = found.end()
        elif mark == "}":
            depth -= 1
            if depth < 0:
                return None
            if depth == 1:
                blocks.append((start, found.end()))
                start = found.end()
    if depth != 0 or header_end < 0:
        return None
    return Layout(header_end, tuple(blocks))


def _blank(text: str) -> str:
    """As many lines, and on the last as many columns, as `text` takes: what stands for text left out."""
    lines = text.count("\n")
    return "\n" * lines + " " * (len(text) - text.rfind("\n") - 1)


class IncrementalParser:
    """Parses the successive texts of one file, reusing the pieces an edit did not change."""

    def __init__(self) -> None:
        # each piece by its text, and by the lines it stands at (None when it does not parse)
        self._pieces: dict[Key, dict[int, Piece | None]] = {}
        self._used: dict[Key, dict[int, Piece | None]] = {}
        self._lock = threading.Lock()

    def parse(self, text: str, file: str = "<policy>") -> ParseResult:
        """`parse_text(text, file)`, made of the pieces the text shares with the texts parsed before."""
        with self._lock:
            self._used = {}
            try:
                return self._parse(LONE_CR.sub("\n", text), file) or parse_text(text, file)
            finally:
                self._pieces = self._used  # keep only what the last text holds

    def _piece(self, start: str, text: str, offset: int, end: int, file: str, at: Position) -> Piece | None:
        """The piece `text[offset:end]` at `at`: as parsed before, moved to its line, or parsed now."""
        key = (start, at[1], text[offset:end])
        lines = self._pieces.get(key, {})
        if at[0] in lines:
            piece = lines[at[0]]
        elif lines:
            line, known = next(iter(lines.items()))
            piece = None if known is None else _moved_piece(known, at[0] - line)
        else:
            piece = parse_piece(key[2], at[0], at[1], start, file)
        self._used.setdefault(key, {})[at[0]] = piece
        return piece

    def _parse(self, text: str, file: str) -> ParseResult | None:
        shape = layout(text)
        if shape is None:
            return None
        middle_end = shape.blocks[-1][1] if shape.blocks else shape.header_end
        skeleton_text = text[:shape.header_end] + _blank(text[shape.header_end:middle_end]) + text[middle_end:]
        skeleton = self._piece("start", skeleton_text, 0, len(skeleton_text), file, (1, 1))
        if skeleton is None or not isinstance(skeleton.nodes[0], ast.Policy):
            return None
        pieces = [skeleton]
        items: list[ast.Node] = []
        for (start, end), at in zip(shape.blocks, _positions(text, [s for s, _ in shape.blocks])):
            block = self._block(text, start, end, at, file)
            if block is None:
                return None
            items.extend(block[0])
            pieces.extend(block[1])
        policy = dataclasses.replace(skeleton.nodes[0], items=tuple(items) + skeleton.nodes[0].items)
        comments = sorted((c for p in pieces for c in p.comments), key=lambda c: (c.line or 0, c.column or 0))
        diagnostics = sorted((d for p in pieces for d in p.diagnostics), key=lambda d: d.sort_key())
        return ParseResult(file, text, policy, diagnostics, comments)

    def _block(self, text: str, start: int, end: int, at: Position,
               file: str) -> tuple[tuple[ast.Node, ...], list[Piece]] | None:
        """A top-level block's nodes (with what comes before it), and the pieces they were read from."""
        header = _SCORE_HEADER.match(text, start, end)
        if header is None:
            whole = self._piece("items", text, start, end, file, at)
            return None if whole is None else (whole.nodes, [whole])
        return self._score(text, header.end(), end, (start, at), file)

    def _score(self, text: str, body: int, end: int, begin: tuple[int, Position],
               file: str) -> tuple[tuple[ast.Node, ...], list[Piece]] | None:
        """A score block read as its header and `}` (a score with no rules), then each run of its rules."""
        start, at = begin
        outline = text[start:body] + _blank(text[body:end - 1]) + "}"
        shell = self._piece("items", outline, 0, len(outline), file, at)
        if shell is None or len(shell.nodes) != 1 or not isinstance(shell.nodes[0], ast.Score):
            return None
        cuts = [body, *(m.start() for m in _SCORE_ITEM_LINE.finditer(text, body, end - 1) if m.start() > body)]
        runs = []
        positions = _positions(text, cuts, (start, at))
        for (first, last), where in zip(zip(cuts, [*cuts[1:], end - 1]), positions):
            run = self._piece("score_items", text, first, last, file, where)
            if run is None:
                return None
            runs.append(run)
        score = dataclasses.replace(shell.nodes[0], items=tuple(n for r in runs for n in r.nodes))
        return (score,), [shell, *runs]


# Per file, the parser of its texts so far (the language server's open policies).
_BY_FILE: dict[str, IncrementalParser] = {}


def parse_edited(text: str, file: str) -> ParseResult:
    """`parse_text(text, file)`, made of the pieces `text` shares with the last text of `file` parsed here."""
    return _BY_FILE.setdefault(file, IncrementalParser()).parse(text, file)


def forget(file: str) -> None:
    """Drop what is kept of a file's texts (the editor closed it)."""
    _BY_FILE.pop(file, None)


def _positions(text: str, offsets: list[int], known: tuple[int, Position] = (0, (1, 1))) -> Iterator[Position]:
    """The line and column of each offset (ascending, from a `known` offset and its position on)."""
    offset, (line, column) = known
    for target in offsets:
        newlines = text.count("\n", offset, target)
        if newlines:
            line += newlines
            column = target - text.rfind("\n", offset, target)
        else:
            column += target - offset
        offset = target
        yield line, column


def _moved_piece(piece: Piece, lines: int) -> Piece:
    """A piece as parsed `lines` lines further down (up, when negative): the same nodes, comments and
    diagnostics, each span and position moved."""
    comments = tuple(Token("COMMENT", str(c), line=(c.line or 1) + lines, column=c.column) for c in piece.comments)
    diagnostics = tuple(dataclasses.replace(d, span=_moved(d.span, lines)) for d in piece.diagnostics)
    return Piece(_moved(piece.nodes, lines), comments, diagnostics)


def _moved(value: Any, lines: int) -> Any:
    """A node (or a span, or a tuple of them) with every span in it moved by `lines` lines; a span that says
    nowhere (line 0) stays. Nodes are copied field by field: building them anew costs as much as the parse."""
    if isinstance(value, ast.Node):
        moved = object.__new__(type(value))
        fields = moved.__dict__
        for name, field in value.__dict__.items():
            fields[name] = _moved(field, lines) if isinstance(field, (ast.Node, ast.Span, tuple)) else field
        return moved
    if isinstance(value, ast.Span):
        return ast.Span(value.line + lines, value.column, value.end_line + lines, value.end_column) \
            if value.line else value
    if isinstance(value, tuple):
        return tuple(_moved(v, lines) if isinstance(v, (ast.Node, ast.Span, tuple)) else v for v in value)
    return value
