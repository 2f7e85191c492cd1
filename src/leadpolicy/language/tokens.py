"""What the tree builders read of a Lark token or rule: where it stands, and a quoted text's value."""

from __future__ import annotations

from lark import Token
from lark.tree import Meta

from leadpolicy.language import ast

ESCAPED = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def span_of(meta_or_token: Meta | Token) -> ast.Span:
    return ast.Span(
        getattr(meta_or_token, "line", 0) or 0,
        getattr(meta_or_token, "column", 0) or 0,
        getattr(meta_or_token, "end_line", 0) or 0,
        getattr(meta_or_token, "end_column", 0) or 0,
    )


def unquote(token: str) -> str:
    """The text of a STRING token; escapes \\" \\\\ \\n \\t, others kept as written."""
    body = token[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(ESCAPED.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class BuildError(Exception):
    """A form the grammar accepts by shape but the tree builder refuses (a misplaced word)."""

    def __init__(self, message: str, span: ast.Span, hint: str | None = None):
        super().__init__(message)
        self.span, self.hint = span, hint
