"""The never-true / always-true / unreachable analysis over every operand and condition of the table.

`semantics.analysis` reasons over the lowered IR: a variable is any operand that is not a constant, its
values come from the table's facts (type, whole, can be missing, least value) and a score's clamp, and a
condition's truth in a world is the interpreter's own. So every operand and every condition kind of the
table of primitives is reasoned about; the samples below must name each of them, so a new node fails here
until it has one.
"""

from __future__ import annotations

import ast as pyast
import datetime as dt
import inspect
import itertools
import random
from decimal import Decimal

import pytest

from leadpolicy.language import ast
from leadpolicy.semantics import analysis, ir, primitives
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.interpreter import Evaluator
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import Lowering, lower

POLICY = '''
policy "analysis" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    n number
    d date
    t timestamp
    email text
    plan one of ("free", "pro")
    vip yes/no
  }
  events { demo }
  score s {
    clamp 0 to 100
    +10 when vip "vip"
  }
  grade g from s {
    "A" when s > 50
    "B" otherwise
  }
  score rule {
    +1 when CONDITION "rule"
  }
  stages {
    STAGES
    cold otherwise owner marketing
  }
}
'''

# Every operand that is not a constant, as a policy writes it: (text, a number?, can be missing?)
OPERANDS: dict[type, list[tuple[str, bool, bool]]] = {
    ir.Ref: [("n", True, True), ("s", True, False), ("g", False, False), ("plan", False, True),
             ("vip", False, True), ("email", False, True), ("d", False, True)],
    ir.DaysSince: [("days since d", True, True), ("days since t", True, True)],
    ir.EventCount: [("count demo in last 30 days", True, False)],
    ir.DaysSinceEvent: [("days since last demo", True, True)],
}
NUMBERS = [text for samples in OPERANDS.values() for text, number, _ in samples if number]
NULLABLE = [text for samples in OPERANDS.values() for text, _, nullable in samples if nullable]
WHOLE = ["s", "days since d", "days since t", "count demo in last 30 days", "days since last demo"]

# A contradictory condition of each condition kind (over operands of every kind where the kind allows).
CONTRADICTIONS: dict[type, list[str]] = {
    ir.Compare: [f"{x} > 90 and {x} < 60" for x in NUMBERS] + [
        'plan = "free" and plan = "pro"', 'g = "A" and g = "B"', "d < 2024-01-01 and d > 2024-02-01",
        "t < 2024-01-01 and t > 2024-02-01", 'email = "a" and email = "b"', "vip = yes and vip = no"],
    ir.Between: [f"{x} between 10 and 20 and {x} > 30" for x in NUMBERS] + [
        "d between 2024-01-01 and 2024-01-31 and d > 2024-03-01"],
    ir.InList: [f"{x} in (1, 2) and {x} > 5" for x in NUMBERS] + [
        'plan in ("free") and plan not in ("free")', 'g in ("A") and g = "B"'],
    ir.IsMissing: [f"{x} is missing and {x} is present" for x in NULLABLE] + [
        f"{x} is missing and {x} > 5" for x in NUMBERS if x in NULLABLE],
    ir.Truthy: ["vip and not vip", "vip and vip = no"],
    ir.Happened: ["demo in last 30 days and count demo in last 30 days = 0",
                  "not demo in last 30 days and count demo in last 30 days > 0"],
    ir.TextMatch: ['email contains "a" and not email contains "a"'],
    ir.And: ["n > 5 and n < 3"],
    ir.Or: ["(n > 90 or n < 0) and n between 10 and 20"],
    ir.Not: ["not (n > 5 or n <= 5 or n is missing)"],
}
ALL_CONTRADICTIONS = [c for conditions in CONTRADICTIONS.values() for c in conditions]


def loaded(condition: str = "vip", stages: str = "hot when vip owner sales"):
    found = load_policy_text(POLICY.replace("CONDITION", condition).replace("STAGES", stages), "analysis.policy")
    assert found.policy is not None, found.diagnostics
    assert not [d for d in found.diagnostics if d.is_error and d.code != "unreachable"], found.diagnostics
    return found


def reasoned(condition: str) -> tuple[ast.Node, dict, str]:
    """The syntax tree of `condition` and what the checker passes with it."""
    from leadpolicy.language.symbols import symbol_table

    policy = loaded(condition).policy
    rule = [s for s in policy.scores if s.name == "rule"][0].rules[0]
    return rule.condition, symbol_table(policy), policy.timezone


def verdict(condition: str) -> str:
    return analysis.satisfiability(*reasoned(condition))


def codes(condition: str) -> set[str]:
    return {d.code for d in loaded(condition).diagnostics}


def test_every_operand_of_the_table_has_samples():
    assert set(primitives.OPERANDS) - {ir.Const} == set(OPERANDS), "add the new operand to OPERANDS"


def test_every_condition_of_the_table_has_a_contradiction():
    assert set(primitives.CONDITIONS) == set(CONTRADICTIONS), "add the new condition to CONTRADICTIONS"


@pytest.mark.parametrize("condition", ALL_CONTRADICTIONS)
def test_a_contradiction_is_never_true(condition: str):
    assert verdict(condition) == "never"
    assert "never-true" in codes(condition)


@pytest.mark.parametrize("condition", ALL_CONTRADICTIONS)
def test_its_negation_is_always_true_unless_a_missing_value_makes_it_unknown(condition: str):
    """not (never true) is true, or unknown where an operand is missing: always true, or sometimes."""
    assert verdict(f"not ({condition})") in ("always", "sometimes")


@pytest.mark.parametrize("x", NUMBERS)
def test_a_satisfiable_condition_is_sometimes_true_and_silent(x: str):
    assert verdict(f"{x} >= 0 and {x} < 60") == "sometimes"
    assert not codes(f"{x} >= 0 and {x} < 60") & {"never-true", "always-true"}


@pytest.mark.parametrize("x", [x for x in NUMBERS if x not in NULLABLE])
def test_a_value_never_missing_makes_a_split_always_true(x: str):
    assert verdict(f"{x} >= 5 or {x} < 5") == "always"
    assert "always-true" in codes(f"{x} >= 5 or {x} < 5")


@pytest.mark.parametrize("x", [x for x in NUMBERS if x in NULLABLE])
def test_a_value_that_can_be_missing_makes_a_split_sometimes_true(x: str):
    assert verdict(f"{x} >= 5 or {x} < 5") == "sometimes"
    assert verdict(f"{x} >= 5 or {x} < 5 or {x} is missing") == "always"


@pytest.mark.parametrize("x", NUMBERS)
def test_a_narrower_entry_after_a_wider_one_is_unreachable(x: str):
    found = loaded(stages=f"hot when {x} > 50 owner sales\n    warm when {x} > 60 owner sales").diagnostics
    assert ("unreachable", 'stage "warm" can never be chosen: earlier entries always match first') in \
        {(d.code, d.message) for d in found}


@pytest.mark.parametrize("x", NUMBERS)
def test_a_wider_entry_after_a_narrower_one_is_reachable(x: str):
    found = loaded(stages=f"hot when {x} > 60 owner sales\n    warm when {x} > 50 owner sales").diagnostics
    assert "unreachable" not in {d.code for d in found}


@pytest.mark.parametrize("x", WHOLE)
def test_an_operand_that_is_a_whole_number_has_nothing_between_two_neighbours(x: str):
    """A score, days since and an event count are whole numbers (their facts say so): 5 < x < 6 holds for
    no lead."""
    assert verdict(f"{x} > 5 and {x} < 6") == "never"
    assert verdict(f"{x} > 5 and {x} < 7") == "sometimes"  # 6


def test_a_number_field_may_hold_a_fraction():
    assert verdict("n > 5 and n < 6") == "sometimes"


def test_a_count_below_a_fraction_can_still_have_happened():
    """`happened` is a count of at least one: a count of 1 is below 1.5 and has happened."""
    assert verdict("demo in last 30 days and count demo in last 30 days < 1.5") == "sometimes"
    assert verdict("demo in last 30 days and count demo in last 30 days < 1") == "never"


def test_a_score_stays_within_its_clamp():
    assert verdict("s > 100") == "never"
    assert verdict("s >= 0 and s <= 100") == "always"


def test_the_same_opaque_atom_is_one_unknown_and_different_ones_are_free():
    assert verdict('email contains "a" or not email contains "a"') == "sometimes"  # unknown when missing
    assert verdict('email ends with "@a.io" and email contains "a.io"') == "sometimes"
    assert verdict("n > s and n < s") == "sometimes"  # field against score: not decided, never a false warning


def test_too_many_worlds_answer_sometimes_and_nothing_unreachable(monkeypatch: pytest.MonkeyPatch):
    condition, symbols, timezone = reasoned("n > 90 and n < 60")
    assert analysis.satisfiability(condition, symbols, timezone) == "never"
    assert analysis.unreachable([condition, condition], symbols, timezone) == [0, 1]
    monkeypatch.setattr(analysis, "MAX_WORLDS", 2)
    assert analysis.satisfiability(condition, symbols, timezone) == "sometimes"
    assert analysis.unreachable([condition, condition], symbols, timezone) == []


def test_unreachable_stops_at_otherwise():
    wide, symbols, timezone = reasoned("n > 50")
    narrow, _, _ = reasoned("n > 60")
    assert analysis.unreachable([wide, narrow, None], symbols, timezone) == [1]
    assert analysis.unreachable([narrow, wide, None], symbols, timezone) == []
    assert analysis.unreachable([None], symbols, timezone) == []


def test_a_condition_naming_what_the_policy_does_not_define_is_not_reasoned_about():
    """The checker has reported the name; the analysis concludes nothing from it and does not fail."""
    condition, symbols, timezone = reasoned("n > 90 and n < 60")
    unknown = {name: sym for name, sym in symbols.items() if name != "n"}
    assert analysis.satisfiability(condition, unknown, timezone) == "sometimes"
    assert analysis.unreachable([condition, condition], unknown, timezone) == []


def test_decay_problem_names_a_decay_sql_cannot_carry():
    assert analysis.decay_problem(Decimal(50), Decimal(100)) is None
    problem = analysis.decay_problem(Decimal("0.001"), Decimal(10) ** 9)
    assert problem is not None and "more than" in problem


def test_the_analysis_names_no_operand_or_condition_kind():
    """It reasons over the IR generically: it names no syntax node and, of the table's nodes, only the
    constant, the reference (whose declaration holds a score's clamp and a choice's values) and the atoms
    it leaves opaque."""
    tree = pyast.parse(inspect.getsource(analysis))
    named = {(node.value.id, node.attr) for node in pyast.walk(tree)
             if isinstance(node, pyast.Attribute) and isinstance(node.value, pyast.Name)}
    allowed = {"Const", "Ref"} | {kind.__name__ for kind in analysis.OPAQUE}
    table = {kind.__name__ for kind in primitives.TABLE}
    assert {attr for module, attr in named if module == "ir" and attr in table} <= allowed
    assert {attr for module, attr in named if module == "ast"} <= {"Node"}


# Atoms of every condition kind over operands of every kind, each pair of which (and, and not, or not) the analysis
# judges and the interpreter evaluates on concrete leads: a verdict no lead contradicts is sound. A condition
# that compares its operand with a value that is not one of its operands (as `happened` compares a count
# with 1) is where the analysis could miss a lead; its atoms here paired with comparisons find that.
SOUNDNESS_ATOMS: dict[type, list[str]] = {
    ir.Compare: ["n < 1.5", "n > 5", "s < 5", "s >= 2", "days since d <= 1.5", "days since d > 2",
                 "days since t < 2", "count demo in last 30 days < 5", "count demo in last 30 days > 1.5",
                 "days since last demo < 3", "days since last demo >= 1", 'plan = "free"', 'g = "A"',
                 "d < 2024-01-18"],
    ir.Between: ["n between 1 and 2", "count demo in last 30 days between 1 and 3", "days since d between 1 and 3"],
    ir.InList: ["count demo in last 30 days in (0, 2)", 'plan not in ("pro")', "s in (2, 5)"],
    ir.IsMissing: ["n is missing", "days since last demo is present", "d is missing"],
    ir.Truthy: ["vip"],
    ir.Happened: ["demo in last 30 days", "demo in last 7 days"],
    ir.TextMatch: ['email contains "a"'],
    ir.And: ["(n > 1 and vip)"],
    ir.Or: ["(n > 1 or vip)"],
    ir.Not: ["not vip"],
}
NOW = dt.datetime(2024, 1, 20, 12, 0, tzinfo=dt.timezone.utc)


def concrete_leads(count: int) -> list[tuple[dict, Activity]]:
    """Leads whose values sit on and between the samples' constants (whole values for whole operands)."""
    rng = random.Random(26)
    days = [-1, 0, 1, 2, 3, 4, 5, 6]
    leads = []
    for _ in range(count):
        s = rng.choice([0, 1, 2, 3, 4, 5, 6, 100])
        values = {"n": rng.choice([None, Decimal(0), Decimal(1), Decimal("1.2"), Decimal("1.5"), Decimal(2),
                                   Decimal(5), Decimal("5.5"), Decimal(6)]),
                  "s": s, "g": rng.choice(["A", "B"]), "vip": rng.choice([None, True, False]),
                  "plan": rng.choice([None, "free", "pro"]), "email": rng.choice([None, "a", "b"]),
                  "d": rng.choice([None, *(NOW.date() - dt.timedelta(days=n) for n in days)]),
                  "t": rng.choice([None, *(NOW - dt.timedelta(days=n, hours=5) for n in days)])}
        events = [("demo", NOW - dt.timedelta(days=rng.choice([0.5, 1, 2.5, 3, 6, 8, 20, 40])))
                  for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 6]))]
        leads.append((values, Activity(events)))
    return leads


def test_every_condition_of_the_table_has_atoms_for_soundness():
    assert set(primitives.CONDITIONS) == set(SOUNDNESS_ATOMS), "add the new condition to SOUNDNESS_ATOMS"


def test_no_concrete_lead_contradicts_a_verdict():
    atoms = [a for samples in SOUNDNESS_ATOMS.values() for a in samples]
    conditions = [f"{a} and {b}" for a, b in itertools.product(atoms, repeat=2)]
    conditions += [f"{a} {how} not {b}" for a, b in itertools.product(atoms, repeat=2) for how in ("and", "or")]
    found = loaded(" \"r\"\n    +1 when ".join(conditions))
    from leadpolicy.language.symbols import symbol_table

    policy = found.policy
    symbols, lowering, compiled = symbol_table(policy), Lowering(symbol_table(policy), texts=False), lower(policy)
    rules = [s for s in policy.scores if s.name == "rule"][0].rules
    leads = concrete_leads(200)
    verdicts = {"never": 0, "always": 0}
    for text, rule in zip(conditions, rules):
        verdict = analysis.satisfiability(rule.condition, symbols, policy.timezone)
        if verdict == "sometimes":
            continue
        verdicts[verdict] += 1
        condition = lowering.condition(rule.condition)
        for values, activity in leads:
            truth = Evaluator(compiled, values, NOW, activity).visit(condition) is True
            assert truth == (verdict == "always"), (text, verdict, values, activity.times)
    assert verdicts["never"] > 50 and verdicts["always"] > 5, verdicts  # the check is not vacuous
