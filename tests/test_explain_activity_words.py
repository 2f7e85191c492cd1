"""explain's activity lines say a `days since last EVENT` with no such event in the words the table of primitives
gives it (its row's `missing`), the words the why lines use for the same operand: one wording, not two."""

from __future__ import annotations

import datetime as dt

from leadpolicy.cli.main import main
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.interpreter import Evaluator, evaluate
from leadpolicy.semantics.loading import load_policy
from leadpolicy.semantics.lowering import lower

from .conftest import POLICIES

POLICY = POLICIES / "inbound-activity.policy"
NOW = "2026-11-10T12:00:00-05:00"


def activity_lines(capsys) -> list[str]:
    assert main(["explain", str(POLICY), "--lead", '{"email": "x@acme.io"}', "--now", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("activity:") + 1
    return [line.strip() for line in lines[start:lines.index("why:")]]


def test_a_days_since_with_no_event_is_said_in_its_rows_words_as_the_why_lines_say_it(capsys):
    loaded = load_policy(POLICY)
    assert loaded.policy is not None
    policy = lower(loaded.policy)
    node = next(n for n in policy.activity if isinstance(n, ir.DaysSinceEvent))
    words = primitives.operand_row(node).missing
    assert words is not None
    line = next(line for line in activity_lines(capsys) if line.startswith(node.text))
    assert line == f"{node.text}: none ({words(node)})", line
    rule = next(r for s in policy.scores for r in s.rules
                if isinstance(r, ir.PointsRule) and node in list(r.condition.walk()))
    decision = evaluate(policy, {}, dt.datetime.fromisoformat(NOW), Activity([]))
    why = Evaluator(policy, decision.env, decision.now, decision.activity).missing(rule.condition)
    assert why == [words(node)]
