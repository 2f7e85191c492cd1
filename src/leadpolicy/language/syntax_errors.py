"""The syntax-error diagnostic of a text the parser stopped in: what came where (a character no token starts
with, a token the grammar does not expect, the end of the file) and a hint for the mistakes people make, such as
a misspelt unit, a number without its %, `==`, `&&`, a bare dashed label (`syntax_hints`)."""

from __future__ import annotations

import difflib
import re

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic, source_lines
from leadpolicy.language.syntax_hints import bare_words_hint

# How a terminal is named in a message.
TERMINAL_WORDS: dict[str, str] = {
    "NAME": "a name",
    "TEAM_NAME": "a team's name (inbound-sdr)",
    "STRING": 'a quoted text ("...")',
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "TIME": "a time (HH:MM)",
    "VERSION": "a version (1.0.0)",
    "COMPARE": "a comparison (=, !=, <, <=, >, >=)",
    "$END": "the end of the file",
}


def _terminal_word(parser: Lark, name: str) -> str:
    if name in TERMINAL_WORDS:
        return TERMINAL_WORDS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"`{pattern.value}`" if pattern.type == "str" else name.lower()


def syntax_diagnostic(exc: UnexpectedInput, text: str, file: str, parser: Lark) -> Diagnostic:
    """What the parser stopped at, said as a syntax-error with a hint (`parser` names the terminals expected)."""
    if isinstance(exc, UnexpectedCharacters):
        return _character_diagnostic(exc, text, file, parser)
    return _token_diagnostic(exc, text, file, parser)


def _character_diagnostic(exc: UnexpectedCharacters, text: str, file: str, parser: Lark) -> Diagnostic:
    """A character no token starts with: what it is, and how such a thing is written instead."""
    line, column = exc.line or 0, exc.column or 0
    pos = exc.pos_in_stream or 0
    ch = text[pos] if pos < len(text) else ""
    message = "text that is never closed" if ch == '"' else f"unexpected character {ch!r}"
    hint = _character_hint(ch, text[pos:pos + 2])
    if hint is None and exc.allowed:
        hint = "expected " + _one_of(sorted({_terminal_word(parser, t) for t in exc.allowed}))
    return Diagnostic("syntax-error", message, file, ast.Span(line, column, line, column + 1), hint=hint)


def _character_hint(ch: str, two: str) -> str | None:
    """How a character (and the one after it) that other languages use is written here."""
    if ch == '"':
        return 'a quoted text ends with " on the same line'
    if ch == "'":
        return 'texts are written in double quotes: "like this"'
    if two in ("&&", "||") or ch in "&|":
        return "write `and` / `or`"
    if two == "==":
        return "compare with a single ="
    return None


def _token_diagnostic(exc: UnexpectedInput, text: str, file: str, parser: Lark) -> Diagnostic:
    """A token the grammar does not expect there (or the end of the file): what came, what was expected."""
    line = getattr(exc, "line", 0) or 0
    column = getattr(exc, "column", 0) or 0
    token: Token = exc.token  # type: ignore[attr-defined]  # UnexpectedToken and UnexpectedEOF carry one
    expected = set(getattr(exc, "expected", ()) or getattr(exc, "accepts", ()) or ())
    meant = _misspelt_business(text, line, file) or _number_without_percent(text, token, expected, file)
    if meant is not None:
        return meant
    hint = None
    if isinstance(exc, UnexpectedEOF) or token.type == "$END":
        message = "the file ends too early"
        line, column = _last_position(text)
        width = 1
        hint = "is a closing } missing?" if "RBRACE" in expected else None
    else:
        shown = token.value if len(token.value) <= 30 else token.value[:27] + "..."
        message = f"unexpected {shown!r}"
        width = max(len(token.value), 1)
    words = sorted({_terminal_word(parser, t) for t in expected})
    if words and hint is None:
        hint = "expected " + _one_of(words)
    hint = _token_hint(token, expected, text) or hint
    return Diagnostic("syntax-error", message, file, ast.Span(line, column, line, column + width), hint=hint)


def _token_hint(token: Token, expected: set[str], text: str) -> str | None:
    """A hint for a mistake a token shows better than the list of what was expected."""
    start = token.start_pos or 0
    if token.type == "COMPARE" and token.value == "=" and text[start - 1:start] == "=":
        return "compare with a single ="
    if "WHEN" in expected and "MEMBER" not in expected and token.type in ("NAME", "STRING"):
        return "is `when` missing? a rule reads `+10 when CONDITION \"reason\"`"
    return bare_words_hint(text, start, token.value)


# `within 4 bussiness hours`: the misspelt word reads as a unit and the real unit as the next item,
# so the parser stops a token later, expecting something unrelated.
_UNIT_AFTER_WORD = re.compile(r"\b\d+(?:\.\d+)?[ \t]+([A-Za-z_]+)[ \t]+(hours?|days?)\b")


def _misspelt_business(text: str, line: int, file: str) -> Diagnostic | None:
    lines = source_lines(text)
    for number in (line, line - 1):
        if not 0 < number <= len(lines):
            continue
        for found in _UNIT_AFTER_WORD.finditer(lines[number - 1]):
            word = found.group(1)
            if word != "business" and difflib.SequenceMatcher(None, word.lower(), "business").ratio() >= 0.7:
                column = found.start(1) + 1
                return Diagnostic("syntax-error", f'"{word} {found.group(2)}" is not a unit of time', file,
                                  ast.Span(number, column, number, column + len(word)),
                                  hint='did you mean "business"? for example: within 4 business hours on CALENDAR')
    return None


def _number_without_percent(text: str, token: Token, expected: set[str], file: str) -> Diagnostic | None:
    """`target 90` followed by the next line: point at the number the % belongs to, not at the next line."""
    if "PERCENT" not in expected:
        return None
    before = re.search(r"(\d+(?:\.\d+)?)\s*$", text[:token.start_pos or 0])
    if before is None:
        return None
    offset = before.start(1)
    number = before.group(1)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Diagnostic("syntax-error", f"{number} needs a % sign here", file,
                      ast.Span(line, column, line, column + len(number)), hint=f"write {number}%")


def _one_of(words: list[str]) -> str:
    if len(words) > 8:
        words = words[:8] + ["..."]
    return words[0] if len(words) == 1 else "one of: " + ", ".join(words)


def _last_position(text: str) -> tuple[int, int]:
    lines = source_lines(text.rstrip()) or [""]
    return len(lines), len(lines[-1]) + 1
