"""The published pages highlight policy source with leadpolicy's Pygments lexer: every word the grammar reads as
a keyword is highlighted as one, so a construct added to the grammar (docs/internals.md, "Adding a construct")
cannot lose its highlighting with nothing failing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lark.lexer import PatternStr
from pygments.token import Name, Text, Whitespace

from leadpolicy.language.parser import grammar_parser
from leadpolicy.publish.pygments_lexer import PolicyLexer

# a word the lexer reads only with its neighbour, as the grammar writes them together
IN_CONTEXT = {"business": "business hours", "one": "one of", "of": "one of", "email": "by email domain",
              "domain": "by email domain"}


def grammar_keywords() -> list[str]:
    return sorted({t.pattern.value for t in grammar_parser().terminals
                   if isinstance(t.pattern, PatternStr) and re.fullmatch(r"[a-z][a-z/]*", t.pattern.value)})


def test_the_grammar_has_keywords_to_check():
    assert {"policy", "score", "when", "between", "yes", "business"} <= set(grammar_keywords())


@pytest.mark.parametrize("word", grammar_keywords())
def test_every_keyword_of_the_grammar_is_highlighted(word: str):
    tokens = [(kind, text) for kind, text in PolicyLexer().get_tokens(IN_CONTEXT.get(word, word))
              if kind not in (Whitespace, Text.Whitespace)]
    kind, text = tokens[0]
    assert word in text.split() and kind not in (Name, Text), tokens


def test_the_reference_policies_have_no_text_the_lexer_cannot_read():
    root = Path(__file__).parent.parent / "policies"
    for path in sorted(root.glob("*.policy")):
        tokens = PolicyLexer().get_tokens(path.read_text("utf-8"))
        stray = [text for kind, text in tokens if kind is Text and text.strip()]
        assert stray == [], (path.name, stray)
