"""One open policy text as the language server holds it: parsed lazily, and positions converted between the
project's spans (1-based lines and columns in code points, end exclusive) and LSP's (0-based, UTF-16 code units)."""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol.types import Position, Range

from leadpolicy.language import ast
from leadpolicy.language.parser import ParseResult, parse_text


@dataclass
class Document:
    """An open policy: its URI, its current text and version. The parse is made on first use and kept
    (a Document is replaced, not edited, when the text changes)."""

    uri: str
    text: str
    version: int | None = None
    _parsed: ParseResult | None = field(default=None, init=False, repr=False, compare=False)

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
            self._parsed = parse_text(self.text, str(self.path or self.uri))
        return self._parsed

    @property
    def policy(self) -> ast.Policy | None:
        return self.parsed.policy


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
