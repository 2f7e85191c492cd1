"""The table of primitives (semantics.primitives): every IR node a decision is made of has one row with a
column for every backend, and the interpreter, the Python generator and the SQL generator read a node's
meaning from its row, not from a copy of their own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any, Union

import duckdb
import pytest
from sqlglot import exp

import leadpolicy
from leadpolicy.semantics import ir, primitives, runtime
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.codegen import generate_source
from leadpolicy.semantics.interpreter import evaluate as interpret
from leadpolicy.semantics.primitives import sql as primitive_sql
from leadpolicy.semantics.primitives.scores import units_python
from leadpolicy.warehouse.sqlgen import compile_sql

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)

POLICY = '''
policy "primitives" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    email text
    employees number
  }
  events { demo }
  score s {
    +10 when demo in last 30 days "demo"
    +1 per employees up to 5
  }
  stages {
    hot when s >= 10 owner sales
    cold otherwise owner marketing
  }
}
'''


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> ir.Policy:
    path = tmp_path_factory.mktemp("primitives") / "primitives.policy"
    path.write_text(POLICY, "utf-8")
    return leadpolicy.load(path).ir


def node_classes(tp: Any, seen: set[type]) -> set[type]:
    """The IR node classes a type hint can hold, and those their fields can hold, found from the dataclasses."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType, tuple):
        for arg in args:
            node_classes(arg, seen)
    elif isinstance(tp, type) and issubclass(tp, ir.Node) and tp not in seen:
        seen.add(tp)
        hints = typing.get_type_hints(tp, vars(ir))
        for f in dataclasses.fields(tp):
            node_classes(hints[f.name], seen)
    return seen


def decision_nodes() -> set[type]:
    """Every IR node class a decision (scores, grades, stages, routes) can be made of."""
    hints = typing.get_type_hints(ir.Policy, vars(ir))
    found: set[type] = set()
    for name in ("steps", "stages", "routes"):
        node_classes(hints[name], found)
    return found


def test_discovery_finds_the_nodes_of_every_family():
    found = decision_nodes()
    assert {ir.Happened, ir.DaysSinceEvent, ir.PerRule, ir.Decay, ir.Clamp, ir.TextMatch} <= found
    assert ir.Sla not in found and ir.Calendar not in found  # the SLA engines read those, not a decision


@pytest.mark.parametrize("node", sorted(decision_nodes() - set(primitives.STRUCTURE), key=lambda t: t.__name__))
def test_every_decision_node_has_a_row_with_every_backend(node: type):
    row = primitives.TABLE[node]
    assert row.node is node
    assert callable(row.interpret) and callable(row.python)
    assert callable(primitive_sql.BUILDERS[row.sql]), f"{node.__name__}: no SQL builder named {row.sql!r}"
    assert row.solver is None  # filled by the guarantees work (issue 27), never faked


def test_activity_windows_are_one_derived_inputs_row():
    windows = primitives.WINDOWS
    assert windows.nodes == (ir.EventCount, ir.DaysSinceEvent)
    assert windows.interpret is Activity
    assert callable(windows.python) and callable(primitive_sql.BUILDERS[windows.sql])


def test_facts_say_what_lowering_knows():
    count = ir.EventCount("demo", Decimal(30), "count demo in last 30 days")
    assert primitives.facts(count) == primitives.Facts(ir.Type.NUMBER, True, False, Decimal(0))
    last = ir.DaysSinceEvent("demo", "days since last demo")
    assert primitives.facts(last).nullable and primitives.facts(last).whole
    score = ir.Ref("s", ir.RefKind.SCORE, ir.Type.NUMBER, False, "s")
    field = ir.Ref("n", ir.RefKind.FIELD, ir.Type.NUMBER, True, "n")
    assert primitives.facts(score).whole and not primitives.facts(field).whole


def test_per_units_template_follows_the_facts():
    # One meaning (runtime.per_units), steps skipped only where the facts make them needless.
    count = primitives.Facts(ir.Type.NUMBER, True, False, Decimal(0))
    score = primitives.Facts(ir.Type.NUMBER, True, False, None)
    field = primitives.Facts(ir.Type.NUMBER, False, True, None)
    namespace = {"floor_units": runtime.floor_units}
    for value in (None, -3, Decimal("-0.5"), 0, Decimal("2.7"), 4):
        for known in (count, score, field):
            if (value is None and not known.nullable) or (known.whole and isinstance(value, Decimal)) or (
                    known.minimum is not None and value is not None and value < known.minimum):
                continue  # a value these facts rule out
            assert eval(units_python("v", known), namespace, {"v": value}) == runtime.per_units(value)  # noqa: S307


def spy(monkeypatch: pytest.MonkeyPatch, table: dict[Any, Any], key: Any, column: str) -> list[Any]:
    """Replace a row's (or builder table's) column with a wrapper that records the nodes it is called on."""
    calls: list[Any] = []
    if column == "builder":
        original = table[key]
        monkeypatch.setitem(table, key, lambda gen, node, *rest: calls.append(node) or original(gen, node, *rest))
        return calls
    row = table[key]
    original = getattr(row, column)
    monkeypatch.setitem(table, key, dataclasses.replace(
        row, **{column: lambda ctx, node, *rest: calls.append(node) or original(ctx, node, *rest)}))
    return calls


def test_the_interpreter_reads_happened_and_per_rules_from_their_rows(monkeypatch, policy):
    happened = spy(monkeypatch, primitives.CONDITIONS, ir.Happened, "interpret")
    per = spy(monkeypatch, primitives.RULES, ir.PerRule, "interpret")
    decision = interpret(policy, {"email": None, "employees": Decimal(3)}, NOW,
                         Activity([("demo", NOW - dt.timedelta(days=2))]))
    assert decision.scores["s"].value == 13
    assert [type(n) for n in happened] == [ir.Happened]
    assert [type(n) for n in per] == [ir.PerRule]


def test_the_python_generator_writes_the_rows_templates(monkeypatch, policy):
    happened = spy(monkeypatch, primitives.CONDITIONS, ir.Happened, "python")
    windows: list[Any] = []
    original = primitives.WINDOWS.python
    monkeypatch.setattr(primitives, "WINDOWS", dataclasses.replace(
        primitives.WINDOWS, python=lambda gen, wanted: windows.append(wanted) or original(gen, wanted)))
    source, _ = generate_source(policy)
    assert len(happened) == 1 and len(windows) == 1
    assert f">= {runtime.HAPPENED_AT_LEAST}" in source


def test_the_sql_generator_calls_the_rows_builders(monkeypatch, policy):
    happened = spy(monkeypatch, primitive_sql.CONDITION_BUILDERS, "happened", "builder")
    per = spy(monkeypatch, primitive_sql.RULE_BUILDERS, "per_rule", "builder")
    compile_sql(policy, "duckdb", now=NOW, events_table="events")
    assert [type(n) for n in happened] == [ir.Happened] and [type(n) for n in per] == [ir.PerRule]


def test_the_sql_generator_builds_windows_by_the_derived_inputs_row(monkeypatch, policy):
    windows: list[Any] = []
    original = primitive_sql.WINDOW_BUILDERS[primitives.WINDOWS.sql]
    monkeypatch.setitem(primitive_sql.WINDOW_BUILDERS, primitives.WINDOWS.sql,
                        lambda op, *rest: windows.append(op) or original(op, *rest))
    compile_sql(policy, "duckdb", now=NOW, events_table="events")
    assert [type(n) for n in windows] == [ir.EventCount]


def test_happened_is_at_least_one_on_every_backend(policy):
    assert runtime.happened(1) and not runtime.happened(0)
    source, _ = generate_source(policy)
    assert "> 0" not in source
    sql = compile_sql(policy, "duckdb", now=NOW, events_table="events")
    assert ">= 1" in sql and "> 0" not in sql


@pytest.mark.parametrize("offset_us, counted", [
    (0, True),  # at now
    (1, False),  # after now
    (-2 * 86_400_000_000, False),  # exactly at the window's start: out
    (-2 * 86_400_000_000 + 1, True),  # a microsecond later: in
])
def test_one_window_cut_off_in_runtime_activity_and_sql(offset_us: int, counted: bool):
    at = NOW + dt.timedelta(microseconds=offset_us)
    start = runtime.window_start(NOW, 2)
    assert runtime.in_window(at, start, NOW) is counted
    assert Activity([("x", at)]).count("x", 2, NOW) == int(counted)
    now_us, at_us = primitive_sql.epoch_us(NOW), primitive_sql.epoch_us(at)
    test = exp.and_(primitive_sql.at_or_before_now_sql(exp.Literal.number(at_us), exp.Literal.number(now_us)),
                    primitive_sql.after_window_start_sql(exp.Literal.number(at_us), now_us, Decimal(2)))
    rows = duckdb.connect().execute(exp.select(test).sql("duckdb")).fetchall()
    assert rows == [(counted,)]


@pytest.mark.parametrize("every", [7, Decimal("2.5")])
def test_decay_periods_agree_between_the_interpreter_and_generated_code(every):
    for days in range(-3, 30):
        periods = runtime.decay_periods(days, every)
        assert periods == max(int((Decimal(days) / Decimal(every)).to_integral_value(rounding="ROUND_FLOOR")), 0)
        applies = days >= every  # the generated code's and the SQL's test: the factor applies from one period on
        assert applies == (periods >= 1)
