"""Fuzzing `check`: whatever the input, it ends in diagnostics, never in an exception or a hang."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpolicy.language.loader import load_policy_text
from leadpolicy.language.parser import parse_text

from .conftest import POLICIES

REFERENCE = (POLICIES / "inbound-b2b.policy").read_text()
TOKENS = re.findall(r'"[^"\n]*"|\S+|\n', REFERENCE)


def check_text(text: str) -> None:
    loaded = load_policy_text(text, "fuzz.policy")
    # Ending without an exception is the property; a result must also be consistent.
    if loaded.policy is None:
        assert loaded.diagnostics, "a policy that could not be built must say why"
    for d in loaded.diagnostics:
        assert d.file == "fuzz.policy" and d.code and d.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(data):
    check_text(data.decode("utf-8", errors="replace"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "swap"]),
                          st.integers(min_value=0, max_value=len(TOKENS) - 1),
                          st.integers(min_value=0, max_value=len(TOKENS) - 1)), min_size=1, max_size=4))
def test_reference_with_tokens_deleted_duplicated_or_swapped(edits):
    tokens = list(TOKENS)
    for op, i, j in edits:
        i, j = i % len(tokens), j % len(tokens)
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        else:
            tokens[i], tokens[j] = tokens[j], tokens[i]
        if not tokens:
            tokens = ["x"]
    check_text(" ".join(tokens))


def _wrap(condition: str) -> str:
    return ('policy "deep" version 1.0.0 {\n title "t"\n owner a "x"\n owner b "y"\n'
            ' lead {\n x number\n }\n score s {\n +1 when ' + condition + '\n }\n}\n')


def test_deeply_nested_conditions_are_diagnosed_not_crashed():
    for condition in ("not " * 50_000 + "x > 1",
                      "(" * 50_000 + "x > 1" + ")" * 50_000,
                      "x > 1 and (" * 5_000 + "x > 1" + ")" * 5_000,
                      "x > 1 or " * 20_000 + "x > 1"):
        check_text(_wrap(condition))
    codes = [d.code for d in parse_text(_wrap("not " * 50_000 + "x > 1")).diagnostics]
    assert codes == ["too-deep"]


def test_nesting_within_the_limit_is_fine():
    loaded = load_policy_text(_wrap("not " * 90 + "x > 1"))
    assert loaded.policy is not None
    assert not [d for d in loaded.diagnostics if d.is_error]


def test_a_very_long_flat_condition_checks_quickly():
    loaded = load_policy_text(_wrap(" or ".join(f"x = {i}" for i in range(2000))))
    assert not [d for d in loaded.diagnostics if d.is_error]
