"""A Pygments lexer for the policy language (registered as `policy`, `leadpolicy`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from re import Match

from pygments.lexer import Lexer, RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

# The callback bygroups returns, as Pygments calls it (a token type is a tuple of names, such as
# ("Keyword", "Type")); Pygments' stubs leave bygroups itself untyped.
GroupsCallback = Callable[[Lexer, Match[str]], Iterator[tuple[int, tuple[str, ...], str]]]
by_groups: Callable[..., GroupsCallback] = bygroups

BLOCKS = ("policy", "version", "title", "owner", "timezone", "effective", "lead", "score", "grade", "from", "stages",
          "route", "for", "calendar", "open", "holidays", "closed", "sla", "until", "within", "on", "target", "needs",
          "reason", "at", "least", "after", "per", "recycle", "because", "to", "decay", "every", "since", "clamp",
          "up", "required", "default", "otherwise", "when", "events", "outcomes", "paused", "warn", "escalate", "each",
          "time", "guarantees")
TYPES = ("text", "number", "yes/no", "date", "timestamp", "one of")
OPERATORS = ("and", "or", "not", "in", "between", "contains", "any", "starts", "ends", "with", "is", "missing",
             "present", "days", "count", "last", "implies", "never", "decreases", "increases", "lost")
# The team block's words; `email` only in `by email domain`, so a field called email stays a name.
TEAMS = ("team", "assign", "round", "robin", "by", "weight", "least", "loaded", "today", "member", "cap", "match",
         "accounts", "nobody", "available", "hold")
DECIDED = ("stage", "handoff")  # the decided values a guarantee reads (`route` and `owner` are keywords already)


class PolicyLexer(RegexLexer):
    """Highlights leadpolicy policy files."""

    name = "leadpolicy"
    aliases = ["policy", "leadpolicy"]
    filenames = ["*.policy"]
    mimetypes = ["text/x-leadpolicy"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*$", Comment.Single),
            (r'"(\\\\|\\"|[^"\n])*"', String.Double),
            (r"\d{4}-\d{2}-\d{2}", Number.Other),
            (r"(\d{1,2}:\d{2})(-)(\d{1,2}:\d{2})", by_groups(Number.Other, Punctuation, Number.Other)),
            (r"\d{1,2}:\d{2}", Number.Other),
            (r"[+-]?\d+(\.\d+)*%?", Number),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (r"(business)(\s+)(hours|days)\b", by_groups(Keyword, Whitespace, Keyword)),
            (words(("minutes", "hours", "days", "day", "week", "month", "quarter"), suffix=r"\b"), Keyword.Constant),
            (words(("yes", "no"), suffix=r"\b"), Keyword.Constant),
            (words(OPERATORS, suffix=r"\b"), Operator.Word),
            (words(BLOCKS, suffix=r"\b"), Keyword),
            (r"by\s+email\s+domain\b", Keyword),
            (words(TEAMS, suffix=r"\b"), Keyword),
            (words(DECIDED, suffix=r"\b"), Name.Builtin),
            (r"<=|>=|!=|=|<|>", Operator),
            (r"[{}(),:\-]", Punctuation),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r".", Text),
        ],
    }
