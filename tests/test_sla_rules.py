"""`sla.rules`: one description of each SLA rule (units, pause flips, tiers and when they are decided, warn
and escalation), read by both engines. The engines' agreement on every rule is tested over generated SLAs
in test_sla_differential.py; here, the description itself and that both engines read it."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlglot import exp

from leadpolicy import runtime
from leadpolicy.language import units
from leadpolicy.semantics import ir
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.sla import rules
from leadpolicy.sla.engine import Event, SlaEngine, TimelineResult
from leadpolicy.warehouse import sla_sql

from .test_sla_differential import policy_text
from .test_sla_sql import differences, run_sql

SRC = Path(__file__).resolve().parents[1] / "src" / "leadpolicy"
CALENDAR = '  calendar office {\n    timezone "Europe/Berlin"\n    open mon-fri 09:00-17:00\n  }\n'
CLOCK = ("  sla clock {\n    owner sales\n    target 90%\n    from start_a or start_b each time until stop_a\n"
         "    within 1 business day on office when fit >= 50\n    within 90 minute otherwise\n"
         "    paused from hold until resume\n    warn at 33.3%\n    escalate to \"manager\" at 100%\n"
         "    escalate to \"vp\" at 250%\n  }\n")


def clock_sla() -> ir.Sla:
    loaded = load_policy_text(policy_text(CALENDAR, CLOCK, "UTC"), "rules.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics if d.severity == "error"]
    return lower(loaded.policy).slas[0]


@pytest.mark.parametrize(("limit", "span", "open_days", "business"), [
    (ir.Limit(Decimal("1.5"), "hours", None), dt.timedelta(minutes=90), None, False),
    (ir.Limit(Decimal("45"), "minutes", None), dt.timedelta(minutes=45), None, False),
    (ir.Limit(Decimal("2"), "days", "office"), dt.timedelta(days=2), None, False),
    (ir.Limit(Decimal("2.5"), "business hours", "office"), dt.timedelta(hours=2.5), None, True),
    (ir.Limit(Decimal("3"), "business days", "office"), None, 3, True),
])
def test_a_limit_is_measured_once(limit, span, open_days, business):
    measured = rules.measure(limit)
    assert measured.span == span
    assert measured.span_us == (None if span is None else span // dt.timedelta(microseconds=1))
    assert measured.open_days == open_days
    assert measured.business is business
    # the calendar measures the time only for business units; elapsed time on a calendar is real time
    assert measured.business_calendar == ("office" if business else None)


def test_a_unit_lowering_never_makes_is_refused_not_guessed():
    with pytest.raises(ValueError, match="hour"):
        rules.measure(ir.Limit(Decimal(1), "hour", None))


def test_singular_units_reach_the_rules_normalised():
    rule = rules.clock_rule(clock_sla())
    assert [t.measure.unit for t in rule.tiers] == ["business days", "minutes"]
    assert rule.tiers[1].measure.span == dt.timedelta(minutes=90)


def test_a_clock_rule_lists_its_tiers_then_otherwise():
    rule = rules.clock_rule(clock_sla())
    assert [(t.index, t.text, t.condition is None) for t in rule.tiers] == [(0, "fit >= 50", False),
                                                                         (1, "otherwise", True)]
    assert rule.otherwise is rule.tiers[-1]
    assert rule.starts == ("start_a", "start_b") and rule.stops == ("stop_a",) and rule.each_time


def test_pause_flips_name_the_pausing_and_resuming_events():
    flips = rules.clock_rule(clock_sla()).pauses
    assert flips.pausing == frozenset({"hold"}) and flips.resuming == frozenset({"resume"})
    assert flips.names == frozenset({"hold", "resume"})
    assert flips.touches("hold") and flips.touches("resume") and not flips.touches("start_a")


def test_thresholds_are_exact_where_a_float_would_round():
    thresholds = rules.clock_rule(clock_sla()).thresholds
    assert thresholds.warn_at == Decimal("33.3")
    assert thresholds.scale == 10  # the finest step has one decimal
    assert thresholds.reached(333, 1000, Decimal("33.3"))
    assert not thresholds.reached(332, 1000, Decimal("33.3"))
    assert thresholds.at_risk(333, 1000) and not thresholds.at_risk(332, 1000)
    # a limit of no length is used up from its start
    assert thresholds.reached(0, 0, Decimal("100")) and not thresholds.reached(0, 0, Decimal("250"))


@pytest.mark.parametrize(("used", "expected"), [(99, None), (100, "manager"), (249, "manager"), (250, "vp"),
                                                (900, "vp")])
def test_escalation_is_the_highest_step_reached(used, expected):
    thresholds = rules.clock_rule(clock_sla()).thresholds
    assert thresholds.escalated_to(used, 100) == expected
    assert [to for _, to in thresholds.highest_first()] == ["vp", "manager"]


def test_tiers_are_decided_at_the_clock_start_with_its_events_up_to_it():
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    assert rules.tier_decided_at(start) == start
    assert rules.tier_reads_event(start, start) and not rules.tier_reads_event(start + dt.timedelta(microseconds=1),
                                                                               start)


def _imports_rules(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.ImportFrom) and (node.module == "leadpolicy.sla.rules" or (
        node.module == "leadpolicy.sla" and any(a.name == "rules" for a in node.names))) for node in ast.walk(tree))


@pytest.mark.parametrize("module", ["sla/engine.py", "warehouse/sla_sql.py"])
def test_both_engines_read_the_rules_and_normalise_no_unit_themselves(module):
    path = SRC / module
    assert _imports_rules(path)
    assert "UNIT_ALIASES" not in _uses(path)  # lowering normalised the unit; the rules measure it


def _uses(path: Path) -> set[str]:
    """Names read (not assigned) in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    return used


# ---------------------------------------------------------------- rules written once, read by both engines
COUNT = "  sla follow {\n    owner sales\n    target 80%\n    at least 1 touch within 2 days after start_a\n  }\n"
WINDOW_START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
WINDOW_END = WINDOW_START + dt.timedelta(days=2)


def count_policy() -> ir.Policy:
    loaded = load_policy_text(policy_text("", COUNT, "UTC"), "count.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics if d.severity == "error"]
    return lower(loaded.policy)


def count_events() -> list[Event]:
    """A window opened at WINDOW_START by each lead, touched at its start, its end, both or neither."""
    touches = {"both": [WINDOW_START, WINDOW_END], "at_end": [WINDOW_END], "at_start": [WINDOW_START], "none": []}
    events = []
    for lead, times in touches.items():
        events += [Event(lead, "start_a", WINDOW_START), *(Event(lead, "touch", at) for at in times)]
    return [dataclasses.replace(e, row=i + 1) for i, e in enumerate(events)]


def both_engines(policy: ir.Policy, events: list[Event], now: dt.datetime, folder: Path) -> TimelineResult:
    """The Python engine's results, once the SQL engine's are found the same."""
    python = SlaEngine(policy).evaluate(events, now)
    sql = run_sql(policy, events, now, None, folder)
    assert differences(python, sql) == {}
    return python


@pytest.mark.parametrize(("start_included", "end_included"), [(True, True), (False, True), (True, False)])
def test_both_engines_count_by_the_one_count_window(monkeypatch, tmp_path, start_included, end_included):
    """Changing the description of the window changes both engines alike: neither writes its own."""
    monkeypatch.setattr(rules, "COUNT_WINDOW", rules.Window(start_included, end_included))
    out = both_engines(count_policy(), count_events(), WINDOW_END, tmp_path)
    counts = {c.lead: c.count for c in out.counts}
    assert counts == {"both": start_included + end_included, "at_end": int(end_included),
                      "at_start": int(start_included), "none": 0}


@pytest.mark.parametrize(("now", "status"), [(WINDOW_END - dt.timedelta(microseconds=1), "pending"),
                                             (WINDOW_END, "breached")])
def test_a_count_short_of_its_need_is_breached_once_its_window_closes(tmp_path, now, status):
    window = rules.COUNT_WINDOW
    assert window.closed(WINDOW_END, WINDOW_END) and not window.closed(now - dt.timedelta(microseconds=1), WINDOW_END)
    out = both_engines(count_policy(), count_events(), now, tmp_path)
    assert {c.lead: c.status for c in out.counts}["none"] == status


def test_an_event_is_seen_at_now_and_not_after_it():
    now = WINDOW_START
    assert runtime.seen_at(now, now) and not runtime.seen_at(now + dt.timedelta(microseconds=1), now)
    later = now + dt.timedelta(hours=1)  # a tier is decided at its clock's start: an event after it is unseen
    assert rules.tier_reads_event(now, now) and not rules.tier_reads_event(later, now)


def test_the_sql_tier_is_decided_at_the_moment_the_rules_name():
    """The SQL engine's tier query evaluates the policy at the clock's moment `rules.TIER_DECIDED_AT` names."""
    policy = lower(load_policy_text(policy_text(CALENDAR, CLOCK, "UTC"), "rules.policy").policy)
    tree = sla_sql.SlaSql(policy, policy.slas[0], WINDOW_START).tiers_tree("leads")
    now_columns = [a.this for a in tree.find_all(exp.Alias) if a.alias == "#now_us"]
    assert now_columns == [sla_sql.CLOCK_MOMENTS[rules.TIER_DECIDED_AT]]


UNIT_MODULES = ["sla/rules.py", "sla/engine.py", "warehouse/sla_sql.py", "warehouse/sla_run.py",
                "language/checks/slas.py", "language/checks/context.py"]


@pytest.mark.parametrize("module", UNIT_MODULES)
def test_unit_names_are_written_once_in_language_units(module):
    names = {*units.CLOCK_UNITS, *units.COUNT_UNITS, units.BUSINESS}  # (a period's "day" is no unit)
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    written = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    if module.endswith("context.py"):
        written -= {"days"}  # a word of the grammar (RESERVED), not a unit
    assert not written & names
