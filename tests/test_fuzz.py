"""Fuzzing `check`: whatever the input, it ends in diagnostics, never in an exception or a hang."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpolicy.cli.main import main
from leadpolicy.language.parser import parse_text
from leadpolicy.semantics.loading import load_policy_text

from .conftest import POLICIES

REFERENCE = (POLICIES / "inbound-b2b.policy").read_text()
TOKENS = re.findall(r'"[^"\n]*"|\S+|\n', REFERENCE)
# The v2 reference: an events block, activity scores, tiered SLAs, outcomes and recycling.
ACTIVITY = (POLICIES / "inbound-activity.policy").read_text()
ACTIVITY_TOKENS = re.findall(r'"[^"\n]*"|\S+|\n', ACTIVITY)
ACTIVITY_WORDS = sorted({t for t in ACTIVITY_TOKENS if re.fullmatch(r"[a-z_]+", t)})


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


def _mutated(tokens: list[str], edits) -> str:
    tokens = list(tokens)
    for op, i, j in edits:
        i, j = i % len(tokens), j % len(tokens)
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:  # a word of the policy (an event, a stage, a field, a keyword) where another word was
            tokens[i] = ACTIVITY_WORDS[j % len(ACTIVITY_WORDS)]
        if not tokens:
            tokens = ["x"]
    return " ".join(tokens)


ACTIVITY_EDITS = st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "swap", "replace"]),
                                    st.integers(min_value=0, max_value=len(ACTIVITY_TOKENS) - 1),
                                    st.integers(min_value=0, max_value=len(ACTIVITY_TOKENS) - 1)),
                          min_size=1, max_size=3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIVITY_EDITS)
def test_events_reference_with_tokens_edited_checks_without_exception(edits):
    check_text(_mutated(ACTIVITY_TOKENS, edits))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIVITY_EDITS)
def test_check_command_never_exits_3_on_an_events_policy(edits):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.policy"
        path.write_text(_mutated(ACTIVITY_TOKENS, edits), "utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "--allow-untested", str(path)])
    assert code in (0, 1), out.getvalue() + err.getvalue()
    assert "internal error" not in err.getvalue()


def test_a_misspelt_event_replaced_in_the_events_reference_is_a_diagnostic():
    text = ACTIVITY.replace("+15 when webinar_attended", "+15 when webinar_atended")
    assert [d.code for d in load_policy_text(text, "fuzz.policy").diagnostics] == ["unknown-event"]


def _wrap(condition: str) -> str:
    return ('policy "deep" version 1.0.0 {\n title "t"\n owner a "x"\n owner b "y"\n'
            ' lead {\n x number\n }\n score s {\n +1 when ' + condition + '\n }\n}\n')


@pytest.mark.slow  # about 20 s on 2 cores
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
