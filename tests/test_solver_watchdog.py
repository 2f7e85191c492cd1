"""A search ends soon after its time-out even where z3 ignores the time-out (it honours one only within a
check: taking in assertions at a push once ran for 14 minutes in CI). Each search here runs in a process of
its own, killed at a hard wall-clock limit, so a hang fails the test and never holds up the suite."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HARD_LIMIT = 60  # seconds after which the process is killed
DEAF_SOLVER = """
import json, sys, time
import z3
import leadpolicy
from leadpolicy.semantics.symbolic import Found, SymbolicLead, find, search

# z3 deaf to the time-out: every check may run for a day (as a push or an assertion may, where none applies)
search.Clock.left_ms = lambda self, at_most=None: 86_400_000
policy = leadpolicy.load(sys.argv[1])
x, y, z = z3.Ints("x y z")
fermat = z3.And(x > 0, y > 0, z > 0, x * x * x + y * y * y == z * z * z)
start = time.perf_counter()
stopped = find(lambda lead: z3.And(lead.stage_is(0), fermat), [SymbolicLead(policy.ir)], 1.0)
elapsed = time.perf_counter() - start
after = find(lambda lead: lead.stage_is(0), [SymbolicLead(policy.ir)], 20.0)
solver = z3.Solver()
solver.push()  # a stale interrupt would cancel this push
print(json.dumps({"type": type(stopped).__name__, "reason": getattr(stopped, "reason", ""), "elapsed": elapsed,
                  "after": isinstance(after, Found)}))
"""


def test_a_search_z3_does_not_stop_is_stopped_past_its_time_out_and_the_next_search_runs(tmp_path):
    from leadpolicy.semantics.symbolic.search import GRACE_SECONDS

    from .conftest import POLICIES

    argv = [sys.executable, "-c", DEAF_SOLVER, str(POLICIES / "inbound-activity.policy")]
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=HARD_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a search z3 did not stop ran past {HARD_LIMIT} s: nothing stopped it")
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["type"] == "Unknown" and "stopped" in outcome["reason"], outcome
    assert outcome["elapsed"] < 1.0 + GRACE_SECONDS + 3.0, outcome  # a second, the grace, and a loaded machine
    assert outcome["after"], "the search after a stopped one found no witness"
