"""The table of primitives (semantics.primitives): every IR node a decision is made of has one row with a
column for every backend, and the interpreter, the Python generator and the SQL generator read a node's
meaning from its row, not from a copy of their own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import re
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Union

import duckdb
import pytest
import sqlglot
from sqlglot import exp

import leadpolicy
from leadpolicy import runtime
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.codegen import generate_source
from leadpolicy.semantics.interpreter import evaluate as interpret
from leadpolicy.semantics.lowering import lower
from leadpolicy.semantics.primitives import smt
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
    assert callable(row.words), f"{node.__name__}: no words for the published docs"
    assert callable(row.lower) and primitives.SYNTAX[row.syntax] is row, f"{node.__name__}: lowered by no row"
    assert callable(smt.ENCODERS[row.solver]), f"{node.__name__}: no solver encoder named {row.solver!r}"


# The syntax-tree classes semantics/lowering.py lowers itself: the policy's structure around the rows.
SYNTAX_STRUCTURE = {
    "Policy", "Title", "Owner", "Timezone", "Effective", "LeadBlock", "LeadField", "FieldType", "Score", "Grade",
    "LabelEntry", "Stages", "StageEntry", "Route", "Calendar", "OpenHours", "Holidays", "Closed", "Sla", "SlaOwner",
    "ClockSpan", "ClockLimit", "Pause", "Warn", "Escalate", "Target", "CountRule", "VolumeRule", "NeedsReason",
    "Recycle", "RecycleRule", "Events", "EventDecl", "Outcomes", "Outcome", "Guarantees", "Guarantee", "BareName",
    "Team", "TeamCalendar", "AssignRule", "Member", "MatchAccounts", "Fallback"}


def syntax_classes() -> dict[str, type]:
    from leadpolicy.language import ast

    return {name: cls for name, cls in vars(ast).items()
            if isinstance(cls, type) and issubclass(cls, ast.Node) and cls is not ast.Node
            and cls.__module__ == ast.__name__}


def test_every_syntax_node_is_lowered_by_exactly_one_row_or_is_structure():
    rows_by_syntax: dict[type, list[Any]] = {}
    for row in primitives.TABLE.values():
        rows_by_syntax.setdefault(row.syntax, []).append(row.node)
    for name, cls in syntax_classes().items():
        if name in SYNTAX_STRUCTURE:
            assert cls not in rows_by_syntax, f"{name} is structure and a row's syntax"
        else:
            assert len(rows_by_syntax.get(cls, [])) == 1, f"{name}: the syntax of {rows_by_syntax.get(cls)} rows"
    assert set(rows_by_syntax) <= set(syntax_classes().values())


def test_lowering_and_english_dispatch_through_the_rows(monkeypatch):
    from leadpolicy.language.symbols import symbol_table
    from leadpolicy.publish import english
    from leadpolicy.semantics.loading import load_policy_text
    from leadpolicy.semantics.lowering import Lowering

    tree = load_policy_text(POLICY).policy
    assert tree is not None
    lowered = spy(monkeypatch, primitives.CONDITION_SYNTAX, next(k for k, r in primitives.CONDITION_SYNTAX.items()
                                                                if r.node is ir.Happened), "lower")
    said = spy(monkeypatch, primitives.CONDITIONS, ir.Happened, "words")
    happened = next(n for s in tree.scores for r in s.rules for n in r.walk() if type(n).__name__ == "Happened")
    node = Lowering(symbol_table(tree)).condition(happened)
    assert isinstance(node, ir.Happened) and [type(n).__name__ for n in lowered] == ["Happened"]
    assert english.condition(node) == "a demo in the last 30 days" and said == [node]


def test_activity_windows_are_one_derived_inputs_row():
    windows = primitives.WINDOWS
    assert windows.nodes == (ir.EventCount, ir.DaysSinceEvent)
    assert windows.interpret is Activity
    assert callable(windows.python) and callable(primitive_sql.BUILDERS[windows.sql])
    assert callable(smt.ENCODERS[windows.solver])


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


def test_the_symbolic_lead_encodes_by_the_rows_solver_column(monkeypatch, policy):
    from leadpolicy.semantics.symbolic import SymbolicLead

    calls: dict[str, list[Any]] = {"happened": [], "per_rule": [], "windows": []}
    for table, name in ((smt.CONDITION_ENCODERS, "happened"), (smt.RULE_ENCODERS, "per_rule"),
                        (smt.ENCODERS, "windows")):
        original = table[name]
        monkeypatch.setitem(table, name, lambda *args, o=original, n=name: calls[n].append(args[1]) or o(*args))
    lead = SymbolicLead(policy)
    lead.stage_is(0)
    assert [type(n) for n in calls["happened"]] == [ir.Happened] and [type(n) for n in calls["per_rule"]] == [
        ir.PerRule]
    assert len(calls["windows"]) == 1  # demo's one window: its count and latest age, by the derived row


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


# The names of the rows' builders, the activity windows' aggregate and their parts: a backend context that
# offered one of them would decide that node's meaning itself instead of its row.
def meanings() -> set[str]:
    return set(primitive_sql.BUILDERS) | {"since", "days_before_now", "days_since_event", "window", "decay_periods",
                                          "factor", "factor_table", "factor_list", "factor_join", "factors"}


@pytest.mark.parametrize("context", [primitives.contexts.SqlContext, primitives.contexts.PythonContext])
def test_backend_contexts_only_read_and_write_they_decide_no_meaning(context: type):
    offered = {name for name in vars(context) if not name.startswith("_")}
    assert not offered & meanings(), f"{context.__name__} decides {sorted(offered & meanings())} outside the rows"


def test_days_since_a_field_in_sql_is_its_rows_builder(monkeypatch, tmp_path):
    source = POLICY.replace("employees number", "employees number\n    seen date\n    at timestamp").replace(
        '+1 per employees up to 5', '+1 per employees up to 5\n    +2 when days since seen > 3 and days since at < 9')
    built: list[Any] = []
    original = primitive_sql.OPERAND_BUILDERS["days_since"]
    monkeypatch.setitem(primitive_sql.OPERAND_BUILDERS, "days_since",
                        lambda gen, op, *rest: built.append(op) or original(gen, op, *rest))
    (tmp_path / "since.policy").write_text(source, "utf-8")
    policy = leadpolicy.load(tmp_path / "since.policy").ir
    sql = compile_sql(policy, "duckdb", now=NOW, events_table="events")
    assert [(type(n), n.field) for n in built] == [(ir.DaysSince, "seen"), (ir.DaysSince, "at")]
    assert "DATE_DIFF" in sql.upper() and "EPOCH_US" in sql.upper()


def nodes_in(value: Any, found: set[type]) -> set[type]:
    """The IR node classes a lowered policy (or any part of it) is made of."""
    if isinstance(value, ir.Node):
        found.add(type(value))
        for f in dataclasses.fields(value):  # type: ignore[arg-type]  # every IR node is a dataclass
            nodes_in(getattr(value, f.name), found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            nodes_in(item, found)
    return found


def test_every_decision_node_is_decided_by_the_semantic_table_on_every_engine():
    """The semantic table (tests/semantics/*.yaml) runs each case on every engine; a node no case of it uses
    (on every engine) could have a backend column that is wrong, or only a stub, and no test would say so."""
    from .engines import policy_from_text
    from .test_semantics import ACTIVITY, CASES, policy_text

    used: set[type] = set()
    for case in [*CASES, *ACTIVITY]:
        if not case.get("unsupported"):
            nodes_in(policy_from_text(policy_text(case)).ir, used)
    missing = decision_nodes() - used
    assert not missing, f"no case of tests/semantics/*.yaml runs {sorted(n.__name__ for n in missing)} everywhere"


# ---------------------------------------------------------------- the dispatchers outside the table
# Each operand a condition compares with a number, as a policy writes it (over the fields and events of
# SAMPLE_POLICY), and whether it can be missing. A new operand node without a line here fails
# test_every_operand_has_a_sample, so the checks below run on it too.
OPERAND_SAMPLES: dict[type, tuple[str, bool]] = {
    ir.Ref: ("n", True),
    ir.DaysSince: ("days since d", True),
    ir.EventCount: ("count demo in last 30 days", False),
    ir.DaysSinceEvent: ("days since last demo", True),
}
SAMPLE_POLICY = '''
policy "samples" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    n number
    d date
  }
  events { demo }
  score s {
    +1 when CONDITION "rule"
  }
  stages {
    hot when CONDITION owner sales
    cold otherwise owner marketing
  }
}
'''


def sample_policy(condition: str):
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(SAMPLE_POLICY.replace("CONDITION", condition), "samples.policy")
    assert loaded.policy is not None
    return loaded


def test_every_operand_has_a_sample():
    operands = {n for n in decision_nodes() if n in primitives.OPERANDS} - {ir.Const}
    assert operands == set(OPERAND_SAMPLES), "add the new operand to OPERAND_SAMPLES"


@pytest.mark.parametrize("node", OPERAND_SAMPLES, ids=lambda n: n.__name__)
def test_docs_say_every_operand_in_english(node: type):
    from leadpolicy.publish import english

    text, _ = OPERAND_SAMPLES[node]
    tree = sample_policy(f"{text} > 90").policy
    rule = lower(tree).scores[0].rules[0]
    assert isinstance(rule, ir.PointsRule)
    with english.wording(english.labels_of(tree)):
        said = english.condition(rule.condition)
    assert "90" in said and said.strip()


@pytest.mark.parametrize("node", OPERAND_SAMPLES, ids=lambda n: n.__name__)
def test_check_finds_every_operand_never_true_between_disjoint_bounds(node: type):
    text, _ = OPERAND_SAMPLES[node]
    loaded = sample_policy(f"{text} > 90 and {text} < 60")
    assert "never-true" in {d.code for d in loaded.diagnostics}


@pytest.mark.parametrize("node", [n for n, (_, nullable) in OPERAND_SAMPLES.items() if nullable],
                         ids=lambda n: n.__name__)
def test_explanations_say_which_operand_is_missing(node: type):
    text, _ = OPERAND_SAMPLES[node]
    policy = leadpolicy_from(sample_policy(f"{text} > 90"))
    decision = interpret(policy, {}, NOW)
    said = " ".join(decision.explanation)
    assert "missing" in said or "yet" in said, said
    assert "unknown" not in said, said


@pytest.mark.parametrize("node", OPERAND_SAMPLES, ids=lambda n: n.__name__)
def test_coverage_lists_every_operands_boundary(node: type):
    from leadpolicy.testing.harness import coverage_items

    text, _ = OPERAND_SAMPLES[node]
    loaded = sample_policy(f"{text} > 90")
    decision = interpret(leadpolicy_from(loaded), {}, NOW)
    boundaries = [item.what for item in coverage_items(loaded.policy, [decision]) if item.kind == "boundary"]
    assert f"{text} = 90" in boundaries, boundaries


def leadpolicy_from(loaded: Any) -> ir.Policy:
    from leadpolicy.semantics.lowering import lower

    return lower(loaded.policy)


# ---------------------------------------------------------------- meanings once decided outside the rows
DECAY_POLICY = '''
policy "decays" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    n number
    seen timestamp
  }
  events { demo }
  score s {
    +1 per n up to 60
    -3 when n > 100
    decay 50% every 10 days since last demo
  }
  score t {
    +5 per n up to 40
    decay 20% every 7 days since seen
  }
  grade g from s {
    "A" when s >= 20
    "B" otherwise
  }
  stages {
    hot when g is missing or count demo in last 30 days > 1 and days since last demo < 5 owner sales
    cold otherwise owner marketing
  }
}
'''


def ir_of(text: str) -> ir.Policy:
    from leadpolicy.semantics.loading import load_policy_text

    loaded = load_policy_text(text, "decays.policy")
    assert loaded.policy is not None and not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    return lower(loaded.policy)


def test_days_since_last_event_in_generated_python_is_the_rows_template(monkeypatch):
    from leadpolicy.semantics.primitives import operands

    monkeypatch.setattr(operands, "days_since_template", lambda of: "whole_days(now, {value})")
    source, _ = generate_source(ir_of(DECAY_POLICY))
    assert re.search(r"whole_days\(now, \w+_at\)", source), "days since last EVENT written outside its template"
    assert "(now - " not in source


def test_the_interpreter_keeps_no_copy_of_a_runtime_function_or_a_rows_step():
    from leadpolicy.semantics import interpreter

    own = {name for name, value in vars(interpreter).items()
           if callable(value) and getattr(value, "__module__", None) == interpreter.__name__}
    assert not own & set(vars(runtime)), f"the interpreter copies runtime's {sorted(own & set(vars(runtime)))}"
    source = inspect.getsource(interpreter)
    assert "decay_periods(" not in source and "decay_power(" not in source, "decay is the decay row's"


def execute(sql: str, leads: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """The decayed scores (s, t) of DECAY_POLICY's SQL on DuckDB, by lead id."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE leads (id VARCHAR, n DECIMAL(18, 6), seen TIMESTAMPTZ)")
    con.execute('CREATE TABLE events (lead VARCHAR, event VARCHAR, "at" TIMESTAMPTZ)')
    con.executemany("INSERT INTO leads VALUES (?, ?, ?)", leads)
    con.executemany("INSERT INTO events VALUES (?, ?, ?)", events)
    return {row[0]: row[1:] for row in con.execute(f"SELECT id, s, t FROM ({sql.rstrip().rstrip(';')})").fetchall()}


@pytest.mark.parametrize("factors", ["list", "join"])
def test_decay_factors_are_a_list_or_a_join_by_dialect_data(monkeypatch, factors):
    # The decay row's builder picks the factor; the dialect only says how its table is carried.
    policy = ir_of(DECAY_POLICY)
    monkeypatch.setitem(primitive_sql.DIALECTS, "duckdb", {**primitive_sql.DIALECTS["duckdb"], "factors": factors})
    sql = compile_sql(policy, "duckdb", now=NOW, events_table="events")
    assert ("VALUES" in sql.upper()) == (factors == "join")
    day = dt.timedelta(days=1)
    leads = [("a", Decimal(30), NOW - 25 * day), ("b", Decimal(7), None), ("c", Decimal(55), NOW - 400 * day)]
    events = [("a", "demo", NOW - 25 * day), ("c", "demo", NOW - 1000 * day)]
    got = execute(sql, leads, events)
    for lead_id, n, seen in leads:
        activity = Activity([(name, at) for who, name, at in events if who == lead_id])
        decision = interpret(policy, {"n": n, "seen": seen}, NOW, activity)
        assert got[lead_id] == (decision.scores["s"].value, decision.scores["t"].value), lead_id


@pytest.mark.parametrize("flipped", [ir.EventCount, ir.DaysSinceEvent], ids=lambda n: n.__name__)
def test_sql_reads_a_window_without_events_as_zero_when_its_facts_say_never_missing(monkeypatch, flipped):
    from leadpolicy.semantics.primitives import scores

    policy = ir_of(DECAY_POLICY)
    original = scores.OPERAND_FACTS[flipped]
    monkeypatch.setitem(scores.OPERAND_FACTS, flipped,
                        lambda op: dataclasses.replace(original(op), nullable=not original(op).nullable))
    tree = sqlglot.parse_one(compile_sql(policy, "duckdb", now=NOW, events_table="events"), read="duckdb")
    zeroed = {c.this.name for c in tree.find_all(exp.Coalesce)
              if isinstance(c.this, exp.Column) and c.this.table == "lpa"}
    assert zeroed == {primitive_sql.activity_column(op) for op in policy.activity if not primitives.facts(op).nullable}


def test_a_scores_bound_is_one_function_of_its_rules():
    from leadpolicy.language.checks.conditions import score_bound
    from leadpolicy.semantics.loading import load_policy_text

    tree = load_policy_text(DECAY_POLICY, "decays.policy").policy
    assert tree is not None
    lowered = lower(tree).scores
    assert [s.bound for s in lowered] == [Decimal(63), Decimal(40)]
    assert [score_bound(s.rules) for s in tree.scores] == [s.bound for s in lowered]


def test_a_grade_is_folded_for_every_condition_whose_row_reads_it_folded(monkeypatch):
    # `g is missing` reads the grade as it is; were its row to read it folded, the generator folds the grade.
    policy = ir_of(DECAY_POLICY)
    folded_grade = re.compile(r"gl\w* = None if \w+ is None else")
    assert not folded_grade.search(generate_source(policy)[0])
    row = primitives.CONDITIONS[ir.IsMissing]
    monkeypatch.setitem(primitives.CONDITIONS, ir.IsMissing, dataclasses.replace(row, fold=lambda node: ir.Fold.CASE))
    assert folded_grade.search(generate_source(policy)[0])


def test_the_published_amount_of_a_rule_is_its_rows_words(monkeypatch, tmp_path):
    from leadpolicy.publish.site import render_site

    row = primitives.RULES[ir.PerRule]
    monkeypatch.setitem(primitives.RULES, ir.PerRule, dataclasses.replace(row, amount="{points} apiece"))
    (tmp_path / "decays.policy").write_text(DECAY_POLICY, "utf-8")
    pages, _ = render_site([str(tmp_path / "decays.policy")], tmp_path / "out")
    text = "\n".join(Path(p).read_text("utf-8") for p in pages)
    assert "+1 apiece" in text and "+5 apiece" in text and "+1 each" not in text


def test_explanations_say_a_condition_in_its_rows_words(monkeypatch):
    policy = ir_of(DECAY_POLICY)
    row = primitives.CONDITIONS[ir.IsMissing]
    monkeypatch.setitem(primitives.CONDITIONS, ir.IsMissing, dataclasses.replace(
        row, explain=lambda ctx, node, positive: f"{node.value.text} said by its row ({positive})"))
    decision = interpret(policy, {"n": Decimal(1)}, NOW)
    assert "stage cold (owner marketing): no earlier stage matched" in decision.explanation
    assert "not hot: g said by its row (False) and days since last demo is unknown" not in decision.explanation
    assert any("g said by its row (False)" in line for line in decision.explanation), decision.explanation


def test_a_decay_since_any_operand_is_explained_by_its_row():
    policy = ir_of(DECAY_POLICY)
    t = policy.scores[1]
    assert t.decay is not None
    n = ir.Ref("n", ir.RefKind.FIELD, ir.Type.NUMBER, True, "n")
    decayed = dataclasses.replace(t, decay=dataclasses.replace(t.decay, since=n))
    decision = interpret(dataclasses.replace(policy, steps=(decayed,), stages=(), routes=()), {"n": Decimal(30)}, NOW)
    assert decision.scores["t"].decay_periods == 4
    assert "(4 periods since n)" in decision.explanation[0], decision.explanation


# The backends read a node's meaning from its row: none names an atom, an operand or a rule of the table (but
# constants and references, how a decision's structure reads a grade or a score above, and the and/or/not an
# explanation walks), except in a type hint.
BACKENDS = ("semantics/interpreter.py", "semantics/codegen.py", "warehouse/sqlgen.py", "publish/site.py",
            "publish/cases.py", "sla/engine.py", "testing/harness.py", "cli/commands/explain.py")


def names_outside_hints(source: str, module: str = "ir") -> set[str]:
    """The attributes of `module` (`ir.EventCount`, `ast.Compare`) a source names outside its type hints."""
    import ast as pyast

    tree = pyast.parse(source)
    hints = {id(node) for owner in pyast.walk(tree)
             for hint in ([owner.returns] if isinstance(owner, (pyast.FunctionDef, pyast.AsyncFunctionDef)) else []) +
             ([owner.annotation] if isinstance(owner, (pyast.arg, pyast.AnnAssign)) else []) if hint is not None
             for node in pyast.walk(hint)}
    return {node.attr for node in pyast.walk(tree) if isinstance(node, pyast.Attribute) and id(node) not in hints
            and isinstance(node.value, pyast.Name) and node.value.id == module}


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_backend_names_a_node_its_row_decides(backend: str):
    rows = {*primitives.CONDITIONS, *primitives.OPERANDS, *primitives.RULES}
    decided = {node.__name__ for node in rows} - {"Const", "Ref", "And", "Or", "Not"}
    source = (Path(leadpolicy.__file__).parent / backend).read_text("utf-8")
    assert not names_outside_hints(source) & decided, f"{backend} decides what its rows say"


def test_the_backend_guard_finds_a_node_named_outside_a_hint():
    source = "def f(n: ir.EventCount) -> ir.DaysSince:\n    return isinstance(n, (ir.PerRule, ir.Ref))\n"
    assert names_outside_hints(source) == {"PerRule", "Ref"}


@pytest.mark.parametrize("path", sorted(Path(__file__).parent.parent.glob("policies/*.policy")), ids=lambda p: p.stem)
def test_a_rules_label_is_the_one_the_diff_names_it_by(path):
    """Explanations, coverage and the diff name a score's rule alike: the IR's label is
    language.formatter.rule_label of the rule as written, the function governance.diff keys rules by."""
    from leadpolicy.language.formatter import rule_label
    from leadpolicy.language.parser import parse_file
    from leadpolicy.semantics.lowering import lower

    policy = parse_file(path).policy
    assert policy is not None
    lowered = {s.name: s for s in lower(policy).steps if isinstance(s, ir.Score)}
    for score in (i for i in policy.items if type(i).__name__ == "Score"):
        written = [rule_label(r) for r in score.rules]
        assert written == [r.label for r in lowered[score.name].rules]
