"""An event named after a word the grammar reads as its own (`not`, `or`, `in`...) could be declared but
never used in a condition (`+15 when not in last 90 days` is a syntax error further on): the declaration
is refused with `reserved-name`. Which words those are is found by parsing, so the list follows the grammar."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from leadpolicy.language.checks.context import RESERVED_EVENT_NAMES
from leadpolicy.semantics.loading import load_policy_text

USES = ("+1 when {w} in last 9 days", "+1 per {w} in last 9 days up to 3", "+1 when days since last {w} > 1",
        "+1 when count {w} in last 9 days > 1")
GRAMMAR_WORDS = sorted(set(re.findall(r'"([a-z]+)"', resources.files("leadpolicy").joinpath(
    "grammar/leadpolicy.lark").read_text("utf-8"))) | {"count"})


def _policy(event: str, rule: str = "") -> str:
    return f'''policy "p" version 1.0.0 {{
  title "t"
  owner a "A"
  owner b "B"
  lead {{
    email text
  }}
  events {{
    email_click
    {event}
  }}
  score s "s" {{
    {rule or "+1 when email_click in last 9 days"} "r"
  }}
  stages {{
    x otherwise owner a
  }}
}}
'''


def _usable(word: str) -> bool:
    for use in USES:
        loaded = load_policy_text(_policy(word, use.format(w=word)), "p.policy")
        if loaded.policy is None or any(d.code == "syntax-error" for d in loaded.diagnostics):
            return False
    return True


@pytest.mark.parametrize("word", GRAMMAR_WORDS)
def test_an_event_name_is_refused_exactly_when_a_condition_cannot_use_it(word):
    assert (word in RESERVED_EVENT_NAMES) == (not _usable(word))


@pytest.mark.parametrize("word", ["not", "or", "and", "in", "days", "yes"])
def test_a_reserved_event_name_is_refused_at_its_declaration(word):
    loaded = load_policy_text(_policy(word), "p.policy")
    found = [(d.code, d.span.line) for d in loaded.diagnostics if d.code == "reserved-name"]
    assert found == [("reserved-name", 10)], loaded.diagnostics
    assert f'"{word}"' in next(d.message for d in loaded.diagnostics if d.code == "reserved-name")


def test_a_reserved_event_name_in_use_is_named_instead_of_the_syntax_error_it_leads_to():
    loaded = load_policy_text(_policy("not", "+15 when not in last 90 days"), "p.policy")
    assert [(d.code, d.span.line, d.span.column) for d in loaded.diagnostics] == [("reserved-name", 10, 5)], \
        loaded.diagnostics
