"""`check` compares text as every engine does, with the language's one case fold (runtime.fold,
Unicode's simple lowercase mapping): a literal that matches a choice on every engine is no `not-a-choice`,
one that never matches is, and `never-true` speaks of conditions that are never true on the engines. A blank
`one of` choice is refused (a blank text counts as missing)."""

from __future__ import annotations

import pytest

from leadpolicy.semantics.loading import load_policy_text


def _codes(rules: str, stages: str = "c otherwise owner b") -> list[tuple[str, int]]:
    text = f'''policy "fold" version 1.0.0 {{
  title "fold"
  owner a "A"
  owner b "B"
  lead {{
    email text required
    city text
    kind one of ("İstanbul", "ΟΔΟΣ")
  }}
  score s "s" {{
    {rules}
  }}
  stages {{
    {stages}
  }}
}}
'''
    loaded = load_policy_text(text, "fold.policy")
    return [(d.code, d.span.line) for d in loaded.diagnostics]


@pytest.mark.parametrize("literal", ["ISTANBUL", "istanbul", "İSTANBUL", "οδοσ", "οδος", "ΟΔΟΣ"])
def test_a_literal_the_engines_match_with_a_choice_is_no_error(literal):
    codes = _codes(f'+1 when kind = "{literal}" "r"')
    assert ("not-a-choice", 11) not in codes and ("never-true", 11) not in codes, codes


def test_a_literal_no_engine_matches_with_a_choice_is_an_error():
    # "i" + COMBINING DOT ABOVE folds to two characters; "İ" folds to "i": str.lower() made them equal
    assert ("not-a-choice", 11) in _codes('+1 when kind = "i\u0307stanbul" "r"')


def test_text_that_folds_apart_is_not_never_true():
    codes = _codes('+4 when city = "İ" and city != "i\u0307" "r"',
                   'a when city = "İ" owner a\n    b when city = "i\u0307" owner b\n    c otherwise owner b')
    assert not [c for c in codes if c[0] == "never-true"], codes


def test_text_that_folds_together_is_still_never_true():
    codes = _codes('+4 when city = "ΟΔΟΣ" and city != "οδος" "r"')
    assert ("never-true", 11) in codes, codes


def _choice_codes(choices: str) -> list[tuple[str, str]]:
    text = f'''policy "blank" version 1.0.0 {{
  title "b"
  owner a "A"
  owner b "B"
  lead {{
    email text required
    industry one of ({choices})
  }}
  stages {{
    y otherwise owner b
  }}
}}
'''
    return [(d.code, d.message) for d in load_policy_text(text, "b.policy").diagnostics]


@pytest.mark.parametrize("blank", ['""', '" "', '"\\t"', '"  \\n "'])
def test_a_blank_choice_is_refused(blank):
    """A blank text counts as missing, so a blank choice is a value no lead can hold."""
    codes = _choice_codes(f'"a", {blank}, "b"')
    assert [code for code, message in codes if code == "bad-value" and "blank" in message] == ["bad-value"], codes


def test_choices_with_text_in_them_are_not_blank():
    assert not [c for c in _choice_codes('"a", " b ", "\\u00a0"') if c[0] == "bad-value"]
