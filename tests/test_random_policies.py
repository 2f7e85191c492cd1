"""Generated policies, not only generated leads: every engine decides them alike.

The differential tests in test_semantics.py run the reference policies over generated leads; here
Hypothesis writes the policy too (conditions nested at random, points and caps of either sign,
clamps, decay, a score counted per another, grades, stages and routes), so combinations no
reference policy has are decided by the interpreter, the compiled Python and the generated SQL.
A policy the checker refuses is skipped: refusing is the checker's job, tested elsewhere.

Raising max_examples hunts further: 1,500 generated policies (with and without activity) on the
interpreter, compiled Python and DuckDB, 400 on PostgreSQL, 250 through `leadpolicy score
--events` and 15 on Spark found no disagreement when this file was written.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from leadpolicy.api import from_tree
from leadpolicy.language import formatter
from leadpolicy.semantics.loading import load_policy_text

from . import constructs
from .engines import decide
from .strategies import NOWS, event_logs, valid_leads

pytestmark = pytest.mark.slow  # 12-40 s each on 2 cores: generated policies on every engine

FIELDS = """    n number
    m number
    t text
    c one of ("DE", "fr", "Üb")
    f yes/no
    d date
    seen timestamp"""
WORDS = ["abc", "ABC", "vp", "SALES", "of", "straße", "STRASSE", "İstanbul", "ς", "de", "ü", "🚀", 'O\\"B']
NUMBER_CONSTANTS = st.sampled_from(["0", "1", "2.5", "5", "-1", "50", "199.5", "200", "1000"])
POINTS = st.sampled_from(["+1", "+2.5", "-3", "+10", "+40", "-0.5"])


def _quoted(word: str) -> str:
    return f'"{word}"'


# What each attribute of an operand's syntax node is drawn from, over FIELDS and the events x and y: every row
# of the table of primitives is compared with a number (tests/constructs.py), its text as fmt writes it.
OPERAND_VALUES = {"name": st.sampled_from(["n", "m"]), "field_name": st.sampled_from(["d", "seen"]),
                  "event": st.sampled_from(["x", "y"]), "days": st.sampled_from([1, 7, 30]).map(Decimal)}


def table_operands(activity: bool) -> st.SearchStrategy[str]:
    values = {k: v for k, v in OPERAND_VALUES.items() if activity or k != "event"}  # no events without activity
    return constructs.operand_nodes(values).map(formatter.operand)


def test_every_operand_of_the_table_of_primitives_is_generated():
    """A new operand reaches the engines' comparison with no edit here, unless its node has an attribute
    OPERAND_VALUES does not name."""
    assert constructs.ungenerated(OPERAND_VALUES) == [], "give each attribute a strategy in OPERAND_VALUES"


@st.composite
def activity_atoms(draw) -> str:
    event, days = draw(st.sampled_from(["x", "y"])), draw(st.sampled_from(["1", "7", "30"]))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return f"count {event} in last {days} days {draw(st.sampled_from(['>', '>=', '=']))} " \
               f"{draw(st.sampled_from(['0', '1', '2']))}"
    if kind == 1:
        return f"{event} in last {days} days"
    comparison = draw(st.sampled_from([">", "<=", "="]))
    return f"days since last {event} {comparison} {draw(st.sampled_from(['0', '3', '10']))}"


@st.composite
def atoms(draw, activity: bool = False) -> str:
    if activity and draw(st.integers(0, 2)) == 0:
        return draw(activity_atoms())
    kind = draw(st.integers(0, 11))
    if kind == 0:
        return f"n {draw(st.sampled_from(['>', '>=', '<', '<=', '=', '!=']))} {draw(NUMBER_CONSTANTS)}"
    if kind == 1:
        low, high = sorted([draw(st.integers(-2, 300)), draw(st.integers(-2, 300))])
        return f"n between {low} and {high}"
    if kind == 2:
        return f"n {draw(st.sampled_from(['>', '=', '<=']))} m"
    if kind == 3:
        return f"t {draw(st.sampled_from(['=', '!=']))} {_quoted(draw(st.sampled_from(WORDS)))}"
    if kind == 4:
        how = draw(st.sampled_from(["starts with", "ends with", "contains"]))
        return f"t {how} {_quoted(draw(st.sampled_from(WORDS)))}"
    if kind == 5:
        how = draw(st.sampled_from(["starts with any", "ends with any", "contains any"]))
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True))
        return f"t {how} ({', '.join(map(_quoted, words))})"
    if kind == 6:
        return f"{draw(st.sampled_from(['n', 't', 'c', 'd', 'seen', 'f']))} is " \
               f"{draw(st.sampled_from(['missing', 'present']))}"
    if kind == 7:
        choices = draw(st.lists(st.sampled_from(["DE", "fr", "Üb"]), min_size=1, max_size=2, unique=True))
        return f"c {draw(st.sampled_from(['in', 'not in']))} ({', '.join(map(_quoted, choices))})"
    if kind == 8:
        return "f"
    if kind == 9:
        return f"{draw(table_operands(activity))} {draw(st.sampled_from(['>', '>=', '=', '<']))} " \
               f"{draw(st.sampled_from(['-1', '0', '1', '2', '7', '30', '200']))}"
    if kind == 10:
        return f"d {draw(st.sampled_from(['>=', '<']))} 2026-{draw(st.sampled_from(['06-01', '11-20', '12-31']))}"
    return f"c = {_quoted(draw(st.sampled_from(['de', 'FR', 'üb'])))}"


def conditions(depth: int = 2, activity: bool = False) -> st.SearchStrategy[str]:
    if depth == 0:
        return atoms(activity)
    inner = conditions(depth - 1, activity)
    return st.one_of(
        atoms(activity), atoms(activity),
        inner.map(lambda c: f"not ({c})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda p: f"({p[0]}) {p[1]} ({p[2]})"))


@st.composite
def policies(draw, activity: bool = False) -> str:
    """A policy's text; with `activity`, it declares events x and y and scores them too."""
    rules = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            rules.append(f"{draw(POINTS)} per n up to {draw(st.sampled_from(['10', '25', '7.5']))}")
        elif kind == 1 and activity:
            rules.append(f"{draw(POINTS)} per {draw(st.sampled_from(['x', 'y']))} in last "
                         f"{draw(st.sampled_from(['1', '7', '30']))} days up to {draw(st.sampled_from(['5', '12']))}")
        else:
            rules.append(f"{draw(POINTS)} when {draw(conditions(activity=activity))}")
    if draw(st.booleans()):
        rules.insert(0, f"clamp {draw(st.sampled_from(['-10', '0']))} to {draw(st.sampled_from(['20', '100']))}")
    if draw(st.integers(0, 3)) == 0:
        since = draw(st.sampled_from(["d", "seen", *(["last x"] if activity else [])]))
        rules.append(f"decay {draw(st.sampled_from(['25%', '50%', '100%']))} every "
                     f"{draw(st.sampled_from(['1', '7', '30']))} days since {since}")
    total = [f"{draw(POINTS)} per s up to {draw(st.sampled_from(['15', '50']))}",
             f"{draw(POINTS)} when {draw(conditions(1))}"]
    body = "  score s {\n" + "".join(f"    {r}\n" for r in rules) + "  }\n"
    body += "  score total {\n" + "".join(f"    {r}\n" for r in total) + "  }\n"
    body += ('  grade g from total {\n    "A" when total >= 20\n    "B" when total >= 1\n    "C" otherwise\n  }\n')
    body += (f"  stages {{\n    hot when {draw(conditions(1, activity))} owner b\n"
             '    warm when g in ("a", "B") owner b\n    rest otherwise owner a\n  }\n')
    body += f'  route for hot {{\n    "one" when {draw(conditions(1))}\n    "two" otherwise\n  }}\n'
    zone = draw(st.sampled_from(["", '  timezone "America/New_York"\n', '  timezone "Asia/Kolkata"\n']))
    events = "  events {\n    x\n    y\n  }\n" if activity else ""
    return (f'policy "random" version 1.0.0 {{\n  owner a "A"\n  owner b "B"\n{zone}  lead {{\n{FIELDS}\n  }}\n'
            f"{events}{body}}}\n")


def _policy_or_skip(text: str):
    loaded = load_policy_text(text)
    assume(not loaded.has_errors)  # e.g. a condition the checker proves never true
    return from_tree(loaded.policy)


def draw_case(data, activity: bool) -> tuple:
    """(policy, now, leads, each lead's events) for one example."""
    policy = _policy_or_skip(data.draw(policies(activity=activity), label="policy"))
    now = data.draw(NOWS, label="now")
    leads = data.draw(st.lists(valid_leads(policy), min_size=1, max_size=10), label="leads")
    events = [data.draw(event_logs(policy, now), label="events") if activity else [] for _ in leads]
    return policy, now, leads, events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(st.data())
def test_generated_policies_decide_alike_in_the_interpreter_compiled_python_and_duckdb(data):
    policy, now, leads, _ = draw_case(data, activity=False)
    expected = decide("interpreter", policy, leads, now)
    assert decide("python", policy, leads, now) == expected
    assert decide("duckdb", policy, leads, now) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_generated_policies_with_and_without_activity_decide_alike_on_postgresql(postgres, data):
    policy, now, leads, events = draw_case(data, activity=data.draw(st.booleans()))
    expected = decide("interpreter", policy, leads, now, events=events)
    assert decide("postgres", policy, leads, now, events=events, postgres=postgres) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(st.data())
def test_generated_policies_with_activity_decide_alike_in_the_interpreter_compiled_python_and_duckdb(data):
    policy, now, leads, events = draw_case(data, activity=True)
    expected = decide("interpreter", policy, leads, now, events=events)
    assert decide("python", policy, leads, now, events=events) == expected
    assert decide("duckdb", policy, leads, now, events=events) == expected


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_generated_policies_with_activity_decide_alike_through_leadpolicy_score(tmp_path_factory, data):
    policy, now, leads, events = draw_case(data, activity=True)
    got = decide("duckdb-batch", policy, leads, now, events=events, folder=tmp_path_factory.mktemp("batch"))
    assert got == decide("interpreter", policy, leads, now, events=events)
