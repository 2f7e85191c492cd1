"""Which events a construct reads, and `test --coverage`'s boundaries, decided by the table of primitives:
each operand row's `reads` column (`primitives.events_read` over the IR), read alike by the SLA engine,
`explain`, the published cases page and `test --coverage`; the checker's language-level answer over the
syntax tree agrees with it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from leadpolicy.language import checks
from leadpolicy.language.checks.events import known_events
from leadpolicy.language.parser import parse_text
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.lowering import lower
from leadpolicy.testing.harness import run_samples

from .test_primitives import names_outside_hints

ALL_READS = '''
policy "reads" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  timezone "UTC"
  lead {
    email text
    employees number
  }
  score s {
    +10 when demo in last 30 days "demo"
    +2 per view in last 14 days up to 10
    +1 when count click in last 7 days >= 3
    -5 when days since last email_open > 30
    +3 when employees in (10, 50)
    decay 10% every 7 days since last visit
  }
  stages {
    hot when s >= 10 owner sales
    cold otherwise owner marketing
  }
}
'''

READS = {("demo", Decimal(30)), ("view", Decimal(14)), ("click", Decimal(7)), ("email_open", None),
         ("visit", None)}


def checked(text: str):
    parsed = parse_text(text, "reads.policy")
    assert parsed.policy is not None, parsed
    return parsed.policy


def test_events_read_is_the_rows_reads_column_over_the_ir():
    policy_ir = lower(checked(ALL_READS))
    assert set(primitives.events_read(policy_ir)) == READS
    assert primitives.WINDOWS.nodes == tuple(row.node for row in primitives.OPERANDS.values() if row.reads)
    assert {(n.event, getattr(n, "days", None)) for n in policy_ir.activity} == READS


def test_the_checkers_events_agree_with_the_table():
    """Without an events block, the checker's events of the constructs are the table's."""
    policy = checked(ALL_READS)
    assert known_events(policy) == {event for event, _ in primitives.events_read(lower(policy))}
    assert checks  # the checker's package is importable without semantics (tests/test_layers.py)


def test_the_checker_answers_for_every_operand_the_table_says_reads_events():
    from leadpolicy.language.checks.events import EVENT_READS

    assert {row.syntax for row in primitives.OPERANDS.values() if row.reads} <= set(EVENT_READS)


def samples(tmp_path: Path, policy: str, cases: str) -> Path:
    (tmp_path / "p.policy").write_text(policy, "utf-8")
    path = tmp_path / "p.samples.yaml"
    path.write_text("policy: p.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n" + cases, "utf-8")
    return path


ONE_LEAD = "  - name: one lead\n    lead: {email: a@b.io, employees: 10}\n    expect: {stage: cold}\n"


def test_coverage_bounds_each_number_of_an_in_list(tmp_path):
    run = run_samples(samples(tmp_path, ALL_READS, ONE_LEAD))
    bounds = {i.what: (i.line, i.covered) for i in run.coverage if i.kind == "boundary"}
    assert bounds["employees = 10"] == (15, True)
    assert bounds["employees = 50"] == (15, False)


def test_coverage_bounds_days_since_last_event_and_counts(tmp_path):
    run = run_samples(samples(tmp_path, ALL_READS, ONE_LEAD))
    bounds = {i.what: i.line for i in run.coverage if i.kind == "boundary"}
    assert bounds["days since last email_open = 30"] == 14
    assert bounds["count click in last 7 days = 3"] == 13
    assert bounds["s = 10"] == 19


def test_coverage_window_edges_are_the_windows_the_table_reads(tmp_path):
    run = run_samples(samples(tmp_path, ALL_READS, ONE_LEAD))
    edges = {i.what: i.line for i in run.coverage if i.what.endswith("days before now")}
    assert edges == {"demo exactly 30 days before now": 11, "view exactly 14 days before now": 12,
                     "click exactly 7 days before now": 13}


def test_coverage_labels_a_rule_by_its_ir_label(tmp_path):
    run = run_samples(samples(tmp_path, ALL_READS, ONE_LEAD))
    rules = [i.what for i in run.coverage if i.kind == "rule"]
    assert rules == ["s: demo", "s: per view", "s: count click in last 7 days >= 3",
                     "s: days since last email_open > 30", "s: employees in (10, 50)"]


@pytest.mark.parametrize(("now", "words"), [
    ('"next tuesday at noon"', "now: 'next tuesday at noon' is not an ISO 8601 timestamp (write it as "
                               "2026-11-20T12:00:00-05:00)")])
def test_a_case_now_that_is_no_time_is_said_as_every_reader_says_it(tmp_path, now, words):
    """`leadpolicy test` reads a case's `now` by `semantics.now.case_now`, in the words explain and the cases
    page use (tests/test_times_read_alike.py reads one `now` alike in all three)."""
    path = samples(tmp_path, ALL_READS, ONE_LEAD.replace("    expect", f"    now: {now}\n    expect"))
    run = run_samples(path)
    failures = [f for case in run.cases for f in case.failures]
    assert failures == [words], (run.diagnostics, failures)


def test_the_cases_page_reads_the_windows_of_a_per_event_rule():
    from leadpolicy.publish.cases import event_windows

    windows = event_windows(lower(checked(ALL_READS)))
    assert windows == {"demo": {Decimal(30)}, "view": {Decimal(14)}, "click": {Decimal(7)},
                       "email_open": {None}, "visit": {None}}


def test_an_sla_tier_reads_the_events_its_condition_counts():
    from leadpolicy.sla.engine import events_named

    count = ir.EventCount("demo", Decimal(7), "count demo in last 7 days")
    condition = ir.Happened(count, "demo in last 7 days")
    assert events_named(condition) == {"demo"}
    assert events_named(None) == set()


# The published cases page and `test --coverage` read what a construct reads of events, and what an atom
# bounds, from the table over the IR: neither names a syntax class the table lowers (but the `+N when` rule
# whose condition coverage lists), except in a type hint.
AST_READERS = ("publish/cases.py", "testing/harness.py")


@pytest.mark.parametrize("reader", AST_READERS)
def test_no_reader_of_the_syntax_tree_names_a_construct_the_table_lowers(reader: str):
    import leadpolicy

    lowered = {syntax.__name__ for syntax in primitives.SYNTAX} - {"PointsRule"}
    source = (Path(leadpolicy.__file__).parent / reader).read_text("utf-8")
    assert not names_outside_hints(source, "ast") & lowered, f"{reader} decides what the table's rows say"


def test_the_syntax_guard_finds_a_construct_named_outside_a_hint():
    source = "def f(n: ast.EventCount) -> ast.Happened:\n    return isinstance(n, (ast.PerRule, ast.Policy))\n"
    assert names_outside_hints(source, "ast") == {"PerRule", "Policy"}


def test_an_event_read_only_by_event_in_last_n_days_is_named_as_an_event():
    """Without an events block, `demo in last 30 days` makes demo an event the checker knows: `days since demo`
    is told to read `days since last demo`, not offered a field."""
    from leadpolicy.semantics.loading import load_policy_text

    text = ALL_READS.replace("  stages {", "  score t {\n    +1 when days since demo > 3\n  }\n  stages {")
    loaded = load_policy_text(text, "reads.policy")
    hints = [(d.code, d.hint) for d in loaded.diagnostics if d.is_error]
    assert hints == [("unknown-name", "demo is an event: write days since last demo")]
